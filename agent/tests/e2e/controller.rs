//! The controller in-process against the test API server and the artifact server, with the
//! scripted engine: triggers, timers, conditions, events, finalizers and dependencies.

use crate::harness::*;
use crate::proxy::{RecordingProxy, within_namespace};
use clap::Parser;
use kluctl_agent::config::Args;
use kluctl_agent::engine::Identity;
use kluctl_e2e::apiserver::ServerOptions;
use kluctl_e2e::servers::artifact::{TreeFile, source_tarball};
use serde_json::json;
use shared::crd::{FINALIZER, reasons};
use std::sync::Arc;
use std::time::Duration;

pub const NS: &str = "team";
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Setup {
    pub cluster: Cluster,
    pub artifacts: Artifacts,
    pub engine: SharedEngine,
    metrics_port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    proxy: Option<RecordingProxy>,
    _work: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Setup {
        Self::with(&[], false).await
    }

    /// With `rbac`, the agent runs as its ServiceAccount with only the Role `agent install`
    /// creates, through a recording proxy.
    pub async fn with(extra: &[&str], rbac: bool) -> Setup {
        let options = if rbac {
            ServerOptions::default().rbac()
        } else {
            ServerOptions::default()
        };
        let cluster = Cluster::start(options).await;
        cluster.create_namespace(NS);
        let artifacts = Artifacts::start();
        let engine: SharedEngine = Arc::new(ScriptedEngine::default());
        let work = tempfile::tempdir().unwrap();
        let metrics_port = free_port();
        let mut argv = vec![
            "kluctl-agent".to_string(),
            format!("--namespace={NS}"),
            format!("--artifact-host-allowlist={}", artifacts.server.host()),
            format!("--metrics-addr=127.0.0.1:{metrics_port}"),
            "--health-addr=127.0.0.1:0".to_string(),
            "--requeue-dependency=1s".to_string(),
            "--interval-jitter-percentage=0".to_string(),
            "--http-retry=1".to_string(),
            format!("--work-dir={}", work.path().display()),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        let mut config = Args::try_parse_from(argv).unwrap().validate().unwrap();
        config.fetch.backoff_min = Duration::from_millis(20);
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let (client, proxy) = if rbac {
            for object in shared::crd::manifests::agent_manifests(&shared::crd::manifests::AgentInstallOptions::new(NS))
            {
                if object["kind"] != "Deployment" {
                    cluster.server.create_object(object).expect("agent RBAC");
                }
            }
            let user = format!("system:serviceaccount:{NS}:kluctl-agent");
            let groups = [
                "system:serviceaccounts",
                &format!("system:serviceaccounts:{NS}"),
                "system:authenticated",
            ];
            let token = cluster.server.token_for(&user, &groups);
            let proxy = RecordingProxy::start(cluster.server.url()).await;
            let kubeconfig = work.path().join("agent-kubeconfig");
            proxy.write_kubeconfig(&kubeconfig, &user, &token, NS);
            (client_for(&kubeconfig).await, Some(proxy))
        } else {
            (cluster.admin.clone(), None)
        };
        let agent_engine = engine.clone();
        let task = tokio::spawn(async move {
            kluctl_agent::run(config, client, agent_engine, async {
                let _ = stop.await;
            })
            .await
            .expect("agent run");
        });
        Setup {
            cluster,
            artifacts,
            engine,
            metrics_port,
            shutdown: Some(shutdown),
            task: Some(task),
            proxy,
            _work: work,
        }
    }

    /// Publishes revision `n` of the GitRepository `repo` (at `<commit>.tar.gz`, as
    /// source-controller names it) and writes its status.
    pub async fn publish(&self, n: u32) -> kluctl_e2e::servers::artifact::Published {
        self.publish_files(n, &project_files(&revision(n))).await
    }

    pub async fn publish_files(&self, n: u32, files: &[TreeFile]) -> kluctl_e2e::servers::artifact::Published {
        let path = format!("gitrepository/{NS}/repo/{n:040x}.tar.gz");
        let published = self.artifacts.server.publish_at(&path, source_tarball(files));
        self.cluster
            .set_artifact(NS, "repo", artifact_status(&published, &revision(n)))
            .await;
        published
    }

    pub async fn ready_at(&self, name: &str, n: u32) -> shared::crd::KluctlDeployment {
        let rev = revision(n);
        self.cluster
            .wait_kd(NS, name, WAIT, |kd| {
                let applied = kd.status.as_ref()?.last_applied_revision.as_deref() == Some(rev.as_str());
                (applied && ready(kd)?.0 == "True").then(|| kd.clone())
            })
            .await
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("agent stops in time")
                .unwrap();
        }
    }
}

