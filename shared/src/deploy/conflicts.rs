//! Field-manager conflicts of a server-side apply: what to re-apply with `force=true` after a
//! 409, following Kluctl's policy (`pkg/diff/managed_fields.go`).
//!
//! Input: the object that was applied (`local`), the live object (`remote`, with its
//! `managedFields`) and the causes of the 409 Status. Output: a [`ConflictResolution`] holding
//! the object to re-apply with force and the "lost field ownership" warnings to record.
//!
//! For each conflicting field, in this order of precedence:
//! 1. the last matching rule wins, rules being the `conflictResolution` items of
//!    `deployment.yaml` (ancestors first), then the annotations `kluctl.io/force-apply`,
//!    `kluctl.io/force-apply-manager[-N]` (regex), `kluctl.io/force-apply-field[-N]` (JSONPath),
//!    then `kluctl.io/ignore-conflicts`, `-manager[-N]`, `-field[-N]`; so `ignore` beats
//!    `force-apply`. `ignore` drops the field silently; `force-apply` takes it;
//! 2. without an `ignore`, a field owned by `kluctl`, `kluctl-*`, `kubectl`, `kubectl-*`,
//!    `rancher` or `k9s` is taken back;
//! 3. otherwise the field is dropped from the applied object and, if the values differ, a
//!    warning names the manager that now owns it. Built in, beyond Kluctl: `spec.replicas`
//!    owned through the `scale` subresource (a HorizontalPodAutoscaler, KEDA) is dropped
//!    without a warning, since scaling is that manager's job.
//!
//! `--force-apply` skips all this: the caller re-applies the original object with force.

use super::RuleError;
use crate::diff::DiffError;
use crate::diff::jsonpath::{JsonPath, KeyPath, delete_paths};
use crate::diff::managed_fields::{FieldPath, parse_managed_fields};
use crate::diff::rules::{self, ObjectIdentity, RuleSelector, bool_annotation, indexed_annotations};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// What a `conflictResolution` rule does with matching fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictAction {
    /// Give the field up without a warning.
    Ignore,
    /// Take the field over.
    ForceApply,
}

/// One `conflictResolution` item of `deployment.yaml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConflictResolutionRule {
    /// JSONPaths of the fields.
    #[serde(
        default,
        deserialize_with = "rules::string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_path: Vec<String>,
    /// Regexes matched against the printed paths of the fields.
    #[serde(
        default,
        deserialize_with = "rules::string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_path_regex: Vec<String>,
    /// Regexes matched against the names of the managers owning the fields.
    #[serde(
        default,
        deserialize_with = "rules::string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub manager: Vec<String>,
    /// `ignore` or `force-apply`.
    pub action: ConflictAction,
    /// Only objects of this API group.
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

/// One cause of a 409 Status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictCause {
    /// The field, in the API server's notation (`.spec.replicas`).
    pub field: String,
    /// The server's message (`conflict with "helm" using apps/v1`).
    pub message: String,
}

/// Reads the causes of a 409 Status returned by a server-side apply.
pub fn conflict_causes(status: &Value) -> Result<Vec<ConflictCause>, RuleError> {
    let fail = |message: String| RuleError::ParseConflictStatus { message };
    let causes = status
        .pointer("/details/causes")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("the status has no details.causes".to_string()))?;
    causes
        .iter()
        .map(|c| {
            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            // On the wire a cause's type is the key `reason` (Go's `Type CauseType
            // json:"reason"`); `type` is accepted too.
            let kind = match text("reason") {
                reason if reason.is_empty() => text("type"),
                reason => reason,
            };
            if kind != "FieldManagerConflict" {
                return Err(fail(format!("unknown cause type '{kind}'")));
            }
            Ok(ConflictCause {
                field: text("field"),
                message: text("message"),
            })
        })
        .collect()
}

/// A field kluctl gave up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostOwnership {
    /// The field (`.spec.replicas`).
    pub field: String,
    /// The server's message.
    pub message: String,
    /// The managers owning it.
    pub managers: Vec<String>,
}

impl LostOwnership {
    /// The warning to record: Kluctl's wording, always naming the managers.
    pub fn warning(&self) -> String {
        let quoted: Vec<String> = self.managers.iter().map(|m| format!("\"{m}\"")).collect();
        let message = if self.message.is_empty() {
            format!("conflict with {}", quoted.join(", "))
        } else if !self.managers.iter().any(|m| self.message.contains(m.as_str())) {
            format!("{} (owned by {})", self.message, quoted.join(", "))
        } else {
            self.message.clone()
        };
        format!(
            "{message}. Not updating field '{}' as we lost field ownership",
            self.field
        )
    }
}

