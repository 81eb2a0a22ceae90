//! Normalization of both sides of a diff, exactly as Kluctl does it (`pkg/diff/normalize.go`),
//! so that only changes a re-apply would make are reported.
//!
//! Input: a live object (before or after a server-side dry-run apply) and the rendered object
//! it belongs to (whose annotations can ask to ignore fields). Output: a normalized copy.

use super::DiffError;
use super::jsonpath::{JsonPath, KeyPath};
use super::rules::{self, ObjectIdentity, RuleSelector};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One `ignoreForDiff` item of `deployment.yaml`.
///
/// Kluctl accepts a string or a list for both `fieldPath` and `fieldPathRegex`; at least one of
/// them must be set. The selectors restrict the rule to matching objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreForDiffRule {
    /// JSONPaths of fields to ignore (see [`super::jsonpath`]).
    #[serde(
        default,
        deserialize_with = "rules::string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_path: Vec<String>,
    /// Regexes matched (unanchored) against the printed path of every leaf field, e.g.
    /// `metadata\.labels\["kluctl\.io/tag-.*"\]`.
    #[serde(
        default,
        deserialize_with = "rules::string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_path_regex: Vec<String>,
    /// Only objects of this API group (without version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only objects of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only objects with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl IgnoreForDiffRule {
    /// The objects this rule applies to.
    pub fn selector(&self) -> RuleSelector {
        RuleSelector {
            group: self.group.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// The diff ignore flags of `diff` and `deploy` (Kluctl implements them as extra rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IgnoreFlags {
    /// `--ignore-tags`: the `kluctl.io/tag-N` labels.
    pub tags: bool,
    /// `--ignore-labels`: all labels.
    pub labels: bool,
    /// `--ignore-annotations`: all annotations.
    pub annotations: bool,
    /// `--ignore-kluctl-metadata`: tags, discriminator and `kluctl.io/deployment-item-dir`.
    pub kluctl_metadata: bool,
}

/// A rule with its paths and regexes compiled.
#[derive(Clone, Debug)]
struct CompiledRule {
    selector: RuleSelector,
    paths: Vec<JsonPath>,
    regexes: Vec<Regex>,
}

const IGNORE_DIFF: &str = "kluctl.io/ignore-diff";
const IGNORE_DIFF_FIELD: &str = "kluctl.io/ignore-diff-field";
const IGNORE_DIFF_FIELD_REGEX: &str = "kluctl.io/ignore-diff-field-regex";

/// Normalizes objects for diffing, with the project's `ignoreForDiff` rules and the CLI's
/// ignore flags compiled once per target.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    rules: Vec<CompiledRule>,
}

