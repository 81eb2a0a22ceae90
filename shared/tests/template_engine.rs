//! Behaviour of the template engines that the golden corpus cannot show: error locations and
//! include chains, session isolation, safety limits, and the Handlebars engine.

use serde_json::json;
use shared::template::{
    EngineKind, HandlebarsEngine, JinjaEngine, Limits, RenderContext, TemplateEngine, TemplateErrorKind, engine,
    find_placeholders,
};
use std::path::PathBuf;

struct Project {
    _dir: tempfile::TempDir,
    root: PathBuf,
    search: Vec<PathBuf>,
}

fn project(files: &[(&str, &str)]) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for (rel, content) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    std::fs::create_dir_all(root.join("deploy/app")).unwrap();
    let search = vec![root.join("deploy/app"), root.join("deploy"), root.clone()];
    Project {
        _dir: dir,
        root,
        search,
    }
}

fn ctx<'a>(p: &'a Project, vars: &'a serde_json::Value) -> RenderContext<'a> {
    RenderContext {
        vars,
        search_dirs: &p.search,
        root: &p.root,
    }
}

#[test]
fn errors_in_included_files_name_the_file_line_column_and_chain() {
    let p = project(&[
        ("deploy/app/outer.j2", "line1\n{% include 'inner.j2' %}"),
        ("deploy/inner.j2", "ok\n  {{ missing.value }}\n"),
    ]);
    let vars = json!({});
    let err = JinjaEngine::new()
        .render(
            "deploy/app/cm.yaml",
            "a: 1\nb: {% include 'outer.j2' %}\n",
            &ctx(&p, &vars),
        )
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Undefined);
    assert_eq!(err.file, "deploy/inner.j2");
    assert_eq!((err.line, err.column), (Some(2), Some(6)));
    assert_eq!(err.chain, vec!["deploy/app/cm.yaml:2:7", "deploy/app/outer.j2:2:4"]);
    let text = err.to_string();
    assert!(text.starts_with("deploy/inner.j2:2:6: "), "{text}");
    assert!(text.contains("default"), "the hint is missing: {text}");
    assert!(!text.contains(p.root.to_str().unwrap()), "temp path leaked: {text}");
}