/// Waits a little and checks nothing more was deployed.
async fn settle(engine: &ScriptedEngine, name: &str, expected: usize) {
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(engine.deploys_of(name).len(), expected, "{:?}", engine.calls());
}

#[tokio::test]
async fn first_deploy_records_revision_digest_summary_and_events() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    let published = s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    let kd = s.ready_at("app", 1).await;
    let status = kd.status.clone().unwrap();
    assert_eq!(status.observed_generation, kd.metadata.generation);
    assert_eq!(status.last_attempted_revision, Some(revision(1)));
    assert_eq!(status.last_applied_digest.as_deref(), Some(published.digest.as_str()));
    assert_eq!(status.discriminator.as_deref(), Some("team-app"));
    assert_eq!(status.last_result.as_ref().unwrap().applied_objects, 2);
    let (_, reason, message) = ready(&kd).unwrap();
    assert_eq!(reason, reasons::RECONCILIATION_SUCCEEDED);
    assert_eq!(message, format!("Applied revision: {}", revision(1)));
    assert_eq!(condition(&kd, "Reconciling"), None);
    assert_eq!(condition(&kd, "Healthy"), Some(("True".into(), "Succeeded".into())));
    assert!(kd.metadata.finalizers.unwrap().contains(&FINALIZER.to_string()));
    assert_eq!(s.engine.deploys_of("app"), vec![revision(1)]);
    let events = s.cluster.events(NS, "app");
    assert!(
        events.iter().any(|(t, r, m, rev)| t == "Normal"
            && r == reasons::RECONCILIATION_SUCCEEDED
            && m.contains("ConfigMap/cm created")
            && *rev == revision(1)),
        "{events:?}"
    );
    // The agent's own status writes trigger nothing.
    settle(&s.engine, "app", 1).await;
    let metrics = reqwest::get(format!("http://127.0.0.1:{}/metrics", s.metrics_port))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "gotk_reconcile_duration_seconds_count{kind=\"KluctlDeployment\",name=\"app\",namespace=\"team\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("kluctl_agent_artifact_fetches_total{outcome=\"ok\"} 1"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn new_revisions_and_new_digests_redeploy_but_label_changes_do_not() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    let second = s.publish(2).await;
    s.ready_at("app", 2).await;
    // Same revision, new bytes at the same path (a content-config change in source-controller).
    let mut files = project_files(&revision(2));
    files.push(TreeFile::new("extra.txt", "new content"));
    let republished = s.publish_files(2, &files).await;
    assert_eq!(republished.path, second.path);
    assert_ne!(republished.digest, second.digest);
    s.cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (kd.status.as_ref()?.last_applied_digest.as_deref() == Some(republished.digest.as_str())).then_some(())
        })
        .await;
    assert_eq!(s.engine.deploys_of("app"), vec![revision(1), revision(2), revision(2)]);
    // A label change is not a spec change.
    s.cluster
        .patch_kd(NS, "app", json!({"metadata": {"labels": {"team": "a"}}}))
        .await;
    settle(&s.engine, "app", 3).await;
    s.stop().await;
}

