//! Readiness with `--simulate-controllers`: `kubectl wait` and `rollout status` on Deployments and Jobs,
//! the failure and never-ready annotations.

use kluctl_e2e::apiserver::{FAIL_ANNOTATION, Gvr, NEVER_READY_ANNOTATION, ServerOptions};
use std::time::Duration;

use crate::util::{Cluster, deployment_yaml, deployments};

fn simulated() -> Cluster {
    Cluster::with(
        ServerOptions::default()
            .simulate_controllers()
            .controller_delay(Duration::from_millis(150)),
    )
}

fn job_yaml(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: run\n        image: busybox\n"
    )
}

#[test]
fn wait_for_a_deployment_to_become_available() {
    let cluster = simulated();
    cluster
        .kubectl_stdin(&["apply", "-f", "-"], &deployment_yaml("web", "default", 3, "nginx"))
        .ok();
    let out = cluster
        .kubectl(&["wait", "--for=condition=Available", "deployment/web", "--timeout=10s"])
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web condition met");
    let d = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(d["status"]["readyReplicas"], 3);
    assert_eq!(d["status"]["observedGeneration"], d["metadata"]["generation"]);
    let status = cluster
        .kubectl(&["rollout", "status", "deployment/web", "--timeout=10s"])
        .ok()
        .stdout;
    assert!(status.contains("successfully rolled out"), "{status}");
}

#[test]
fn wait_for_a_job_to_complete() {
    let cluster = simulated();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &job_yaml("migrate", ""))
        .ok();
    cluster
        .kubectl(&["wait", "--for=condition=Complete", "job/migrate", "--timeout=10s"])
        .ok();
    let job = cluster
        .object(&Gvr::new("batch", "v1", "jobs"), Some("default"), "migrate")
        .unwrap();
    assert_eq!(job["status"]["succeeded"], 1);
    let table = cluster.kubectl(&["get", "job", "migrate"]).ok().stdout;
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], &["migrate", "Complete", "1/1"]);
}

#[test]
fn an_annotated_job_fails() {
    let cluster = simulated();
    let annotation = format!("{FAIL_ANNOTATION}: \"true\"");
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &job_yaml("broken", &annotation))
        .ok();
    cluster
        .kubectl(&["wait", "--for=condition=Failed", "job/broken", "--timeout=10s"])
        .ok();
    let job = cluster
        .object(&Gvr::new("batch", "v1", "jobs"), Some("default"), "broken")
        .unwrap();
    let failed = job["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
}

#[test]
fn a_never_ready_deployment_times_out() {
    let cluster = simulated();
    let manifest = deployment_yaml("stuck", "default", 1, "nginx").replace(
        "metadata:\n  name: stuck\n",
        &format!("metadata:\n  name: stuck\n  annotations:\n    {NEVER_READY_ANNOTATION}: \"true\"\n"),
    );
    cluster.kubectl_stdin(&["apply", "-f", "-"], &manifest).ok();
    let run = cluster
        .kubectl(&["wait", "--for=condition=Available", "deployment/stuck", "--timeout=1s"])
        .fails();
    assert!(
        run.stderr.contains("timed out waiting for the condition"),
        "{}",
        run.stderr
    );
    let d = cluster.object(&deployments(), Some("default"), "stuck").unwrap();
    assert_eq!(
        d["status"]["observedGeneration"], 1,
        "the controller saw it but never made it ready"
    );
    assert!(d["status"].get("readyReplicas").is_none());
}
