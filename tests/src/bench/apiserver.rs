//! Benchmarks of the test API server, so it is never what later benchmarks measure: server-side
//! applies per second with 8 concurrent clients (target: 2,000/s on 2 cores), reads per second, and
//! the time to start a server (target: under 50 ms). There is no reference tool to compare with (no
//! real API server can run here), so rows carry absolute targets.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{BenchConfig, Better, Measurement, Row};
use crate::apiserver::{ServerOptions, TestServer};

/// Concurrent clients of the throughput benchmarks.
const CLIENTS: usize = 8;
/// Objects each client cycles through.
const OBJECTS_PER_CLIENT: usize = 25;

/// The suite: server-side apply throughput (the headline), read throughput and start time.
pub fn ssa_throughput(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![ssa_row(config)?];
    rows.push(get_row(config)?);
    rows.push(start_row(config)?);
    Ok(rows)
}

fn row(case: &str, value: f64, unit: &'static str, better: Better, target: f64) -> Row {
    Row {
        suite: "apiserver",
        case: case.to_string(),
        ours: Measurement { value, unit },
        reference: None,
        better,
        target: Some(target),
    }
}

fn duration(config: &BenchConfig) -> Duration {
    if config.quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    }
}

fn ssa_row(config: &BenchConfig) -> anyhow::Result<Row> {
    let rate = apply_rate(duration(config))?;
    Ok(row(
        "server-side apply, 8 clients",
        rate,
        "ops/s",
        Better::Higher,
        2000.0,
    ))
}

fn get_row(config: &BenchConfig) -> anyhow::Result<Row> {
    let rate = get_rate(duration(config))?;
    Ok(row("get, 8 clients", rate, "ops/s", Better::Higher, 5000.0))
}

fn start_row(config: &BenchConfig) -> anyhow::Result<Row> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let repetitions = config.repetitions.max(1) * 4;
    let median = super::median_duration(repetitions, || {
        let server = runtime.block_on(TestServer::start(ServerOptions::default()))?;
        drop(server);
        Ok(())
    })?;
    Ok(row(
        "start a server",
        median.as_secs_f64() * 1000.0,
        "ms",
        Better::Lower,
        50.0,
    ))
}

/// A Deployment as a client applies it; `round` changes the image so every apply writes.
fn deployment(client: usize, object: usize, round: u64) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{client}-{object}\n  namespace: bench\n  labels:\n    app: web-{client}-{object}\n    kluctl.io/discriminator: bench\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web-{client}-{object}\n  template:\n    metadata:\n      labels:\n        app: web-{client}-{object}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:{round}\n        ports:\n        - containerPort: 8080\n          name: http\n        env:\n        - name: MODE\n          value: bench\n        resources:\n          requests:\n            cpu: 100m\n            memory: 64Mi\n"
    )
}

struct Target {
    address: String,
    token: String,
}

async fn connect(target: &Target) -> anyhow::Result<http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(&target.address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn send(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    target: &Target,
    method: http::Method,
    path: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<u16> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", &target.address)
        .header("authorization", format!("Bearer {}", target.token))
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(Full::new(Bytes::from(body)))?;
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// Runs `CLIENTS` clients for `length`, each calling `step(client, i)` in a loop; returns ops/s.
fn drive<F>(setup: impl Fn(&TestServer), length: Duration, step: F) -> anyhow::Result<f64>
where
    F: Fn(usize, u64) -> (http::Method, String, &'static str, String) + Send + Sync + 'static,
{
    let server = TestServer::start_blocking(ServerOptions::default())?;
    setup(&server);
    let target = Arc::new(Target {
        address: server.url().trim_start_matches("http://").to_string(),
        token: server.admin_token().to_string(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let step = Arc::new(step);
    let done = Arc::new(AtomicU64::new(0));
    let result: anyhow::Result<Duration> = runtime.block_on(async {
        let mut senders = Vec::new();
        for _ in 0..CLIENTS {
            senders.push(connect(&target).await?);
        }
        // Warm-up: every client creates its objects once.
        for (client, sender) in senders.iter_mut().enumerate() {
            for i in 0..OBJECTS_PER_CLIENT as u64 {
                let (method, path, content_type, body) = step(client, i);
                send(sender, &target, method, &path, content_type, body).await?;
            }
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (client, mut sender) in senders.into_iter().enumerate() {
            let (target, step, done) = (target.clone(), step.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = OBJECTS_PER_CLIENT as u64;
                while start.elapsed() < length {
                    let (method, path, content_type, body) = step(client, i);
                    let status = send(&mut sender, &target, method, &path, content_type, body).await?;
                    anyhow::ensure!(status < 300, "request answered {status}");
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok::<(), anyhow::Error>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(start.elapsed())
    });
    let elapsed = result?;
    Ok(done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64())
}

fn create_bench_namespace(server: &TestServer) {
    // The namespace is created once; a failure shows up as failed requests in the measurement.
    let _ = server
        .create_object(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}));
}

/// Server-side applies per second by 8 concurrent clients, each cycling through 25 Deployments and
/// changing the image on every pass (so every apply is a real write).
pub fn apply_rate(length: Duration) -> anyhow::Result<f64> {
    drive(create_bench_namespace, length, |client, i| {
        let object = (i % OBJECTS_PER_CLIENT as u64) as usize;
        let round = i / OBJECTS_PER_CLIENT as u64;
        let path =
            format!("/apis/apps/v1/namespaces/bench/deployments/web-{client}-{object}?fieldManager=kluctl&force=true");
        (
            http::Method::PATCH,
            path,
            "application/apply-patch+yaml",
            deployment(client, object, round),
        )
    })
}

/// GETs per second of single Deployments by 8 concurrent clients.
pub fn get_rate(length: Duration) -> anyhow::Result<f64> {
    drive(create_bench_namespace, length, |client, i| {
        let object = (i % OBJECTS_PER_CLIENT as u64) as usize;
        if i < OBJECTS_PER_CLIENT as u64 {
            let path = "/apis/apps/v1/namespaces/bench/deployments?fieldManager=bench".to_string();
            let body = deployment(client, object, 0);
            return (http::Method::POST, path, "application/yaml", body);
        }
        let path = format!("/apis/apps/v1/namespaces/bench/deployments/web-{client}-{object}");
        (http::Method::GET, path, "application/json", String::new())
    })
}
