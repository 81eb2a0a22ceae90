//! Rendering the Kluctl examples offline: the rendered tree, the objects with their kinds,
//! names, namespaces and Kluctl labels, and the per-target conditionals.

mod common;

use common::{block_on, example};
use serde_json::{Value, json};
use shared::project::{Inclusion, LoadedProject, ProjectOptions, load};
use shared::render::{RenderError, RenderOptions, RenderedProject, render};

fn load_target(dir: &std::path::Path, target: Option<&str>, inclusion: Inclusion) -> LoadedProject {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: target.map(str::to_string),
        inclusion,
        ..Default::default()
    };
    block_on(load(&options, None)).unwrap()
}

fn render_offline(project: &LoadedProject) -> Result<RenderedProject, RenderError> {
    render(
        project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
}

fn summary(rendered: &RenderedProject) -> Vec<String> {
    rendered
        .objects
        .iter()
        .map(|(_, o)| {
            format!(
                "{}/{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or("-"),
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn simple_renders_namespace_deployment_and_service_with_kluctl_metadata() {
    let (_tmp, dir) = example("simple");
    let project = load_target(&dir, Some("simple"), Inclusion::default());
    let rendered = render_offline(&project).unwrap();
    assert_eq!(
        summary(&rendered),
        vec![
            "-/Namespace/simple-simple",
            "simple-simple/Deployment/nginx-deployment",
            "simple-simple/Service/nginx"
        ]
    );
    let (_, deployment) = rendered.objects.iter().nth(1).unwrap();
    assert_eq!(
        deployment["metadata"]["labels"],
        json!({
            "app": "nginx",
            "kluctl.io/discriminator": "kluctl-examples-simple-simple",
            "kluctl.io/tag-0": "deployment",
            "kluctl.io/tag-1": "nginx"
        })
    );
    assert_eq!(
        deployment["metadata"]["annotations"],
        json!({"kluctl.io/deployment-item-dir": "deployment/nginx"})
    );
    // Selectors and pod templates are not touched (unlike Kustomize's commonLabels).
    assert_eq!(deployment["spec"]["selector"], json!({"matchLabels": {"app": "nginx"}}));

    let item_dir = rendered.tree.root().join("deployment/nginx");
    let namespace_file = std::fs::read_to_string(item_dir.join("namespace.yml")).unwrap();
    assert!(namespace_file.contains("name: \"simple-simple\""), "{namespace_file}");
    let kustomization = std::fs::read_to_string(item_dir.join("kustomization.yml")).unwrap();
    assert!(kustomization.contains("namespace: simple-simple"), "{kustomization}");
    let rendered_yml =
        shared::yaml::parse_documents(&std::fs::read_to_string(item_dir.join(".rendered.yml")).unwrap(), "r").unwrap();
    assert_eq!(rendered_yml.len(), 3);
    assert!(rendered.tree.root().join(shared::render::MARKER_FILE).is_file());
}

#[test]
fn basic_project_renders_every_service_in_deployment_order() {
    let (_tmp, dir) = example("microservices-demo/1-basic-project");
    let project = load_target(&dir, Some("local"), Inclusion::default());
    let rendered = render_offline(&project).unwrap();
    let objects = summary(&rendered);
    assert_eq!(objects.len(), 24, "{objects:?}");
    assert_eq!(objects[0], "-/Deployment/redis-cart");
    assert_eq!(objects[1], "-/Service/redis-cart");
    assert_eq!(objects[objects.len() - 1], "-/Service/shippingservice");
    assert!(objects.contains(&"-/Service/frontend-external".to_string()));
    for (_, o) in rendered.objects.iter() {
        let labels = &o["metadata"]["labels"];
        assert_eq!(labels["examples.kluctl.io/deployment-project"], "microservices-demo");
        assert_eq!(
            labels["kluctl.io/discriminator"],
            "kluctl-examples-microservices-demo-local"
        );
    }
    let items: Vec<_> = rendered.objects.items().iter().map(|g| g.item).collect();
    assert_eq!(items, (0..12).collect::<Vec<_>>());
}

#[test]
fn templating_example_differs_per_target_and_uses_override_namespace() {
    let (_tmp, dir) = example("microservices-demo/3-templating-and-multi-env");
    // Helm releases are rendered by the Helm stage; without it, this test covers the other items.
    let skip_helm = Inclusion {
        exclude_tags: vec!["third-party".into()],
        ..Default::default()
    };
    let local = render_offline(&load_target(&dir, Some("local"), skip_helm.clone())).unwrap();
    let objects = summary(&local);
    assert_eq!(objects[0], "-/Namespace/ms-demo-local");
    assert!(
        objects[1..].iter().all(|o| o.starts_with("ms-demo-local/")),
        "{objects:?}"
    );
    assert!(
        !objects
            .iter()
            .any(|o| o.contains("emailservice") || o.contains("loadgenerator"))
    );
    // The namespace, 9 deployments and 10 services (the frontend has two).
    assert_eq!(objects.len(), 1 + 9 + 10, "{objects:?}");
    let cart = local
        .objects
        .iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "cartservice")
        .unwrap();
    let env: Vec<&Value> = cart["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(env.iter().any(|e| e["value"] == "cart-redis-master:6379"), "{env:?}");
    assert_eq!(
        cart["metadata"]["labels"]["examples.kluctl.io/deployment-target"],
        "local"
    );

    let prod = render_offline(&load_target(&dir, Some("prod"), skip_helm)).unwrap();
    let objects = summary(&prod);
    assert!(objects.contains(&"ms-demo-prod/Deployment/emailservice".to_string()));
    assert!(objects.contains(&"ms-demo-prod/Deployment/loadgenerator".to_string()));
    let cart = prod
        .objects
        .iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "cartservice")
        .unwrap();
    assert!(cart.to_string().contains("cart-redis:6379"));
}

#[test]
fn render_into_a_directory_replaces_the_previous_render_and_leaves_nothing_on_failure() {
    let (tmp, dir) = example("simple");
    let out = tmp.path().join("rendered");
    let project = load_target(&dir, Some("simple"), Inclusion::default());
    let options = RenderOptions {
        output_dir: Some(&out),
        scopes: None,
        builder: None,
    };
    let rendered = render(&project, &options).unwrap();
    assert_eq!(rendered.tree.root(), out);
    assert!(out.join("deployment/nginx/.rendered.yml").is_file());
    render(&project, &options).unwrap();

    // A broken template: the previous render stays as it was, and no staging dir is left.
    std::fs::write(dir.join("deployment/nginx/service.yml"), "a: {{ broken\n").unwrap();
    let project = load_target(&dir, Some("simple"), Inclusion::default());
    let err = render(&project, &options).unwrap_err();
    assert_eq!(err.all()[0].location.file, "deployment/nginx/service.yml");
    assert!(!err.to_string().contains(tmp.path().to_str().unwrap()), "{err}");
    assert!(out.join("deployment/nginx/.rendered.yml").is_file());
    let entries: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
}
