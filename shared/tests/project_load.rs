//! Project loading over copies of the Kluctl examples: targets, args, vars, includes, tags,
//! labels, namespaces and inclusion filters, as `LoadedProject` exposes them.

mod common;

use common::{block_on, example, project};
use serde_json::json;
use shared::project::{Inclusion, LoadedProject, ProjectError, ProjectOptions, load};

fn load_target(dir: &std::path::Path, target: Option<&str>) -> Result<LoadedProject, ProjectError> {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: target.map(str::to_string),
        ..Default::default()
    };
    block_on(load(&options, None))
}

fn item_dirs(project: &LoadedProject) -> Vec<String> {
    project
        .included_items()
        .map(|i| {
            i.dir
                .as_ref()
                .map(|d| d.display.clone())
                .unwrap_or_else(|| "<barrier>".into())
        })
        .collect()
}

#[test]
fn simple_example_renders_target_discriminator_and_override_namespace() {
    let (_tmp, dir) = example("simple");
    let project = load_target(&dir, Some("another")).unwrap();
    assert_eq!(project.target.name, "another");
    assert_eq!(project.discriminator.as_deref(), Some("kluctl-examples-simple-another"));
    assert_eq!(project.args["environment"], json!("another"));
    let items: Vec<_> = project.included_items().collect();
    assert_eq!(items.len(), 1);
    let item = items[0];
    assert_eq!(item.dir.as_ref().unwrap().rel_root, "deployment/nginx");
    assert_eq!(item.tags, vec!["deployment", "nginx"]);
    assert_eq!(item.override_namespace.as_deref(), Some("simple-another"));
    assert_eq!(item.vars["target"]["name"], json!("another"));
}

#[test]
fn templating_example_selects_items_and_vars_per_target() {
    let (_tmp, dir) = example("microservices-demo/3-templating-and-multi-env");
    let local = load_target(&dir, Some("local")).unwrap();
    let dirs = item_dirs(&local);
    assert!(
        !dirs
            .iter()
            .any(|d| d.contains("emailservice") || d.contains("loadgenerator")),
        "{dirs:?}"
    );
    assert_eq!(dirs[0], "namespaces");
    assert_eq!(dirs[1], "<barrier>");
    assert_eq!(dirs[2], "third-party/redis");
    assert_eq!(dirs.len(), 12);
    let redis = local.included_items().nth(2).unwrap();
    assert_eq!(redis.vars["redis"]["architecture"], json!("standalone"));
    assert_eq!(redis.tags, vec!["third-party", "redis"]);
    assert_eq!(redis.override_namespace.as_deref(), Some("ms-demo-local"));
    assert_eq!(redis.common_labels["examples.kluctl.io/deployment-target"], "local");

    let prod = load_target(&dir, Some("prod")).unwrap();
    let dirs = item_dirs(&prod);
    assert_eq!(dirs.len(), 14);
    assert!(dirs.contains(&"services/emailservice".to_string()));
    assert!(dirs.contains(&"services/loadgenerator".to_string()));
    let redis = prod.included_items().nth(2).unwrap();
    assert_eq!(redis.vars["redis"]["architecture"], json!("replication"));
    assert!(prod.items[1].barrier);
}