#[tokio::test]
async fn requested_at_triggers_and_is_recorded() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    s.cluster
        .patch_kd(
            NS,
            "app",
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "token-1"}}}),
        )
        .await;
    s.cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (kd.status.as_ref()?.last_handled_reconcile_at.as_deref() == Some("token-1")).then_some(())
        })
        .await;
    assert_eq!(s.engine.deploys_of("app").len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn suspend_stops_deploys_and_resume_catches_up() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    s.cluster.patch_kd(NS, "app", json!({"spec": {"suspend": true}})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.publish(2).await;
    s.cluster
        .patch_kd(
            NS,
            "app",
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "while-suspended"}}}),
        )
        .await;
    let kd = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (kd.status.as_ref()?.last_handled_reconcile_at.as_deref() == Some("while-suspended")).then(|| kd.clone())
        })
        .await;
    // Only the request token moved; the last results stay.
    assert_eq!(kd.status.unwrap().last_applied_revision, Some(revision(1)));
    settle(&s.engine, "app", 1).await;
    s.cluster.patch_kd(NS, "app", json!({"spec": {"suspend": false}})).await;
    s.ready_at("app", 2).await;
    s.stop().await;
}

#[tokio::test]
async fn a_failure_is_retried_after_retry_interval() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.engine
        .fail_next(reasons::RECONCILIATION_FAILED, "ConfigMap/cm: admission webhook denied");
    s.cluster.create_kd(NS, &kd("app")).await;
    let failed = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False").then(|| (reason, message, kd.clone()))
        })
        .await;
    assert_eq!(failed.0, reasons::RECONCILIATION_FAILED);
    assert!(failed.1.contains("admission webhook denied"), "{}", failed.1);
    assert_eq!(
        condition(&failed.2, "Reconciling"),
        Some(("True".into(), reasons::PROGRESSING_WITH_RETRY.into()))
    );
    // observedGeneration only moves on success.
    assert_eq!(failed.2.status.as_ref().unwrap().observed_generation, None);
    let kd = s.ready_at("app", 1).await;
    assert_eq!(condition(&kd, "Reconciling"), None);
    assert_eq!(s.engine.deploys_of("app").len(), 2);
    let events = s.cluster.events(NS, "app");
    assert!(
        events
            .iter()
            .any(|(t, r, _, _)| t == "Warning" && r == reasons::RECONCILIATION_FAILED)
    );
    s.stop().await;
}

#[tokio::test]
async fn a_missing_artifact_is_waited_for() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    let (_, message) = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False" && reason == reasons::ARTIFACT_FAILED).then_some((reason, message))
        })
        .await;
    assert!(message.contains("source artifact not found"), "{message}");
    s.publish(1).await;
    s.ready_at("app", 1).await;
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_digest_is_never_deployed() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    let rev = revision(1);
    let (_, mut artifact) = s.artifacts.publish(NS, "repo", &rev, &project_files(&rev));
    artifact["digest"] = json!(format!("sha256:{}", "0".repeat(64)));
    s.cluster.set_artifact(NS, "repo", artifact).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    let message = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False" && reason == reasons::ARTIFACT_FAILED).then_some(message)
        })
        .await;
    assert!(message.contains("digest mismatch: expected sha256:000"), "{message}");
    settle(&s.engine, "app", 0).await;
    s.stop().await;
}

#[tokio::test]
async fn cross_namespace_sources_are_refused_and_stalled() {
    let s = Setup::new().await;
    let mut object = kd("app");
    object.spec.source_ref.namespace = Some("flux-system".into());
    s.cluster.create_kd(NS, &object).await;
    let kd = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (ready(kd)?.1 == reasons::ACCESS_DENIED).then(|| kd.clone())
        })
        .await;
    assert_eq!(
        condition(&kd, "Stalled"),
        Some(("True".into(), reasons::ACCESS_DENIED.into()))
    );
    assert_eq!(kd.status.unwrap().observed_generation, kd.metadata.generation);
    settle(&s.engine, "app", 0).await;
    s.stop().await;
}