/// The outcome for one object.
#[derive(Clone, Debug, PartialEq)]
pub struct ConflictResolution {
    /// The object to re-apply with `force=true`.
    pub object: Value,
    /// Fields given up with a warning.
    pub lost: Vec<LostOwnership>,
    /// Fields taken over.
    pub overwritten: Vec<String>,
    /// Fields given up silently (an `ignore` rule, equal values, or the built-in replicas rule).
    pub dropped_silently: Vec<String>,
}

#[derive(Clone, Debug)]
struct CompiledRule {
    selector: RuleSelector,
    paths: Vec<JsonPath>,
    regexes: Vec<Regex>,
    managers: Vec<Regex>,
    action: ConflictAction,
}

/// Managers whose fields kluctl takes back: people editing by hand, and kluctl itself.
const OVERWRITE_ALLOWED: &[&str] = &[
    "^kluctl$",
    "^kluctl-.*$",
    "^kubectl$",
    "^kubectl-.*$",
    "^rancher$",
    "^k9s$",
];

/// Resolves conflicts with a target's `conflictResolution` rules (compiled once).
#[derive(Clone, Debug)]
pub struct ConflictResolver {
    rules: Vec<CompiledRule>,
    allowed: Vec<Regex>,
}

fn compile(
    origin: &str,
    selector: RuleSelector,
    paths: &[String],
    regexes: &[String],
    managers: &[String],
    action: ConflictAction,
) -> Result<CompiledRule, RuleError> {
    let regex = |r: &String, what: &str| {
        Regex::new(r).map_err(|e| {
            RuleError::CompileRules(DiffError::CompileRegex {
                origin: format!("{origin}.{what}"),
                regex: r.clone(),
                message: e.to_string(),
            })
        })
    };
    Ok(CompiledRule {
        selector,
        paths: paths
            .iter()
            .map(|p| {
                JsonPath::parse(p).map_err(|error| {
                    RuleError::CompileRules(DiffError::ParseJsonPath {
                        origin: format!("{origin}.fieldPath"),
                        error,
                    })
                })
            })
            .collect::<Result<_, _>>()?,
        regexes: regexes
            .iter()
            .map(|r| regex(r, "fieldPathRegex"))
            .collect::<Result<_, _>>()?,
        managers: managers.iter().map(|r| regex(r, "manager")).collect::<Result<_, _>>()?,
        action,
    })
}

