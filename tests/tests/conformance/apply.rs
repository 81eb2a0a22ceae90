//! Server-side apply through `kubectl apply --server-side`: create, update, no-op re-apply, conflicts
//! between managers, `--force-conflicts`, removal of fields no longer applied, dry runs, and
//! client-side apply (strategic merge patch) for comparison.

use crate::util::{Cluster, deployment_yaml, deployments};

fn managers(object: &serde_json::Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or_default().to_string(),
                        e["operation"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn apply_creates_then_updates_with_managed_fields() {
    let cluster = Cluster::start();
    let out = cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx:1.25"),
        )
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web serverside-applied");
    let created = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(managers(&created), vec![("kubectl".to_string(), "Apply".to_string())]);
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    assert!(fields["f:spec"]["f:replicas"].is_object(), "{fields}");
    assert!(
        fields["f:spec"].get("f:revisionHistoryLimit").is_none(),
        "defaults are not owned"
    );
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx:1.25"),
        )
        .ok();
    let again = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"],
        "a re-apply is a no-op"
    );
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx:1.26"),
        )
        .ok();
    let updated = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(
        updated["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    assert_eq!(updated["metadata"]["generation"], 2);
}

#[test]
fn a_second_manager_conflicts_until_it_forces() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx"),
        )
        .ok();
    let scaled = deployment_yaml("web", "default", 5, "nginx");
    let run = cluster
        .kubectl_stdin(
            &["apply", "--server-side", "--field-manager=autoscaler", "-f", "-"],
            &scaled,
        )
        .fails();
    assert!(
        run.stderr
            .contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{}",
        run.stderr
    );
    assert_eq!(
        cluster.object(&deployments(), Some("default"), "web").unwrap()["spec"]["replicas"],
        2
    );
    cluster
        .kubectl_stdin(
            &[
                "apply",
                "--server-side",
                "--field-manager=autoscaler",
                "--force-conflicts",
                "-f",
                "-",
            ],
            &scaled,
        )
        .ok();
    let forced = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(forced["spec"]["replicas"], 5);
    let owners: Vec<String> = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["fieldsV1"]["f:spec"].get("f:replicas").is_some())
        .map(|e| e["manager"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(owners, vec!["autoscaler"], "ownership moved to the forcing manager");
}

#[test]
fn fields_a_manager_stops_applying_are_removed() {
    let cluster = Cluster::start();
    let with_label = deployment_yaml("web", "default", 1, "nginx").replace(
        "metadata:\n  name: web\n",
        "metadata:\n  name: web\n  labels:\n    team: a\n    tier: web\n",
    );
    cluster
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], &with_label)
        .ok();
    let without = with_label.replace("    tier: web\n", "");
    cluster
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], &without)
        .ok();
    let d = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(d["metadata"]["labels"], serde_json::json!({"team": "a"}));
}

#[test]
fn fields_owned_by_another_manager_survive_removal() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 1, "nginx"),
        )
        .ok();
    cluster.kubectl(&["label", "deployment", "web", "owner=ops"]).ok();
    cluster
        .kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &deployment_yaml("web", "default", 1, "nginx"),
        )
        .ok();
    let d = cluster.object(&deployments(), Some("default"), "web").unwrap();
    assert_eq!(d["metadata"]["labels"]["owner"], "ops");
    let names: Vec<String> = managers(&d).into_iter().map(|(m, _)| m).collect();
    assert!(names.contains(&"kubectl-label".to_string()), "{names:?}");
}

#[test]
fn server_dry_run_apply_stores_nothing() {
    let cluster = Cluster::start();
    let out = cluster
        .kubectl_stdin(
            &[
                "apply",
                "--server-side",
                "--dry-run=server",
                "--show-managed-fields",
                "-o",
                "yaml",
                "-f",
                "-",
            ],
            &deployment_yaml("preview", "default", 1, "nginx"),
        )
        .ok()
        .stdout;
    assert!(out.contains("manager: kubectl"), "{out}");
    assert!(cluster.object(&deployments(), Some("default"), "preview").is_none());
}

#[test]
fn client_side_apply_merges_containers_by_name() {
    let cluster = Cluster::start();
    let two = deployment_yaml("web", "default", 1, "nginx:1").replace(
        "      - name: app\n        image: nginx:1\n",
        "      - name: app\n        image: nginx:1\n      - name: sidecar\n        image: envoy:1\n",
    );
    cluster.kubectl_stdin(&["apply", "-f", "-"], &two).ok();
    let patched = two.replace("envoy:1", "envoy:2");
    cluster.kubectl_stdin(&["apply", "-f", "-"], &patched).ok();
    let d = cluster.object(&deployments(), Some("default"), "web").unwrap();
    let images: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, vec!["nginx:1", "envoy:2"]);
    assert!(d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());
}
