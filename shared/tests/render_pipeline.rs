//! The render pipeline's rules beyond the examples: what is templated and what is copied,
//! onlyRender items, kustomization annotations, namespace fixing with discovery, and
//! deterministic output from the parallel render.

mod common;

use common::{block_on, project};
use serde_json::json;
use shared::project::{LoadedProject, ProjectOptions, load};
use shared::render::{RenderOptions, RenderedProject, ResourceScopes, render};

fn load_dir(dir: &std::path::Path) -> LoadedProject {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        ..Default::default()
    };
    block_on(load(&options, None)).unwrap()
}

fn render_with(project: &LoadedProject, scopes: Option<&dyn ResourceScopes>) -> RenderedProject {
    render(
        project,
        &RenderOptions {
            output_dir: None,
            scopes,
            builder: None,
        },
    )
    .unwrap()
}

#[test]
fn templateignore_template_excludes_chart_dirs_and_plain_files_are_copied_unchanged() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "vars:\n  - values: {x: X}\ntemplateExcludes: ['**/*.raw']\ndeployments:\n  - path: app\n",
        ),
        (".templateignore", "*.tpl\nnested/\n"),
        ("app/.templateignore", "!keep.tpl\n"),
        ("app/kustomization.yaml", "resources: [cm.yaml]\n"),
        ("app/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: '{{ x }}'\n"),
        ("app/ignored.tpl", "{{ not rendered }}\n"),
        ("app/keep.tpl", "{{ x }}\n"),
        ("app/nested/deep.yaml", "{{ not rendered either }}\n"),
        ("app/legacy.raw", "{{ legacy }}\n"),
        ("app/chart/Chart.yaml", "name: c\n"),
        ("app/chart/templates/t.yaml", "{{ .Values.helm }}\n"),
        ("app/plain.txt", "no braces at all\n"),
        (".git/HEAD", "ref: x\n"),
    ]);
    std::fs::write(dir.join("app/binary.bin"), [0u8, 159, 146, 150, b'{']).unwrap();
    let rendered = render_with(&load_dir(&dir), None);
    let out = rendered.tree.root().join("app");
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    // Rendered files lose their final newline, as with Jinja2's keep_trailing_newline=False.
    assert_eq!(read("cm.yaml"), "kind: ConfigMap\nmetadata:\n  name: 'X'");
    assert_eq!(read("ignored.tpl"), "{{ not rendered }}\n");
    assert_eq!(read("keep.tpl"), "X", "a deeper .templateignore re-includes the file");
    assert_eq!(read("nested/deep.yaml"), "{{ not rendered either }}\n");
    assert_eq!(read("legacy.raw"), "{{ legacy }}\n");
    assert_eq!(read("chart/templates/t.yaml"), "{{ .Values.helm }}\n");
    assert_eq!(read("plain.txt"), "no braces at all\n");
    assert_eq!(
        std::fs::read(out.join("binary.bin")).unwrap(),
        vec![0u8, 159, 146, 150, b'{']
    );
}

#[test]
fn only_render_items_are_rendered_but_not_built_and_kustomization_annotations_count() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "deployments:\n  - path: base\n    onlyRender: true\n  - path: app\n",
        ),
        ("base/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: '{{ \"base\" }}'\n"),
        (
            "app/kustomization.yaml",
            "metadata:\n  annotations:\n    kluctl.io/barrier: 'true'\n    kluctl.io/wait-readiness: 'true'\nresources: [cm.yaml]\n",
        ),
        ("app/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: app\n"),
    ]);
    let project = load_dir(&dir);
    let rendered = render_with(&project, None);
    assert_eq!(
        std::fs::read_to_string(rendered.tree.root().join("base/cm.yaml")).unwrap(),
        "kind: ConfigMap\nmetadata:\n  name: 'base'"
    );
    assert!(!rendered.tree.root().join("base/.rendered.yml").exists());
    assert_eq!(rendered.objects.len(), 1);
    assert!(!rendered.items[0].barrier);
    assert!(rendered.items[1].barrier && rendered.items[1].wait_readiness);
    assert_eq!(
        rendered.items[1].dir.as_deref(),
        Some(rendered.tree.root().join("app").as_path())
    );
}

