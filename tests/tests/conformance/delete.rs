//! Deletes: finalizers and `deletionTimestamp`, namespace cascade, propagation policies over
//! `ownerReferences`, and the namespaces a cluster refuses to delete.

use serde_json::json;

use crate::util::{Cluster, configmaps, namespaces};
use std::time::Duration;

fn owned_configmap(name: &str, owner: &serde_json::Value) -> String {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": true}]}})
    .to_string()
}

fn owner_and_dependent(cluster: &Cluster) {
    cluster
        .kubectl_stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owner\n",
        )
        .ok();
    let owner = cluster.object(&configmaps(), Some("default"), "owner").unwrap();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &owned_configmap("dependent", &owner))
        .ok();
}

#[test]
fn finalizers_keep_an_object_terminating_until_they_are_removed() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  finalizers: [example.com/cleanup]\n";
    cluster.kubectl_stdin(&["create", "-f", "-"], manifest).ok();
    let out = cluster
        .kubectl(&["delete", "configmap", "kept", "--wait=false"])
        .ok()
        .stdout;
    assert_eq!(out.trim(), "configmap \"kept\" deleted");
    let stored = cluster
        .object(&configmaps(), Some("default"), "kept")
        .expect("still there");
    assert!(stored["metadata"]["deletionTimestamp"].is_string());
    let add = cluster
        .kubectl(&[
            "patch",
            "configmap",
            "kept",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/new"}]"#,
        ])
        .fails();
    assert!(
        add.stderr
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        add.stderr
    );
    cluster
        .kubectl(&[
            "patch",
            "configmap",
            "kept",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ])
        .ok();
    assert!(cluster.object(&configmaps(), Some("default"), "kept").is_none());
}

#[test]
fn deleting_a_namespace_removes_its_objects_then_the_namespace() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "doomed"]).ok();
    cluster
        .kubectl(&["create", "configmap", "a", "-n", "doomed", "--from-literal=k=v"])
        .ok();
    cluster
        .kubectl(&["create", "secret", "generic", "s", "-n", "doomed", "--from-literal=k=v"])
        .ok();
    let out = cluster.kubectl(&["delete", "namespace", "doomed"]).ok().stdout;
    assert_eq!(out.trim(), "namespace \"doomed\" deleted");
    assert!(cluster.object(&namespaces(), None, "doomed").is_none());
    assert!(cluster.object(&configmaps(), Some("doomed"), "a").is_none());
    let create = cluster
        .kubectl(&["create", "configmap", "late", "-n", "doomed"])
        .fails();
    assert!(
        create.stderr.contains("namespaces \"doomed\" not found"),
        "{}",
        create.stderr
    );
}

#[test]
fn orphan_propagation_keeps_dependents_without_the_owner_reference() {
    let cluster = Cluster::start();
    owner_and_dependent(&cluster);
    cluster
        .kubectl(&["delete", "configmap", "owner", "--cascade=orphan"])
        .ok();
    assert!(cluster.object(&configmaps(), Some("default"), "owner").is_none());
    let dependent = cluster
        .object(&configmaps(), Some("default"), "dependent")
        .expect("orphaned, not deleted");
    assert!(dependent["metadata"].get("ownerReferences").is_none(), "{dependent}");
}

#[test]
fn background_propagation_deletes_dependents_after_the_owner() {
    let cluster = Cluster::start();
    owner_and_dependent(&cluster);
    cluster.kubectl(&["delete", "configmap", "owner"]).ok();
    cluster.wait_until("the dependent to be collected", Duration::from_secs(5), || {
        cluster.object(&configmaps(), Some("default"), "dependent").is_none()
    });
}

#[test]
fn foreground_propagation_deletes_dependents_first() {
    let cluster = Cluster::start();
    owner_and_dependent(&cluster);
    cluster
        .kubectl(&["delete", "configmap", "owner", "--cascade=foreground"])
        .ok();
    assert!(cluster.object(&configmaps(), Some("default"), "owner").is_none());
    assert!(cluster.object(&configmaps(), Some("default"), "dependent").is_none());
}

#[test]
fn the_default_namespace_cannot_be_deleted() {
    let cluster = Cluster::start();
    let run = cluster.kubectl(&["delete", "namespace", "default"]).fails();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (Forbidden): namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
    assert!(cluster.object(&namespaces(), None, "default").is_some());
}
