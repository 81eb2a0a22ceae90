//! Vars sources through real projects: each test writes a deployment.yaml whose vars feed one
//! item and checks the item's template context (or the located error).

mod common;

use common::{block_on, project};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use shared::project::{LoadedProject, ProjectError, ProjectOptions, load};
use shared::vars::{ClusterReadError, ClusterReader, ListQuery, ObjectQuery};
use std::io::{Read, Write};

fn load_dir(dir: &std::path::Path, cluster: Option<&dyn ClusterReader>) -> Result<LoadedProject, ProjectError> {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        ..Default::default()
    };
    block_on(load(&options, cluster))
}

/// A project whose root deployment.yaml has `vars` (YAML text, indented as a list) and one item.
fn with_vars(vars: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let deployment = format!("vars:\n{vars}\ndeployments:\n  - path: app\n");
    let mut files = vec![("deployment.yaml", deployment.as_str()), ("app/cm.yaml", "a: b\n")];
    files.extend_from_slice(extra);
    project(&files)
}

fn item_vars(dir: &std::path::Path) -> Value {
    load_dir(dir, None).unwrap().items[0].vars.clone()
}

#[test]
fn values_merge_deeply_in_order_and_lists_replace() {
    let (_t, dir) = with_vars(
        "  - values: {a: {x: 1, l: [1, 2]}, b: 1}\n  - values: {a: {y: 2, l: [3]}}\n  - values: {c: '{% raw %}{{ a.x + a.y }}{% endraw %}'}",
        &[],
    );
    // The vars of a deployment.yaml are not visible while that file renders, only when each
    // entry loads, hence the raw block.
    let vars = item_vars(&dir);
    assert_eq!(vars["a"], json!({"x": 1, "l": [3], "y": 2}));
    assert_eq!(vars["c"], json!("3"));
}

#[test]
fn raw_blocks_in_values_are_rendered_again_at_load_time() {
    let (_t, dir) = with_vars(
        "  - values: {b: later}\n  - values: {a: '{% raw %}{{ b }}{% endraw %}'}",
        &[],
    );
    assert_eq!(item_vars(&dir)["a"], json!("later"));
}

#[test]
fn no_override_keeps_existing_values_and_when_skips_entries() {
    let (_t, dir) = with_vars(
        "  - values: {a: 1, n: {x: 1}}\n  - values: {a: 2, b: 2, n: {x: 2, y: 2}}\n    noOverride: true\n  - values: {skipped: true}\n    when: a == 2",
        &[],
    );
    let vars = item_vars(&dir);
    assert_eq!(vars["a"], json!(1));
    assert_eq!(vars["b"], json!(2));
    assert_eq!(vars["n"], json!({"x": 1, "y": 2}));
    assert!(vars.get("skipped").is_none());
}

#[test]
fn files_are_found_on_the_search_path_rendered_and_nested_with_target_path() {
    let (_t, dir) = with_vars(
        "  - values: {env: prod}\n  - file: ./vars/{% raw %}{{ env }}{% endraw %}.yaml\n  - file: list.yaml\n    targetPath: some.list\n  - file: docs.yaml\n    multidoc: true\n    targetPath: docs\n  - file: missing.yaml\n    ignoreMissing: true",
        &[
            ("vars/prod.yaml", "replicas: 3\nname: '{{ env }}-app'\n"),
            ("list.yaml", "- 1\n- 2\n"),
            ("docs.yaml", "a: 1\n---\nb: 2\n"),
        ],
    );
    let vars = item_vars(&dir);
    assert_eq!(vars["replicas"], json!(3));
    assert_eq!(vars["name"], json!("prod-app"));
    assert_eq!(vars["some"], json!({"list": [1, 2]}));
    assert_eq!(vars["docs"], json!([{"a": 1}, {"b": 2}]));
}

#[test]
fn a_list_without_target_path_is_an_error_at_the_entry() {
    let (_t, dir) = with_vars("  - file: list.yaml", &[("list.yaml", "- 1\n")]);
    let err = load_dir(&dir, None).unwrap_err();
    let l = err.located();
    assert_eq!(l.location.to_string(), "deployment.yaml:2:5");
    assert_eq!(l.message, "the source gives a list, not a mapping");
    assert!(l.hint.as_deref().unwrap().contains("targetPath"));
}

