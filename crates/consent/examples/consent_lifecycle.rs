//! A subject's consent from grant to erasure, on a manual clock.
//!
//! `cargo run -p strongroom-consent --example consent_lifecycle`

use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strongroom_consent::{
    ConsentLedger, Controller, Delegation, ErasureHandler, Error, ExportContributor, Grant,
    HandlerError, LedgerKey, LegalBasis, ManualClock, MemoryConsentStore, PolicyVersion, Purpose,
    Timestamp,
};

const HOUR: Duration = Duration::from_secs(3600);

/// The application's file store, which fails once (a timeout) before it erases.
#[derive(Debug, Default)]
struct Files {
    failed_once: AtomicBool,
}

#[async_trait]
impl ErasureHandler for Files {
    fn name(&self) -> &str {
        "files"
    }

    async fn erase(&self, _subject: &str) -> Result<u64, HandlerError> {
        if !self.failed_once.swap(true, Ordering::SeqCst) {
            return Err(HandlerError::retryable("object store timed out"));
        }
        Ok(3)
    }
}

#[async_trait]
impl ExportContributor for Files {
    fn section(&self) -> &str {
        "files"
    }

    async fn export(
        &self,
        _subject: &str,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Ok(json!([{ "name": "tax-2025.pdf", "size": 48213 }]))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start: Timestamp = "2026-03-01T09:00:00Z".parse().expect("valid timestamp");
    let clock = Arc::new(ManualClock::new(start));
    let files = Arc::new(Files::default());

    let ledger = ConsentLedger::builder(Arc::new(MemoryConsentStore::new()), LedgerKey::generate())
        .controller(Controller::new(
            "Example GmbH",
            "Data protection officer",
            "dpo@example.com",
        ))
        .jurisdiction("EU")
        .clock(clock.clone())
        .purpose(
            Purpose::new(
                "support-access",
                "Support may open my files",
                LegalBasis::Consent,
                PolicyVersion::new(
                    "2026-01",
                    "Support staff may read the files you share.",
                    start,
                )?,
            )?
            .with_data_categories(["files"])
            .with_default_ttl(24 * HOUR),
        )
        .erasure_handler(files.clone())
        .export_contributor(files)
        .build()?;

    let access = ledger
        .grant_access(
            "alice",
            Delegation::new("support", "files:read"),
            Grant::new("support-access", "2026-01", "in-app-dialog")
                .evidence(json!({ "ticket": "SUP-1042" })),
        )
        .await?;
    println!("receipt:\n{}", access.receipt.to_json());
    println!(
        "policy attribute now: {}",
        serde_json::to_string(&ledger.access_attributes("alice", ledger.now()).await?)
            .unwrap_or_default()
    );

    clock.advance(25 * HOUR);
    println!(
        "policy attribute after 25 h: {}",
        serde_json::to_string(&ledger.access_attributes("alice", ledger.now()).await?)
            .unwrap_or_default()
    );

    let export = ledger.export("alice").await?;
    println!(
        "export: {} receipt(s), {} chain record(s), sections {:?}",
        export.receipts.len(),
        export.chain.len(),
        export.sections.keys().collect::<Vec<_>>()
    );

    match ledger.erase("alice").await {
        Err(Error::ErasureIncomplete(report)) => {
            for h in report.failed() {
                println!("erasure: handler `{}` failed, will retry", h.handler);
            }
        }
        other => println!("unexpected: {other:?}"),
    }
    let report = ledger.erase("alice").await?;
    println!(
        "erasure proof:\n{}",
        serde_json::to_string_pretty(&report.proof).unwrap_or_default()
    );
    println!("chain after erasure: {:?}", ledger.verify("alice").await?);
    Ok(())
}
