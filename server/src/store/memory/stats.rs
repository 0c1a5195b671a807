//! [`StatsStore`] in memory: sums over the maps, and the daily counts folded from the events
//! (which the memory store keeps, in commit order, for ever).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::Result;
use crate::store::stats::{DayCounts, Holding, OlderVersions, StatsStore, tally};

#[async_trait]
impl StatsStore for MemoryStore {
    async fn holdings(&self, owner: Option<&str>) -> Result<Vec<Holding>> {
        let s = self.lock();
        let mut sums: BTreeMap<(String, String, String, bool), (u64, u64)> = BTreeMap::new();
        for f in s.files.values() {
            if owner.is_some_and(|o| o != f.owner_id) {
                continue;
            }
            // ASCII lowercase, as SQL's `lower` on SQLite.
            let ext = f
                .name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            let sum = sums
                .entry((
                    f.owner_id.clone(),
                    f.content_type.clone(),
                    ext,
                    f.trashed_at.is_some(),
                ))
                .or_default();
            sum.0 += 1;
            sum.1 += f.size;
        }
        Ok(sums
            .into_iter()
            .map(
                |((owner_id, content_type, extension, trashed), (files, bytes))| Holding {
                    owner_id,
                    content_type,
                    extension,
                    trashed,
                    files,
                    bytes,
                },
            )
            .collect())
    }

    async fn older_versions(&self, owner: Option<&str>) -> Result<Vec<OlderVersions>> {
        let s = self.lock();
        let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for ((file_id, version), v) in &s.versions {
            let Some(f) = s.files.get(file_id) else {
                continue;
            };
            if f.version == *version || owner.is_some_and(|o| o != f.owner_id) {
                continue;
            }
            let sum = sums.entry(f.owner_id.clone()).or_default();
            sum.0 += 1;
            sum.1 += v.size;
        }
        Ok(sums
            .into_iter()
            .map(|(owner_id, (versions, bytes))| OlderVersions {
                owner_id,
                versions,
                bytes,
            })
            .collect())
    }

    async fn days(
        &self,
        owner: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, DayCounts)>> {
        let s = self.lock();
        let mut days: BTreeMap<String, DayCounts> = BTreeMap::new();
        for t in s.events.iter().filter_map(tally) {
            if t.day.as_str() < from
                || t.day.as_str() > to
                || owner.is_some_and(|o| o != t.owner_id)
            {
                continue;
            }
            let d = days.entry(t.day).or_default();
            d.uploads += t.counts.uploads;
            d.upload_bytes += t.counts.upload_bytes;
            d.downloads += t.counts.downloads;
            d.download_bytes += t.counts.download_bytes;
        }
        Ok(days.into_iter().collect())
    }
}