#[test]
fn syntax_errors_and_raise_carry_positions() {
    let p = project(&[("deploy/app/r.j2", "\n{{ raise('bad input: ' ~ x) }}")]);
    let vars = json!({"x": "y"});
    let jinja = JinjaEngine::new();
    let err = jinja
        .render("deploy/app/a.yaml", "x\n  {% if %}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!((err.kind, err.line), (TemplateErrorKind::Syntax, Some(2)));
    let err = jinja
        .render("deploy/app/a.yaml", "{{ load_template('r.j2') }}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Raised);
    assert_eq!(err.message, "bad input: y");
    assert_eq!((err.file.as_str(), err.line), ("deploy/app/r.j2", Some(2)));
    assert_eq!(err.chain, vec!["deploy/app/a.yaml:1:4"]);
}

#[test]
fn lookups_outside_the_root_or_missing_are_not_found_errors() {
    let p = project(&[]);
    std::fs::write(p.root.parent().unwrap().join("outside.j2"), "secret").ok();
    let vars = json!({});
    let jinja = JinjaEngine::new();
    for source in [
        "{% include '../../../outside.j2' %}",
        "{{ load_template('/etc/hostname') }}",
        "{{ load_base64('../../../outside.j2') }}",
        "{% include 'missing.j2' %}",
    ] {
        let err = jinja.render("deploy/app/a.yaml", source, &ctx(&p, &vars)).unwrap_err();
        assert_eq!(err.kind, TemplateErrorKind::NotFound, "{source}: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!err.to_string().contains(p.root.to_str().unwrap()), "{err}");
    }
}

#[test]
fn sessions_keep_each_file_isolated_and_cache_includes() {
    let p = project(&[("deploy/app/inc.j2", "inc-{{ cfg.a }}")]);
    let vars = json!({"cfg": {"a": 1}});
    let jinja = JinjaEngine::new();
    let session = jinja.session(&ctx(&p, &vars));
    let first = session
        .render(
            "deploy/app/1.yaml",
            "{{ update_dict(cfg, {'a': 2}) }}{{ cfg.a }} {% include 'inc.j2' %}",
        )
        .unwrap();
    assert_eq!(first, "2 inc-2");
    // The next file sees the original variables.
    assert_eq!(session.render("deploy/app/2.yaml", "{{ cfg.a }}").unwrap(), "1");
    // Included templates are cached for the session: a changed file is seen by a new session.
    std::fs::write(p.root.join("deploy/app/inc.j2"), "changed").unwrap();
    assert_eq!(
        session.render("deploy/app/3.yaml", "{% include 'inc.j2' %}").unwrap(),
        "inc-1"
    );
    let fresh = jinja.session(&ctx(&p, &vars));
    assert_eq!(
        fresh.render("deploy/app/3.yaml", "{% include 'inc.j2' %}").unwrap(),
        "changed"
    );
}

#[test]
fn runaway_templates_hit_a_named_limit() {
    let p = project(&[("deploy/app/self.j2", "{{ load_template('self.j2') }}")]);
    let vars = json!({});
    let jinja = JinjaEngine::with_limits(Limits {
        fuel: 100_000,
        ..Limits::default()
    });
    let err = jinja
        .render(
            "deploy/app/a.yaml",
            "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}",
            &ctx(&p, &vars),
        )
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Limit, "{err}");
    assert!(err.message.contains("fuel"), "{err}");
    let err = JinjaEngine::new()
        .render("deploy/app/a.yaml", "{{ load_template('self.j2') }}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Limit, "{err}");
    assert!(err.message.contains("limit of 32"), "{err}");
}

#[test]
fn when_conditions_evaluate_like_kluctl() {
    let p = project(&[]);
    let vars = json!({"env": "prod", "flags": {"x": false}});
    let session = JinjaEngine::new().session(&ctx(&p, &vars));
    assert!(session.eval_condition("deployment.yaml", "env == 'prod'").unwrap());
    assert!(!session.eval_condition("deployment.yaml", "flags.x").unwrap());
    assert!(session.eval_condition("deployment.yaml", "").unwrap());
    assert_eq!(
        session.eval_condition("deployment.yaml", "nope").unwrap_err().kind,
        TemplateErrorKind::Undefined
    );
}

#[test]
fn image_placeholders_decode_to_the_requested_image() {
    let p = project(&[]);
    let vars = json!({});
    let out = JinjaEngine::new()
        .render(
            "deploy/app/d.yaml",
            "image: {{ images.get_image('nginx') }}",
            &ctx(&p, &vars),
        )
        .unwrap();
    let found = find_placeholders(&out).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].request.image, "nginx");
}

#[test]
fn handlebars_renders_with_kluctl_helpers_and_partials() {
    let p = project(&[
        ("deploy/app/labels.hbs", "app: {{app.name}}"),
        ("deploy/common.txt", "shared {{app.name}}"),
    ]);
    let vars = json!({"app": {"name": "Web App", "labels": {"tier": "1"}}, "items": ["a", "b"]});
    let hb = engine(EngineKind::Handlebars);
    let out = hb
        .render(
            "deploy/app/cm.yaml",
            "{{> labels.hbs}}\n{{slugify app.name}} {{b64encode \"x\"}} {{sha256 \"abc\" 8}}\n{{to_yaml app.labels}}{{#each items}}{{this}};{{/each}} {{get_var \"app.missing\" \"dflt\"}} {{load_template \"common.txt\"}}",
            &ctx(&p, &vars),
        )
        .unwrap();
    assert_eq!(
        out,
        // A partial alone on its line takes the line break with it (Handlebars' standalone rule).
        "app: Web Appweb-app eA== ba7816bf\ntier: '1'\na;b; dflt shared Web App"
    );
}

#[test]
fn handlebars_errors_are_strict_and_located() {
    let p = project(&[]);
    let vars = json!({"a": 1});
    let hb = HandlebarsEngine::new();
    let err = hb
        .render("deploy/app/x.yaml", "ok\n{{missing}}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!((err.kind, err.line), (TemplateErrorKind::Undefined, Some(2)));
    assert_eq!(err.file, "deploy/app/x.yaml");
    let err = hb
        .render("deploy/app/x.yaml", "{{#if a}}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::Syntax);
    let err = hb
        .render("deploy/app/x.yaml", "{{raise \"stop\"}}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!((err.kind, err.message.as_str()), (TemplateErrorKind::Raised, "stop"));
    let err = hb
        .render("deploy/app/x.yaml", "{{> nope.hbs}}", &ctx(&p, &vars))
        .unwrap_err();
    assert_eq!(err.kind, TemplateErrorKind::NotFound);
}
