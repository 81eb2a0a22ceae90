//! The `deploy` suite: the main job against the test API server, ours side by side with kubectl
//! on the same rendered YAML in the same run.
//!
//! - deploy 1,000 objects into an empty cluster (a fresh server per repetition) versus
//!   `kubectl apply --server-side -f`;
//! - deploy them again unchanged versus the same `kubectl apply` again;
//! - diff unchanged versus `kubectl diff --server-side -f`.
//!
//! The objects are what a Flux benchmark app is (a Namespace per group, then per app a
//! ServiceAccount, a ConfigMap, a Service and a Deployment with 0 replicas), all labelled with
//! the discriminator as a render would. Targets: 3x faster than kubectl for each.

use super::{BenchConfig, Better, Row, millis};
use crate::apiserver::{ServerOptions, TestServer};
use anyhow::Context as _;
use serde_json::{Value, json};
use shared::cluster::{ConnectOptions, DeployItem, NoProgress, connect};
use shared::commands::{self, DeployCommandOptions, Session, Target};
use shared::result::{CommandInfo, ResultOptions};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DISCRIMINATOR: &str = "bench";
const TARGET_RATIO: f64 = 3.0;

/// The suite (see the module docs).
pub fn deploy(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let total = if config.quick { 100 } else { 1000 };
    let objects = rendered_objects(total);
    let dir = tempfile::tempdir()?;
    let yaml = dir.path().join("rendered.yaml");
    std::fs::write(&yaml, shared::yaml::to_yaml_stream(objects.iter()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reps = config.repetitions.max(1);

    let mut ours = Samples::default();
    let mut theirs = Samples::default();
    for _ in 0..reps + 1 {
        // Ours and kubectl each on a fresh server; the first round warms up and is dropped.
        let server = start_server()?;
        let t = Instant::now();
        let result = runtime.block_on(run_ours(&server, &objects, false))?;
        ours.initial.push(t.elapsed());
        anyhow::ensure!(result.errors.is_empty(), "our deploy failed: {:?}", result.errors);
        let t = Instant::now();
        let result = runtime.block_on(run_ours(&server, &objects, false))?;
        ours.again.push(t.elapsed());
        anyhow::ensure!(!result.has_changes(), "our re-deploy found changes");
        let t = Instant::now();
        let result = runtime.block_on(run_ours(&server, &objects, true))?;
        ours.diff.push(t.elapsed());
        anyhow::ensure!(!result.has_changes(), "our diff found changes");
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

/// One run of ours: connect from the kubeconfig, then `deploy --yes` or `diff`.
async fn run_ours(server: &TestServer, objects: &[Value], diff: bool) -> anyhow::Result<shared::result::CommandResult> {
    let client = connect(&ConnectOptions::from_kubeconfig(server.kubeconfig_path())).await?;
    let target = Target {
        name: Some(DISCRIMINATOR.to_string()),
        discriminator: Some(DISCRIMINATOR.to_string()),
        items: vec![DeployItem::new("bench", objects.to_vec())],
        ..Default::default()
    };
    let session = Session {
        client: &client,
        info: CommandInfo::new(if diff { "diff" } else { "deploy" }),
        result_options: ResultOptions::default(),
        progress: &NoProgress,
    };
    let options = DeployCommandOptions::default();
    Ok(if diff {
        commands::diff(&session, &target, &options.deploy).await?
    } else {
        commands::deploy(&session, &target, &options).await?
    })
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