#[test]
fn gitops_example_needs_its_required_arg_and_templates_item_paths() {
    let (_tmp, dir) = example("gitops-deployment");
    let err = load_target(&dir, Some("gitops")).unwrap_err();
    assert!(matches!(err, ProjectError::ResolveArgs(_)), "{err}");
    let l = err.located();
    assert_eq!(l.location.file, ".kluctl.yaml");
    assert_eq!((l.location.line, l.location.column), (Some(5), Some(5)));
    assert_eq!(l.message, "required argument cluster_name not set");

    let options = ProjectOptions {
        project_dir: dir.clone(),
        target: Some("gitops".into()),
        args: json!({"cluster_name": "prod.example.com"}).as_object().unwrap().clone(),
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    assert_eq!(project.discriminator.as_deref(), Some("gitops-prod-example-com"));
    assert_eq!(
        item_dirs(&project),
        vec!["namespaces", "<barrier>", "clusters/all", "clusters/prod.example.com"]
    );
}

#[test]
fn blog_example_without_kluctl_yaml_loads_the_nameless_target() {
    let (_tmp, dir) = example("blog/2023-02-28-managing-helm-with-kluctl");
    let project = load_target(&dir, None).unwrap();
    assert_eq!(project.target.name, "");
    assert_eq!(project.discriminator, None);
    let dirs = item_dirs(&project);
    assert_eq!(
        dirs,
        vec![
            "base/cilium",
            "base/namespaces",
            "<barrier>",
            "base/cert-manager",
            "base/ingress-nginx",
            "<barrier>",
            "apps/podinfo"
        ]
    );
    let nginx = project.included_items().nth(4).unwrap();
    assert!(nginx.wait_readiness);
    assert_eq!(nginx.tags, vec!["base", "ingress-nginx"]);
}

#[test]
fn inclusion_filters_by_tag_and_directory() {
    let (_tmp, dir) = example("microservices-demo/1-basic-project");
    let mut options = ProjectOptions {
        project_dir: dir.clone(),
        target: Some("local".into()),
        inclusion: Inclusion {
            include_tags: vec!["redis".into(), "frontend".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    assert_eq!(item_dirs(&project), vec!["redis", "frontend"]);
    assert_eq!(project.items.len(), 12);
    options.inclusion = Inclusion {
        exclude_dirs: vec!["redis".into()],
        exclude_tags: vec!["adservice".into()],
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    assert_eq!(project.included_items().count(), 10);
}

#[test]
fn args_merge_defaults_target_and_external_args_in_that_order() {
    let (_tmp, dir) = project(&[
        (
            ".kluctl.yaml",
            "args:\n  - name: a\n    default: {x: 1, y: 1, z: 1}\n  - name: b\n  - name: n.deep\n    default: 5\ntargets:\n  - name: t\n    args: {a: {y: 2}, b: t}\n",
        ),
        ("deployment.yaml", "deployments: []\n"),
    ]);
    let options = ProjectOptions {
        project_dir: dir.clone(),
        target: Some("t".into()),
        args: json!({"a": {"x": 3}, "c": [1, 2]}).as_object().unwrap().clone(),
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    assert_eq!(
        serde_json::Value::Object(project.args.clone()),
        json!({"a": {"x": 3, "y": 2, "z": 1}, "n": {"deep": 5}, "b": "t", "c": [1, 2]})
    );
    assert_eq!(
        project.target.args,
        *json!({"a": {"y": 2}, "b": "t"}).as_object().unwrap()
    );
}

#[test]
fn nested_includes_combine_tags_labels_vars_and_namespaces() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "tags: [root]\ncommonLabels: {a: root, b: root}\noverrideNamespace: root-ns\nvars:\n  - values: {v: root, keep: 1}\ndeployments:\n  - include: sub\n    tags: [inc]\n    vars:\n      - values: {v: include}\n",
        ),
        (
            "sub/deployment.yaml",
            "tags: [sub]\ncommonLabels: {b: sub}\ncommonAnnotations: {x: y}\nvars:\n  - values: {w: '{{ v }}'}\ndeployments:\n  - path: app\n    vars:\n      - values: {item: 1}\n  - path: app\n    tags: [explicit]\n",
        ),
        ("sub/app/cm.yaml", "a: b\n"),
    ]);
    let project = load_target(&dir, None).unwrap();
    let items: Vec<_> = project.included_items().collect();
    // Kluctl's order: this project's tags, the include's, the parent's, ..., then the item's.
    assert_eq!(items[0].tags, vec!["sub", "inc", "root", "app"]);
    assert_eq!(items[1].tags, vec!["sub", "inc", "root", "explicit"]);
    assert_eq!(items[0].common_labels.get("a").map(String::as_str), Some("root"));
    assert_eq!(items[0].common_labels.get("b").map(String::as_str), Some("sub"));
    assert_eq!(items[0].common_annotations.get("x").map(String::as_str), Some("y"));
    assert_eq!(items[0].override_namespace.as_deref(), Some("root-ns"));
    assert_eq!(items[0].vars["v"], json!("include"));
    assert_eq!(items[0].vars["w"], json!("include"));
    assert_eq!(items[0].vars["keep"], json!(1));
    assert_eq!(items[0].vars["item"], json!(1));
    assert!(
        items[1].vars.get("item").is_none(),
        "siblings never see each other's vars"
    );
    assert_eq!(items[0].dir.as_ref().unwrap().rendered_rel, "sub/app");
    assert_eq!(items[1].dir.as_ref().unwrap().rendered_rel, "sub/app-1");
    assert_eq!(items[0].declared_at().to_string(), "sub/deployment.yaml:7:5");
    assert_eq!(items[0].chain[1].to_string(), "deployment.yaml:7:5");
}

#[test]
fn library_includes_see_only_their_args() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "vars:\n  - values: {secret: parent}\ndeployments:\n  - include: lib\n    args: {name: given}\n  - include: lib\n    passVars: true\n    args: {name: passed}\n",
        ),
        (
            "lib/.kluctl-library.yaml",
            "args:\n  - name: name\n  - name: size\n    default: 3\n",
        ),
        ("lib/deployment.yaml", "deployments:\n  - path: app\n"),
        ("lib/app/cm.yaml", "a: b\n"),
    ]);
    let project = load_target(&dir, None).unwrap();
    let items: Vec<_> = project.included_items().collect();
    assert_eq!(items[0].vars, json!({"args": {"size": 3, "name": "given"}}));
    assert_eq!(items[1].vars["secret"], json!("parent"));
    assert_eq!(items[1].vars["args"], json!({"size": 3, "name": "passed"}));
}

#[test]
fn list_targets_renders_and_sorts_targets() {
    let (_tmp, dir) = example("microservices-demo/3-templating-and-multi-env");
    let (targets, warnings) = shared::project::list_targets(&dir, None).unwrap();
    assert!(warnings.is_empty());
    let names: Vec<_> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["local", "prod", "test"]);
    assert_eq!(
        targets[1].discriminator.as_deref(),
        Some("kluctl-examples-microservices-demo-prod")
    );
    assert_eq!(targets[1].context.as_deref(), Some("kind-kind"));
}
