//! deploy and diff: new, changed and unchanged objects, orphans, Secrets, output model.

use crate::util::*;
use kluctl_e2e::apiserver::Gvr;
use serde_json::json;
use shared::result::{TextOptions, render_text};

fn app(ns: &str, value: &str) -> Vec<serde_json::Value> {
    vec![
        namespace(ns),
        config_map(ns, "settings", json!({"color": value, "size": "large"})),
        deployment(ns, "web", 2, "nginx:1.27"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_then_diff_reports_nothing_then_exactly_the_changed_field() {
    let cluster = Cluster::with_controllers().await;
    let blue = target("deploy-diff", vec![item("app", app("shop", "blue"))]);

    let first = cluster.deploy(&blue).await;
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(
        refs(&first, |o| o.new),
        vec!["Namespace/shop", "shop/ConfigMap/settings", "shop/Deployment/web"]
    );
    assert_eq!(first.summary.applied_objects, 3);
    let cm = cluster.get(&Gvr::core("configmaps"), Some("shop"), "settings").unwrap();
    assert_eq!(cm["data"]["color"], "blue");
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, vec!["kluctl"], "applied with field manager kluctl");

    let unchanged = cluster.diff(&blue).await;
    assert!(unchanged.errors.is_empty(), "{:?}", unchanged.errors);
    assert!(!unchanged.has_changes(), "{}", unchanged.to_yaml());
    assert_eq!(unchanged.summary.applied_objects, 3, "every object was dry-run applied");

    // A re-deploy of the same render changes nothing either.
    let again = cluster.deploy(&blue).await;
    assert!(!again.has_changes() && again.errors.is_empty(), "{}", again.to_yaml());

    let changed_target = target("deploy-diff", vec![item("app", app("shop", "green"))]);
    let changed = cluster.diff(&changed_target).await;
    assert_eq!(refs(&changed, |o| o.changed), vec!["shop/ConfigMap/settings"]);
    let object = changed.objects.iter().find(|o| o.changed).unwrap();
    assert_eq!(object.changes.len(), 1, "{:?}", object.changes);
    assert_eq!(object.changes[0].json_path, "data.color");
    assert_eq!(object.changes[0].unified_diff, "-blue\n+green");
    assert_eq!(object.changes[0].owners, vec!["kluctl"]);
    // The diff is a dry run: the cluster still has the old value.
    let cm = cluster.get(&Gvr::core("configmaps"), Some("shop"), "settings").unwrap();
    assert_eq!(cm["data"]["color"], "blue");

    let text = render_text(&changed, &TextOptions::default());
    assert!(text.contains("Changed objects:\n  shop/ConfigMap/settings"), "{text}");
    assert!(text.contains("Diff for object shop/ConfigMap/settings"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_listed_and_pruned_without_touching_another_target_in_the_namespace() {
    let cluster = Cluster::with_controllers().await;
    cluster.create(namespace("shared"));
    let a = |names: &[&str]| {
        target(
            "team-a",
            vec![item(
                "a",
                names
                    .iter()
                    .map(|n| config_map("shared", n, json!({"k": "a"})))
                    .collect(),
            )],
        )
    };
    let b = target(
        "team-b",
        vec![item("b", vec![config_map("shared", "b1", json!({"k": "b"}))])],
    );
    assert!(cluster.deploy(&a(&["a1", "a2"])).await.errors.is_empty());
    assert!(cluster.deploy(&b).await.errors.is_empty());

    // a2 is no longer rendered: it is an orphan of team-a; b1 belongs to team-b.
    let diff = cluster.diff(&a(&["a1"])).await;
    assert_eq!(refs(&diff, |o| o.orphan), vec!["shared/ConfigMap/a2"]);
    assert!(diff.has_changes());

    let session = cluster.session("prune");
    let plan = shared::commands::plan_prune(&session, &a(&["a1"])).await.unwrap();
    let planned: Vec<String> = plan.objects.iter().map(|r| r.to_string()).collect();
    assert_eq!(planned, vec!["shared/ConfigMap/a2"]);
    let result = plan
        .execute(
            &session,
            shared::commands::DeleteOptions {
                dry_run: false,
                wait: Some(std::time::Duration::from_secs(10)),
            },
        )
        .await;
    assert_eq!(refs(&result, |o| o.deleted), vec!["shared/ConfigMap/a2"]);
    let cms = Gvr::core("configmaps");
    assert!(cluster.get(&cms, Some("shared"), "a2").is_none());
    assert!(cluster.get(&cms, Some("shared"), "a1").is_some());
    assert!(
        cluster.get(&cms, Some("shared"), "b1").is_some(),
        "the other target's object stays"
    );

    // deploy --prune does the same in one go.
    let with_prune = shared::commands::DeployCommandOptions {
        deploy: fast(),
        prune: true,
    };
    let result = cluster
        .deploy_with(&target("team-b", vec![item("b", vec![])]), with_prune)
        .await;
    assert_eq!(refs(&result, |o| o.deleted), vec!["shared/ConfigMap/b1"]);
    assert!(cluster.get(&cms, Some("shared"), "a1").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_without_kluctl_ownership_or_with_skip_delete_are_never_pruned() {
    let cluster = Cluster::with_controllers().await;
    cluster.create(namespace("keep"));
    let mut protected = config_map("keep", "protected", json!({}));
    protected["metadata"]["annotations"] = json!({"kluctl.io/skip-delete": "true"});
    let t = target(
        "keeper",
        vec![item("x", vec![protected, config_map("keep", "plain", json!({}))])],
    );
    assert!(cluster.deploy(&t).await.errors.is_empty());
    // Same discriminator label, but created by someone else: not kluctl's to delete.
    cluster.create(owned(config_map("keep", "foreign", json!({})), "keeper"));

    let session = cluster.session("prune");
    let plan = shared::commands::plan_prune(&session, &target("keeper", vec![]))
        .await
        .unwrap();
    let planned: Vec<String> = plan.objects.iter().map(|r| r.to_string()).collect();
    assert_eq!(planned, vec!["keep/ConfigMap/plain"]);
    let kept: Vec<String> = plan.kept.iter().map(|k| k.object_ref.to_string()).collect();
    assert_eq!(kept, vec!["keep/ConfigMap/protected"]);
    let preview = plan.preview();
    assert!(
        messages(&preview.warnings)
            .iter()
            .any(|w| w.contains("protected") && w.contains("kluctl.io/skip-delete")),
        "{:?}",
        preview.warnings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_and_delete_refuse_a_target_without_discriminator() {
    let cluster = Cluster::start(Default::default()).await;
    let mut t = target("x", vec![]);
    t.discriminator = None;
    let session = cluster.session("prune");
    let err = shared::commands::plan_prune(&session, &t)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no discriminator"), "{err}");
    let err = shared::commands::plan_delete(&session, &t)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no discriminator"), "{err}");
    // deploy and diff only warn.
    let diff = cluster.diff(&t).await;
    assert!(messages(&diff.warnings)[0].contains("orphan object detection will not work"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_namespaces_first_with_their_contents_and_waits() {
    let cluster = Cluster::with_controllers().await;
    let t = target(
        "doomed",
        vec![
            item("ns", vec![namespace("doomed-ns")]),
            item(
                "apps",
                vec![
                    config_map("doomed-ns", "inside", json!({})),
                    config_map("default", "outside", json!({})),
                ],
            ),
        ],
    );
    assert!(cluster.deploy(&t).await.errors.is_empty());
    let session = cluster.session("delete");
    let plan = shared::commands::plan_delete(&session, &target("doomed", vec![]))
        .await
        .unwrap();
    let planned: Vec<String> = plan.objects.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        planned,
        vec![
            "Namespace/doomed-ns",
            "default/ConfigMap/outside",
            "doomed-ns/ConfigMap/inside"
        ]
    );
    let result = plan
        .execute(
            &session,
            shared::commands::DeleteOptions {
                dry_run: false,
                wait: Some(std::time::Duration::from_secs(20)),
            },
        )
        .await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    // Waited: gone when the command returns.
    assert!(cluster.get(&Gvr::core("namespaces"), None, "doomed-ns").is_none());
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("doomed-ns"), "inside")
            .is_none()
    );
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), "outside")
            .is_none()
    );
    assert_eq!(
        refs(&result, |o| o.deleted),
        vec!["Namespace/doomed-ns", "default/ConfigMap/outside"],
        "objects inside a deleted namespace go with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_model_carries_flags_changes_and_is_serialisable() {
    let cluster = Cluster::with_controllers().await;
    let t = target(
        "model",
        vec![item("x", vec![config_map("default", "m", json!({"alpha": "1"}))])],
    );
    cluster.deploy(&t).await;
    let changed = target(
        "model",
        vec![item("x", vec![config_map("default", "m", json!({"alpha": "2"}))])],
    );
    let result = cluster.diff(&changed).await;
    let json: serde_json::Value = serde_json::from_str(&result.to_json()).unwrap();
    assert_eq!(json["kind"], "CommandResult");
    assert_eq!(json["targetKey"]["discriminator"], "model");
    assert!(
        json["targetKey"]["clusterId"].is_string(),
        "cluster id is the kube-system uid"
    );
    let object = &json["objects"][0];
    assert_eq!(object["ref"]["name"], "m");
    assert_eq!(object["changed"], true);
    assert_eq!(object["applied"], true);
    assert_eq!(object["changes"][0]["type"], "update");
    assert_eq!(object["changes"][0]["jsonPath"], "data.alpha");
    let yaml: serde_json::Value = shared::yaml::parse_single(&result.to_yaml(), "result.yaml").unwrap();
    assert_eq!(yaml, json);
}
