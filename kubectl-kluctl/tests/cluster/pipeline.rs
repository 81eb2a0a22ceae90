//! Projects on disk through `shared::commands::render_target`: deployment.yaml's
//! `ignoreForDiff`, `conflictResolution`, `deleteObjects` and `waitReadinessObjects`, and the
//! inclusion filters applied to orphans.

use crate::util::*;
use kluctl_e2e::apiserver::Gvr;
use serde_json::json;
use shared::commands::{DeployCommandOptions, RenderRequest, render_target};
use std::path::Path;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

async fn render(cluster: &Cluster, dir: &Path, include_tags: &[&str]) -> shared::commands::Target {
    let request = RenderRequest {
        project: shared::project::ProjectOptions {
            project_dir: dir.to_path_buf(),
            inclusion: shared::project::Inclusion {
                include_tags: include_tags.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    render_target(&cluster.client, &request).await.expect("renders").target
}

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  value: \"{value}\"\n";

fn cm(name: &str, value: &str) -> String {
    CM.replace("{name}", name).replace("{value}", value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_for_diff_and_conflict_resolution_rules_of_deployment_yaml_apply() {
    let cluster = Cluster::with_controllers().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (".kluctl.yaml", "discriminator: rules\n"),
            (
                "deployment.yaml",
                "deployments:\n  - path: app\nignoreForDiff:\n  - fieldPath: data.value\n    kind: ConfigMap\n    name: ignored\nconflictResolution:\n  - manager: ^test$\n    action: force-apply\n",
            ),
            ("app/ignored.yaml", &cm("ignored", "one")),
            ("app/contested.yaml", &cm("contested", "ours")),
        ],
    );
    // Someone else owns `contested` first; the project's rule takes it over.
    cluster.create(config_map("default", "contested", json!({"value": "theirs"})));
    let target = render(&cluster, dir.path(), &[]).await;
    let result = cluster.deploy(&target).await;
    assert!(result.errors.is_empty() && result.warnings.is_empty(), "{result:?}");
    let live = cluster
        .get(&Gvr::core("configmaps"), Some("default"), "contested")
        .unwrap();
    assert_eq!(live["data"]["value"], "ours");

    write(dir.path(), &[("app/ignored.yaml", &cm("ignored", "two"))]);
    let target = render(&cluster, dir.path(), &[]).await;
    let diff = cluster.diff(&target).await;
    assert!(
        !diff.has_changes(),
        "the ignored field is not a change: {}",
        diff.to_yaml()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_and_wait_readiness_objects_of_deployment_yaml() {
    let cluster = Cluster::with_controllers().await;
    cluster.create(config_map("default", "legacy", json!({})));
    let mut slow = deployment("default", "slow", 1, "nginx");
    slow["metadata"]["annotations"] = json!({"test-apiserver.kluctl.io/ready-after": "500ms"});
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (".kluctl.yaml", "discriminator: items\n"),
            (
                "deployment.yaml",
                "deployments:\n  - path: app\n  - barrier: true\n    waitReadinessObjects:\n      - kind: Deployment\n        name: slow\n        namespace: default\n    deleteObjects:\n      - kind: ConfigMap\n        name: legacy\n        namespace: default\n  - path: after\n",
            ),
            ("app/slow.yaml", &shared::yaml::to_yaml_string(&slow)),
            ("after/after.yaml", &cm("after", "x")),
        ],
    );
    let target = render(&cluster, dir.path(), &[]).await;
    let result = cluster.deploy(&target).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(refs(&result, |o| o.deleted), vec!["default/ConfigMap/legacy"]);
    assert!(
        cluster
            .get(&Gvr::core("configmaps"), Some("default"), "legacy")
            .is_none()
    );
    let deployment = cluster
        .get(&Gvr::new("apps", "v1", "deployments"), Some("default"), "slow")
        .unwrap();
    let after = cluster.get(&Gvr::core("configmaps"), Some("default"), "after").unwrap();
    assert_eq!(deployment["status"]["readyReplicas"], 1);
    assert!(
        resource_version(&after) > resource_version(&deployment),
        "waited for the object first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_items_are_never_orphans() {
    let cluster = Cluster::with_controllers().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            (".kluctl.yaml", "discriminator: tags\n"),
            (
                "deployment.yaml",
                "deployments:\n  - path: a\n    tags: [a]\n  - path: b\n    tags: [b]\n",
            ),
            ("a/a.yaml", &cm("a", "1")),
            ("a/a-old.yaml", &cm("a-old", "1")),
            ("b/b.yaml", &cm("b", "1")),
        ],
    );
    let target = render(&cluster, dir.path(), &[]).await;
    assert!(cluster.deploy(&target).await.errors.is_empty());
    std::fs::remove_file(dir.path().join("a/a-old.yaml")).unwrap();

    let only_a = render(&cluster, dir.path(), &["a"]).await;
    assert_eq!(only_a.objects().count(), 1);
    let diff = cluster.diff(&only_a).await;
    assert_eq!(
        refs(&diff, |o| o.orphan),
        vec!["default/ConfigMap/a-old"],
        "b is excluded, not orphaned"
    );
    let mut prune = DeployCommandOptions {
        deploy: fast(),
        prune: true,
    };
    prune.deploy.no_wait = true;
    let result = cluster.deploy_with(&only_a, prune).await;
    assert_eq!(refs(&result, |o| o.deleted), vec!["default/ConfigMap/a-old"]);
    assert!(cluster.get(&Gvr::core("configmaps"), Some("default"), "b").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_flags_hide_label_and_annotation_changes() {
    let cluster = Cluster::with_controllers().await;
    let dir = tempfile::tempdir().unwrap();
    let labelled = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: l\n  namespace: default\n  labels:\n    team: {value}\n  annotations:\n    note: {value}\ndata:\n  k: v\n"
        )
    };
    write(
        dir.path(),
        &[(".kluctl.yaml", "discriminator: flags\n"), ("l.yaml", &labelled("a"))],
    );
    let target = render(&cluster, dir.path(), &[]).await;
    assert!(cluster.deploy(&target).await.errors.is_empty());
    write(dir.path(), &[("l.yaml", &labelled("b"))]);
    let flagged = |labels: bool, annotations: bool| RenderRequest {
        project: shared::project::ProjectOptions {
            project_dir: dir.path().to_path_buf(),
            ..Default::default()
        },
        ignore: shared::diff::IgnoreFlags {
            labels,
            annotations,
            ..Default::default()
        },
        ..Default::default()
    };
    let paths = |result: &shared::result::CommandResult| -> Vec<String> {
        result
            .objects
            .iter()
            .flat_map(|o| o.changes.iter().map(|c| c.json_path.clone()))
            .collect()
    };
    let all = render_target(&cluster.client, &flagged(false, false))
        .await
        .unwrap()
        .target;
    assert_eq!(
        paths(&cluster.diff(&all).await),
        vec!["metadata.annotations.note", "metadata.labels.team"]
    );
    let no_labels = render_target(&cluster.client, &flagged(true, false))
        .await
        .unwrap()
        .target;
    assert_eq!(
        paths(&cluster.diff(&no_labels).await),
        vec!["metadata.annotations.note"]
    );
    let neither = render_target(&cluster.client, &flagged(true, true))
        .await
        .unwrap()
        .target;
    assert!(!cluster.diff(&neither).await.has_changes());
}
