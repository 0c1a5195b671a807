//! [`UsageLedger`] in memory: each account's samples in order.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::MemoryStore;
use crate::store::Result;
use crate::store::usage::{UsageLedger, UsageSample};

#[async_trait]
impl UsageLedger for MemoryStore {
    async fn latest(&self) -> Result<Vec<UsageSample>> {
        let s = self.lock();
        Ok(s.usage.values().filter_map(|l| l.last().cloned()).collect())
    }

    async fn append(&self, samples: &[(UsageSample, AuditEvent)]) -> Result<u64> {
        let mut s = self.lock();
        let mut written = 0;
        for (sample, event) in samples {
            let ledger = s.usage.entry(sample.user_id.clone()).or_default();
            if sample.seq != ledger.len() as i64 + 1 {
                continue;
            }
            ledger.push(sample.clone());
            s.events.push(event.clone());
            written += 1;
        }
        Ok(written)
    }

    async fn history(
        &self,
        from: i64,
        to: i64,
        after: Option<&str>,
        accounts: usize,
    ) -> Result<Vec<UsageSample>> {
        let s = self.lock();
        let mut out = Vec::new();
        let mut taken = 0;
        for (user, ledger) in &s.usage {
            if after.is_some_and(|a| user.as_str() <= a) {
                continue;
            }
            let before = ledger.iter().rev().find(|x| x.at < from);
            let within: Vec<&UsageSample> = ledger
                .iter()
                .filter(|x| x.at >= from && x.at < to)
                .collect();
            if before.is_none() && within.is_empty() {
                continue;
            }
            if taken == accounts {
                break;
            }
            taken += 1;
            out.extend(before.cloned());
            out.extend(within.into_iter().cloned());
        }
        Ok(out)
    }
}
