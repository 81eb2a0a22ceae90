//! The `deploy` suite: the main job against the test API server, ours side by side with kubectl
//! on the same rendered YAML in the same run.
//!
//! - deploy 1,000 objects into an empty cluster (a fresh server per repetition) versus
//!   `kubectl apply --server-side -f`;
//! - deploy them again unchanged versus the same `kubectl apply` again;
//! - diff unchanged versus `kubectl diff --server-side -f`.
//!
//! Ours is the `kubectl-kluctl` binary (built next to `kluctl-bench`) on a project holding the
//! same YAML (`.kluctl.yaml` with the discriminator, the objects in one file), so rendering,
//! process start and discovery are counted as they are for kubectl. The objects are what a Flux
//! benchmark app is (a Namespace per group, then per app a ServiceAccount, a ConfigMap, a
//! Service and a Deployment with 0 replicas). Targets: 3x faster than kubectl for each.

use super::{BenchConfig, Better, Row, millis};
use crate::apiserver::{ServerOptions, TestServer};
use anyhow::Context as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DISCRIMINATOR: &str = "bench";
const TARGET_RATIO: f64 = 3.0;

/// The suite (see the module docs).
pub fn deploy(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let total = if config.quick { 100 } else { 1000 };
    let objects = rendered_objects(total);
    let dir = tempfile::tempdir()?;
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project)?;
    let yaml = project.join("objects.yaml");
    std::fs::write(&yaml, shared::yaml::to_yaml_stream(objects.iter()))?;
    std::fs::write(
        project.join(".kluctl.yaml"),
        format!("discriminator: {DISCRIMINATOR}\n"),
    )?;
    let plugin = plugin_binary()?;
    let reps = config.repetitions.max(1);

    let mut ours = Samples::default();
    let mut theirs = Samples::default();
    for _ in 0..reps + 1 {
        // Ours and kubectl each on a fresh server; the first round warms up and is dropped.
        let server = start_server()?;
        let kubeconfig = server.kubeconfig_path();
        let deploy = ["deploy", "--yes", "-o", "json"];
        let t = Instant::now();
        let result = run_ours(&plugin, kubeconfig, &project, &deploy, 0)?;
        ours.initial.push(t.elapsed());
        anyhow::ensure!(
            result["summary"]["newObjects"] == json!(total),
            "our deploy did not create every object: {}",
            result["summary"]
        );
        let t = Instant::now();
        let result = run_ours(&plugin, kubeconfig, &project, &deploy, 0)?;
        ours.again.push(t.elapsed());
        anyhow::ensure!(
            result["summary"]["changedObjects"] == json!(0),
            "our re-deploy found changes"
        );
        let t = Instant::now();
        run_ours(&plugin, kubeconfig, &project, &["diff", "-o", "json"], 0)?;
        ours.diff.push(t.elapsed());
        drop(server);

        let server = start_server()?;
        let kubeconfig = server.kubeconfig_path();
        let home = tempfile::tempdir()?;
        let t = Instant::now();
        kubectl(kubeconfig, home.path(), &["apply", "--server-side", "-f"], &yaml, &[0])?;
        theirs.initial.push(t.elapsed());
        let t = Instant::now();
        kubectl(kubeconfig, home.path(), &["apply", "--server-side", "-f"], &yaml, &[0])?;
        theirs.again.push(t.elapsed());
        let t = Instant::now();
        kubectl(kubeconfig, home.path(), &["diff", "--server-side", "-f"], &yaml, &[0])?;
        theirs.diff.push(t.elapsed());
    }

    let row = |case: &str, ours: &[Duration], theirs: &[Duration], reference: &str| Row {
        suite: "deploy",
        case: format!("{case}, {total} objects"),
        ours: millis(median(ours)),
        reference: Some((reference.to_string(), millis(median(theirs)))),
        better: Better::Lower,
        target: Some(TARGET_RATIO),
    };
    Ok(vec![
        row(
            "deploy (empty cluster)",
            &ours.initial[1..],
            &theirs.initial[1..],
            "kubectl apply --server-side",
        ),
        row(
            "re-deploy unchanged",
            &ours.again[1..],
            &theirs.again[1..],
            "kubectl apply --server-side",
        ),
        row(
            "diff unchanged",
            &ours.diff[1..],
            &theirs.diff[1..],
            "kubectl diff --server-side",
        ),
    ])
}

#[derive(Default)]
struct Samples {
    initial: Vec<Duration>,
    again: Vec<Duration>,
    diff: Vec<Duration>,
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn start_server() -> anyhow::Result<TestServer> {
    TestServer::start_blocking(ServerOptions::default()).context("failed to start the test API server")
}

/// `kubectl --kubeconfig K <args> <file>` with its own HOME (discovery cache), checking the
/// exit code (`kubectl diff` exits 1 when something differs, which must not happen here).
fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str], file: &Path, ok: &[i32]) -> anyhow::Result<()> {
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .arg(file)
        .env("HOME", home)
        .output()
        .context("failed to run kubectl (the reference client must be installed)")?;
    let code = output.status.code().unwrap_or(-1);
    anyhow::ensure!(
        ok.contains(&code),
        "kubectl {} exited {code}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The plugin binary, built next to this one (`scripts/bench` builds both).
fn plugin_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .map(|dir| dir.join("kubectl-kluctl"))
        .filter(|p| p.is_file())
        .context("kubectl-kluctl is not built next to kluctl-bench (run scripts/bench)")?;
    Ok(path)
}

/// One run of ours on the project: the result document, after checking the exit code.
fn run_ours(plugin: &Path, kubeconfig: &Path, project: &Path, args: &[&str], code: i32) -> anyhow::Result<Value> {
    let output = Command::new(plugin)
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--project-dir")
        .arg(project)
        .output()
        .context("failed to run kubectl-kluctl")?;
    anyhow::ensure!(
        output.status.code() == Some(code),
        "kubectl-kluctl {} exited {:?}: {}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("kubectl-kluctl printed no JSON result")
}

/// `total` objects: 8 Namespaces, then apps of 4 objects spread over them.
pub fn rendered_objects(total: usize) -> Vec<Value> {
    let namespaces = 8.min(total);
    let labels = |app: &str| json!({"app": app, "kluctl.io/discriminator": DISCRIMINATOR});
    let mut out: Vec<Value> = (0..namespaces)
        .map(|n| {
            json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("bench-{n}"), "labels": {"kluctl.io/discriminator": DISCRIMINATOR}}})
        })
        .collect();
    let mut app = 0;
    while out.len() < total {
        let name = format!("app-{app}");
        let ns = format!("bench-{}", app % namespaces);
        let meta = json!({"name": name, "namespace": ns, "labels": labels(&name)});
        let objects = [
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                "data": {"app.properties": format!("name={name}\nlevel=info\n")}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"serviceAccountName": name, "containers": [{"name": "app", "image": "ghcr.io/example/app:1.0.0",
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}),
        ];
        out.extend(objects.into_iter().take(total - out.len()));
        app += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_exactly_the_requested_number_of_labelled_objects() {
        let objects = rendered_objects(1000);
        assert_eq!(objects.len(), 1000);
        assert!(objects[..8].iter().all(|o| o["kind"] == "Namespace"));
        assert!(
            objects
                .iter()
                .all(|o| o["metadata"]["labels"]["kluctl.io/discriminator"] == DISCRIMINATOR)
        );
        assert_eq!(rendered_objects(10).len(), 10);
    }
}
