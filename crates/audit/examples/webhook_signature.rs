//! Prints Standard Webhooks signed messages as JSON lines (secret, id, timestamp, body,
//! signature) so an independent implementation can check them; see `bench/webhook_interop.sh`.
//!
//! `cargo run -p strongroom-audit --features webhooks --example webhook_signature`

use strongroom_audit::{Actor, AuditEvent, Resource, Timestamp, WebhookSecret, signature_header};

fn main() -> Result<(), strongroom_audit::Error> {
    let now = Timestamp::now().as_second();
    for i in 0..5 {
        let old = WebhookSecret::generate();
        let new = WebhookSecret::generate();
        let event = AuditEvent::builder(
            Actor::User(format!("user{i}")),
            "file.uploaded",
            Resource::new("file", format!("f{i}"))?,
        )
        .attribute("note", "naïve ✓ \"quoted\"")
        .build()?;
        let body = serde_json::json!({"type": event.action(), "timestamp": event.time().to_string(), "data": event}).to_string();
        let id = event.id().to_string();
        // Odd lines are signed during a rotation: both secrets sign.
        let signature = if i % 2 == 1 {
            signature_header(&[&new, &old], &id, now, body.as_bytes())
        } else {
            new.sign(&id, now, body.as_bytes())
        };
        let line = serde_json::json!({
            "secret": new.expose().as_str(),
            "old_secret": old.expose().as_str(),
            "id": id,
            "timestamp": now.to_string(),
            "body": body,
            "signature": signature,
        });
        println!("{line}");
    }
    Ok(())
}