#[test]
fn errors_inside_vars_files_point_into_the_file() {
    let (_t, dir) = with_vars("  - file: bad.yaml", &[("bad.yaml", "a: 1\nb: {{ nope }}\n")]);
    let err = load_dir(&dir, None).unwrap_err();
    let l = err.located();
    assert_eq!(l.location.file, "bad.yaml");
    assert_eq!(l.location.line, Some(2));
    assert!(l.message.contains("nope"), "{err}");
    assert_eq!(l.chain[0].to_string(), "deployment.yaml:2:5");
}

#[test]
fn system_env_vars_parse_yaml_with_defaults_and_never_show_values() {
    // The process environment can only be set safely before start: run this test again in a
    // child process with the variables set.
    if std::env::var_os("KLUCTL_TEST_VARS_CHILD").is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "system_env_vars_parse_yaml_with_defaults_and_never_show_values",
                "--nocapture",
            ])
            .env("KLUCTL_TEST_VARS_CHILD", "1")
            .env("KLUCTL_TEST_VARS_NUM", "42")
            .env("KLUCTL_TEST_VARS_BAD", "[unclosed secret")
            .env_remove("KLUCTL_TEST_VARS_UNSET")
            .status()
            .unwrap();
        assert!(status.success());
        return;
    }
    let (_t, dir) = with_vars(
        "  - systemEnvVars:\n      n: KLUCTL_TEST_VARS_NUM\n      nested: {d: 'KLUCTL_TEST_VARS_UNSET:fallback', e: 'KLUCTL_TEST_VARS_UNSET:'}",
        &[],
    );
    let vars = item_vars(&dir);
    assert_eq!(vars["n"], json!(42));
    assert_eq!(vars["nested"], json!({"d": "fallback", "e": ""}));

    let (_t, dir) = with_vars("  - systemEnvVars: {x: KLUCTL_TEST_VARS_UNSET}", &[]);
    let err = load_dir(&dir, None).unwrap_err();
    assert_eq!(
        err.located().message,
        "environment variable KLUCTL_TEST_VARS_UNSET is not set"
    );
    assert_eq!(err.located().location.to_string(), "deployment.yaml:2:21");

    let (_t, dir) = with_vars("  - systemEnvVars: {x: KLUCTL_TEST_VARS_BAD}", &[]);
    let err = load_dir(&dir, None).unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(err.to_string().contains("is not valid YAML"), "{err}");
}

/// An in-memory cluster for the vars loader.
struct FakeCluster {
    objects: Vec<Value>,
}

impl FakeCluster {
    fn matches(&self, kind: &str, namespace: Option<&str>, o: &Value) -> bool {
        o["kind"] == kind && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
    }
}

impl ClusterReader for FakeCluster {
    fn get_object<'a>(&'a self, q: &'a ObjectQuery) -> BoxFuture<'a, Result<Option<Value>, ClusterReadError>> {
        Box::pin(async move {
            Ok(self
                .objects
                .iter()
                .find(|o| self.matches(&q.kind, q.namespace.as_deref(), o) && o["metadata"]["name"] == q.name.as_str())
                .cloned())
        })
    }

    fn list_objects<'a>(&'a self, q: &'a ListQuery) -> BoxFuture<'a, Result<Vec<Value>, ClusterReadError>> {
        Box::pin(async move {
            Ok(self
                .objects
                .iter()
                .filter(|o| {
                    self.matches(&q.kind, q.namespace.as_deref(), o)
                        && q.labels.iter().all(|(k, v)| o["metadata"]["labels"][k] == v.as_str())
                })
                .cloned()
                .collect())
        })
    }
}

fn cluster() -> FakeCluster {
    FakeCluster {
        objects: vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "ns", "labels": {"app": "x"}},
                   "data": {"vars.yaml": "color: blue\nsize: '{{ base }}'\n", "list": "- a\n"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg2", "namespace": "ns", "labels": {"app": "x"}},
                   "data": {}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "ns"},
                   "data": {"creds": "cGFzc3dvcmQ6IGh1bnRlcjIK"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
                   "spec": {"replicas": 4}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "ns", "labels": {"tier": "b"}},
                   "spec": {"replicas": 2}}),
        ],
    }
}

