//! Rendering against a cluster (the in-memory test API server over HTTPS, through kube-rs):
//! cluster vars sources read live objects, and discovery decides namespaces.

mod common;

use common::project;
use kluctl_e2e::apiserver::{ServerOptions, TestServer};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use shared::project::{ProjectOptions, load};
use shared::render::{RenderOptions, render};
use shared::vars::KubeReader;

async fn reader(server: &TestServer) -> KubeReader {
    let kubeconfig = Kubeconfig::read_from(server.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    KubeReader::connect(kube::Client::try_from(config).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_vars_and_namespaces_come_from_the_live_cluster() {
    shared::http::install_crypto_provider();
    let server = TestServer::start(ServerOptions::default()).await.unwrap();
    for object in [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cfg"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "cfg", "labels": {"role": "vars"}},
               "data": {"vars.yaml": "replicas: 3\nregion: eu\n"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "cfg"},
               "data": {"token": "dG9rZW46IHMzY3IzdAo="}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "legacy", "namespace": "cfg"},
               "spec": {"replicas": 5, "selector": {"matchLabels": {"a": "b"}},
                        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
    ] {
        server.create_object(object).unwrap();
    }
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "vars:\n  - clusterConfigMap: {labels: {role: vars}, namespace: cfg, key: vars.yaml}\n  - clusterSecret: {name: creds, namespace: cfg, key: token}\n    targetPath: secret\n  - clusterObject: {kind: Deployment, namespace: cfg, name: legacy, path: spec.replicas}\n    targetPath: legacyReplicas\ndeployments:\n  - path: app\n",
        ),
        (
            "app/all.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: out\ndata:\n  summary: '{{ replicas }}-{{ region }}-{{ legacyReplicas }}-{{ secret.token | length }}'\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: role\n  namespace: ignored\n",
        ),
    ]);
    let reader = reader(&server).await;
    assert!(reader.kube_version().is_some_and(|v| v.starts_with("v1.")));
    assert!(
        reader
            .api_resources()
            .contains(&("apps".to_string(), "v1".to_string(), "Deployment".to_string()))
    );
    let options = ProjectOptions {
        project_dir: dir,
        ..Default::default()
    };
    let loaded = load(&options, Some(&reader)).await.unwrap();
    let rendered = render(
        &loaded,
        &RenderOptions {
            output_dir: None,
            scopes: Some(&reader),
            builder: None,
        },
    )
    .unwrap();
    let objects: Vec<_> = rendered.objects.iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(objects[0]["data"]["summary"], "3-eu-5-6");
    assert_eq!(objects[0]["metadata"]["namespace"], "default");
    assert!(objects[1]["metadata"].get("namespace").is_none());

    let (_tmp2, dir) = project(&[(
        "deployment.yaml",
        "vars:\n  - clusterConfigMap: {name: nope, namespace: cfg, key: k}\ndeployments: []\n",
    )]);
    let err = load(
        &ProjectOptions {
            project_dir: dir,
            ..Default::default()
        },
        Some(&reader),
    )
    .await
    .unwrap_err();
    assert_eq!(err.located().message, "ConfigMap cfg/nope not found");
    server.shutdown();
}
