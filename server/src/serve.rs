//! `strongroom serve`: logging, the state, the background tasks, the listener, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::app::App;
use crate::config::Config;

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Makes everything this process creates private to its user (files 0600, folders 0700),
/// whatever umask it was started with: blobs, the SQLite database and its journal, keys.
pub fn private_files() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), String> {
    private_files();
    init_logging(&config);
    let listen = config.listen;
    let app = Arc::new(App::build(config).await.map_err(|e| e.to_string())?);
    if let Some((email, password)) = app
        .accounts
        .bootstrap_admin()
        .await
        .map_err(|e| e.to_string())?
    {
        // Printed once, to the terminal only (never to the log): the first administrator.
        println!(
            "strongroom: created the first administrator\n  email:    {email}\n  password: {password}\n  (shown once; sign in and change it: POST /me/password)"
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks = crate::tasks::spawn(&app, stop_rx);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %bound, database = app.db_kind(), storage = app.blobs.kind(), kafka = app.kafka, "strongroom listening");
    println!("strongroom: listening on http://{bound} (API docs at /docs)");
    let router = crate::http::app(app.clone());
    crate::conn::serve(
        listener,
        router,
        crate::conn::ConnLimits::from_config(&app.config.http),
        app.metrics.clone(),
        shutdown_signal(),
        Duration::from_secs(30),
    )
    .await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!("strongroom stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
