//! The item's `kustomization.yaml` as Kluctl prepares it before Kustomize runs: generated when
//! missing (every YAML file of the directory, Helm values left out, Helm outputs added), given
//! the `overrideNamespace` when it sets no namespace, and read for the `kluctl.io/barrier` and
//! `kluctl.io/wait-readiness` annotations.

use super::error::RenderError;
use crate::project::{DeploymentItem, ItemDir};
use crate::types::{Located, SourceLocation};
use crate::yaml;
use serde_json::{Map, Value, json};
use std::path::Path;

/// The names Kustomize accepts for its file, in the order it looks for them.
pub(crate) const KUSTOMIZATION_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What the kustomization says about the item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KustomizationFlags {
    /// `kluctl.io/barrier: "true"` in its metadata annotations.
    pub barrier: bool,
    /// `kluctl.io/wait-readiness: "true"` in its metadata annotations.
    pub wait_readiness: bool,
}

/// Go's `strconv.ParseBool` truth values, which Kluctl uses for its annotations.
pub(crate) fn parse_bool(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}

fn is_helm_values(name: &str) -> bool {
    matches!(name.to_lowercase().as_str(), "helm-values.yaml" | "helm-values.yml")
}

fn is_helm_chart(name: &str) -> bool {
    matches!(name.to_lowercase().as_str(), "helm-chart.yaml" | "helm-chart.yml")
}

/// The resources of a generated kustomization: the YAML files of `dir` in name order
/// (recursively with `recursive: true`), without Helm values and chart configs, plus the
/// output file of each Helm release whose output does not exist yet.
fn generated_resources(dir: &Path, recursive: bool, helm_outputs: &[String]) -> std::io::Result<Vec<String>> {
    let mut resources = Vec::new();
    let max_depth = if recursive { usize::MAX } else { 1 };
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(max_depth)
        .sort_by_file_name()
    {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let lower = name.to_lowercase();
        // Kluctl's own files are never Kubernetes objects (relevant for `path: .` items).
        let kluctl_file = lower.starts_with(".kluctl") || lower == ".rendered.yml";
        if is_helm_values(&name)
            || is_helm_chart(&name)
            || kluctl_file
            || !(lower.ends_with(".yaml") || lower.ends_with(".yml"))
        {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("below dir")
            .to_string_lossy()
            .replace('\\', "/");
        if !resources.contains(&rel) {
            resources.push(rel);
        }
    }
    for output in helm_outputs {
        if !resources.contains(output) {
            resources.push(output.clone());
        }
    }
    Ok(resources)
}

/// Prepares the kustomization of the rendered item directory `out`.
pub(crate) fn prepare(
    item: &DeploymentItem,
    dir: &ItemDir,
    out: &Path,
    helm_outputs: &[String],
) -> Result<KustomizationFlags, RenderError> {
    let error = |file: &str, message: String, hint: &str| {
        RenderError::PrepareKustomization(
            Located::new(SourceLocation::file(file), message)
                .with_hint(hint)
                .with_chain(&item.chain),
        )
    };
    let existing = KUSTOMIZATION_NAMES
        .iter()
        .map(|n| (n, out.join(n)))
        .find(|(_, p)| p.is_file());
    let (path, display, mut kustomization) = match existing {
        Some((name, path)) => {
            let display = format!("{}/{name}", dir.display).trim_start_matches("./").to_string();
            if item.config.recursive {
                return Err(error(
                    &display,
                    "recursive: true needs a directory without kustomization".to_string(),
                    "remove `recursive` from the item or the kustomization from the directory",
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| error(&display, format!("cannot read: {e}"), "check the file"))?;
            let value = yaml::parse_single(&text, &display).map_err(|e| {
                RenderError::PrepareKustomization(
                    Located::new(
                        SourceLocation {
                            file: e.file,
                            line: e.line,
                            column: e.column,
                        },
                        e.message,
                    )
                    .with_chain(&item.chain),
                )
            })?;
            let map = match value {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                _ => {
                    return Err(error(
                        &display,
                        "a kustomization must be a mapping".to_string(),
                        "fix the file",
                    ));
                }
            };
            for output in helm_outputs {
                let listed = map
                    .get("resources")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(output.as_str())));
                if !listed {
                    return Err(error(
                        &display,
                        format!("the kustomization does not include the rendered helm chart {output:?}"),
                        &format!("add `- {output}` to its resources"),
                    ));
                }
            }
            (path, display, map)
        }
        None => {
            let resources = generated_resources(out, item.config.recursive, helm_outputs).map_err(|e| {
                error(
                    &dir.display,
                    format!("cannot list the directory: {e}"),
                    "check permissions",
                )
            })?;
            let map = json!({"resources": resources}).as_object().expect("a mapping").clone();
            let display = format!("{}/kustomization.yml", dir.display);
            (out.join("kustomization.yml"), display, map)
        }
    };
    if let Some(namespace) = &item.override_namespace
        && !kustomization.contains_key("namespace")
    {
        kustomization.insert("namespace".to_string(), Value::String(namespace.clone()));
    }
    let annotations = kustomization.get("metadata").and_then(|m| m.get("annotations"));
    let flag = |name: &str| annotations.and_then(|a| a.get(name)).is_some_and(parse_bool);
    let flags = KustomizationFlags {
        barrier: flag("kluctl.io/barrier"),
        wait_readiness: flag("kluctl.io/wait-readiness"),
    };
    std::fs::write(&path, yaml::to_yaml_string(&Value::Object(kustomization))).map_err(|e| {
        error(
            &display,
            format!("cannot write its rendered copy: {e}"),
            "check the render output directory",
        )
    })?;
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_kustomizations_list_yaml_files_and_helm_outputs() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.yaml",
            "a.yml",
            "helm-values.yaml",
            "helm-chart.yaml",
            "README.md",
            "sub/c.yaml",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x: 1\n").unwrap();
        }
        let flat = generated_resources(dir.path(), false, &["helm-rendered.yaml".into()]).unwrap();
        assert_eq!(flat, vec!["a.yml", "b.yaml", "helm-rendered.yaml"]);
        let deep = generated_resources(dir.path(), true, &["b.yaml".into()]).unwrap();
        assert_eq!(deep, vec!["a.yml", "b.yaml", "sub/c.yaml"]);
    }

    #[test]
    fn kluctl_bools_follow_go_parse_bool() {
        assert!(parse_bool(&json!("true")) && parse_bool(&json!("1")) && parse_bool(&json!(true)));
        assert!(!parse_bool(&json!("yes")) && !parse_bool(&json!("false")) && !parse_bool(&json!(null)));
    }
}
