//! The Helm items of the Kluctl examples (`simple-helm`, `microservices-demo/2` and `/3`), for
//! every target: the item's files are templated with Jinja2 as the render stage does, then the
//! releases are rendered from the committed `.helm-charts`.

use kluctl_e2e::servers::charts::test_helm;
use serde_json::{Value, json};
use shared::helm::{
    ChartCache, ChartClient, HelmRelease, HelmRenderContext, INSTALL_NAMESPACE_ANNOTATION, render_item_releases,
};
use shared::template::{JinjaEngine, RenderContext, TemplateEngine};
use std::path::{Path, PathBuf};

/// `shared/testdata/kluctl-examples` next to the checkout (found walking up, since worktrees and
/// the main checkout sit at different depths), or `$KLUCTL_TESTDATA/kluctl-examples`.
fn examples() -> PathBuf {
    if let Some(dir) = std::env::var_os("KLUCTL_TESTDATA") {
        return PathBuf::from(dir).join("kluctl-examples");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/testdata/kluctl-examples"))
        .find(|p| p.is_dir())
        .expect("shared/testdata/kluctl-examples not found above the workspace; set KLUCTL_TESTDATA")
}

/// Templates every file of `item` (relative to `project`) into a temp dir, renders its releases,
/// and returns them with the objects of each output file.
fn render_item(project: &Path, item: &str, vars: &Value) -> Vec<(HelmRelease, Vec<Value>)> {
    let source_item = project.join(item);
    let rendered = tempfile::tempdir().unwrap();
    let rendered_item = rendered.path().join(item);
    std::fs::create_dir_all(&rendered_item).unwrap();
    let engine = JinjaEngine::new();
    let search = vec![source_item.clone(), project.to_path_buf()];
    let ctx = RenderContext {
        vars,
        search_dirs: &search,
        root: project,
    };
    for entry in std::fs::read_dir(&source_item).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let source = std::fs::read_to_string(entry.path()).unwrap();
        let text = engine
            .render(&format!("{item}/{name}"), &source, &ctx)
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(rendered_item.join(&name), text).unwrap();
    }
    let helm = test_helm();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ChartCache::new(cache_dir.path(), ChartClient::default());
    let ctx = HelmRenderContext {
        source_root: project,
        source_item_dir: &source_item,
        display_dir: item,
        helm: &helm,
        cluster: None,
        cache: &cache,
    };
    render_item_releases(&rendered_item, &ctx)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|release| {
            let text = std::fs::read_to_string(&release.output_file).unwrap();
            let objects = shared::yaml::parse_documents(&text, "out").unwrap();
            (release, objects)
        })
        .collect()
}

fn kinds<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

#[test]
fn simple_helm_renders_nginx_into_the_target_namespace() {
    let vars = json!({"target": {"name": "simple-helm"}, "args": {"environment": "simple-helm"}});
    let rendered = render_item(&examples().join("simple-helm"), "deployment/nginx", &vars);
    let [(release, objects)] = rendered.as_slice() else {
        panic!("one release expected")
    };
    assert_eq!((release.chart.as_str(), release.version.as_str()), ("nginx", "17.3.2"));
    assert_eq!(release.namespace, "simple-helm-simple-helm");
    let deployment = kinds(objects, "Deployment");
    assert_eq!(deployment.len(), 1);
    assert_eq!(deployment[0]["metadata"]["name"], "nginx");
    let container = &deployment[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["resources"]["limits"]["memory"], "128Mi",
        "helm-values.yml applied"
    );
    assert_eq!(kinds(objects, "Service")[0]["spec"]["type"], "ClusterIP");
    for object in objects {
        assert_eq!(
            object["metadata"]["annotations"][INSTALL_NAMESPACE_ANNOTATION], "simple-helm-simple-helm",
            "{object}"
        );
    }
}

#[test]
fn microservices_demo_2_renders_replicated_redis_in_default() {
    let vars = json!({"target": {"name": "local"}, "args": {}});
    let project = examples().join("microservices-demo/2-helm-integration");
    let rendered = render_item(&project, "third-party/redis", &vars);
    let [(release, objects)] = rendered.as_slice() else {
        panic!("one release expected")
    };
    assert_eq!(release.output_name, "deploy.yml");
    assert_eq!(
        (release.release_name.as_str(), release.namespace.as_str()),
        ("cart", "default")
    );
    let sets = kinds(objects, "StatefulSet");
    assert_eq!(sets.len(), 1, "replication with sentinel runs one node StatefulSet");
    assert_eq!(sets[0]["metadata"]["name"], "cart-redis-node");
    assert_eq!(sets[0]["metadata"]["namespace"], "default");
    assert_eq!(sets[0]["spec"]["replicas"], 3);
    let containers: Vec<&str> = sets[0]["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(containers.contains(&"sentinel"), "{containers:?}");
}

#[test]
fn microservices_demo_3_renders_redis_per_target() {
    let project = examples().join("microservices-demo/3-templating-and-multi-env");
    for (target, env_type) in [("local", "local"), ("test", "real"), ("prod", "real")] {
        let vars_file = std::fs::read_to_string(project.join(format!("vars/{env_type}.yml"))).unwrap();
        let mut vars = shared::yaml::parse_single(&vars_file, "vars").unwrap();
        vars["target"] = json!({"name": target});
        vars["args"] = json!({"env_type": env_type});
        let rendered = render_item(&project, "third-party/redis", &vars);
        let [(release, objects)] = rendered.as_slice() else {
            panic!("one release expected")
        };
        let namespace = format!("ms-demo-{target}");
        assert_eq!(release.namespace, namespace);
        let sets = kinds(objects, "StatefulSet");
        let names: Vec<&str> = sets.iter().map(|s| s["metadata"]["name"].as_str().unwrap()).collect();
        if env_type == "local" {
            assert_eq!(names, vec!["cart-redis-master"], "{target}: standalone");
            assert!(
                kinds(objects, "Service")
                    .iter()
                    .any(|s| s["metadata"]["name"] == "cart-redis-master")
            );
        } else {
            assert_eq!(names, vec!["cart-redis-node"], "{target}: replication");
            assert_eq!(sets[0]["spec"]["replicas"], 3);
            assert!(
                kinds(objects, "Service")
                    .iter()
                    .any(|s| s["metadata"]["name"] == "cart-redis")
            );
        }
        for set in &sets {
            assert_eq!(set["metadata"]["namespace"], namespace.as_str(), "{target}");
        }
    }
}
