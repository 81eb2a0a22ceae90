//! Suite `agent`: the `kluctl-agent` process (release build) against the in-memory API server
//! and an artifact server on 127.0.0.1, deploying a Kluctl project of 1,000 ConfigMaps.
//!
//! Measured: the binary's size; resident memory when idle (watches synced, nothing to do);
//! peak resident memory over a first deploy of the 1,000 objects; the time from a new artifact
//! revision (one ConfigMap changed) to `Ready=True` at that revision; and the peak memory of a
//! fresh agent fetching a large artifact (64 MiB of incompressible data next to the project)
//! and re-deploying the unchanged objects (memory must not grow with artifact size). There is no reference
//! tool to run side by side (Flux's controllers need a real cluster), so the rows carry the
//! absolute targets of the issue: idle under 20 MiB, peak under 100 MiB.

use super::{BenchConfig, Better, Measurement, Row};
use crate::apiserver::{ServerOptions, TestServer};
use crate::servers::artifact::{ArtifactServer, Published, TreeFile, source_tarball};
use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NS: &str = "bench";
const MIB: f64 = 1024.0 * 1024.0;

/// Runs the suite.
pub fn run(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let binary = agent_binary()?;
    let objects = if config.quick { 100 } else { 1000 };
    let mut rows = vec![Row {
        suite: "agent",
        case: "binary size".into(),
        ours: Measurement {
            value: std::fs::metadata(&binary)?.len() as f64 / MIB,
            unit: "MiB",
        },
        reference: None,
        better: Better::Lower,
        target: None,
    }];
    let server = TestServer::start_blocking(ServerOptions::default().simulate_controllers())
        .context("starting the test API server")?;
    install_crds(&server)?;
    server
        .create_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let artifacts = ArtifactServer::start()?;
    let work = tempfile::tempdir()?;
    let mut agent = Agent::start(&binary, &server, &artifacts, work.path())?;

    // Idle: synced, one KluctlDeployment waiting for an artifact (nothing to deploy).
    create_git_repository(&server)?;
    create_kd(&server)?;
    wait_for(Duration::from_secs(30), || {
        Ok(ready(&server)?.is_some_and(|(status, reason)| status == "False" && reason == "ArtifactFailed"))
    })
    .context("the agent did not report the missing artifact")?;
    std::thread::sleep(Duration::from_secs(2));
    rows.push(memory_row("idle memory (RSS), watches synced", agent.rss()?, 20.0));

    // First deploy of `objects` ConfigMaps.
    let first = publish(&server, &artifacts, 1, objects, "v1")?;
    let started = Instant::now();
    wait_for(Duration::from_secs(300), || applied(&server, &first))
        .with_context(|| format!("first deploy; agent log:\n{}", agent.log_tail()))?;
    let first_deploy = started.elapsed();
    rows.push(memory_row(
        &format!("peak memory (RSS), first deploy of {objects} objects"),
        agent.peak_rss()?,
        100.0,
    ));
    rows.push(duration_row(
        &format!("first deploy of {objects} objects to Ready"),
        first_deploy,
    ));

    // A new revision changing one object: artifact change to Ready.
    let second = publish(&server, &artifacts, 2, objects, "v2")?;
    let started = Instant::now();
    wait_for(Duration::from_secs(300), || applied(&server, &second))
        .with_context(|| format!("second deploy; agent log:\n{}", agent.log_tail()))?;
    rows.push(duration_row(
        &format!("artifact change to Ready ({objects} objects, 1 changed)"),
        started.elapsed(),
    ));
    rows.push(memory_row(
        "peak memory (RSS) after two deploys",
        agent.peak_rss()?,
        100.0,
    ));
    agent.stop();

    // A fresh agent fetches a large artifact (the project plus an incompressible blob) and
    // re-deploys the unchanged objects: its peak must not grow with the artifact's size.
    let blob_mib = if config.quick { 8 } else { 64 };
    let mut agent = Agent::start(&binary, &server, &artifacts, work.path())?;
    let mut files = project(objects, "v2");
    files.push(TreeFile::new("blob/data.bin", incompressible(blob_mib * 1024 * 1024)));
    let third = publish_files(&server, &artifacts, 3, &files)?;
    wait_for(Duration::from_secs(300), || applied(&server, &third))
        .with_context(|| format!("large artifact; agent log:\n{}", agent.log_tail()))?;
    rows.push(memory_row(
        &format!("peak memory (RSS), fresh agent: {blob_mib} MiB artifact, {objects} unchanged objects"),
        agent.peak_rss()?,
        100.0,
    ));
    agent.stop();
    Ok(rows)
}

