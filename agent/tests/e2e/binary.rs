//! The real `kluctl-agent` process with the real engine against the test API server and the
//! artifact server: first deploy, a new revision, pruning, deletion, the scope pre-flight and
//! the canary Secret kept out of status, events and logs.

use crate::harness::*;
use kluctl_e2e::apiserver::{Gvr, ServerOptions};
use kluctl_e2e::servers::artifact::{Published, TreeFile, source_tarball};
use serde_json::{Value, json};
use shared::crd::KluctlDeployment;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NS: &str = "team";
const WAIT: Duration = Duration::from_secs(60);
const CANARY: &str = "canary-value-8c1f0e";

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

#[tokio::test]
async fn the_agent_deploys_updates_prunes_and_deletes() {
    let (cluster, artifacts, work) = setup().await;
    publish(&cluster, &artifacts, 1, &project("greeting", true)).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;

    let kd = ready_at(&cluster, "app", 1, &agent).await;
    let status = kd.status.clone().unwrap();
    assert_eq!(status.discriminator.as_deref(), Some("e2e-test"));
    let summary = status.last_result.clone().unwrap();
    assert_eq!((summary.new_objects, summary.errors), (3, 0), "{summary:?}");
    assert_eq!(status.observed_generation, kd.metadata.generation);
    let settings = config_map(&cluster, "settings").expect("settings deployed");
    // spec.args win over the target's args.
    assert_eq!(settings["data"]["greeting"], "hello");
    assert_eq!(settings["metadata"]["labels"]["kluctl.io/discriminator"], "e2e-test");
    let managers: Vec<&str> = settings["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kluctl"]);
    assert!(config_map(&cluster, "extra").is_some());

    // A new revision changes an object and drops another: it is pruned.
    publish(&cluster, &artifacts, 2, &project("welcome", false)).await;
    let kd = ready_at(&cluster, "app", 2, &agent).await;
    let settings = config_map(&cluster, "settings").unwrap();
    assert_eq!(settings["data"], json!({"welcome": "hello"}));
    assert!(config_map(&cluster, "extra").is_none(), "extra was not pruned");
    let summary = kd.status.as_ref().unwrap().last_result.clone().unwrap();
    assert_eq!(summary.deleted_objects, 1, "{summary:?}");
    assert!(summary.command.contains("prune"), "{summary:?}");

    // `gitops reconcile`: a requested run is handled and reports its summary.
    let gitops = shared::crd::gitops::Gitops::new(cluster.admin.clone(), NS);
    let token = gitops.request_reconcile("app").await.unwrap();
    let handled = gitops.wait_handled("app", &token, WAIT).await.unwrap();
    let summary = handled.status.unwrap().last_result.unwrap();
    assert_eq!(
        (summary.applied_objects, summary.new_objects, summary.errors),
        (2, 0, 0),
        "{summary:?}"
    );

    // Deleting the KluctlDeployment (delete: true) removes what it deployed.
    cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    cluster.wait_gone(NS, "app", WAIT).await;
    assert!(config_map(&cluster, "settings").is_none());
    let secret = cluster.server.get_object(&Gvr::core("secrets"), Some(NS), "canary");
    assert!(secret.is_none(), "the Secret was not deleted");

    // The canary Secret's value never left the cluster objects.
    let events = serde_json::to_string(&cluster.server.list_objects(&Gvr::core("events"), Some(NS))).unwrap();
    assert!(!events.contains(CANARY));
    assert!(!serde_json::to_string(&kd.status).unwrap().contains(CANARY));
    let status = agent.terminate();
    let logs = std::fs::read_to_string(work.path().join("agent.log")).unwrap();
    assert!(status.success(), "exit {status:?}:\n{logs}");
    assert!(logs.contains("starting kluctl-agent"), "{logs}");
    assert!(!logs.contains(CANARY), "the canary value is in the logs");
}

#[tokio::test]
async fn objects_outside_the_namespace_are_refused_before_any_apply() {
    let (cluster, artifacts, work) = setup().await;
    let mut files = project("greeting", false);
    files.push(TreeFile::new(
        "deploy/app/foreign.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\n  namespace: other\n",
    ));
    files.push(TreeFile::new(
        "deploy/app/cluster.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: new-namespace\n",
    ));
    publish(&cluster, &artifacts, 1, &files).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let (reason, message) = cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False").then_some((reason, message))
        })
        .await;
    assert_eq!(reason, "BuildFailed", "{message}");
    assert!(message.contains("other/ConfigMap/foreign"), "{message}");
    assert!(message.contains("Namespace/new-namespace"), "{message}");
    // Nothing at all was applied, not even the objects in the namespace.
    assert!(config_map(&cluster, "settings").is_none());
    assert!(
        cluster
            .server
            .get_object(&Gvr::core("configmaps"), Some("other"), "foreign")
            .is_none()
    );
    drop(agent);
}

