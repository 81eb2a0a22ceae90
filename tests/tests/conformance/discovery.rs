//! Discovery and OpenAPI: what `kubectl api-resources`, `api-versions`, `version` and `explain` read.

use crate::util::Cluster;

#[test]
fn api_resources_lists_builtin_kinds_with_short_names_and_scope() {
    let cluster = Cluster::start();
    let out = cluster.kubectl(&["api-resources"]).ok().stdout;
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("deployments"),
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(line("namespaces"), vec!["namespaces", "ns", "v1", "false", "Namespace"]);
    assert_eq!(
        line("customresourcedefinitions"),
        vec![
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition"
        ]
    );
    for name in [
        "configmaps",
        "secrets",
        "services",
        "serviceaccounts",
        "pods",
        "persistentvolumeclaims",
        "endpoints",
        "events",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "ingresses",
        "networkpolicies",
        "poddisruptionbudgets",
        "horizontalpodautoscalers",
        "leases",
        "storageclasses",
    ] {
        line(name);
    }
    let namespaced = cluster
        .kubectl(&["api-resources", "--namespaced=false", "-o", "name"])
        .ok()
        .stdout;
    assert!(namespaced.lines().any(|l| l == "namespaces"));
    assert!(!namespaced.lines().any(|l| l == "configmaps"));
}

#[test]
fn api_versions_and_server_version() {
    let cluster = Cluster::start();
    let versions = cluster.kubectl(&["api-versions"]).ok().stdout;
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
        "autoscaling/v2",
        "policy/v1",
    ] {
        assert!(versions.lines().any(|l| l == gv), "{gv} missing from:\n{versions}");
    }
    let version: serde_json::Value =
        serde_json::from_str(&cluster.kubectl(&["version", "-o", "json"]).ok().stdout).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.32.0");
}

#[test]
fn explain_reads_the_openapi_v3_documents() {
    let cluster = Cluster::start();
    let out = cluster.kubectl(&["explain", "deployment.spec.replicas"]).ok().stdout;
    assert!(out.contains("FIELD: replicas <integer>"), "{out}");
    assert!(out.contains("GROUP:      apps"), "{out}");
}