impl Normalizer {
    /// Compiles the rules (all of `deployment.yaml`'s `ignoreForDiff`, ancestors first) and the
    /// rules implied by the flags. A bad path or regex is an error naming the rule.
    pub fn new(rules: &[IgnoreForDiffRule], flags: IgnoreFlags) -> Result<Self, DiffError> {
        let mut compiled = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let origin = format!("ignoreForDiff[{i}]");
            if rule.field_path.is_empty() && rule.field_path_regex.is_empty() {
                return Err(DiffError::InvalidRule {
                    origin,
                    message: "either fieldPath or fieldPathRegex must be set".to_string(),
                });
            }
            compiled.push(CompiledRule {
                selector: rule.selector(),
                paths: compile_paths(&rule.field_path, &format!("{origin}.fieldPath"))?,
                regexes: compile_regexes(&rule.field_path_regex, &format!("{origin}.fieldPathRegex"))?,
            });
        }
        let mut flag_rule = |paths: &[&str], regexes: &[&str]| -> Result<(), DiffError> {
            let paths: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
            let regexes: Vec<String> = regexes.iter().map(|s| s.to_string()).collect();
            compiled.push(CompiledRule {
                selector: RuleSelector::default(),
                paths: compile_paths(&paths, "an --ignore flag")?,
                regexes: compile_regexes(&regexes, "an --ignore flag")?,
            });
            Ok(())
        };
        const TAGS: &str = r#"metadata\.labels\["kluctl\.io/tag-.*"\]"#;
        if flags.tags {
            flag_rule(&[], &[TAGS])?;
        }
        if flags.labels {
            flag_rule(&["metadata.labels.*"], &[])?;
        }
        if flags.annotations {
            flag_rule(&["metadata.annotations.*"], &[])?;
        }
        if flags.kluctl_metadata {
            flag_rule(
                &[],
                &[
                    TAGS,
                    r#"metadata\.labels\["kluctl\.io/discriminator"\]"#,
                    r#"metadata\.annotations\["kluctl\.io/deployment-item-dir"\]"#,
                ],
            )?;
        }
        Ok(Normalizer { rules: compiled })
    }

    /// Returns the normalized copy of `object` (one side of the diff). `local` is the rendered
    /// object, whose `kluctl.io/ignore-diff*` annotations apply; with `kluctl.io/ignore-diff:
    /// "true"` the result is `{}` so that both sides compare equal.
    pub fn normalize(&self, object: &Value, local: &Value) -> Result<Value, DiffError> {
        let mut o = object.clone();
        normalize_floats(&mut o);
        normalize_metadata(&mut o);
        normalize_misc(&mut o);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        match kind.as_str() {
            // Kluctl lists "job" in lower case here, so Jobs are never normalized by it; we
            // include Job on purpose: the map form only changes how env changes are shown.
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
                if let Some(containers) = o
                    .pointer_mut("/spec/template/spec/containers")
                    .and_then(Value::as_array_mut)
                {
                    containers.iter_mut().for_each(normalize_env);
                }
            }
            "Secret" | "ConfigMap" => normalize_data(&mut o),
            "ServiceAccount" => normalize_service_account(&mut o),
            _ => {}
        }

        let annotations = local.pointer("/metadata/annotations").and_then(Value::as_object);
        if annotations.is_some_and(|a| {
            a.get(IGNORE_DIFF)
                .and_then(Value::as_str)
                .is_some_and(rules::parse_go_bool)
        }) {
            return Ok(Value::Object(Map::new()));
        }

        let mut annotation_rule = CompiledRule {
            selector: RuleSelector::default(),
            paths: Vec::new(),
            regexes: Vec::new(),
        };
        for (key, value) in annotations.into_iter().flatten() {
            let Some(text) = value.as_str() else { continue };
            let origin = format!("annotation {key}");
            if rules::is_indexed_annotation(key, IGNORE_DIFF_FIELD_REGEX) {
                annotation_rule
                    .regexes
                    .extend(compile_regexes(&[text.to_string()], &origin)?);
            } else if rules::is_indexed_annotation(key, IGNORE_DIFF_FIELD) {
                annotation_rule
                    .paths
                    .extend(compile_paths(&[text.to_string()], &origin)?);
            }
        }

        let target = ObjectIdentity::of(&o);
        for rule in self.rules.iter().chain(std::iter::once(&annotation_rule)) {
            if !rule.selector.matches(&target) {
                continue;
            }
            for path in &rule.paths {
                path.delete(&mut o);
            }
            for regex in &rule.regexes {
                remove_leaves_matching(&mut o, regex);
            }
        }
        Ok(o)
    }
}

fn compile_paths(paths: &[String], origin: &str) -> Result<Vec<JsonPath>, DiffError> {
    paths
        .iter()
        .map(|p| {
            JsonPath::parse(p).map_err(|error| DiffError::ParseJsonPath {
                origin: origin.to_string(),
                error,
            })
        })
        .collect()
}

