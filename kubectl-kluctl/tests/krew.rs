//! The krew manifest passes krew's validation rules (kubernetes-sigs/krew
//! `internal/index/validation`), covers every platform, and the release script builds an
//! archive whose layout and sha256 match it.

use crate::util::{binary, stderr, workspace};
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeSet;
use std::process::Command;

fn manifest() -> Value {
    let text = std::fs::read_to_string(workspace().join("krew/kluctl.yaml")).unwrap();
    shared::yaml::parse_single(&text, "krew/kluctl.yaml").unwrap()
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("krew/kluctl.yaml: {pointer} must be a string"))
}

/// krew's `ValidatePlugin`, rule by rule.
fn validate(name: &str, plugin: &Value) -> Result<(), String> {
    if plugin["apiVersion"] != "krew.googlecontainertools.github.com/v1alpha2" {
        return Err("unsupported apiVersion".into());
    }
    if plugin["kind"] != "Plugin" {
        return Err("kind must be Plugin".into());
    }
    let safe = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if !safe {
        return Err(format!("plugin name {name:?} must match ^[\\w-]+$"));
    }
    if plugin.pointer("/metadata/name").and_then(Value::as_str) != Some(name) {
        return Err(format!("plugin should be named {name:?}"));
    }
    let short = plugin
        .pointer("/spec/shortDescription")
        .and_then(Value::as_str)
        .unwrap_or("");
    if short.is_empty() || short.contains(['\r', '\n']) {
        return Err("shortDescription must be set, on one line".into());
    }
    let platforms = plugin
        .pointer("/spec/platforms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if platforms.is_empty() {
        return Err("should have a platform specified".into());
    }
    let version = plugin.pointer("/spec/version").and_then(Value::as_str).unwrap_or("");
    let semver = version.strip_prefix('v').ok_or("version must start with v")?;
    semver::Version::parse(semver).map_err(|e| format!("failed to parse plugin version: {e}"))?;
    for platform in &platforms {
        validate_platform(platform).map_err(|e| format!("platform {platform} is badly constructed: {e}"))?;
    }
    Ok(())
}

fn validate_platform(platform: &Value) -> Result<(), String> {
    let field = |key: &str| platform.get(key).and_then(Value::as_str).unwrap_or("");
    if field("uri").is_empty() {
        return Err("`uri` has to be set".into());
    }
    let sha = field("sha256");
    if sha.len() != 64 || !sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        return Err(format!("`sha256` value {sha:?} must match ^[a-f0-9]{{64}}$"));
    }
    if field("bin").is_empty() {
        return Err("`bin` has to be set".into());
    }
    if let Some(files) = platform.get("files") {
        let files = files.as_array().ok_or("`files` must be a list")?;
        if files.is_empty() {
            return Err("`files` has to be unspecified or non-empty".into());
        }
        for op in files {
            let from = op.get("from").and_then(Value::as_str).unwrap_or("");
            let to = op.get("to").and_then(Value::as_str).unwrap_or("");
            if from.is_empty() || to.is_empty() {
                return Err("`from` and `to` have to be set".into());
            }
        }
    }
    let selector = platform.get("selector").ok_or("nil selector is not supported")?;
    let labels = selector.get("matchLabels").and_then(Value::as_object);
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    if labels.is_none() && expressions.is_none_or(|e| e.is_empty()) {
        return Err("empty selector is not supported".into());
    }
    let mut keys: Vec<String> = labels.into_iter().flat_map(|l| l.keys().cloned()).collect();
    keys.extend(
        expressions
            .into_iter()
            .flatten()
            .filter_map(|e| e["key"].as_str().map(str::to_string)),
    );
    if let Some(key) = keys.iter().find(|k| *k != "os" && *k != "arch") {
        return Err(format!("key {key:?} not supported"));
    }
    if labels.is_some_and(|l| l.is_empty()) {
        return Err("`matchLabels` specified but empty".into());
    }
    Ok(())
}

#[test]
fn the_manifest_passes_krews_validation() {
    validate("kluctl", &manifest()).unwrap();
}

#[test]
fn the_validation_catches_what_krew_rejects() {
    let good = manifest();
    let broken = |pointer: &str, value: Value| {
        let mut plugin = good.clone();
        *plugin.pointer_mut(pointer).unwrap() = value;
        validate("kluctl", &plugin).unwrap_err()
    };
    assert!(broken("/metadata/name", "other".into()).contains("should be named"));
    assert!(broken("/spec/version", "0.1.0".into()).contains("start with v"));
    assert!(broken("/spec/version", "v0.1".into()).contains("failed to parse"));
    assert!(broken("/spec/shortDescription", "two\nlines".into()).contains("one line"));
    assert!(broken("/spec/platforms/0/sha256", "ABC".into()).contains("sha256"));
    assert!(broken("/spec/platforms/0/files", Value::Array(vec![])).contains("non-empty"));
    assert!(
        broken(
            "/spec/platforms/0/selector/matchLabels",
            serde_json::json!({"distro": "x"})
        )
        .contains("not supported")
    );
    assert!(broken("/spec/platforms/0/bin", "".into()).contains("`bin`"));
}