/// Pseudo-random bytes (xorshift), which gzip cannot shrink.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn memory_row(case: &str, bytes: u64, target_mib: f64) -> Row {
    Row {
        suite: "agent",
        case: case.into(),
        ours: Measurement {
            value: bytes as f64 / MIB,
            unit: "MiB",
        },
        reference: None,
        better: Better::Lower,
        target: Some(target_mib),
    }
}

fn duration_row(case: &str, duration: Duration) -> Row {
    Row {
        suite: "agent",
        case: case.into(),
        ours: super::millis(duration),
        reference: None,
        better: Better::Lower,
        target: None,
    }
}

/// `kluctl-agent` next to the running benchmark binary (both built by `scripts/bench`).
fn agent_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .map(|d| d.join("kluctl-agent"))
        .context("locating the benchmark binary")?;
    if !binary.is_file() {
        bail!(
            "{} not found: build it first (scripts/bench does: cargo build --release -p kluctl-agent)",
            binary.display()
        );
    }
    Ok(binary)
}

fn testdata() -> anyhow::Result<PathBuf> {
    crate::fixtures::testdata().context("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

fn install_crds(server: &TestServer) -> anyhow::Result<()> {
    let dir = testdata()?.join("flux-crds");
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for doc in shared::yaml::parse_documents(&text, &path.to_string_lossy())? {
            server
                .create_object(doc)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        }
    }
    server
        .create_object(serde_json::to_value(shared::crd::crd())?)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(())
}

fn git_repositories() -> crate::apiserver::Gvr {
    crate::apiserver::Gvr::new("source.toolkit.fluxcd.io", "v1", "gitrepositories")
}

fn kds() -> crate::apiserver::Gvr {
    crate::apiserver::Gvr::new("flux.kluctl.io", "v1alpha1", "kluctldeployments")
}

fn create_git_repository(server: &TestServer) -> anyhow::Result<()> {
    server
        .create_object(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "repo", "namespace": NS},
            "spec": {"url": "https://example.com/repo.git", "interval": "1m"},
        }))
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(())
}

fn create_kd(server: &TestServer) -> anyhow::Result<()> {
    server
        .create_object(json!({
            "apiVersion": "flux.kluctl.io/v1alpha1", "kind": "KluctlDeployment",
            "metadata": {"name": "bench", "namespace": NS},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "target": "bench",
                     "interval": "1h", "retryInterval": "2s", "timeout": "10m", "prune": true},
        }))
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Ok(())
}

/// A project of `objects` ConfigMaps in 10 items; `value` goes into the first ConfigMap only.
fn project(objects: usize, value: &str) -> Vec<TreeFile> {
    let items = 10;
    let mut files = vec![TreeFile::new(
        ".kluctl.yaml",
        "discriminator: bench-{{ target.name }}\ntargets:\n- name: bench\n",
    )];
    let mut deployment = String::from("deployments:\n");
    for item in 0..items {
        deployment.push_str(&format!("- path: item{item}\n"));
        let mut manifest = String::new();
        for i in (item..objects).step_by(items) {
            let data = if i == 0 { value } else { "static" };
            manifest.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {NS}\ndata:\n  value: {data}\n"
            ));
        }
        files.push(TreeFile::new(format!("item{item}/configmaps.yaml"), manifest));
    }
    files.push(TreeFile::new("deployment.yaml", deployment));
    files
}