fn compile_regexes(regexes: &[String], origin: &str) -> Result<Vec<Regex>, DiffError> {
    regexes
        .iter()
        .map(|r| {
            Regex::new(r).map_err(|e| DiffError::CompileRegex {
                origin: origin.to_string(),
                regex: r.clone(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// Kluctl matches `fieldPathRegex` against every leaf (a value that is neither a map nor a
/// list) by its printed path, unanchored, and deletes the matching leaves.
fn remove_leaves_matching(root: &mut Value, regex: &Regex) {
    let mut matches = Vec::new();
    collect_leaves(root, &KeyPath::root(), &mut |path| {
        if regex.is_match(&path.to_json_path()) {
            matches.push(path.clone());
        }
    });
    super::jsonpath::delete_paths(root, matches);
}

fn collect_leaves(node: &Value, path: &KeyPath, f: &mut dyn FnMut(&KeyPath)) {
    match node {
        Value::Object(map) => map.iter().for_each(|(k, v)| collect_leaves(v, &path.child(k), f)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| collect_leaves(v, &path.index(i), f)),
        _ => f(path),
    }
}

/// Integral floats become integers (`1.0` and `1` must compare equal).
fn normalize_floats(node: &mut Value) {
    match node {
        Value::Object(map) => map.values_mut().for_each(normalize_floats),
        Value::Array(items) => items.iter_mut().for_each(normalize_floats),
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *node = Value::from(f as i64);
            }
        }
        _ => {}
    }
}

fn remove(node: &mut Value, path: &[&str]) {
    if let Some((last, parent)) = path.split_last()
        && let Some(Value::Object(map)) = parent.iter().try_fold(&mut *node, |n, k| n.get_mut(*k))
    {
        map.shift_remove(*last);
    }
}

fn normalize_metadata(o: &mut Value) {
    // Server-set bookkeeping that no apply ever changes.
    for field in [
        "managedFields",
        "creationTimestamp",
        "generation",
        "resourceVersion",
        "selfLink",
        "uid",
    ] {
        remove(o, &["metadata", field]);
    }
    remove(
        o,
        &[
            "metadata",
            "annotations",
            "kubectl.kubernetes.io/last-applied-configuration",
        ],
    );
    if let Some(Value::Object(metadata)) = o.get_mut("metadata") {
        for field in ["labels", "annotations"] {
            let entry = metadata.entry(field).or_insert(Value::Null);
            if entry.is_null() {
                *entry = Value::Object(Map::new());
            }
        }
    }
}

fn normalize_misc(o: &mut Value) {
    // Set by the Job controller on selector and template; see the well-known labels reference.
    for label in ["controller-uid", "batch.kubernetes.io/controller-uid"] {
        remove(o, &["spec", "template", "metadata", "labels", label]);
        remove(o, &["spec", "selector", "matchLabels", label]);
    }
    if let Some(Value::Object(map)) = Some(&mut *o) {
        map.shift_remove("status");
    }
}

/// `env` becomes a map keyed by name and `envFrom` a map keyed by `configMapRef/<name>` or
/// `secretRef/<name>`, so that inserting one variable is one change instead of a shifted list.
fn normalize_env(container: &mut Value) {
    let Some(container) = container.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(env)) = container.get("env")
        && !env.is_empty()
    {
        let mut map = Map::new();
        let mut complete = true;
        for item in env {
            match item.get("name").and_then(Value::as_str) {
                Some(name) => {
                    map.insert(name.to_string(), item.clone());
                }
                None => complete = false,
            }
        }
        if complete {
            container.insert("env".to_string(), Value::Object(map));
        }
    }
    if let Some(Value::Array(env_from)) = container.get("envFrom")
        && !env_from.is_empty()
    {
        let mut map = Map::new();
        let mut unknown = Vec::new();
        for item in env_from {
            let key = ["configMapRef", "secretRef"].iter().rev().find_map(|t| {
                item.get(*t)
                    .and_then(|r| r.get("name"))
                    .and_then(Value::as_str)
                    .map(|n| format!("{t}/{n}"))
            });
            match key {
                Some(key) => {
                    map.insert(key, item.clone());
                }
                None => unknown.push(item.clone()),
            }
        }
        if !unknown.is_empty() {
            map.insert("unknown".to_string(), Value::Array(unknown));
        }
        container.insert("envFrom".to_string(), Value::Object(map));
    }
}

/// An empty or null `data` is the same as none.
fn normalize_data(o: &mut Value) {
    if let Some(map) = o.as_object_mut() {
        let empty = match map.get("data") {
            Some(Value::Null) => true,
            Some(Value::Object(data)) => data.is_empty(),
            _ => false,
        };
        if empty {
            map.shift_remove("data");
        }
    }
}

/// Token secrets named `<serviceaccount>-*` are added by the cluster, never by the user.
fn normalize_service_account(o: &mut Value) {
    let Some(name) = o.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string) else {
        return;
    };
    if let Some(Value::Array(secrets)) = o.get_mut("secrets") {
        let prefix = format!("{name}-");
        secrets.retain(|s| {
            s.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.starts_with(&prefix))
        });
    }
}

#[cfg(test)]
mod tests;
