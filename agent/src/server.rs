//! The agent's HTTP endpoints: `/metrics` (Prometheus text) on the metrics address, `/healthz`
//! (alive) and `/readyz` (watches synced, not shutting down) on the health address. When both
//! addresses are the same, one listener serves all three.

use crate::metrics::Metrics;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

/// What the endpoints report.
pub struct Health {
    ready: AtomicBool,
    stopping: AtomicBool,
}

impl Health {
    /// Not ready yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Health {
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        })
    }

    /// The watches delivered their first list.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Shutdown started: `/readyz` fails from now on.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.stopping.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy)]
struct Routes {
    metrics: bool,
    health: bool,
}

/// Binds the endpoints and serves them in the background; returns the bound addresses
/// (metrics, health), useful when port 0 was asked for.
pub async fn serve(
    metrics_addr: SocketAddr,
    health_addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    namespace: String,
) -> std::io::Result<(SocketAddr, SocketAddr)> {
    let same = metrics_addr == health_addr && metrics_addr.port() != 0;
    let metrics_listener = TcpListener::bind(metrics_addr).await?;
    let bound_metrics = metrics_listener.local_addr()?;
    let namespace = Arc::new(namespace);
    if same {
        let routes = Routes {
            metrics: true,
            health: true,
        };
        tokio::spawn(accept(metrics_listener, routes, metrics, health, namespace));
        return Ok((bound_metrics, bound_metrics));
    }
    let health_listener = TcpListener::bind(health_addr).await?;
    let bound_health = health_listener.local_addr()?;
    tokio::spawn(accept(
        metrics_listener,
        Routes {
            metrics: true,
            health: false,
        },
        metrics.clone(),
        health.clone(),
        namespace.clone(),
    ));
    tokio::spawn(accept(
        health_listener,
        Routes {
            metrics: false,
            health: true,
        },
        metrics,
        health,
        namespace,
    ));
    Ok((bound_metrics, bound_health))
}

async fn accept(
    listener: TcpListener,
    routes: Routes,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    namespace: Arc<String>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (metrics, health, namespace) = (metrics.clone(), health.clone(), namespace.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let response = answer(request.uri().path(), routes, &metrics, &health, &namespace);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(path: &str, routes: Routes, metrics: &Metrics, health: &Health, namespace: &str) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" if routes.metrics => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(namespace),
        ),
        "/healthz" if routes.health => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/readyz" if routes.health => {
            if health.is_ready() {
                (StatusCode::OK, "text/plain", "ok\n".to_string())
            } else {
                (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "not ready\n".to_string())
            }
        }
        _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(http::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn endpoints_report_readiness_and_metrics() {
        shared::http::install_crypto_provider();
        let metrics = Arc::new(Metrics::default());
        metrics.fetched("ok", 5);
        let health = Health::new();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (m, h) = serve(any, any, metrics, health.clone(), "team".into()).await.unwrap();
        assert_eq!(get(h, "/healthz").await.0, 200);
        assert_eq!(get(h, "/readyz").await.0, 503);
        health.set_ready();
        assert_eq!(get(h, "/readyz").await.0, 200);
        health.set_stopping();
        assert_eq!(get(h, "/readyz").await.0, 503);
        let (status, body) = get(m, "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("kluctl_agent_artifact_fetched_bytes_total 5"), "{body}");
        assert_eq!(get(m, "/healthz").await.0, 404);
    }
}