#[test]
fn generated_kustomizations_list_the_directory_and_take_the_override_namespace() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "overrideNamespace: ns1\ndeployments:\n  - path: app\n",
        ),
        ("app/b.yaml", "kind: ConfigMap\nmetadata:\n  name: b\n"),
        (
            "app/a.yml",
            "kind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Secret\nmetadata:\n  name: s\n",
        ),
        ("app/helm-values.yaml", "x: 1\n"),
        ("app/notes.md", "# not a resource\n"),
    ]);
    let rendered = render_with(&load_dir(&dir), None);
    let k = std::fs::read_to_string(rendered.tree.root().join("app/kustomization.yml")).unwrap();
    let k = shared::yaml::parse_single(&k, "k").unwrap();
    assert_eq!(k, json!({"resources": ["a.yml", "b.yaml"], "namespace": "ns1"}));
    let names: Vec<_> = rendered
        .objects
        .iter()
        .map(|(_, o)| o["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("a"), json!("s"), json!("b")]);
    assert!(
        rendered
            .objects
            .iter()
            .all(|(_, o)| o["metadata"]["namespace"] == "ns1")
    );
}

struct Discovery;

impl ResourceScopes for Discovery {
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        match (group, kind) {
            ("", "ConfigMap") | ("apps", "Deployment") => Some(true),
            ("", "Namespace") | ("rbac.authorization.k8s.io", "ClusterRole") => Some(false),
            _ => None,
        }
    }
}

#[test]
fn discovery_decides_default_namespaces_and_cluster_scope() {
    let (_tmp, dir) = project(&[
        ("deployment.yaml", "deployments:\n  - path: app\n"),
        (
            "app/all.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr\n  namespace: wrong\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.ex.io\nspec:\n  group: ex.io\n  scope: Namespaced\n  names: {kind: Widget}\n---\napiVersion: ex.io/v1\nkind: Widget\nmetadata:\n  name: w\n",
        ),
    ]);
    let project = load_dir(&dir);
    let online = render_with(&project, Some(&Discovery));
    let ns: Vec<_> = online
        .objects
        .iter()
        .map(|(_, o)| o["metadata"].get("namespace").cloned())
        .collect();
    assert_eq!(ns, vec![Some(json!("default")), None, None, Some(json!("default"))]);
    let offline = render_with(&project, None);
    let ns: Vec<_> = offline
        .objects
        .iter()
        .map(|(_, o)| o["metadata"].get("namespace").cloned())
        .collect();
    assert_eq!(ns, vec![None, Some(json!("wrong")), None, None]);
}