impl ConflictResolver {
    /// Compiles the `conflictResolution` rules (ancestors first). A rule needs at least one of
    /// `fieldPath`, `fieldPathRegex` and `manager`.
    pub fn new(rules: &[ConflictResolutionRule]) -> Result<Self, RuleError> {
        let compiled = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let origin = format!("conflictResolution[{i}]");
                if r.field_path.is_empty() && r.field_path_regex.is_empty() && r.manager.is_empty() {
                    return Err(RuleError::CompileRules(DiffError::InvalidRule {
                        origin,
                        message: "one of fieldPath, fieldPathRegex or manager must be set".to_string(),
                    }));
                }
                let selector = RuleSelector {
                    group: r.group.clone(),
                    kind: r.kind.clone(),
                    namespace: r.namespace.clone(),
                    name: r.name.clone(),
                };
                compile(
                    &origin,
                    selector,
                    &r.field_path,
                    &r.field_path_regex,
                    &r.manager,
                    r.action,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(ConflictResolver {
            rules: compiled,
            allowed: OVERWRITE_ALLOWED.iter().filter_map(|r| Regex::new(r).ok()).collect(),
        })
    }

    /// The project rules followed by the rules of `local`'s annotations.
    fn rules_for(&self, local: &Value) -> Result<Vec<CompiledRule>, RuleError> {
        let mut out = self.rules.clone();
        let all = || vec!["..".to_string()];
        for (action, prefix) in [
            (ConflictAction::ForceApply, "kluctl.io/force-apply"),
            (ConflictAction::Ignore, "kluctl.io/ignore-conflicts"),
        ] {
            let any = RuleSelector::default();
            if bool_annotation(local, prefix, false) {
                out.push(compile(
                    &format!("annotation {prefix}"),
                    any.clone(),
                    &all(),
                    &[],
                    &[],
                    action,
                )?);
            }
            for (key, value) in indexed_annotations(local, &format!("{prefix}-manager")) {
                out.push(compile(
                    &format!("annotation {key}"),
                    any.clone(),
                    &[],
                    &[],
                    &[value.to_string()],
                    action,
                )?);
            }
            for (key, value) in indexed_annotations(local, &format!("{prefix}-field")) {
                out.push(compile(
                    &format!("annotation {key}"),
                    any.clone(),
                    &[value.to_string()],
                    &[],
                    &[],
                    action,
                )?);
            }
        }
        Ok(out)
    }

    /// Decides what to re-apply (see the module docs).
    pub fn resolve(
        &self,
        local: &Value,
        remote: &Value,
        causes: &[ConflictCause],
    ) -> Result<ConflictResolution, RuleError> {
        let entries = parse_managed_fields(remote).map_err(|e| RuleError::ResolveConflict {
            field: ".metadata.managedFields".to_string(),
            message: e.to_string(),
        })?;
        // The API server names fields by their printed path, which is ambiguous when map keys
        // contain dots; keep every distinct path per printed form and refuse ambiguous ones.
        let mut by_field: HashMap<String, (Vec<FieldPath>, Vec<usize>)> = HashMap::new();
        let mut by_manager: HashMap<&str, Vec<FieldPath>> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            for path in entry.fields.paths() {
                let slot = by_field.entry(path.to_string()).or_default();
                if !slot.0.contains(&path) {
                    slot.0.push(path.clone());
                }
                slot.1.push(i);
                by_manager.entry(entry.manager.as_str()).or_default().push(path);
            }
        }

        let actions = self.actions(local, remote, &by_manager)?;
        let mut resolution = ConflictResolution {
            object: local.clone(),
            lost: Vec::new(),
            overwritten: Vec::new(),
            dropped_silently: Vec::new(),
        };
        let mut drop = Vec::new();
        for cause in causes {
            let fail = |message: String| RuleError::ResolveConflict {
                field: cause.field.clone(),
                message: if cause.message.is_empty() {
                    message
                } else {
                    format!("{}: {message}", cause.message)
                },
            };
            let (paths, owners) = by_field
                .get(&cause.field)
                .ok_or_else(|| fail("the field is not in the live object's managedFields".to_string()))?;
            let [path] = paths.as_slice() else {
                return Err(fail(
                    "the field path is ambiguous (a map key contains a dot)".to_string(),
                ));
            };
            let local_path = path
                .resolve(local)
                .ok_or_else(|| fail("the field is not in the applied object".to_string()))?;
            let remote_path = path
                .resolve(remote)
                .ok_or_else(|| fail("the field is not in the live object".to_string()))?;
            let mut managers: Vec<String> = owners.iter().map(|i| entries[*i].manager.clone()).collect();
            managers.sort();
            managers.dedup();

            let action = actions
                .get(&local_path.to_json_path())
                .or_else(|| actions.get(&remote_path.to_json_path()));
            let ignore = action == Some(&ConflictAction::Ignore);
            let overwrite = action == Some(&ConflictAction::ForceApply)
                || (!ignore && managers.iter().any(|m| self.allowed.iter().any(|r| r.is_match(m))));
            if overwrite {
                resolution.overwritten.push(cause.field.clone());
                continue;
            }
            let differs = local_path.get(local) != remote_path.get(remote);
            let scaled = cause.field == ".spec.replicas"
                && owners.iter().all(|i| {
                    entries[*i].subresource.as_deref() == Some("scale")
                        || entries[*i].manager == "kube-controller-manager"
                });
            if differs && !ignore && !scaled {
                resolution.lost.push(LostOwnership {
                    field: cause.field.clone(),
                    message: cause.message.clone(),
                    managers,
                });
            } else {
                resolution.dropped_silently.push(cause.field.clone());
            }
            drop.push(local_path);
        }
        delete_paths(&mut resolution.object, drop);
        Ok(resolution)
    }

    /// Which action applies to which field (by printed path), the last matching rule winning.
    fn actions(
        &self,
        local: &Value,
        remote: &Value,
        by_manager: &HashMap<&str, Vec<FieldPath>>,
    ) -> Result<HashMap<String, ConflictAction>, RuleError> {
        let identity = ObjectIdentity::of(local);
        let mut actions = HashMap::new();
        let mut all_fields: Option<Vec<String>> = None;
        for rule in self.rules_for(local)? {
            if !rule.selector.matches(&identity) {
                continue;
            }
            for path in &rule.paths {
                for p in path.locate(local).into_iter().chain(path.locate(remote)) {
                    actions.insert(p.to_json_path(), rule.action);
                }
            }
            if !rule.regexes.is_empty() {
                let fields = all_fields.get_or_insert_with(|| {
                    JsonPath::parse("..")
                        .map(|all| all.locate(local).iter().map(KeyPath::to_json_path).collect())
                        .unwrap_or_default()
                });
                for field in fields.iter().filter(|f| rule.regexes.iter().any(|r| r.is_match(f))) {
                    actions.insert(field.clone(), rule.action);
                }
            }
            for manager in &rule.managers {
                for (_, paths) in by_manager.iter().filter(|(name, _)| manager.is_match(name)) {
                    for p in paths.iter().filter_map(|p| p.resolve(remote)) {
                        actions.insert(p.to_json_path(), rule.action);
                    }
                }
            }
        }
        Ok(actions)
    }
}

#[cfg(test)]
mod tests;