fn revision(n: u32) -> String {
    format!("main@sha1:{n:040x}")
}

fn publish(
    server: &TestServer,
    artifacts: &ArtifactServer,
    n: u32,
    objects: usize,
    value: &str,
) -> anyhow::Result<String> {
    publish_files(server, artifacts, n, &project(objects, value))
}

fn publish_files(
    server: &TestServer,
    artifacts: &ArtifactServer,
    n: u32,
    files: &[TreeFile],
) -> anyhow::Result<String> {
    let path = format!("gitrepository/{NS}/repo/{n:040x}.tar.gz");
    let published: Published = artifacts.publish_at(&path, source_tarball(files));
    let rev = revision(n);
    let mut repo = server
        .get_object(&git_repositories(), Some(NS), "repo")
        .context("GitRepository missing")?;
    repo["status"] = json!({"artifact": {
        "url": published.url, "path": published.path, "revision": rev, "digest": published.digest,
        "size": published.size, "lastUpdateTime": "2024-01-01T00:00:00Z"}});
    update_status(server, &repo)?;
    Ok(rev)
}

/// Writes a status through the API (status is ignored on create), as admin, over plain HTTP.
fn update_status(server: &TestServer, object: &Value) -> anyhow::Result<()> {
    use http_body_util::{BodyExt, Full};
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let url = format!(
        "{}/apis/source.toolkit.fluxcd.io/v1/namespaces/{NS}/gitrepositories/{name}/status",
        server.url()
    );
    let request = http::Request::put(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", server.admin_token()))
        .body(Full::new(bytes::Bytes::from(object.to_string())))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, body) = runtime.block_on(async {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        let response = client.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    })?;
    if !status.is_success() {
        bail!(
            "writing the GitRepository status failed: {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

fn ready(server: &TestServer) -> anyhow::Result<Option<(String, String)>> {
    let Some(kd) = server.get_object(&kds(), Some(NS), "bench") else {
        return Ok(None);
    };
    let condition = kd
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    Ok(condition.map(|c| {
        (
            c["status"].as_str().unwrap_or_default().to_string(),
            c["reason"].as_str().unwrap_or_default().to_string(),
        )
    }))
}

fn applied(server: &TestServer, revision: &str) -> anyhow::Result<bool> {
    let Some(kd) = server.get_object(&kds(), Some(NS), "bench") else {
        return Ok(false);
    };
    let at_revision = kd.pointer("/status/lastAppliedRevision").and_then(Value::as_str) == Some(revision);
    Ok(at_revision && ready(server)?.is_some_and(|(status, _)| status == "True"))
}

fn wait_for(within: Duration, mut check: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    while !check()? {
        if started.elapsed() > within {
            bail!("timed out after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn start(binary: &Path, server: &TestServer, artifacts: &ArtifactServer, work: &Path) -> anyhow::Result<Agent> {
        let log = work.join("agent.log");
        let child = Command::new(binary)
            .arg(format!("--namespace={NS}"))
            .arg(format!("--kubeconfig={}", server.kubeconfig_path().display()))
            .arg(format!("--artifact-host-allowlist={}", artifacts.host()))
            .arg("--metrics-addr=127.0.0.1:0")
            .arg("--health-addr=127.0.0.1:0")
            .arg(format!("--work-dir={}", work.join("agent").display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Agent { child, log })
    }

    fn status_field(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading the agent's /proc status (the agent exited?)")?;
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .with_context(|| format!("{field} missing from /proc status"))?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("parsing {line}"))?;
        Ok(kib * 1024)
    }

    fn rss(&self) -> anyhow::Result<u64> {
        self.status_field("VmRSS:")
    }

    fn peak_rss(&self) -> anyhow::Result<u64> {
        self.status_field("VmHWM:")
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop();
    }
}