#[tokio::test]
async fn dependencies_deploy_first_and_cycles_stall() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    // The dependency fails once, so the dependent must wait for its retry.
    s.engine
        .fail_next(reasons::RECONCILIATION_FAILED, "first attempt fails");
    let mut app = kd("app");
    app.spec.depends_on = shared::crd::manifests::depends_on(&["infra".to_string()]);
    s.cluster.create_kd(NS, &app).await;
    s.cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (ready(kd)?.1 == reasons::DEPENDENCY_NOT_READY).then_some(())
        })
        .await;
    s.cluster.create_kd(NS, &kd("infra")).await;
    s.ready_at("infra", 1).await;
    s.ready_at("app", 1).await;
    let order: Vec<String> = s
        .engine
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Deploy { name, .. } => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["infra", "infra", "app"]);

    let mut a = kd("cycle-a");
    a.spec.depends_on = shared::crd::manifests::depends_on(&["cycle-b".to_string()]);
    let mut b = kd("cycle-b");
    b.spec.depends_on = shared::crd::manifests::depends_on(&["cycle-a".to_string()]);
    s.cluster.create_kd(NS, &a).await;
    s.cluster.create_kd(NS, &b).await;
    let message = s
        .cluster
        .wait_kd(NS, "cycle-a", WAIT, |kd| {
            let (_, reason, message) = ready(kd)?;
            (reason == reasons::DEPENDENCY_CYCLE).then_some(message)
        })
        .await;
    assert!(message.contains("cycle-a -> cycle-b -> cycle-a"), "{message}");
    s.stop().await;
}

#[tokio::test]
async fn deletion_with_delete_removes_objects_and_retries_failures() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    let mut object = kd("app");
    object.spec.delete = true;
    object.spec.service_account_name = Some("deployer".into());
    s.cluster.create_kd(NS, &object).await;
    s.ready_at("app", 1).await;
    assert!(s.engine.calls().contains(&Call::Deploy {
        name: "app".into(),
        revision: revision(1),
        identity: Identity::ServiceAccount("deployer".into()),
    }));
    s.engine.fail_next_delete("ConfigMap/cm: forbidden");
    // The source goes away first: deletion must not need it.
    s.artifacts.server.remove(&format!("gitrepository/{NS}/repo"));
    s.cluster
        .git_repositories(NS)
        .delete("repo", &Default::default())
        .await
        .unwrap();
    s.cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    let message = s
        .cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            let (_, reason, message) = ready(kd)?;
            (reason == reasons::DELETION_FAILED).then_some(message)
        })
        .await;
    assert!(message.contains("forbidden"), "{message}");
    s.cluster.wait_gone(NS, "app", WAIT).await;
    let deletes: Vec<Call> = s
        .engine
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Delete { .. }))
        .collect();
    assert_eq!(
        deletes,
        vec![
            Call::Delete {
                name: "app".into(),
                discriminator: "team-app".into()
            };
            2
        ]
    );
    s.stop().await;
}

#[tokio::test]
async fn deletion_without_delete_orphans_the_objects() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    s.cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    s.cluster.wait_gone(NS, "app", WAIT).await;
    assert!(!s.engine.calls().iter().any(|c| matches!(c, Call::Delete { .. })));
    s.stop().await;
}

#[tokio::test]
async fn the_timeout_bounds_the_deploy_and_the_failure_is_recorded() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.engine.set_delay(Some(Duration::from_secs(5)));
    let mut object = kd("app");
    object.spec.timeout = Some("1s".into());
    object.spec.retry_interval = Some("1h".into());
    s.cluster.create_kd(NS, &object).await;
    let message = s
        .cluster
        .wait_kd(NS, "app", Duration::from_secs(10), |kd| {
            let (status, reason, message) = ready(kd)?;
            (status == "False" && reason == reasons::RECONCILIATION_FAILED).then_some(message)
        })
        .await;
    assert!(message.contains("timed out after 1s"), "{message}");
    s.stop().await;
}

#[tokio::test]
async fn invalid_specs_stall_until_fixed() {
    let s = Setup::new().await;
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    let mut object = kd("app");
    object.spec.interval = "0s".into();
    s.cluster.create_kd(NS, &object).await;
    s.cluster
        .wait_kd(NS, "app", WAIT, |kd| {
            (ready(kd)?.1 == reasons::INVALID_SPEC).then_some(())
        })
        .await;
    s.cluster.patch_kd(NS, "app", json!({"spec": {"interval": "1h"}})).await;
    s.ready_at("app", 1).await;
    s.stop().await;
}

