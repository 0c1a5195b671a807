//! The background loops, in one place: the outbox relay, the orphan sweeper with version
//! retention and the trash's automatic purge, the usage meter, the summaries of anonymous
//! denials, the events of expired shares, webhook deliveries, and the hourly housekeeping (expired sessions, idle
//! rate-limit windows).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;

/// Starts the background tasks; they stop when `shutdown` flips to true.
pub fn spawn(app: &Arc<App>, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let owner = app;
    let mut tasks = Vec::new();
    if let Some(relay) = app.relay.clone() {
        let mut stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            relay
                .run(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    let interval = app.config.files.sweep_interval_secs;
    if interval > 0 {
        let app = owner.clone();
        let mut stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let grace = Duration::from_secs(app.config.files.orphan_grace_secs);
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(Duration::from_secs(interval)) => {}
                }
                // Retention first: the blobs of pruned versions go at once, not at the next sweep.
                match app.files.prune_versions().await {
                    Ok(n) if n > 0 => tracing::info!(versions = n, "pruned old versions"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "version retention failed"),
                }
                match app.files.purge_expired_trash().await {
                    Ok(n) if n > 0 => tracing::info!(items = n, "purged expired trash"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "trash purge failed"),
                }
                match app.files.sweep_orphans(grace).await {
                    Ok(n) => {
                        app.metrics.orphans_swept.inc_by(n);
                    }
                    Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
                }
            }
        }));
    }
    if let Some(worker) = app.webhook_worker.clone() {
        let poll = Duration::from_secs(app.config.webhooks.poll_interval_secs);
        let keep = Duration::from_secs(app.config.webhooks.keep_days * 86_400);
        let mut stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let mut pruned_at = std::time::Instant::now();
            loop {
                let busy = match worker.deliver_due().await {
                    Ok(round) => round.attempted > 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook delivery failed");
                        false
                    }
                };
                if pruned_at.elapsed() >= Duration::from_secs(3600) {
                    pruned_at = std::time::Instant::now();
                    match worker.prune(keep).await {
                        Ok(n) if n > 0 => {
                            tracing::info!(deliveries = n, "pruned settled webhook deliveries")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "webhook pruning failed"),
                    }
                }
                // A full round may have left more due: look again at once.
                if busy {
                    continue;
                }
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        }));
    }
    let meter = app.config.files.meter_interval_secs;
    if meter > 0 {
        let app = owner.clone();
        let mut stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(Duration::from_secs(meter)) => {}
                }
                match app.metering.meter().await {
                    Ok(n) if n > 0 => tracing::debug!(samples = n, "metered usage"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "usage metering failed"),
                }
            }
        }));
    }
    let app = owner.clone();
    let mut stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let every = Duration::from_secs(app.config.http.anonymous_denial_window_secs.max(1));
        loop {
            let last = tokio::select! {
                _ = stop.wait_for(|s| *s) => true,
                _ = tokio::time::sleep(every) => false,
            };
            if let Err(e) = app.guard.flush_denials(last).await {
                tracing::warn!(error = %e, "writing denial summaries failed");
            }
            if last {
                break;
            }
        }
    }));
    // Expired shares: already refused by every decision; here each gets its `share.expired`
    // event (for the audit trail and the bus), within a minute.
    let app = owner.clone();
    let mut stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            match app.shares.note_expiries().await {
                Ok(n) if n > 0 => tracing::info!(shares = n, "noted expired shares"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "noting expired shares failed"),
            }
        }
    }));
    let app = owner.clone();
    let mut stop = shutdown;
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
            let _ = app.sessions.purge_expired().await;
            app.limiter.forget_idle();
            if let Err(e) = app.lockout.prune().await {
                tracing::warn!(error = %e, "pruning failed sign-ins");
            }
        }
    }));
    tasks
}
