//! Bad input and safety: every error names the kustomization file (project-relative), the field
//! and what is wrong; paths never leave the project root; remote bases are refused; a field the
//! engine does not build is named, or built by an external kustomize when one is given.

use crate::support::kubectl_options;
use shared::kustomize::{self, BuildOptions, ExternalKustomize, KustomizeError, Reorder};
use std::path::Path;

/// A project in a temp dir, built from `(path, content)` pairs.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("kustomize-errors-").tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    dir
}

fn build_err(root: &Path, dir: &str) -> KustomizeError {
    let options = kubectl_options(root).with_display_root("proj");
    match kustomize::build(&root.join(dir), &options) {
        Ok(objects) => panic!("expected an error, built {} objects", objects.len()),
        Err(err) => err,
    }
}

/// The message must show the project-relative file and never the temp directory.
fn assert_message(err: &KustomizeError, root: &Path, parts: &[&str]) {
    let text = err.to_string();
    for part in parts {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }
    let temp = root.to_string_lossy();
    assert!(!text.contains(temp.as_ref()), "{text:?} shows the temp path");
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

#[test]
fn missing_resource_files_name_the_file_and_field() {
    let p = project(&[
        ("app/kustomization.yaml", "resources:\n- cm.yaml\n- missing.yaml\n"),
        ("app/cm.yaml", CM),
    ]);
    let err = build_err(p.path(), "app");
    assert_eq!(err.field(), "resources");
    assert_message(
        &err,
        p.path(),
        &[
            "proj/app/kustomization.yaml:1:1",
            "\"missing.yaml\" does not exist",
            "proj/app/missing.yaml",
        ],
    );
}

#[test]
fn invalid_yaml_reports_file_line_and_column() {
    let p = project(&[
        ("kustomization.yaml", "resources:\n- bad.yaml\n"),
        ("bad.yaml", "apiVersion: v1\nkind: [unclosed\n"),
    ]);
    let err = build_err(p.path(), ".");
    assert!(
        matches!(err, KustomizeError::ParseYaml { ref file, position, .. } if file == "proj/bad.yaml" && position.line.is_some())
    );
    assert_message(
        &err,
        p.path(),
        &[
            "failed to parse proj/bad.yaml:",
            "resources of proj/kustomization.yaml",
            "invalid YAML",
        ],
    );
}

#[test]
fn unknown_fields_are_named_with_their_line() {
    let p = project(&[
        ("kustomization.yaml", "resources:\n- cm.yaml\nnamPrefix: x-\n"),
        ("cm.yaml", CM),
    ]);
    let err = build_err(p.path(), ".");
    assert_message(
        &err,
        p.path(),
        &["proj/kustomization.yaml:3:1: namPrefix: unknown field"],
    );
}

#[test]
fn patches_whose_target_matches_nothing_fail_only_without_a_selector() {
    let named = "patches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: other\n    data: {a: b}\nresources:\n- cm.yaml\n";
    let p = project(&[("kustomization.yaml", named), ("cm.yaml", CM)]);
    let err = build_err(p.path(), ".");
    assert_eq!(err.field(), "patches[0]");
    assert_message(
        &err,
        p.path(),
        &["ConfigMap.v1.[noGrp]/other.[noNs]", "matches no resource"],
    );
    let selected = "patches:\n- target: {kind: Secret}\n  patch: '[{\"op\": \"add\", \"path\": \"/x\", \"value\": 1}]'\nresources:\n- cm.yaml\n";
    let p = project(&[("kustomization.yaml", selected), ("cm.yaml", CM)]);
    let objects = kustomize::build(p.path(), &kubectl_options(p.path())).unwrap();
    assert_eq!(
        objects.len(),
        1,
        "a selector that matches nothing is not an error, as in Kustomize"
    );
}

#[test]
fn conflicting_generator_names_are_refused() {
    let k = "configMapGenerator:\n- name: same\n  literals: [a=1]\n- name: same\n  literals: [b=2]\n";
    let p = project(&[("kustomization.yaml", k)]);
    let err = build_err(p.path(), ".");
    assert_eq!(err.field(), "configMapGenerator[1]");
    assert_message(
        &err,
        p.path(),
        &["ConfigMap \"same\" already exists", "behavior: merge or replace"],
    );
}

#[test]
fn duplicate_resources_are_refused() {
    let p = project(&[
        ("kustomization.yaml", "resources:\n- a.yaml\n- b.yaml\n"),
        ("a.yaml", CM),
        ("b.yaml", CM),
    ]);
    let err = build_err(p.path(), ".");
    assert_message(
        &err,
        p.path(),
        &["resources", "already registered id: ConfigMap.v1.[noGrp]/cm.[noNs]"],
    );
}

#[test]
fn cycles_between_kustomizations_are_refused() {
    let p = project(&[
        ("a/kustomization.yaml", "resources:\n- ../b\n"),
        ("b/kustomization.yaml", "resources:\n- ../a\n"),
    ]);
    let err = build_err(p.path(), "a");
    assert_message(&err, p.path(), &["proj/b/kustomization.yaml", "resources", "cycle"]);
    let p = project(&[
        ("x/kustomization.yaml", "resources:\n- ..\n"),
        ("kustomization.yaml", "resources:\n- x\n"),
    ]);
    let err = build_err(p.path(), "x");
    assert_message(&err, p.path(), &["cycle"]);
}

#[test]
fn paths_may_not_leave_the_project_root() {
    let outside = project(&[("secret.yaml", CM)]);
    let escape = format!("resources:\n- {}\n", outside.path().join("secret.yaml").display());
    let p = project(&[("kustomization.yaml", escape.as_str())]);
    let err = build_err(p.path(), ".");
    assert_message(&err, p.path(), &["absolute path"]);

    let p = project(&[("app/kustomization.yaml", "resources:\n- ../../etc/passwd\n")]);
    let err = build_err(p.path(), "app");
    assert_message(&err, p.path(), &["leaves the project root"]);

    #[cfg(unix)]
    {
        let p = project(&[("kustomization.yaml", "resources:\n- link.yaml\n")]);
        std::os::unix::fs::symlink(outside.path().join("secret.yaml"), p.path().join("link.yaml")).unwrap();
        let err = build_err(p.path(), ".");
        assert_message(&err, p.path(), &["symlink that points outside the project root"]);
        let p = project(&[(
            "kustomization.yaml",
            "configMapGenerator:\n- name: c\n  files: [link.txt]\n",
        )]);
        std::os::unix::fs::symlink(outside.path().join("secret.yaml"), p.path().join("link.txt")).unwrap();
        let err = build_err(p.path(), ".");
        assert_message(&err, p.path(), &["configMapGenerator[0]", "outside the project root"]);
    }
}

#[test]
fn remote_bases_are_refused() {
    for remote in [
        "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0",
        "github.com/kubernetes-sigs/kustomize/examples/helloWorld?ref=v5.5.0",
        "git@github.com:org/repo.git//deploy",
    ] {
        let k = format!("resources:\n- {remote}\n");
        let p = project(&[("kustomization.yaml", k.as_str())]);
        let err = build_err(p.path(), ".");
        assert_message(&err, p.path(), &["remote reference", "without network access"]);
    }
}

#[test]
fn kubectl_mode_restricts_files_to_the_kustomization_directory() {
    let files = [
        ("app/kustomization.yaml", "resources:\n- ../shared/cm.yaml\n"),
        ("shared/cm.yaml", CM),
    ];
    let p = project(&files);
    let err = build_err(p.path(), "app");
    assert_message(&err, p.path(), &["not in or below the kustomization's directory"]);
    let kluctl = BuildOptions {
        external: ExternalKustomize::Disabled,
        ..BuildOptions::kluctl(p.path().to_path_buf())
    };
    let objects = kustomize::build(&p.path().join("app"), &kluctl).unwrap();
    assert_eq!(objects.len(), 1, "Kluctl loads any file under the root");
}

#[test]
fn unsupported_fields_are_named_or_built_externally() {
    let k = "helmCharts:\n- name: nginx\n  repo: https://charts.example.com\n";
    let p = project(&[("kustomization.yaml", k)]);
    let err = build_err(p.path(), ".");
    assert!(matches!(err, KustomizeError::Unsupported { ref field, .. } if field == "helmCharts"));
    assert_message(
        &err,
        p.path(),
        &[
            "proj/kustomization.yaml",
            "field helmCharts is not supported",
            "kustomize binary on PATH",
        ],
    );

    // The Kustomize docs' alpha ValueAdd transformer and custom OpenAPI schema examples.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize-unsupported");
    for (case, field) in [
        ("doc-valueadd", "ValueAddTransformer"),
        ("doc-customopenapischema", "openapi"),
    ] {
        let input = fixtures.join(case).join("input");
        let dir = match std::fs::read_to_string(fixtures.join(case).join("build-dir")) {
            Ok(d) => input.join(d.trim()),
            Err(_) => input.clone(),
        };
        let err = kustomize::build(&dir, &kubectl_options(&input)).unwrap_err();
        assert!(matches!(err, KustomizeError::Unsupported { .. }), "{case}: {err}");
        assert!(err.field().contains(field), "{case}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn an_external_kustomize_builds_unsupported_fields() {
    use std::os::unix::fs::PermissionsExt;
    let k = "resources:\n- cm.yaml\nhelmCharts:\n- name: x\n";
    let p = project(&[("kustomization.yaml", k), ("cm.yaml", CM)]);
    let tools = project(&[
        (
            "kustomize",
            "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\nprintf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-external\\n'\n",
        ),
        (
            "failing",
            "#!/bin/sh\necho \"Error: helm is not enabled\" >&2\nexit 1\n",
        ),
    ]);
    for name in ["kustomize", "failing"] {
        std::fs::set_permissions(tools.path().join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let options = BuildOptions {
        external: ExternalKustomize::Binary(tools.path().join("kustomize")),
        ..BuildOptions::kubectl(p.path().to_path_buf())
    };
    let objects = kustomize::build(p.path(), &options).unwrap();
    assert_eq!(objects[0]["metadata"]["name"], "from-external");
    let args = std::fs::read_to_string(tools.path().join("args")).unwrap();
    assert!(
        args.starts_with("build --load-restrictor LoadRestrictionsRootOnly --reorder legacy "),
        "{args}"
    );

    let failing = BuildOptions {
        external: ExternalKustomize::Binary(tools.path().join("failing")),
        ..options
    };
    let err = kustomize::build(p.path(), &failing).unwrap_err();
    assert!(
        matches!(err, KustomizeError::External { ref field, .. } if field == "helmCharts"),
        "{err}"
    );
    assert!(err.to_string().contains("helm is not enabled"), "{err}");
}

#[test]
fn errors_never_show_secret_values() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  password: c3VwZXJzZWNyZXQ=\n";
    let k = "resources:\n- s.yaml\npatches:\n- target: {kind: Secret}\n  patch: |-\n    - op: test\n      path: /data/password\n      value: other\n";
    let p = project(&[("kustomization.yaml", k), ("s.yaml", secret)]);
    let err = build_err(p.path(), ".");
    let text = err.to_string();
    assert!(!text.contains("c3VwZXJzZWNyZXQ="), "{text}");
    assert!(!text.contains("other"), "{text}");
    assert_eq!(err.field(), "patches[0]");
}

#[test]
fn kluctl_mode_generates_a_kustomization_and_keeps_declaration_order() {
    let p = project(&[
        (
            "item/b-service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
        ),
        (
            "item/a-namespace.yml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
        ),
        (
            "item/c-deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
        ("item/helm-values.yaml", "replicas: 1\n"),
        ("item/notes.txt", "not yaml"),
    ]);
    let options = BuildOptions {
        external: ExternalKustomize::Disabled,
        ..BuildOptions::kluctl(p.path().to_path_buf())
    };
    assert_eq!(options.reorder, Reorder::None);
    let objects = kustomize::build(&p.path().join("item"), &options).unwrap();
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ns", "svc", "d", "cm"]);
    let err = build_err(p.path(), "item");
    assert_message(&err, p.path(), &["proj/item", "no kustomization file"]);
}

#[test]
fn legacy_order_sorts_by_kind() {
    let p = project(&[
        ("kustomization.yaml", "resources:\n- r.yaml\n"),
        (
            "r.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
        ),
    ]);
    let objects = kustomize::build(p.path(), &kubectl_options(p.path())).unwrap();
    assert_eq!(objects[0]["kind"], "Namespace");
    let none = BuildOptions {
        reorder: Reorder::None,
        ..kubectl_options(p.path())
    };
    let objects = kustomize::build(p.path(), &none).unwrap();
    assert_eq!(objects[0]["kind"], "Deployment");
}

#[test]
fn a_read_hook_sees_every_file_the_build_reads() {
    use shared::kustomize::ReadHook;
    use std::sync::{Arc, Mutex};
    let p = project(&[
        (
            "kustomization.yaml",
            "resources:\n- cm.yaml\nsecretGenerator:\n- name: s\n  files:\n  - key.txt\n",
        ),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: ENC[plain]\n",
        ),
        ("key.txt", "ENC[token]"),
    ]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let decrypt = ReadHook(Arc::new(move |path: &Path, bytes: Vec<u8>| {
        log.lock()
            .unwrap()
            .push(path.file_name().unwrap().to_string_lossy().to_string());
        let text = String::from_utf8(bytes).map_err(|_| "not text".to_string())?;
        Ok(text.replace("ENC[", "").replace(']', "").into_bytes())
    }));
    let options = BuildOptions {
        read_hook: Some(decrypt),
        ..kubectl_options(p.path())
    };
    let objects = kustomize::build(p.path(), &options).unwrap();
    let cm = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["data"]["v"], "plain");
    let secret = objects.iter().find(|o| o["kind"] == "Secret").unwrap();
    assert_eq!(secret["data"]["key.txt"], "dG9rZW4=");
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, vec!["cm.yaml", "key.txt", "kustomization.yaml"]);

    let failing = BuildOptions {
        read_hook: Some(ReadHook(Arc::new(|_: &Path, _: Vec<u8>| {
            Err("no decryption key".to_string())
        }))),
        ..kubectl_options(p.path())
    };
    let err = kustomize::build(p.path(), &failing).unwrap_err();
    assert!(err.to_string().contains("no decryption key"), "{err}");
}
