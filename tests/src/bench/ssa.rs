//! Benchmark suite `ssa`: the cost of server-side apply and managed-fields bookkeeping per
//! request, on a Deployment of realistic size, single-threaded and from 8 threads at once (the
//! load the test API server must carry: 2,000 applies per second on 2 cores). There is no
//! reference tool to run side by side, so rows carry absolute goals.

use super::{BenchConfig, Better, Measurement, Row};
use crate::ssa::{self, ApplyOptions};
use serde_json::{Value, json};
use shared::schema::{self, TypeSchema};
use std::time::Instant;

/// A Deployment like the ones Kluctl deploys: two containers with env, ports, probes, mounts.
pub fn sample_deployment(replicas: i64, image: &str) -> Value {
    let container = |name: &str, port: i64| {
        json!({
            "name": name,
            "image": image,
            "args": ["--port", port.to_string(), "--verbose"],
            "env": (0..8).map(|i| json!({"name": format!("VAR_{i}"), "value": format!("value-{i}")})).collect::<Vec<_>>(),
            "ports": [{"name": "http", "containerPort": port}, {"name": "metrics", "containerPort": port + 1000}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": port}, "periodSeconds": 5},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/config"}]
        })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "bench",
            "labels": {"app": "web", "kluctl.io/discriminator": "bench", "tier": "frontend"},
            "annotations": {"kluctl.io/deployment-item-dir": "apps/web"}
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "frontend"}},
                "spec": {
                    "containers": [container("web", 8080), container("sidecar", 9090)],
                    "volumes": [{"name": "config", "configMap": {"name": "web-config"}}],
                    "tolerations": [{"key": "dedicated", "operator": "Exists"}]
                }
            }
        }
    })
}

/// CPU time this thread has used, in nanoseconds (Linux), so that other processes on a shared
/// machine do not inflate the numbers the way wall-clock time would.
fn thread_cpu_nanos() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// CPU time of the whole process (user + system), in seconds (Linux).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn per_op(label: &str, ops: usize, mut op: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Row> {
    op()?;
    let (start, cpu_start) = (Instant::now(), thread_cpu_nanos());
    for _ in 0..ops {
        op()?;
    }
    let micros = match (cpu_start, thread_cpu_nanos()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e3 / ops as f64,
        _ => start.elapsed().as_secs_f64() * 1e6 / ops as f64,
    };
    Ok(Row {
        suite: "ssa",
        case: label.to_string(),
        ours: Measurement {
            value: micros,
            unit: "us cpu/op",
        },
        reference: None,
        better: Better::Lower,
        // Well under the 1 ms per request that 2,000 applies/s on 2 cores leave for everything.
        target: Some(250.0),
    })
}

/// Runs the suite.
pub fn run(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let schema: &'static TypeSchema =
        schema::builtin("apps", "v1", "Deployment").ok_or_else(|| anyhow::anyhow!("no Deployment schema"))?;
    let ops = if config.quick { 200 } else { 5_000 };
    let v1 = sample_deployment(3, "registry.example.com/web:1.0");
    let v2 = sample_deployment(3, "registry.example.com/web:2.0");
    let live = ssa::apply(None, &v1, "kluctl", false, Some(schema))?;
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    ssa::record_update(
        Some(&live),
        &mut scaled,
        "kube-controller-manager",
        ssa::Operation::Update,
        None,
        Some(schema),
    )?;

    let mut rows = vec![
        per_op("apply: create", ops, || {
            ssa::apply(None, &v1, "kluctl", false, Some(schema))?;
            Ok(())
        })?,
        per_op("apply: unchanged re-apply", ops, || {
            ssa::apply(Some(&live), &v1, "kluctl", false, Some(schema))?;
            Ok(())
        })?,
        per_op("apply: new image", ops, || {
            ssa::apply(Some(&live), &v2, "kluctl", false, Some(schema))?;
            Ok(())
        })?,
        per_op("apply: conflict (409)", ops, || {
            let mut other = v1.clone();
            other["spec"]["replicas"] = json!(3);
            match ssa::apply(Some(&scaled), &other, "kluctl", false, Some(schema)) {
                Err(ssa::SsaError::Conflicts(_)) => Ok(()),
                other => Err(anyhow::anyhow!("expected a conflict, got {other:?}")),
            }
        })?,
        per_op("update: scale replicas", ops, || {
            let mut next = live.clone();
            next["spec"]["replicas"] = json!(7);
            ssa::record_update(
                Some(&live),
                &mut next,
                "kube-controller-manager",
                ssa::Operation::Update,
                None,
                Some(schema),
            )?;
            Ok(())
        })?,
    ];

    // 8 clients at once, as the API server sees them: applies per CPU-second over all threads
    // (contention included, other processes on the machine excluded).
    let threads = 8;
    let per_thread = ops / 2;
    let (start, cpu_start) = (Instant::now(), process_cpu_seconds());
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let options = ApplyOptions::new("kluctl");
                    for i in 0..per_thread {
                        let applied = if i % 2 == 0 { &v1 } else { &v2 };
                        ssa::apply_with(Some(&live), applied, &options, Some(schema))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| anyhow::anyhow!("bench thread panicked"))??;
        }
        Ok(())
    })?;
    let seconds = match (cpu_start, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => start.elapsed().as_secs_f64(),
    };
    rows.push(Row {
        suite: "ssa",
        case: format!("apply throughput, {threads} threads"),
        ours: Measurement {
            value: (threads * per_thread) as f64 / seconds,
            unit: "applies/cpu-s",
        },
        reference: None,
        better: Better::Higher,
        // 2 cores must carry 2,000 applies/s with HTTP and storage: SSA may use a fraction.
        target: Some(4_000.0),
    });
    Ok(rows)
}