#[test]
fn the_manifest_covers_every_platform_with_this_version() {
    let plugin = manifest();
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        str_at(&plugin, "/spec/version"),
        version,
        "spec.version must be the crate version"
    );
    let mut seen = BTreeSet::new();
    for platform in plugin.pointer("/spec/platforms").and_then(Value::as_array).unwrap() {
        let os = str_at(platform, "/selector/matchLabels/os");
        let arch = str_at(platform, "/selector/matchLabels/arch");
        seen.insert(format!("{os}/{arch}"));
        let (archive, bin, shim) = if os == "windows" {
            ("zip", "kubectl-kluctl.exe", "kubectl_complete-kluctl.cmd")
        } else {
            ("tar.gz", "kubectl-kluctl", "kubectl_complete-kluctl")
        };
        let uri = str_at(platform, "/uri");
        assert!(uri.starts_with("https://"), "{uri}");
        assert!(
            uri.ends_with(&format!("/{version}/kubectl-kluctl_{version}_{os}_{arch}.{archive}")),
            "{uri}"
        );
        assert_eq!(str_at(platform, "/bin"), bin);
        let files: BTreeSet<&str> = platform["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["from"].as_str().unwrap())
            .collect();
        assert_eq!(files, BTreeSet::from([bin, shim, "LICENSE"]), "{os}/{arch}");
        assert!(
            workspace().join("krew").join(shim).is_file(),
            "krew/{shim} ships in the archive"
        );
    }
    let expected = [
        "darwin/amd64",
        "darwin/arm64",
        "linux/amd64",
        "linux/arm64",
        "windows/amd64",
    ];
    assert_eq!(seen, expected.iter().map(|s| s.to_string()).collect());
    let caveats = str_at(&plugin, "/spec/caveats");
    assert!(
        caveats.contains("kubectl_complete-kluctl"),
        "caveats say how to install completion"
    );
}

#[test]
fn the_completion_helpers_hand_over_to_the_plugin() {
    let script = std::fs::read_to_string(workspace().join("krew/kubectl_complete-kluctl")).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(script.contains("\nexec kubectl-kluctl __complete \"$@\"\n"));
    let cmd = std::fs::read_to_string(workspace().join("krew/kubectl_complete-kluctl.cmd")).unwrap();
    assert!(cmd.contains("kubectl-kluctl.exe __complete %*\r\n"));
}

fn release(args: &[&str]) -> std::process::Output {
    Command::new(workspace().join("scripts/release"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_release_script_packages_this_platform_and_fills_in_its_sha256() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let binary = binary();
    let built = release(&["--binary", binary.to_str().unwrap(), "--out", out_dir]);
    assert!(built.status.success(), "{}", stderr(&built));

    let platform = kubectl_kluctl::cmd::version::platform();
    let (os, arch) = platform.split_once('/').unwrap();
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let archive = out.path().join(format!("kubectl-kluctl_{version}_{os}_{arch}.tar.gz"));
    let bytes = std::fs::read(&archive).unwrap();

    // The layout krew expects: the files of the manifest entry at the top level.
    let mut names = BTreeSet::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    for entry in tar.entries().unwrap() {
        let entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name != "LICENSE" {
            assert_eq!(entry.header().mode().unwrap() & 0o111, 0o111, "{name} is executable");
        }
        names.insert(name);
    }
    assert_eq!(
        names,
        BTreeSet::from([
            "LICENSE".to_string(),
            "kubectl-kluctl".into(),
            "kubectl_complete-kluctl".into()
        ])
    );

    // The manifest copy has this archive's sum in this platform's entry, the others unchanged.
    let sum = hex::encode(sha2::Sha256::digest(&bytes));
    let filled =
        shared::yaml::parse_single(&std::fs::read_to_string(out.path().join("kluctl.yaml")).unwrap(), "").unwrap();
    validate("kluctl", &filled).unwrap();
    for (filled, original) in filled["spec"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .zip(manifest()["spec"]["platforms"].as_array().unwrap())
    {
        let this = filled["selector"]["matchLabels"] == serde_json::json!({"os": os, "arch": arch});
        let expected = if this {
            sum.as_str()
        } else {
            original["sha256"].as_str().unwrap()
        };
        assert_eq!(filled["sha256"], expected);
    }

    // --check agrees, and notices a changed archive.
    let checked = release(&["--check", "--out", out_dir]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    std::fs::write(&archive, b"tampered").unwrap();
    let checked = release(&["--check", "--out", out_dir]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(
        stderr(&checked).contains("sha256 of kubectl-kluctl_"),
        "{}",
        stderr(&checked)
    );
}
