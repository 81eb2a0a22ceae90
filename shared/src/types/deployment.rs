//! `deployment.yaml` (or `deployment.yml`): the items of a deployment project and the settings
//! its includes inherit. Read after the whole file was rendered as a template.
//!
//! Unknown fields are rejected, as Kluctl's strict YAML reader does; this also rejects the
//! output-only fields (`renderedObjects`, ...) that Kluctl refuses on input.

use super::vars_source::VarsSource;
use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The content of a `deployment.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentProjectConfig {
    /// Variables for everything below (not visible inside this same file, which was already rendered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<VarsSource>,
    /// A condition for the whole (included) project; not allowed in the root project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The items, in deployment order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<DeploymentItemConfig>,
    /// Labels put on every object below; the innermost project wins.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub common_labels: IndexMap<String, String>,
    /// Annotations put on every object below; the innermost project wins.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub common_annotations: IndexMap<String, String>,
    /// Namespace for items whose kustomization sets none; the nearest project that sets it wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_namespace: Option<String>,
    /// Tags added to every item below.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Fields to ignore when diffing, concatenated over all ancestors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_for_diff: Vec<IgnoreForDiff>,
    /// Conflict resolution rules, concatenated over all ancestors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflict_resolution: Vec<ConflictResolution>,
    /// Legacy (Kluctl before 2.18): glob patterns, relative to this project, of files that are
    /// copied without templating. `.templateignore` is the modern way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_excludes: Vec<String>,
}

/// One entry of `deployments`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentItemConfig {
    /// A Kustomize or plain-manifest directory, relative to this `deployment.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A sub-project directory holding its own `deployment.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// A project included from a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Value>,
    /// A project included from an OCI artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<Value>,
    /// With `path`: the generated kustomization lists files of subdirectories too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
    /// Objects deleted when this item is processed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_objects: Vec<ObjectRefItem>,
    /// Explicit tags; without them the base name of `path`/`include` is the tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Wait until everything started so far is applied before continuing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub barrier: bool,
    /// Shown while waiting at the barrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Wait for readiness of this item's objects after applying it (only with `path`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait_readiness: bool,
    /// Further objects to wait for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wait_readiness_objects: Vec<ObjectRefItem>,
    /// Args for an included library project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    /// Pass all current vars into an included library project.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_vars: bool,
    /// Vars for this item or for the whole included project.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<VarsSource>,
    /// Mark objects so that tag-filtered deletes skip them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_delete_if_tags: bool,
    /// Render the directory but neither build nor deploy it (bases referenced by other items).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_render: bool,
    /// Ignore the inclusion and exclusion filters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub always_deploy: bool,
    /// A condition; false skips the item entirely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// A reference to an object by group or kind, name and namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRefItem {
    /// API group (at least one of group and kind is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind (at least one of group and kind is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object name.
    pub name: String,
    /// Namespace, empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A field (or fields) to ignore when diffing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreForDiff {
    /// JSONPath(s) of the fields.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing_if = "Vec::is_empty")]
    pub field_path: Vec<String>,
    /// Regular expression(s) over the JSONPath of fields.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing_if = "Vec::is_empty")]
    pub field_path_regex: Vec<String>,
    /// Only objects of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only objects of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only objects with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A server-side apply conflict resolution rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConflictResolution {
    /// JSONPath(s) of the fields.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing_if = "Vec::is_empty")]
    pub field_path: Vec<String>,
    /// Regular expression(s) over the JSONPath of fields.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing_if = "Vec::is_empty")]
    pub field_path_regex: Vec<String>,
    /// Regular expression(s) over field manager names.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing_if = "Vec::is_empty")]
    pub manager: Vec<String>,
    /// Only objects of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only objects of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only objects with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// What to do with a conflicting field.
    pub action: ConflictAction,
}

/// What to do with a field another manager owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictAction {
    /// Give up the field.
    Ignore,
    /// Take the field over.
    ForceApply,
}

/// Accepts `x` as well as `[x, y]`, as Kluctl's `SingleStringOrList` does.
fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_typed;

    #[test]
    fn parses_items_with_every_kind_of_field() {
        let text = r#"
vars:
  - values: {a: 1}
deployments:
  - path: apps
    tags: [x]
    waitReadiness: true
  - include: sub
    args: {n: 1}
    passVars: true
  - barrier: true
    message: wait
  - deleteObjects:
      - kind: ConfigMap
        name: old
commonLabels: {team: a}
overrideNamespace: ns
ignoreForDiff:
  - fieldPath: spec.replicas
  - fieldPathRegex: [a, b]
conflictResolution:
  - manager: helm
    action: force-apply
"#;
        let config: DeploymentProjectConfig = parse_typed(text, "deployment.yaml").unwrap();
        assert_eq!(config.deployments.len(), 4);
        assert_eq!(config.ignore_for_diff[0].field_path, vec!["spec.replicas"]);
        assert_eq!(config.ignore_for_diff[1].field_path_regex, vec!["a", "b"]);
        assert_eq!(config.conflict_resolution[0].action, ConflictAction::ForceApply);
        assert_eq!(config.common_labels["team"], "a");
    }

    #[test]
    fn output_only_fields_and_typos_are_rejected() {
        let err =
            parse_typed::<DeploymentProjectConfig>("deployments:\n  - path: a\n    renderedObjects: []\n", "d.yaml")
                .unwrap_err();
        assert_eq!(err.line, Some(3));
        let err = parse_typed::<DeploymentProjectConfig>("deploymets: []\n", "d.yaml").unwrap_err();
        assert!(err.message.contains("unknown field `deploymets`"), "{err}");
    }
}