#[test]
fn cluster_config_maps_secrets_and_objects_load_through_the_reader() {
    let (_t, dir) = with_vars(
        "  - values: {base: 7}\n  - clusterConfigMap: {name: cfg, namespace: ns, key: vars.yaml}\n  - clusterSecret: {name: sec, namespace: ns, key: creds}\n    targetPath: secret\n  - clusterConfigMap: {name: cfg, namespace: ns, key: list}\n    targetPath: lists.one\n  - clusterObject: {kind: Deployment, namespace: ns, name: web, path: spec.replicas}\n    targetPath: replicas\n  - clusterObject: {kind: Deployment, namespace: ns, labels: {tier: b}, path: metadata.name, list: true}\n    targetPath: names\n  - clusterConfigMap: {name: gone, namespace: ns, key: k}\n    ignoreMissing: true\n    targetPath: color",
        &[],
    );
    let fake = cluster();
    let project = load_dir(&dir, Some(&fake)).unwrap();
    let vars = &project.items[0].vars;
    assert_eq!(
        vars["color"],
        json!("blue"),
        "an ignored missing source does not wipe earlier values"
    );
    assert_eq!(vars["size"], json!("7"));
    assert_eq!(vars["secret"], json!({"password": "hunter2"}));
    assert_eq!(vars["lists"], json!({"one": ["a"]}));
    assert_eq!(vars["replicas"], json!(4));
    assert_eq!(vars["names"], json!(["api"]));
}

#[test]
fn cluster_sources_fail_clearly_offline_and_on_ambiguity() {
    let (_t, dir) = with_vars("  - clusterConfigMap: {name: cfg, namespace: ns, key: vars.yaml}", &[]);
    let err = load_dir(&dir, None).unwrap_err();
    assert!(err.located().message.contains("disabled (rendering offline)"), "{err}");
    assert_eq!(err.located().location.to_string(), "deployment.yaml:2:5");

    let (_t, dir) = with_vars(
        "  - clusterConfigMap: {labels: {app: x}, namespace: ns, key: vars.yaml}",
        &[],
    );
    let fake = cluster();
    let err = load_dir(&dir, Some(&fake)).unwrap_err();
    assert_eq!(
        err.located().message,
        "more than one ConfigMap ns with labels app=x exists"
    );

    let (_t, dir) = with_vars("  - clusterSecret: {name: sec, namespace: ns, key: other}", &[]);
    let err = load_dir(&dir, Some(&fake)).unwrap_err();
    assert_eq!(err.located().message, "key \"other\" not found in Secret ns/sec");
}

/// Serves `responses` (status, body) one per connection on 127.0.0.1; returns the base URL.
fn serve(responses: Vec<(u16, &'static str)>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (status, body) in responses {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let reason = if status == 200 { "OK" } else { "Not Found" };
            let reply = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
    });
    format!("http://{addr}")
}

#[test]
fn http_sources_parse_yaml_select_with_json_path_and_ignore_404() {
    let base = serve(vec![
        (200, "{\"outer\": {\"inner\": {\"k\": 1}}}"),
        (404, "nope"),
        (404, "nope"),
    ]);
    let vars = format!(
        "  - http: {{url: '{base}/vars', jsonPath: outer.inner}}\n  - http: {{url: '{base}/gone'}}\n    ignoreMissing: true\n  - http: {{url: '{base}/gone2?token=secret'}}"
    );
    let (_t, dir) = with_vars(&vars, &[]);
    let err = load_dir(&dir, None).unwrap_err();
    assert!(
        err.located().message.ends_with("/gone2 answered 404 Not Found"),
        "{err}"
    );
    assert!(!err.to_string().contains("secret"), "{err}");

    let base = serve(vec![(200, "{\"outer\": {\"inner\": {\"k\": 1}}}")]);
    let (_t, dir) = with_vars(&format!("  - http: {{url: '{base}/vars', jsonPath: outer.inner}}"), &[]);
    assert_eq!(item_vars(&dir)["k"], json!(1));
}

#[test]
fn unsupported_and_malformed_sources_are_reported_at_the_entry() {
    let (_t, dir) = with_vars("  - vault: {address: x, path: y}", &[]);
    let err = load_dir(&dir, None).unwrap_err();
    assert!(
        matches!(err, ProjectError::LoadVars(shared::vars::VarsError::Unsupported(_))),
        "{err}"
    );
    let (_t, dir) = with_vars("  - ignoreMissing: true", &[]);
    assert_eq!(
        load_dir(&dir, None).unwrap_err().located().message,
        "the entry names no source"
    );
    let (_t, dir) = with_vars("  - values: {}\n    file: x.yaml", &[]);
    assert_eq!(
        load_dir(&dir, None).unwrap_err().located().message,
        "the entry names several sources (values, file)"
    );
}