#[tokio::test]
async fn render_errors_are_build_failures_and_a_fix_recovers() {
    let (cluster, artifacts, work) = setup().await;
    let mut broken = project("greeting", false);
    broken[2] = TreeFile::new("deploy/app/objects.yaml", "kind: ConfigMap\nmetadata: {name: x\n");
    publish(&cluster, &artifacts, 1, &broken).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False" && reason == "BuildFailed").then_some(message)
        })
        .await;
    assert!(
        message.contains("objects.yaml"),
        "the message names the file: {message}"
    );
    assert!(!message.contains(&work.path().display().to_string()), "{message}");
    publish(&cluster, &artifacts, 2, &project("greeting", false)).await;
    ready_at(&cluster, "app", 2, &agent).await;
    assert!(config_map(&cluster, "settings").is_some());
}

#[tokio::test]
async fn killed_during_a_deploy_and_restarted_the_agent_converges() {
    let cluster = Cluster::start(ServerOptions::default().simulate_controllers()).await;
    cluster.create_namespace(NS);
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    let work = tempfile::tempdir().unwrap();
    // Item 1 is a Deployment ready only after 3s, then a barrier, then item 2: a kill while
    // waiting leaves item 2 undeployed and the status at Progressing.
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {NS}\n  annotations:\n    test-apiserver.kluctl.io/ready-after: 3s\n\
         spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
    );
    let files = vec![
        TreeFile::new(
            "deploy/.kluctl.yaml",
            "discriminator: kill-test\ntargets:\n- name: test\n",
        ),
        TreeFile::new(
            "deploy/deployment.yaml",
            "deployments:\n- path: web\n  waitReadiness: true\n- barrier: true\n- path: after\n",
        ),
        TreeFile::new("deploy/web/deployment.yaml", deployment),
        TreeFile::new(
            "deploy/after/cm.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: {NS}\n"),
        ),
    ];
    publish(&cluster, &artifacts, 1, &files).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let deployments = Gvr::new("apps", "v1", "deployments");
    let start = std::time::Instant::now();
    while cluster.server.get_object(&deployments, Some(NS), "web").is_none() {
        assert!(start.elapsed() < WAIT, "web never applied:\n{}", agent.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    agent.kill();
    assert!(config_map(&cluster, "after").is_none(), "the kill came too late");
    let kd = cluster.get_kd(NS, "app").await.unwrap();
    assert_ne!(ready(&kd).map(|r| r.0), Some("True".to_string()));

    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    ready_at(&cluster, "app", 1, &agent).await;
    assert!(config_map(&cluster, "after").is_some());
    drop(agent);
}

#[tokio::test]
async fn with_only_its_role_and_an_impersonated_deployer_the_agent_stays_in_its_namespace() {
    let cluster = Cluster::start(ServerOptions::default().rbac()).await;
    cluster.create_namespace(NS);
    cluster.create_namespace("other");
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    let work = tempfile::tempdir().unwrap();
    // Without a deploy role: the agent deploys only as the ServiceAccounts it impersonates.
    let mut install = shared::crd::manifests::AgentInstallOptions::new(NS);
    install.deploy_cluster_role = None;
    for object in shared::crd::manifests::agent_manifests(&install) {
        if object["kind"] != "Deployment" {
            cluster.server.create_object(object).expect("agent RBAC");
        }
    }
    // The deployer may write ConfigMaps and Secrets of the namespace; the agent itself may not.
    for object in [
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": NS}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
               "metadata": {"name": "deployer", "namespace": NS},
               "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "deployer", "namespace": NS},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
               "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": NS}]}),
    ] {
        cluster.server.create_object(object).expect("deployer RBAC");
    }
    let user = format!("system:serviceaccount:{NS}:kluctl-agent");
    let groups = ["system:serviceaccounts", &format!("system:serviceaccounts:{NS}")];
    let token = cluster.server.token_for(&user, &groups);
    let proxy = crate::proxy::RecordingProxy::start(cluster.server.url()).await;
    let kubeconfig = work.path().join("agent-kubeconfig");
    proxy.write_kubeconfig(&kubeconfig, &user, &token, NS);
    publish(&cluster, &artifacts, 1, &project("greeting", true)).await;
    let agent = AgentProcess::start_with_kubeconfig(&kubeconfig, &artifacts, work.path(), &[]);

    // As itself the agent may not deploy: the API server's answer is the failure.
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "ReconciliationFailed").then_some(message)
    })
    .await;
    assert!(message.contains("forbidden"), "{message}");
    assert!(config_map(&cluster, "settings").is_none());

    cluster
        .patch_kd(NS, "app", json!({"spec": {"serviceAccountName": "deployer"}}))
        .await;
    ready_at(&cluster, "app", 1, &agent).await;
    let settings = config_map(&cluster, "settings").unwrap();
    assert_eq!(settings["metadata"]["labels"]["kluctl.io/discriminator"], "e2e-test");

    publish(&cluster, &artifacts, 2, &project("greeting", false)).await;
    ready_at(&cluster, "app", 2, &agent).await;
    assert!(config_map(&cluster, "extra").is_none(), "extra was not pruned");
    cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    cluster.wait_gone(NS, "app", WAIT).await;
    assert!(config_map(&cluster, "settings").is_none());

    let seen = proxy.seen();
    let outside: Vec<_> = seen
        .iter()
        .filter(|r| !crate::proxy::within_namespace(&r.path, NS))
        .collect();
    assert!(outside.is_empty(), "requests outside {NS}: {outside:#?}");
    drop(agent);
}

