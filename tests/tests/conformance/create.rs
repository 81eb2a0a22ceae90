//! Creates: server-set fields and defaults, protobuf bodies of typed clients, validation, namespaces,
//! dry runs, strict field validation, generated names and Service cluster IPs.

use kluctl_e2e::apiserver::Gvr;
use serde_json::json;

use crate::util::{Cluster, configmaps, deployment_yaml, deployments, namespaces};

#[test]
fn create_namespace_sends_protobuf_and_gets_the_namespace_defaults() {
    let cluster = Cluster::start();
    let out = cluster.kubectl(&["create", "namespace", "team-a"]).ok().stdout;
    assert_eq!(out.trim(), "namespace/team-a created");
    let ns = cluster.object(&namespaces(), None, "team-a").expect("stored");
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
    let listed = cluster.kubectl(&["get", "namespace", "team-a"]).ok().stdout;
    assert!(
        listed.lines().nth(1).unwrap().starts_with("team-a   Active"),
        "{listed}"
    );
}

#[test]
fn create_deployment_gets_the_defaults_a_real_server_adds() {
    let cluster = Cluster::start();
    cluster
        .kubectl(&["create", "deployment", "web", "--image=nginx:1.25", "--replicas=0"])
        .ok();
    let d = cluster.object(&deployments(), Some("default"), "web").expect("stored");
    assert_eq!(d["spec"]["replicas"], 0, "an explicit zero survives the protobuf body");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(d["metadata"]["generation"], 1);
    let yaml = cluster.kubectl(&["get", "deploy", "web", "-o", "yaml"]).ok().stdout;
    assert!(
        yaml.contains("creationTimestamp: null"),
        "pod templates carry a null timestamp:\n{yaml}"
    );
}

#[test]
fn invalid_objects_are_rejected_with_the_field_causes() {
    let cluster = Cluster::start();
    let manifest = deployment_yaml("broken", "default", 1, "\"\"");
    let run = cluster.kubectl_stdin(&["create", "-f", "-"], &manifest).fails();
    assert!(
        run.stderr
            .contains("The Deployment \"broken\" is invalid: spec.template.spec.containers[0].image: Required value"),
        "{}",
        run.stderr
    );
    assert!(cluster.object(&deployments(), Some("default"), "broken").is_none());
    let bad_name = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n";
    let run = cluster.kubectl_stdin(&["create", "-f", "-"], bad_name).fails();
    assert!(
        run.stderr
            .contains("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{}",
        run.stderr
    );
}

#[test]
fn namespaced_objects_need_an_existing_namespace() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: missing\n";
    let run = cluster.kubectl_stdin(&["create", "-f", "-"], manifest).fails();
    assert!(
        run.stderr.contains("namespaces \"missing\" not found"),
        "{}",
        run.stderr
    );
    assert!(cluster.object(&configmaps(), Some("missing"), "c").is_none());
}

#[test]
fn server_dry_run_returns_the_result_and_stores_nothing() {
    let cluster = Cluster::start();
    let out = cluster
        .kubectl_stdin(
            &["create", "-f", "-", "--dry-run=server", "-o", "yaml"],
            &deployment_yaml("preview", "default", 3, "nginx"),
        )
        .ok()
        .stdout;
    let printed: serde_json::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(printed["spec"]["progressDeadlineSeconds"], 600);
    assert!(printed["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(cluster.object(&deployments(), Some("default"), "preview").is_none());
}

#[test]
fn unknown_fields_fail_strict_validation() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\nspec:\n  x: 1\n";
    let run = cluster.kubectl_stdin(&["create", "-f", "-"], manifest).fails();
    assert!(
        run.stderr.contains("strict decoding error: unknown field \"spec\""),
        "{}",
        run.stderr
    );
    assert!(cluster.object(&configmaps(), Some("default"), "c").is_none());
    let run = cluster
        .kubectl_stdin(&["create", "-f", "-", "--validate=warn"], manifest)
        .ok();
    assert!(run.stderr.contains("unknown field \"spec\""), "{}", run.stderr);
    let stored = cluster
        .object(&configmaps(), Some("default"), "c")
        .expect("stored after warning");
    assert!(stored.get("spec").is_none());
}

#[test]
fn generate_name_gets_a_random_suffix() {
    let cluster = Cluster::start();
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: job-config-\n";
    let out = cluster
        .kubectl_stdin(&["create", "-f", "-", "-o", "name"], manifest)
        .ok()
        .stdout;
    let name = out.trim().strip_prefix("configmap/").expect("a configmap");
    assert!(
        name.starts_with("job-config-") && name.len() == "job-config-".len() + 5,
        "{name}"
    );
    assert!(cluster.object(&configmaps(), Some("default"), name).is_some());
}

#[test]
fn services_get_a_cluster_ip_and_default_ports() {
    let cluster = Cluster::start();
    cluster
        .kubectl(&["create", "service", "clusterip", "web", "--tcp=80:8080"])
        .ok();
    let svc = cluster
        .object(&Gvr::core("services"), Some("default"), "web")
        .expect("stored");
    let ip = svc["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.96."), "{ip}");
    assert_eq!(svc["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    let out = cluster.kubectl(&["get", "service", "web"]).ok().stdout;
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], &["web", "ClusterIP", ip.as_str(), "<none>", "80/TCP"]);
}
