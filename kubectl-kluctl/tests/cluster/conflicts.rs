//! Field-manager conflicts: Kluctl's policy, force-apply, and an HPA owning `replicas`.

use crate::util::*;
use kluctl_e2e::apiserver::Gvr;
use serde_json::json;
use shared::commands::DeployCommandOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_of_other_managers_are_given_up_with_a_warning_naming_the_manager() {
    let cluster = Cluster::with_controllers().await;
    // Owned by the manager "test" (another tool), not by kluctl.
    cluster.create(config_map("default", "shared", json!({"owner": "other", "mine": "x"})));
    let t = |annotations: serde_json::Value| {
        let mut cm = config_map("default", "shared", json!({"owner": "kluctl", "extra": "1"}));
        cm["metadata"]["annotations"] = annotations;
        target("conflicts", vec![item("x", vec![cm])])
    };

    let result = cluster.deploy(&t(json!({}))).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let warnings = messages(&result.warnings);
    assert!(
        warnings.iter().any(|w| w.contains("default/ConfigMap/shared")
            && w.contains("\"test\"")
            && w.contains("Not updating field '.data.owner' as we lost field ownership")),
        "{warnings:?}"
    );
    let cm = cluster
        .get(&Gvr::core("configmaps"), Some("default"), "shared")
        .unwrap();
    assert_eq!(cm["data"]["owner"], "other", "the other manager keeps its field");
    assert_eq!(cm["data"]["extra"], "1", "the rest is applied");

    // kluctl.io/force-apply takes the field over.
    let result = cluster.deploy(&t(json!({"kluctl.io/force-apply": "true"}))).await;
    assert!(result.errors.is_empty() && result.warnings.is_empty(), "{result:?}");
    let cm = cluster
        .get(&Gvr::core("configmaps"), Some("default"), "shared")
        .unwrap();
    assert_eq!(cm["data"]["owner"], "kluctl");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_apply_flag_and_kubectl_owned_fields_are_taken_back() {
    let cluster = Cluster::with_controllers().await;
    cluster.create(config_map("default", "a", json!({"k": "theirs"})));
    let t = target(
        "force",
        vec![item("x", vec![config_map("default", "a", json!({"k": "ours"}))])],
    );
    let mut options = DeployCommandOptions {
        deploy: fast(),
        prune: false,
    };
    options.deploy.apply.force_apply = true;
    let result = cluster.deploy_with(&t, options).await;
    assert!(result.errors.is_empty() && result.warnings.is_empty(), "{result:?}");
    let cm = cluster.get(&Gvr::core("configmaps"), Some("default"), "a").unwrap();
    assert_eq!(cm["data"]["k"], "ours");

    // A field someone changed with kubectl is taken back without a warning.
    kubectl_apply(
        &cluster,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "default"}, "data": {"k": "hand-edited"}}),
    );
    let diff = cluster.diff(&t).await;
    assert_eq!(refs(&diff, |o| o.changed), vec!["default/ConfigMap/a"]);
    let change = &diff.objects[0].changes[0];
    assert!(change.owners.contains(&"kubectl".to_string()), "{change:?}");
    let result = cluster.deploy(&t).await;
    assert!(result.warnings.is_empty() && result.errors.is_empty(), "{result:?}");
    let cm = cluster.get(&Gvr::core("configmaps"), Some("default"), "a").unwrap();
    assert_eq!(cm["data"]["k"], "ours");
}

fn kubectl_apply(cluster: &Cluster, object: serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("o.json");
    std::fs::write(&file, object.to_string()).unwrap();
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.server.kubeconfig_path())
        .args(["apply", "--server-side", "--force-conflicts", "-f"])
        .arg(&file)
        .output()
        .expect("kubectl runs (the reference client must be installed)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpa_owning_replicas_is_left_alone_silently() {
    let cluster = Cluster::with_controllers().await;
    let t = target("hpa", vec![item("x", vec![deployment("default", "web", 1, "nginx")])]);
    assert!(cluster.deploy(&t).await.errors.is_empty());

    // The HPA scales through the scale subresource, as the controller manager does.
    let client = kube_client(&cluster).await;
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client,
        "default",
        &kube::discovery::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    let scale = json!({"spec": {"replicas": 5}});
    api.patch_scale(
        "web",
        &kube::api::PatchParams {
            field_manager: Some("kube-controller-manager".into()),
            ..Default::default()
        },
        &kube::api::Patch::Merge(&scale),
    )
    .await
    .expect("scaled");

    let diff = cluster.diff(&t).await;
    assert!(!diff.has_changes(), "replicas are the HPA's: {}", diff.to_yaml());
    let result = cluster.deploy(&t).await;
    assert!(result.errors.is_empty() && result.warnings.is_empty(), "{result:?}");
    let live = cluster
        .get(&Gvr::new("apps", "v1", "deployments"), Some("default"), "web")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 5);
}

pub async fn kube_client(cluster: &Cluster) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(cluster.server.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}