#[tokio::test]
async fn a_missing_path_fails_and_a_failing_source_still_deploys_its_last_artifact() {
    let (cluster, artifacts, work) = setup().await;
    publish(&cluster, &artifacts, 1, &project("greeting", false)).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    let mut object = kluctl_deployment("app");
    object.spec.path = Some("no/such/dir".into());
    cluster.create_kd(NS, &object).await;
    let (reason, message) = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False").then_some((reason, message))
    })
    .await;
    assert_eq!(reason, "ArtifactFailed");
    assert!(message.contains("no/such/dir"), "{message}");

    // The source fails to fetch a newer commit: its last artifact is still deployed, and
    // failures name the source's problem.
    let failing = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "GitOperationFailed",
        "message": "authentication required", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
    cluster
        .git_repositories(NS)
        .patch_status("repo", &Default::default(), &kube::api::Patch::Merge(failing))
        .await
        .unwrap();
    let artifact_gone = json!({"status": {"artifact": null}});
    cluster
        .git_repositories(NS)
        .patch_status("repo", &Default::default(), &kube::api::Patch::Merge(artifact_gone))
        .await
        .unwrap();
    cluster.patch_kd(NS, "app", json!({"spec": {"path": "deploy"}})).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (_, reason, message) = ready(kd)?;
        (reason == "ArtifactFailed" && message.contains("source artifact not found")).then_some(message)
    })
    .await;
    assert!(message.contains("authentication required"), "{message}");
    let path = format!("gitrepository/{NS}/repo/{:040x}.tar.gz", 1);
    let published = artifacts
        .server
        .publish_at(&path, source_tarball(&project("greeting", false)));
    let restored = json!({"status": {"artifact": artifact_status(&published, &revision(1))}});
    cluster
        .git_repositories(NS)
        .patch_status("repo", &Default::default(), &kube::api::Patch::Merge(restored))
        .await
        .unwrap();
    let kd = ready_at(&cluster, "app", 1, &agent).await;
    assert!(config_map(&cluster, "settings").is_some());
    assert_eq!(
        kd.status.unwrap().last_applied_digest.as_deref(),
        Some(published.digest.as_str())
    );
}

