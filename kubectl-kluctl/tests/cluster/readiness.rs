//! Readiness waits: timeouts, terminal failures that stop the wait at once, --no-wait, validate.

use crate::conflicts::kube_client;
use crate::util::*;
use serde_json::json;
use shared::commands::{DeployCommandOptions, ValidateOptions};
use std::time::{Duration, Instant};

fn waiting(objects: Vec<serde_json::Value>) -> shared::cluster::DeployItem {
    let mut i = item("wait", objects);
    i.wait_readiness = true;
    i
}

fn with_timeout(timeout: Duration) -> DeployCommandOptions {
    let mut options = DeployCommandOptions {
        deploy: fast(),
        prune: false,
    };
    options.deploy.readiness_timeout = timeout;
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_that_never_gets_ready_times_out_with_its_reason() {
    let cluster = Cluster::with_controllers().await;
    let mut stuck = deployment("default", "stuck", 2, "nginx");
    stuck["metadata"]["annotations"] = json!({"test-apiserver.kluctl.io/never-ready": "true"});
    let ready = deployment("default", "fine", 1, "nginx");
    let t = target("timeout", vec![waiting(vec![stuck, ready])]);
    let start = Instant::now();
    let result = cluster.deploy_with(&t, with_timeout(Duration::from_secs(2))).await;
    assert!(start.elapsed() < Duration::from_secs(10));
    let errors = messages(&result.errors);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("default/Deployment/stuck: timed out after 2s waiting for readiness"),
        "{errors:?}"
    );

    // --no-wait does not wait at all.
    let mut no_wait = with_timeout(Duration::from_secs(2));
    no_wait.deploy.no_wait = true;
    let result = cluster.deploy_with(&t, no_wait).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_ends_the_wait_at_once() {
    let cluster = Cluster::with_controllers().await;
    let failing = job("default", "fails", json!({"test-apiserver.kluctl.io/fail": "true"}));
    let t = target("job-fail", vec![waiting(vec![failing])]);
    let start = Instant::now();
    let result = cluster.deploy_with(&t, with_timeout(Duration::from_secs(60))).await;
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "did not wait for the timeout"
    );
    let errors = messages(&result.errors);
    assert!(
        errors.len() == 1 && errors[0].starts_with("default/Job/fails: failed while waiting for readiness"),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pull_error_in_pod_status_ends_the_wait_at_once() {
    // No controller simulation: the test plays the kubelet.
    let cluster = Cluster::start(Default::default()).await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "example.invalid/nope:1"}]}});
    let t = target("pull", vec![waiting(vec![pod])]);
    let client = kube_client(&cluster).await;
    let kubelet = tokio::spawn(async move {
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "default");
        loop {
            if pods.get_opt("p").await.unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = json!({"status": {"phase": "Pending", "containerStatuses": [{"name": "main", "ready": false,
            "restartCount": 0, "image": "example.invalid/nope:1", "imageID": "",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}}]}});
        pods.patch_status("p", &Default::default(), &kube::api::Patch::Merge(&status))
            .await
            .unwrap();
    });
    let start = Instant::now();
    let result = cluster.deploy_with(&t, with_timeout(Duration::from_secs(60))).await;
    kubelet.await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "did not wait for the timeout"
    );
    let errors = messages(&result.errors);
    assert!(
        errors.len() == 1 && errors[0].starts_with("default/Pod/p: failed") && errors[0].contains("ErrImagePull"),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_readiness_and_waits_when_asked() {
    let cluster = Cluster::with_controllers().await;
    let mut slow = deployment("default", "later", 1, "nginx");
    slow["metadata"]["annotations"] = json!({"test-apiserver.kluctl.io/ready-after": "1s",
        "validate-result.kluctl.io/info": "deployed by the test"});
    let t = target(
        "validate",
        vec![item("x", vec![slow, config_map("default", "c", json!({}))])],
    );
    let mut no_wait = DeployCommandOptions {
        deploy: fast(),
        prune: false,
    };
    no_wait.deploy.no_wait = true;
    assert!(cluster.deploy_with(&t, no_wait).await.errors.is_empty());

    let session = cluster.session("validate");
    let once = shared::commands::validate(&session, &t, &ValidateOptions::default())
        .await
        .unwrap();
    assert!(!once.ready, "{once:?}");
    assert!(
        messages(&once.warnings)
            .iter()
            .any(|w| w.starts_with("default/Deployment/later:"))
    );
    assert_eq!(once.results.len(), 1);
    assert_eq!(once.results[0].message, "deployed by the test");

    let strict = ValidateOptions {
        warnings_as_errors: true,
        ..Default::default()
    };
    let strict = shared::commands::validate(&session, &t, &strict).await.unwrap();
    assert!(!strict.errors.is_empty());

    let waited = ValidateOptions {
        wait: Some(Duration::from_secs(20)),
        sleep: Duration::from_millis(200),
        warnings_as_errors: false,
    };
    let waited = shared::commands::validate(&session, &t, &waited).await.unwrap();
    assert!(waited.ready && waited.errors.is_empty(), "{waited:?}");

    // A missing object is an error.
    let missing = target(
        "validate",
        vec![item("x", vec![config_map("default", "missing", json!({}))])],
    );
    let result = shared::commands::validate(&session, &missing, &ValidateOptions::default())
        .await
        .unwrap();
    assert!(messages(&result.errors)[0].contains("object not found"));
}
