//! The life of a KluctlDeployment with the real agent: first deploy, new revisions, prune,
//! `gitops reconcile`, deletion, drift correction, health failures, a kill during a deploy,
//! errors that recover, and a Kluctl example deployed unchanged.

use super::*;
use crate::harness::*;
use kluctl_e2e::apiserver::{Gvr, ServerOptions};
use kluctl_e2e::servers::artifact::{TreeFile, source_tarball};
use serde_json::json;
use std::time::Duration;

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
async fn a_dry_run_changes_nothing_and_says_so() {
    let (cluster, artifacts, work) = setup().await;
    publish(&cluster, &artifacts, 1, &project("greeting", true)).await;
    let agent = AgentProcess::start(&cluster, &artifacts, work.path(), &[]);
    let mut object = kluctl_deployment("app");
    object.spec.dry_run = true;
    cluster.create_kd(NS, &object).await;
    let kd = ready_at(&cluster, "app", 1, &agent).await;
    let summary = kd.status.unwrap().last_result.unwrap();
    assert!(summary.dry_run, "{summary:?}");
    assert_eq!(summary.new_objects, 3, "{summary:?}");
    assert!(config_map(&cluster, "settings").is_none());
    assert!(config_map(&cluster, "extra").is_none());
}