#[tokio::test]
async fn with_only_its_role_the_agent_stays_in_its_namespace() {
    let s = Setup::with(&[], true).await;
    s.cluster.create_namespace("other");
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.cluster.create_git_repository("other", "repo", None).await;
    s.publish(1).await;
    let mut object = kd("app");
    object.spec.delete = true;
    s.cluster.create_kd(NS, &object).await;
    s.ready_at("app", 1).await;
    // A KluctlDeployment in another namespace is not the agent's business.
    s.cluster.create_kd("other", &kd("foreign")).await;
    s.cluster.kds(NS).delete("app", &Default::default()).await.unwrap();
    s.cluster.wait_gone(NS, "app", WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(s.cluster.get_kd("other", "foreign").await.unwrap().status.is_none());
    let seen = s.proxy.as_ref().unwrap().seen();
    assert!(seen.len() > 5, "{seen:?}");
    let outside: Vec<_> = seen.iter().filter(|r| !within_namespace(&r.path, NS)).collect();
    assert!(outside.is_empty(), "requests outside {NS}: {outside:?}");
    let denied: Vec<_> = seen.iter().filter(|r| r.status == 403).collect();
    assert!(denied.is_empty(), "forbidden requests: {denied:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_malformed_object_stalls_alone() {
    // An older or hand-edited CRD can let objects through that the agent's types reject.
    let s = Setup::new().await;
    let mut crd = serde_json::to_value(shared::crd::crd()).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"] =
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(s.cluster.admin.clone());
    let current = crds.get("kluctldeployments.flux.kluctl.io").await.unwrap();
    crd["metadata"]["resourceVersion"] = json!(current.metadata.resource_version);
    crds.replace(
        "kluctldeployments.flux.kluctl.io",
        &Default::default(),
        &serde_json::from_value(crd).unwrap(),
    )
    .await
    .unwrap();
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    let broken: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "flux.kluctl.io/v1alpha1", "kind": "KluctlDeployment",
        "metadata": {"name": "broken", "namespace": NS},
        "spec": {"sourceRef": "not-an-object", "interval": 5},
    }))
    .unwrap();
    s.cluster.kds(NS).create(&Default::default(), &broken).await.unwrap();
    s.cluster.create_kd(NS, &kd("app")).await;
    s.ready_at("app", 1).await;
    let raw = s.cluster.kds(NS).get("broken").await.unwrap();
    let condition = raw.data["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
        .expect("the broken object has a Ready condition");
    assert_eq!(condition["status"], "False");
    assert_eq!(condition["reason"], reasons::INVALID_SPEC);
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .starts_with("failed to parse the KluctlDeployment"),
        "{condition}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_revision_arriving_during_a_deploy_runs_after_it_never_beside_it() {
    let s = Setup::new().await;
    s.engine.set_delay(Some(Duration::from_secs(2)));
    s.cluster.create_git_repository(NS, "repo", None).await;
    s.publish(1).await;
    s.cluster.create_kd(NS, &kd("app")).await;
    let waited = std::time::Instant::now();
    while s.engine.deploys_of("app").is_empty() {
        assert!(waited.elapsed() < WAIT, "the first deploy never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A new revision while the first deploy (and its readiness wait) is still running: the
    // documented behaviour is that the running reconcile finishes, then the new one starts.
    s.publish(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.engine.deploys_of("app"),
        vec![revision(1)],
        "one reconcile per object at a time"
    );
    s.engine.set_delay(None);
    s.ready_at("app", 2).await;
    assert_eq!(s.engine.deploys_of("app"), vec![revision(1), revision(2)]);
    let events = s.cluster.events(NS, "app");
    assert!(
        events
            .iter()
            .any(|(_, r, _, rev)| r == reasons::RECONCILIATION_SUCCEEDED && *rev == revision(1)),
        "the first deploy completed rather than being cancelled: {events:?}"
    );
    s.stop().await;
}