#[test]
fn the_parallel_render_is_deterministic() {
    let mut files = vec![("deployment.yaml".to_string(), String::from("deployments:\n"))];
    for i in 0..40 {
        files[0].1.push_str(&format!("  - path: item{i:02}\n"));
        files.push((
            format!("item{i:02}/cm.yaml"),
            format!("kind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  n: '{{{{ {i} * 2 }}}}'\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (_tmp, dir) = project(&refs);
    let project = load_dir(&dir);
    let first = render_with(&project, None).objects.to_yaml_stream();
    for _ in 0..3 {
        assert_eq!(render_with(&project, None).objects.to_yaml_stream(), first);
    }
    assert!(
        first.starts_with("kind: ConfigMap\nmetadata:\n  name: cm0\n"),
        "{first}"
    );
    assert!(first.contains("n: '78'"), "{first}");
}

#[test]
fn a_project_inside_a_git_repository_uses_the_repository_as_source_root() {
    let (tmp, _) = project(&[]);
    let repo = tmp.path().join("repo");
    let dir = repo.join("deploy");
    for (path, content) in [
        (
            "deployment.yaml",
            "deployments:\n  - path: app\n  - path: ../shared/common\n",
        ),
        ("app/cm.yaml", "kind: ConfigMap\nmetadata:\n  name: app\n"),
        (
            "../shared/common/cm.yaml",
            "kind: ConfigMap\nmetadata:\n  name: '{{ \"common\" }}'\n",
        ),
        ("../.git/HEAD", "ref: refs/heads/main\n"),
    ] {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let project = load_dir(&dir);
    let rendered = render_with(&project, None);
    let dirs: Vec<_> = rendered
        .objects
        .iter()
        .map(|(_, o)| o["metadata"]["annotations"]["kluctl.io/deployment-item-dir"].clone())
        .collect();
    assert_eq!(dirs, vec![json!("deploy/app"), json!("shared/common")]);
    assert!(rendered.tree.root().join("deploy/app/.rendered.yml").is_file());
    assert_eq!(project.items[1].dir.as_ref().unwrap().display, "../shared/common");

    std::fs::write(repo.join("shared/common/cm.yaml"), "name: '{{ nope }}'\n").unwrap();
    let err = render(
        &load_dir(&dir),
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.all()[0].location.file, "../shared/common/cm.yaml");
}

#[test]
fn a_project_without_deployment_yaml_is_one_item_at_its_root() {
    let (_tmp, dir) = project(&[
        (
            ".kluctl.yaml",
            "discriminator: d-{{ target.name }}\ntargets:\n  - name: t\n",
        ),
        ("cm.yaml", "kind: ConfigMap\nmetadata:\n  name: '{{ target.name }}'\n"),
    ]);
    let options = ProjectOptions {
        project_dir: dir.clone(),
        target: Some("t".into()),
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    assert_eq!(project.items.len(), 1);
    assert!(project.items[0].tags.is_empty(), "`.` gives no default tag");
    let rendered = render_with(&project, None);
    let objects: Vec<_> = rendered.objects.iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(objects[0]["metadata"]["name"], "t");
    assert_eq!(
        objects[0]["metadata"]["labels"],
        json!({"kluctl.io/discriminator": "d-t"})
    );
    assert_eq!(
        objects[0]["metadata"]["annotations"]["kluctl.io/deployment-item-dir"],
        "."
    );
}

#[test]
fn get_image_placeholders_resolve_from_command_line_target_and_vars() {
    let (_tmp, dir) = project(&[
        (
            ".kluctl.yaml",
            "targets:\n  - name: t\n    images:\n      - image: nginx\n        resultImage: nginx:target\n      - image: redis\n        resultImage: redis:target\n",
        ),
        (
            "deployment.yaml",
            "vars:\n  - values:\n      images:\n        - imageRegex: '^busy'\n          resultImage: busybox:vars\ndeployments:\n  - path: app\n",
        ),
        (
            "app/d.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: \"{{ images.get_image('nginx') }}\"\n        - name: b\n          image: \"{{ images.get_image('redis') }}\"\n        - name: c\n          image: \"{{ images.get_image('busybox') }}\"\n",
        ),
    ]);
    let options = ProjectOptions {
        project_dir: dir.clone(),
        target: Some("t".into()),
        fixed_images: vec![serde_json::from_value(json!({"image": "redis", "resultImage": "redis:cli"})).unwrap()],
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let rendered = render_with(&project, None);
    let (_, d) = rendered.objects.iter().next().unwrap();
    let images: Vec<_> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(images, vec!["nginx:target", "redis:cli", "busybox:vars"]);
    assert_eq!(rendered.seen_images.len(), 3);
    assert_eq!(rendered.seen_images[2].container.as_deref(), Some("c"));

    std::fs::write(
        dir.join("app/d.yaml"),
        "kind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: x\n      image: \"{{ images.get_image('unknown') }}\"\n",
    )
    .unwrap();
    let project = block_on(load(&options, None)).unwrap();
    let err = render(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap_err();
    let l = err.all()[0];
    assert_eq!(l.location.to_string(), "deployment.yaml:7:5");
    assert_eq!(
        l.message,
        "failed to find fixed image for unknown (object Pod/p, container x)"
    );
}

#[test]
fn kustomize_bases_rendered_by_only_render_items_and_generators_build_natively() {
    let (_tmp, dir) = project(&[
        (
            "deployment.yaml",
            "vars:\n  - values: {env: prod}\ndeployments:\n  - path: base\n    onlyRender: true\n  - path: overlay\n",
        ),
        ("base/kustomization.yaml", "resources: [cm.yaml]\n"),
        (
            "base/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{{ env }}\ndata:\n  a: '1'\n",
        ),
        (
            "overlay/kustomization.yaml",
            "resources: [../base]\nnamePrefix: x-\nconfigMapGenerator:\n  - name: gen\n    literals: [env={{ env }}]\n",
        ),
    ]);
    let rendered = render_with(&load_dir(&dir), None);
    let names: Vec<_> = rendered
        .objects
        .iter()
        .map(|(_, o)| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "x-app-prod");
    assert!(names[1].starts_with("x-gen-"), "{names:?}");
    let (_, generated) = rendered.objects.iter().nth(1).unwrap();
    assert_eq!(generated["data"]["env"], "prod");
    assert_eq!(
        generated["metadata"]["annotations"]["kluctl.io/deployment-item-dir"],
        "overlay"
    );
}
