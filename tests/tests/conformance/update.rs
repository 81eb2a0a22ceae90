//! Updates and non-apply patches: optimistic concurrency, generation, status ignored on the main
//! resource, merge and JSON patches (`kubectl label`, `annotate`, `patch`, `scale`).

use crate::util::{Cluster, configmaps, deployment_yaml, deployments};

#[test]
fn replace_with_a_stale_resource_version_conflicts() {
    let cluster = Cluster::start();
    cluster
        .kubectl(&["create", "configmap", "c", "--from-literal=a=1"])
        .ok();
    let stale = cluster.kubectl(&["get", "configmap", "c", "-o", "yaml"]).ok().stdout;
    cluster
        .kubectl(&["patch", "configmap", "c", "--type=merge", "-p", r#"{"data":{"a":"2"}}"#])
        .ok();
    let run = cluster.kubectl_stdin(&["replace", "-f", "-"], &stale).fails();
    assert!(
        run.stderr.contains(
            "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        cluster.object(&configmaps(), Some("default"), "c").unwrap()["data"]["a"],
        "2"
    );
}

#[test]
fn generation_changes_with_the_spec_only() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &deployment_yaml("web", "default", 1, "nginx"))
        .ok();
    let generation = |c: &Cluster| cluster_generation(c);
    assert_eq!(generation(&cluster), 1);
    cluster.kubectl(&["label", "deployment", "web", "tier=frontend"]).ok();
    assert_eq!(generation(&cluster), 1, "labels are metadata");
    let out = cluster
        .kubectl(&["scale", "deployment", "web", "--replicas=4"])
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    assert_eq!(generation(&cluster), 2);
    let d = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["labels"]["tier"], "frontend");
}

fn cluster_generation(cluster: &Cluster) -> i64 {
    cluster.object(&deployments(), Some("default"), "web").unwrap()["metadata"]["generation"]
        .as_i64()
        .unwrap()
}

#[test]
fn status_written_through_the_main_resource_is_ignored() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &deployment_yaml("web", "default", 1, "nginx"))
        .ok();
    let before = cluster.object(&deployments(), Some("default"), "web").unwrap();
    let out = cluster
        .kubectl(&[
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":5}}"#,
        ])
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web patched (no change)");
    let after = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(before, after, "no new resourceVersion for a no-op");
    cluster
        .kubectl(&[
            "patch",
            "deployment",
            "web",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"replicas":5}}"#,
        ])
        .ok();
    let status = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(status["status"]["replicas"], 5);
    assert_eq!(status["metadata"]["generation"], 1);
}

#[test]
fn labels_annotations_and_json_patches() {
    let cluster = Cluster::start();
    cluster
        .kubectl(&["create", "configmap", "c", "--from-literal=a=1"])
        .ok();
    cluster.kubectl(&["label", "configmap", "c", "tier=web"]).ok();
    cluster.kubectl(&["annotate", "configmap", "c", "owner=team-a"]).ok();
    cluster
        .kubectl(&[
            "patch",
            "configmap",
            "c",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/b","value":"2"}]"#,
        ])
        .ok();
    let failed = cluster
        .kubectl(&[
            "patch",
            "configmap",
            "c",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/data/a","value":"9"}]"#,
        ])
        .fails();
    assert!(failed.stderr.contains("The request is invalid"), "{}", failed.stderr);
    let c = cluster.object(&configmaps(), Some("default"), "c").unwrap();
    assert_eq!(c["metadata"]["labels"]["tier"], "web");
    assert_eq!(c["metadata"]["annotations"]["owner"], "team-a");
    assert_eq!(c["data"], serde_json::json!({"a": "1", "b": "2"}));
    let unlabel = cluster.kubectl(&["label", "configmap", "c", "tier-"]).ok();
    assert_eq!(unlabel.stdout.trim(), "configmap/c unlabeled");
    assert!(
        cluster.object(&configmaps(), Some("default"), "c").unwrap()["metadata"]
            .get("labels")
            .is_none()
    );
}
