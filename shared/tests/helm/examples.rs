//! The Kluctl examples with Helm releases (`simple-helm`, `microservices-demo/2` and `/3`) render
//! completely, for every target, through the whole pipeline: project loading, Jinja2, the Helm
//! stage (charts from the committed `.helm-charts`), Kustomize and post-processing.

use kluctl_e2e::servers::charts::test_helm;
use serde_json::Value;
use shared::helm::{ChartCache, ChartClient, HelmStage};
use shared::project::{Inclusion, ProjectOptions, load};
use shared::render::{RenderOptions, RenderedProject, render_with_helm};
use std::path::{Path, PathBuf};

/// `shared/testdata/kluctl-examples` next to the checkout (found walking up, since worktrees and
/// the main checkout sit at different depths), or `$KLUCTL_TESTDATA/kluctl-examples`.
pub fn examples() -> PathBuf {
    kluctl_e2e::fixtures::testdata()
        .expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
        .join("kluctl-examples")
}

/// Copies an example into a temp dir (the test data is read-only input).
pub fn copy_example(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("project");
    let src = examples().join(name);
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let target = dst.join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
    (tmp, dst)
}

/// Loads and renders `dir` for `target` offline, with the test's helm binary.
pub fn render_target(dir: &Path, target: &str) -> Result<RenderedProject, shared::render::RenderError> {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: Some(target.to_string()),
        inclusion: Inclusion::default(),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let project = runtime.block_on(load(&options, None)).unwrap_or_else(|e| panic!("{e}"));
    let cache_dir = tempfile::tempdir().unwrap();
    let helm = HelmStage::new(
        Some(test_helm()),
        ChartCache::new(cache_dir.path(), ChartClient::default()),
        None,
    );
    render_with_helm(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
        &helm,
    )
}

fn objects(rendered: &RenderedProject) -> Vec<&Value> {
    rendered.objects.iter().map(|(_, o)| o).collect()
}

fn find<'a>(objects: &[&'a Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
}

fn assert_kluctl_metadata(objects: &[&Value], discriminator: &str) {
    for object in objects {
        assert_eq!(
            object["metadata"]["labels"]["kluctl.io/discriminator"], discriminator,
            "{object}"
        );
        assert!(
            object
                .pointer("/metadata/annotations/kluctl.io~1helm-install-namespace")
                .is_none(),
            "the internal annotation is consumed: {object}"
        );
    }
}

#[test]
fn simple_helm_renders_nginx_with_the_namespace_and_values() {
    let (_tmp, dir) = copy_example("simple-helm");
    let rendered = render_target(&dir, "simple-helm").unwrap_or_else(|e| panic!("{e}"));
    let objects = objects(&rendered);
    assert_kluctl_metadata(&objects, "kluctl-examples-simple-helm-simple-helm");
    let namespace = find(&objects, "Namespace", "simple-helm-simple-helm");
    assert!(namespace["metadata"].get("namespace").is_none());
    let deployment = find(&objects, "Deployment", "nginx");
    assert_eq!(deployment["metadata"]["namespace"], "simple-helm-simple-helm");
    assert_eq!(
        deployment["metadata"]["annotations"]["kluctl.io/deployment-item-dir"],
        "deployment/nginx"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["resources"]["limits"]["memory"], "128Mi",
        "helm-values.yml applied"
    );
    assert_eq!(find(&objects, "Service", "nginx")["spec"]["type"], "ClusterIP");
    // The chart's output is part of the rendered tree, next to the kustomization listing it.
    let item = rendered.tree.root().join("deployment/nginx");
    assert!(item.join("helm-rendered.yaml").is_file());
}

#[test]
fn microservices_demo_2_renders_replicated_redis_next_to_the_services() {
    let (_tmp, dir) = copy_example("microservices-demo/2-helm-integration");
    let rendered = render_target(&dir, "local").unwrap_or_else(|e| panic!("{e}"));
    let objects = objects(&rendered);
    assert_kluctl_metadata(&objects, "kluctl-examples-microservices-demo-local");
    let redis = find(&objects, "StatefulSet", "cart-redis-node");
    assert_eq!(redis["metadata"]["namespace"], "default");
    assert_eq!(redis["spec"]["replicas"], 3);
    let containers: Vec<&str> = redis["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, vec!["redis", "sentinel"]);
    assert_eq!(
        objects.iter().filter(|o| o["kind"] == "StatefulSet").count(),
        1,
        "replication with sentinel has no separate master"
    );
    // The application that talks to redis is in the same render.
    let cart = find(&objects, "Deployment", "cartservice");
    assert!(cart.to_string().contains("redis"), "{cart}");
    assert_eq!(
        redis["metadata"]["annotations"]["kluctl.io/deployment-item-dir"],
        "third-party/redis"
    );
}

#[test]
fn microservices_demo_3_renders_every_target_with_its_redis_architecture() {
    let (_tmp, dir) = copy_example("microservices-demo/3-templating-and-multi-env");
    for (target, replication) in [("local", false), ("test", true), ("prod", true)] {
        let rendered = render_target(&dir, target).unwrap_or_else(|e| panic!("{target}: {e}"));
        let objects = objects(&rendered);
        let namespace = format!("ms-demo-{target}");
        assert_kluctl_metadata(&objects, &format!("kluctl-examples-microservices-demo-{target}"));
        let sets: Vec<&&Value> = objects.iter().filter(|o| o["kind"] == "StatefulSet").collect();
        let names: Vec<&str> = sets.iter().map(|s| s["metadata"]["name"].as_str().unwrap()).collect();
        if replication {
            assert_eq!(names, vec!["cart-redis-node"], "{target}");
            assert_eq!(sets[0]["spec"]["replicas"], 3, "{target}");
            find(&objects, "Service", "cart-redis");
        } else {
            assert_eq!(names, vec!["cart-redis-master"], "{target}");
            find(&objects, "Service", "cart-redis-master");
        }
        for set in &sets {
            assert_eq!(set["metadata"]["namespace"], namespace.as_str(), "{target}");
            assert_eq!(
                set["metadata"]["labels"]["examples.kluctl.io/deployment-target"], target,
                "commonLabels reach the Helm objects"
            );
        }
        let cart = find(&objects, "Deployment", "cartservice");
        let redis_address = if replication {
            "cart-redis:6379"
        } else {
            "cart-redis-master:6379"
        };
        assert!(cart.to_string().contains(redis_address), "{target}: {cart}");
        assert!(
            objects
                .iter()
                .filter(|o| o["kind"] != "Namespace")
                .all(|o| o["metadata"]["namespace"] == namespace.as_str()),
            "{target}: everything lives in {namespace}"
        );
        let has_email = objects.iter().any(|o| o["metadata"]["name"] == "emailservice");
        assert_eq!(has_email, replication, "{target}: services enabled per env");
    }
}

#[test]
fn a_missing_prepulled_chart_fails_the_render_at_its_helm_chart_file() {
    let (_tmp, dir) = copy_example("microservices-demo/3-templating-and-multi-env");
    std::fs::remove_dir_all(dir.join(".helm-charts")).unwrap();
    let err = render_target(&dir, "local").unwrap_err();
    let all = err.all();
    assert_eq!(all.len(), 1, "{err}");
    assert_eq!(all[0].location.file, "third-party/redis/helm-chart.yml", "{err}");
    assert!(all[0].message.contains("kubectl kluctl helm-pull"), "{err}");
    assert_eq!(all[0].chain[0].to_string(), "third-party/deployment.yml:2:5");
}
