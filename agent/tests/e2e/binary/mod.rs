//! The real `kluctl-agent` process with the real engine against the test API server and the
//! artifact server: the process guard, a small Kluctl project, publishing and polling helpers.
//! Scenarios: [`lifecycle`] (deploy, revisions, prune, delete, drift, health, kill and restart,
//! a Kluctl example) and [`scope`] (namespace pre-flight, RBAC, impersonation, cluster vars).

mod lifecycle;
mod scope;

use crate::harness::*;
use kluctl_e2e::apiserver::{Gvr, ServerOptions};
use kluctl_e2e::servers::artifact::{Published, TreeFile, source_tarball};
use serde_json::{Value, json};
use shared::crd::KluctlDeployment;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const NS: &str = "team";
pub const WAIT: Duration = Duration::from_secs(60);
pub const CANARY: &str = "canary-value-8c1f0e";

/// The agent process; killed when dropped so a failing test leaves nothing running.
pub struct AgentProcess {
    child: Child,
    log: PathBuf,
}

impl AgentProcess {
    pub fn start(cluster: &Cluster, artifacts: &Artifacts, work: &Path, extra: &[&str]) -> AgentProcess {
        Self::start_with_kubeconfig(cluster.server.kubeconfig_path(), artifacts, work, extra)
    }

    pub fn start_with_kubeconfig(
        kubeconfig: &Path,
        artifacts: &Artifacts,
        work: &Path,
        extra: &[&str],
    ) -> AgentProcess {
        let log = work.join("agent.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("agent log");
        let work_dir = work.join("agent-work");
        std::fs::create_dir_all(&work_dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kluctl-agent"))
            .arg(format!("--namespace={NS}"))
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .arg(format!("--artifact-host-allowlist={}", artifacts.server.host()))
            .arg("--metrics-addr=127.0.0.1:0")
            .arg("--health-addr=127.0.0.1:0")
            .arg("--requeue-dependency=1s")
            .arg("--interval-jitter-percentage=0")
            .arg(format!("--work-dir={}", work_dir.display()))
            .arg("--json-logs")
            .arg("--log-level=debug")
            .args(extra)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start kluctl-agent");
        AgentProcess { child, log }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process at once (as a node failure would).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM through `kill`, then waits for the exit code.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kluctl-agent did not stop within 10s of SIGTERM:\n{}", self.logs());
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small Kluctl project: a target with args, a templated discriminator, two ConfigMaps and a
/// canary Secret in the agent's namespace; `extra` ConfigMap only while `with_extra`.
pub fn project(greeting_key: &str, with_extra: bool) -> Vec<TreeFile> {
    let mut manifests = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {NS}\ndata:\n  {greeting_key}: \"{{{{ args.greeting }}}}\"\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: canary\n  namespace: {NS}\nstringData:\n  password: {CANARY}\n"
    );
    if with_extra {
        manifests.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: {NS}\ndata:\n  a: b\n"
        ));
    }
    vec![
        TreeFile::new(
            "deploy/.kluctl.yaml",
            "discriminator: \"e2e-{{ target.name }}\"\ntargets:\n- name: test\n  args:\n    greeting: from-target\n",
        ),
        TreeFile::new("deploy/deployment.yaml", "deployments:\n- path: app\n"),
        TreeFile::new("deploy/app/objects.yaml", manifests),
    ]
}

/// Publishes `files` as revision `n` of GitRepository `repo` and writes its status.
pub async fn publish(cluster: &Cluster, artifacts: &Artifacts, n: u32, files: &[TreeFile]) -> Published {
    let path = format!("gitrepository/{NS}/repo/{n:040x}.tar.gz");
    let published = artifacts.server.publish_at(&path, source_tarball(files));
    cluster
        .set_artifact(NS, "repo", artifact_status(&published, &revision(n)))
        .await;
    published
}

pub fn kluctl_deployment(name: &str) -> KluctlDeployment {
    let mut kd = kd(name);
    kd.spec.path = Some("deploy".into());
    kd.spec.args = Some(json!({"greeting": "hello"}).as_object().unwrap().clone());
    kd.spec.prune = true;
    kd.spec.delete = true;
    kd.spec.timeout = Some("60s".into());
    kd
}

pub async fn ready_at(cluster: &Cluster, name: &str, n: u32, agent: &AgentProcess) -> KluctlDeployment {
    let rev = revision(n);
    let start = std::time::Instant::now();
    loop {
        if let Some(kd) = cluster.get_kd(NS, name).await {
            let applied = kd.status.as_ref().and_then(|s| s.last_applied_revision.as_deref()) == Some(rev.as_str());
            if applied && ready(&kd).is_some_and(|r| r.0 == "True") {
                return kd;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "{name} not Ready at {rev}; status: {}\nagent log:\n{}",
                    serde_json::to_string_pretty(&kd.status).unwrap(),
                    agent.logs()
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls until `check` answers, failing with the status and the agent's log.
pub async fn wait_for<T>(
    cluster: &Cluster,
    name: &str,
    agent: &AgentProcess,
    check: impl Fn(&KluctlDeployment) -> Option<T>,
) -> T {
    let start = std::time::Instant::now();
    loop {
        let kd = cluster.get_kd(NS, name).await;
        if let Some(found) = kd.as_ref().and_then(&check) {
            return found;
        }
        if start.elapsed() > WAIT {
            panic!(
                "timed out waiting for {name}; status: {}\nagent log:\n{}",
                serde_json::to_string_pretty(&kd.map(|k| k.status)).unwrap(),
                agent.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn config_map(cluster: &Cluster, name: &str) -> Option<Value> {
    cluster.server.get_object(&Gvr::core("configmaps"), Some(NS), name)
}

pub async fn setup() -> (Cluster, Artifacts, tempfile::TempDir) {
    let cluster = Cluster::start(ServerOptions::default()).await;
    cluster.create_namespace(NS);
    cluster.create_namespace("other");
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    (cluster, artifacts, tempfile::tempdir().unwrap())
}
