//! The templating example written with Handlebars (`templateEngine: handlebars` in
//! `.kluctl.yaml`) renders the same objects as the Jinja2 original, for every target.

mod common;

use common::{block_on, example};
use shared::project::{Inclusion, ProjectOptions, load};
use shared::render::{RenderOptions, render};

/// Rewrites the Jinja2 blocks of the example in Handlebars syntax (`{{ x }}` is the same in both).
fn to_handlebars(dir: &std::path::Path) {
    let edit = |file: &str, from: &[(&str, &str)]| {
        let path = dir.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (a, b) in from {
            assert!(text.contains(a), "{file} lacks {a}");
            text = text.replace(a, b);
        }
        std::fs::write(path, text).unwrap();
    };
    edit(
        ".kluctl.yml",
        &[("discriminator:", "templateEngine: handlebars\ndiscriminator:")],
    );
    edit(
        "services/deployment.yml",
        &[
            (
                "{% if services.emailservice.enabled %}",
                "{{#if services.emailservice.enabled}}",
            ),
            (
                "{% if services.loadgenerator.enabled %}",
                "{{#if services.loadgenerator.enabled}}",
            ),
            ("{% endif %}", "{{/if}}"),
        ],
    );
    edit(
        "third-party/redis/helm-values.yml",
        &[
            (
                "{% if redis.architecture == \"replication\" %}",
                "{{#if (eq redis.architecture \"replication\")}}",
            ),
            ("{% endif %}", "{{/if}}"),
        ],
    );
}

fn render_target(dir: &std::path::Path, target: &str) -> String {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: Some(target.to_string()),
        // The Helm release is rendered by the Helm stage; the other items cover the templates.
        inclusion: Inclusion {
            exclude_tags: vec!["third-party".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let project = block_on(load(&options, None)).unwrap();
    let rendered = render(
        &project,
        &RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        },
    )
    .unwrap();
    rendered.objects.to_yaml_stream()
}

#[test]
fn handlebars_renders_the_same_objects_as_jinja2() {
    let (_a, jinja) = example("microservices-demo/3-templating-and-multi-env");
    let (_b, handlebars) = example("microservices-demo/3-templating-and-multi-env");
    to_handlebars(&handlebars);
    for target in ["local", "test", "prod"] {
        let expected = render_target(&jinja, target);
        assert!(expected.contains(&format!("ms-demo-{target}")));
        assert_eq!(render_target(&handlebars, target), expected, "target {target}");
    }
}
