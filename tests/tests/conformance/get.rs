//! Reads: `kubectl get` in its output formats, selectors, pagination and errors.

use crate::util::{Cluster, configmaps, deployment_yaml};

fn configmap(name: &str, labels: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{{labels}}}\ndata:\n  key: value\n")
}

#[test]
fn get_yaml_shows_the_server_set_fields_of_the_stored_object() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &configmap("settings", "app: web"))
        .ok();
    let stored = cluster
        .object(&configmaps(), Some("default"), "settings")
        .expect("stored");
    let out = cluster
        .kubectl(&["get", "configmap", "settings", "-o", "yaml"])
        .ok()
        .stdout;
    let printed: serde_json::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(printed["metadata"]["uid"], stored["metadata"]["uid"]);
    assert_eq!(
        printed["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
    assert!(
        printed["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(printed["data"]["key"], "value");
    assert_eq!(printed["kind"], "ConfigMap");
}

#[test]
fn get_json_of_several_objects_is_a_list() {
    let cluster = Cluster::start();
    for name in ["a", "b"] {
        cluster
            .kubectl_stdin(&["create", "-f", "-"], &configmap(name, "app: web"))
            .ok();
    }
    let out = cluster
        .kubectl(&["get", "configmaps", "-l", "app=web", "-o", "json"])
        .ok()
        .stdout;
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
    assert_eq!(cluster.server.list_objects(&configmaps(), Some("default")).len(), 2);
}

#[test]
fn get_wide_prints_the_priority_columns_of_the_server_table() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(
            &["apply", "-f", "-"],
            &deployment_yaml("web", "default", 2, "nginx:1.25"),
        )
        .ok();
    let out = cluster.kubectl(&["get", "deployment", "web", "-o", "wide"]).ok().stdout;
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        vec![
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], "web");
    assert_eq!(row[1], "0/2");
    assert_eq!(&row[5..], &["app", "nginx:1.25", "app=web"]);
    let plain = cluster.kubectl(&["get", "deployment", "web"]).ok().stdout;
    assert!(!plain.contains("SELECTOR"), "{plain}");
}

#[test]
fn get_of_a_missing_object_is_not_found() {
    let cluster = Cluster::start();
    let run = cluster.kubectl(&["get", "configmap", "nope"]).fails();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (NotFound): configmaps \"nope\" not found"
    );
    assert!(cluster.object(&configmaps(), Some("default"), "nope").is_none());
}

#[test]
fn label_and_field_selectors_filter_lists() {
    let cluster = Cluster::start();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &configmap("web", "tier: web, env: prod"))
        .ok();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &configmap("db", "tier: db, env: prod"))
        .ok();
    cluster
        .kubectl_stdin(&["create", "-f", "-"], &configmap("dev", "tier: web, env: dev"))
        .ok();
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["get", "configmaps", "-o", "name"];
        full.extend_from_slice(args);
        cluster.kubectl(&full).ok().stdout.lines().map(str::to_string).collect()
    };
    assert_eq!(names(&["-l", "tier in (web),env!=dev"]), vec!["configmap/web"]);
    assert_eq!(names(&["-l", "env notin (prod)"]), vec!["configmap/dev"]);
    assert_eq!(names(&["--field-selector", "metadata.name=db"]), vec!["configmap/db"]);
    let err = cluster
        .kubectl(&["get", "configmaps", "--field-selector", "data.key=x"])
        .fails();
    assert!(
        err.stderr.contains("field label not supported: data.key"),
        "{}",
        err.stderr
    );
}

#[test]
fn chunked_lists_follow_continue_tokens() {
    let cluster = Cluster::start();
    for i in 0..7 {
        cluster
            .kubectl_stdin(&["create", "-f", "-"], &configmap(&format!("cm-{i}"), "batch: one"))
            .ok();
    }
    let out = cluster
        .kubectl(&[
            "get",
            "configmaps",
            "-l",
            "batch=one",
            "--chunk-size=3",
            "-o",
            "name",
            "-v=6",
        ])
        .ok();
    assert_eq!(out.stdout.lines().count(), 7, "{}", out.stdout);
    let pages = out.stderr.matches("continue=").count();
    assert_eq!(pages, 2, "expected two follow-up pages:\n{}", out.stderr);
}