#[tokio::test]
async fn the_simple_kluctl_example_deploys_unchanged_and_is_deleted() {
    // kluctl-examples/simple creates its own Namespace: an agent allowed outside its namespace.
    let cluster = Cluster::start(ServerOptions::default().simulate_controllers()).await;
    cluster.create_namespace(NS);
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    let work = tempfile::tempdir().unwrap();
    let example = testdata().join("kluctl-examples/simple");
    let tarball = kluctl_e2e::servers::artifact::tarball_from_dir(&example).unwrap();
    let published = artifacts
        .server
        .publish_at(&format!("gitrepository/{NS}/repo/{:040x}.tar.gz", 1), tarball);
    cluster
        .set_artifact(NS, "repo", artifact_status(&published, &revision(1)))
        .await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &["--allow-out-of-namespace"]);
    let mut object = kluctl_deployment("simple");
    object.spec.path = None;
    object.spec.target = Some("simple".into());
    object.spec.args = None;
    object.spec.timeout = Some("2m".into());
    cluster.create_kd(NS, &object).await;
    let kd = ready_at(&cluster, "simple", 1, &agent).await;
    let status = kd.status.unwrap();
    assert_eq!(status.discriminator.as_deref(), Some("kluctl-examples-simple-simple"));
    let deployments = Gvr::new("apps", "v1", "deployments");
    let nginx = cluster
        .server
        .get_object(&deployments, Some("simple-simple"), "nginx-deployment")
        .expect("nginx deployed into the example's namespace");
    assert_eq!(
        nginx["metadata"]["labels"]["kluctl.io/discriminator"],
        "kluctl-examples-simple-simple"
    );
    assert_eq!(
        condition(&cluster.get_kd(NS, "simple").await.unwrap(), "Healthy").map(|c| c.0),
        Some("True".to_string())
    );

    cluster.kds(NS).delete("simple", &Default::default()).await.unwrap();
    cluster.wait_gone(NS, "simple", WAIT).await;
    let start = std::time::Instant::now();
    while cluster
        .server
        .get_object(&deployments, Some("simple-simple"), "nginx-deployment")
        .is_some()
    {
        assert!(start.elapsed() < WAIT, "nginx not deleted:\n{}", agent.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_interval_redeploys_and_corrects_drift() {
    let (cluster, artifacts, work) = setup().await;
    publish(&cluster, &artifacts, 1, &project("greeting", false)).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    let mut object = kluctl_deployment("app");
    object.spec.interval = "2s".into();
    cluster.create_kd(NS, &object).await;
    ready_at(&cluster, "app", 1, &agent).await;
    // Someone edits the object by hand (kubectl edit); nothing changes in the source.
    let config_maps: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cluster.admin.clone(),
        NS,
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    let edit = kube::api::PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    config_maps
        .patch(
            "settings",
            &edit,
            &kube::api::Patch::Merge(json!({"data": {"greeting": "drifted"}})),
        )
        .await
        .unwrap();
    assert_eq!(config_map(&cluster, "settings").unwrap()["data"]["greeting"], "drifted");
    let start = std::time::Instant::now();
    while config_map(&cluster, "settings").unwrap()["data"]["greeting"] != "hello" {
        assert!(start.elapsed() < WAIT, "drift not corrected:\n{}", agent.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_failed_readiness_wait_is_a_health_check_failure() {
    let cluster = Cluster::start(ServerOptions::default().simulate_controllers()).await;
    cluster.create_namespace(NS);
    let artifacts = Artifacts::start();
    cluster.create_git_repository(NS, "repo", None).await;
    let work = tempfile::tempdir().unwrap();
    let job = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: {NS}\n  annotations:\n    test-apiserver.kluctl.io/fail: \"true\"\n\
         spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: migrate\n        image: busybox\n"
    );
    let files = vec![
        TreeFile::new("deploy/.kluctl.yaml", "discriminator: health\ntargets:\n- name: test\n"),
        TreeFile::new(
            "deploy/deployment.yaml",
            "deployments:\n- path: job\n  waitReadiness: true\n",
        ),
        TreeFile::new("deploy/job/job.yaml", job),
    ];
    publish(&cluster, &artifacts, 1, &files).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let (message, kd) = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "HealthCheckFailed").then(|| (message, kd.clone()))
    })
    .await;
    assert!(
        message.contains("batch/Job/migrate") || message.contains("Job/migrate"),
        "{message}"
    );
    assert_eq!(condition(&kd, "Healthy").map(|c| c.0), Some("False".to_string()));
    assert_eq!(kd.status.unwrap().last_result.unwrap().errors, 1);
}

#[tokio::test]
async fn cluster_vars_are_read_only_from_the_agents_namespace() {
    let (cluster, artifacts, work) = setup().await;
    for ns in [NS, "other"] {
        cluster
            .server
            .create_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "env-vars", "namespace": ns},
                "data": {"vars": format!("greeting: from-{ns}\n")}}))
            .unwrap();
    }
    let with_vars = |namespace: &str| {
        let mut files = project("greeting", false);
        files[1] = TreeFile::new(
            "deploy/deployment.yaml",
            format!(
                "vars:\n- clusterConfigMap:\n    name: env-vars\n    namespace: {namespace}\n    key: vars\n    targetPath: fromCluster\n\
                 deployments:\n- path: app\n"
            ),
        );
        files[2] = TreeFile::new(
            "deploy/app/objects.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {NS}\ndata:\n  greeting: \"{{{{ fromCluster.greeting }}}}\"\n"
            ),
        );
        files
    };
    publish(&cluster, &artifacts, 1, &with_vars("other")).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    cluster.create_kd(NS, &kluctl_deployment("app")).await;
    let message = wait_for(&cluster, "app", &agent, |kd| {
        let (status, reason, message) = ready(kd)?;
        (status == "False" && reason == "BuildFailed").then_some(message)
    })
    .await;
    assert!(message.contains("only objects of namespace team"), "{message}");
    assert!(config_map(&cluster, "settings").is_none());

    publish(&cluster, &artifacts, 2, &with_vars(NS)).await;
    ready_at(&cluster, "app", 2, &agent).await;
    assert_eq!(
        config_map(&cluster, "settings").unwrap()["data"]["greeting"],
        "from-team"
    );
}
