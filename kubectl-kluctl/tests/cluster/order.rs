//! Order: hooks, barriers, CRDs before their custom resources, Namespaces before their
//! objects, --abort-on-error.

use crate::util::*;
use kluctl_e2e::apiserver::Gvr;
use serde_json::{Value, json};
use shared::commands::DeployCommandOptions;

fn hook_cm(name: &str, hook: &str, weight: i32) -> Value {
    let mut cm = config_map("default", name, json!({}));
    cm["metadata"]["annotations"] = json!({"kluctl.io/hook": hook, "kluctl.io/hook-weight": weight.to_string()});
    cm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_by_phase_and_weight_around_the_items_objects() {
    let cluster = Cluster::with_controllers().await;
    let t = target(
        "hooks",
        vec![item(
            "x",
            vec![
                hook_cm("post", "post-deploy", 0),
                config_map("default", "main", json!({})),
                hook_cm("pre-heavy", "pre-deploy", 5),
                hook_cm("pre-light", "pre-deploy", -5),
                hook_cm("initial-only", "pre-deploy-initial", 0),
                hook_cm("upgrade-only", "post-deploy-upgrade", 0),
            ],
        )],
    );
    let result = cluster.deploy(&t).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(
        refs(&result, |o| o.hook),
        vec![
            "default/ConfigMap/initial-only",
            "default/ConfigMap/post",
            "default/ConfigMap/pre-heavy",
            "default/ConfigMap/pre-light"
        ]
    );
    assert_eq!(
        refs(&result, |o| o.new),
        vec!["default/ConfigMap/main"],
        "hooks are not new objects"
    );
    let rv = |name: &str| {
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), name)
            .map(|o| resource_version(&o))
    };
    let order = [
        rv("pre-light").unwrap(),
        rv("initial-only").unwrap(),
        rv("pre-heavy").unwrap(),
        rv("main").unwrap(),
        rv("post").unwrap(),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(
        rv("upgrade-only").is_none(),
        "upgrade hooks do not run on the initial deploy"
    );

    // The second deploy is an upgrade: pre hooks are re-created (before-hook-creation).
    let before = rv("pre-light").unwrap();
    let result = cluster.deploy(&t).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(rv("pre-light").unwrap() > before, "re-created");
    assert!(rv("upgrade-only").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_delete_policies_and_failed_pre_hooks_stop_the_item() {
    let cluster = Cluster::with_controllers().await;
    let jobs = Gvr::new("batch", "v1", "jobs");
    let t = target(
        "hook-jobs",
        vec![item(
            "x",
            vec![
                job(
                    "default",
                    "migrate",
                    json!({"kluctl.io/hook": "pre-deploy", "kluctl.io/hook-delete-policy": "hook-succeeded"}),
                ),
                config_map("default", "app", json!({})),
            ],
        )],
    );
    let result = cluster.deploy(&t).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert!(
        cluster.get(&jobs, Some("default"), "migrate").is_none(),
        "deleted after it succeeded"
    );
    assert!(cluster.get(&Gvr::core("configmaps"), Some("default"), "app").is_some());

    let failing = target(
        "hook-fail",
        vec![item(
            "x",
            vec![
                job(
                    "default",
                    "broken",
                    json!({"kluctl.io/hook": "pre-deploy", "test-apiserver.kluctl.io/fail": "true"}),
                ),
                config_map("default", "after-broken", json!({})),
            ],
        )],
    );
    let result = cluster.deploy(&failing).await;
    let errors = messages(&result.errors);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("default/Job/broken: hook failed while waiting for readiness")),
        "{errors:?}"
    );
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), "after-broken")
            .is_none(),
        "nothing of the item is applied after a failed pre-deploy hook"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barrier_waits_for_everything_started_before_it() {
    let cluster = Cluster::with_controllers().await;
    let mut slow = deployment("default", "slow", 1, "nginx");
    slow["metadata"]["annotations"] = json!({"test-apiserver.kluctl.io/ready-after": "700ms"});
    let mut first = item("first", vec![slow]);
    first.wait_readiness = true;
    let mut barrier = item("barrier", vec![]);
    barrier.barrier = true;
    let after = item("after", vec![config_map("default", "after", json!({}))]);
    let result = cluster.deploy(&target("barrier", vec![first, barrier, after])).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let deployment = cluster
        .get(&Gvr::new("apps", "v1", "deployments"), Some("default"), "slow")
        .unwrap();
    assert_eq!(deployment["status"]["readyReplicas"], 1);
    let after = cluster.get(&Gvr::core("configmaps"), Some("default"), "after").unwrap();
    assert!(
        resource_version(&after) > resource_version(&deployment),
        "the item after the barrier started after the first item was ready"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_and_custom_resource_in_one_item_and_namespace_in_another_item() {
    let cluster = Cluster::with_controllers().await;
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "widgets"}, "spec": {"size": 3}});
    let t = target(
        "crds",
        vec![
            // The custom resource comes first, and its Namespace in a later item without a barrier.
            item("resources", vec![widget, crd("example.com", "Widget", "widgets")]),
            item("namespaces", vec![namespace("widgets")]),
        ],
    );
    // A dry run cannot create the CRD: the widget is reported new, with a warning.
    let diff = cluster.diff(&t).await;
    assert!(diff.errors.is_empty(), "{:?}", diff.errors);
    assert_eq!(
        refs(&diff, |o| o.new),
        vec![
            "CustomResourceDefinition/widgets.example.com",
            "Namespace/widgets",
            "widgets/Widget/w1"
        ]
    );
    assert!(messages(&diff.warnings).iter().any(|w| w.contains("widgets/Widget/w1")));

    let result = cluster.deploy(&t).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let w = cluster.get(&Gvr::new("example.com", "v1", "widgets"), Some("widgets"), "w1");
    assert_eq!(w.unwrap()["spec"]["size"], 3);
    let again = cluster.diff(&t).await;
    assert!(!again.has_changes() && again.errors.is_empty(), "{}", again.to_yaml());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_in_a_namespace_the_target_creates_are_validated_in_a_dry_run() {
    let cluster = Cluster::with_controllers().await;
    let mut bad = deployment("fresh", "bad", 1, "nginx");
    bad["spec"]["selector"]["matchLabels"] = json!({"app": "other"});
    let t = target(
        "fresh",
        vec![item(
            "x",
            vec![namespace("fresh"), config_map("fresh", "ok", json!({})), bad],
        )],
    );
    let diff = cluster.diff(&t).await;
    assert_eq!(refs(&diff, |o| o.new), vec!["Namespace/fresh", "fresh/ConfigMap/ok"]);
    let errors = messages(&diff.errors);
    assert!(
        errors.len() == 1 && errors[0].starts_with("fresh/Deployment/bad:") && errors[0].contains("selector"),
        "{errors:?}"
    );
    assert!(
        cluster.get(&Gvr::core("namespaces"), None, "fresh").is_none(),
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_error_starts_nothing_after_the_first_error() {
    let cluster = Cluster::with_controllers().await;
    let mut bad = deployment("default", "bad", 1, "nginx");
    bad["spec"]["selector"]["matchLabels"] = json!({"app": "other"});
    let mut first = item("first", vec![bad]);
    first.barrier = true;
    let second = item("second", vec![config_map("default", "second", json!({}))]);
    let t = target("abort", vec![first, second]);

    let mut options = DeployCommandOptions {
        deploy: fast(),
        prune: false,
    };
    options.deploy.abort_on_error = true;
    let result = cluster.deploy_with(&t, options).await;
    assert_eq!(result.errors.len(), 1, "{:?}", result.errors);
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), "second")
            .is_none()
    );

    // Without the flag, the other items still go out and the error is reported.
    let result = cluster.deploy(&t).await;
    assert_eq!(result.errors.len(), 1);
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), "second")
            .is_some()
    );
}
