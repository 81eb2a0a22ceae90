//! Logging and process signals: logs go to stderr as text or, with `--json-logs`, as one JSON
//! object per line for log collectors; `RUST_LOG` overrides `--log-level`. SIGTERM and SIGINT
//! start a graceful shutdown.

/// Starts logging (safe to call more than once; later calls keep the first setup).
pub fn init(level: &str, json: bool) {
    let filter = match std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty()) {
        Some(directives) => tracing_subscriber::EnvFilter::new(directives),
        // The HTTP stack logs every connection at debug: keep it quiet unless asked for.
        None => tracing_subscriber::EnvFilter::new(format!(
            "{level},hyper=warn,hyper_util=warn,rustls=warn,h2=warn,tower=warn,reqwest=warn,kube_client=warn"
        )),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.try_init()
    };
}

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutdown requested: finishing running reconciles");
}
