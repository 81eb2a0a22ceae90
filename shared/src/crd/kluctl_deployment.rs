//! `KluctlDeployment` (`flux.kluctl.io/v1alpha1`): spec and status types, the generated CRD
//! ([`crd`], [`crd_yaml`]), and spec validation into a [`ValidatedSpec`] the agent runs with.
//!
//! The spec keeps the field names of the original flux-kluctl-controller (v1alpha1) plus
//! `delete` and `OCIRepository` sources; the status follows Flux's conventions
//! (`observedGeneration`, conditions, `lastHandledReconcileAt`, attempted and applied revisions)
//! and holds a bounded [`RunSummary`] of the last run instead of full results.

use super::conditions::Condition;
use super::flux_source::FluxSourceKind;
use crate::deploy::parse_go_duration;
use crate::result::{ResultMessage, ResultSummary};
use kube::CustomResource;
use kube::core::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// The desired state: which source and path to deploy, with which target and options.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "flux.kluctl.io",
    version = "v1alpha1",
    kind = "KluctlDeployment",
    namespaced,
    status = "KluctlDeploymentStatus",
    shortname = "kd",
    category = "kluctl",
    doc = "A Kluctl project deployed from a Flux source artifact by the per-namespace kluctl-agent",
    derive = "PartialEq",
    derive = "Default",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.lastAppliedRevision","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct KluctlDeploymentSpec {
    /// The Flux source (GitRepository, OCIRepository or Bucket) whose artifact holds the project.
    pub source_ref: SourceReference,
    /// Directory of the Kluctl project inside the artifact; defaults to its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The Kluctl target to deploy; omit for projects without targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target: Option<String>,
    /// Arguments passed to the project (`-a name=value`); values may be any YAML value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub args: Option<Map<String, Value>>,
    /// How often to deploy (also correcting drift), as a Go duration (`5m`, `1h`).
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,
    /// How soon to retry after a failure; defaults to `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub retry_interval: Option<String>,
    /// Bound of one reconcile (fetch, render, deploy, waits); defaults to `interval` minus 30s,
    /// at least 30s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Stop deploying (and deleting on removal) until set back to false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Delete orphan objects (discriminator set, no longer rendered) after each successful deploy.
    #[serde(default, skip_serializing_if = "is_false")]
    pub prune: bool,
    /// Delete every deployed object (by discriminator) when this KluctlDeployment is deleted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// KluctlDeployments in the same namespace that must be Ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Deploy as this ServiceAccount of the same namespace (impersonation) instead of the agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Deploy only items with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_tags: Vec<String>,
    /// Skip items with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<String>,
    /// Deploy only these deployment item directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_deployment_dirs: Vec<String>,
    /// Skip these deployment item directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_deployment_dirs: Vec<String>,
    /// Server-side dry run only: nothing is changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Do not wait for readiness of deployed objects.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_wait: bool,
    /// Take over fields owned by other field managers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_apply: bool,
    /// Replace objects whose apply fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replace_on_error: bool,
    /// Delete and re-create objects whose apply fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_replace_on_error: bool,
    /// Stop at the first object error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub abort_on_error: bool,
    /// Fixed images for `images.get_image` placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<FixedImage>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// A reference to a Flux source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// `source.toolkit.fluxcd.io/v1` (default) or `.../v1beta2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// GitRepository, OCIRepository or Bucket.
    #[schemars(extend("enum" = ["GitRepository", "OCIRepository", "Bucket"]))]
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Must be empty or the KluctlDeployment's own namespace (cross-namespace references are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A `dependsOn` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DependencyReference {
    /// Name of the KluctlDeployment.
    pub name: String,
    /// Must be empty or the KluctlDeployment's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A fixed image, as Kluctl's `--fixed-image` and target `images` entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixedImage {
    /// The image name as passed to `images.get_image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A regular expression matching image names instead of `image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_regex: Option<String>,
    /// The image to use.
    pub result_image: String,
    /// Only for objects in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only for this object (`Kind/name` style reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub object: Option<Map<String, Value>>,
    /// Only for this Deployment (`Deployment/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Only for this container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Only for items with these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_tags: Vec<String>,
    /// Only for this deployment item directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_dir: Option<String>,
}

/// The observed state, written by the agent only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KluctlDeploymentStatus {
    /// The generation last reconciled to a final state (Ready=True or Stalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling, Stalled and Healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The artifact revision of the last attempt (set once the artifact was fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The artifact digest of the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_digest: Option<String>,
    /// The artifact revision of the last successful deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The artifact digest of the last successful deploy (revisions are not unique per tarball).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_digest: Option<String>,
    /// OCI origin revision of the last successful deploy, when the artifact carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_origin_revision: Option<String>,
    /// The discriminator of the deployed objects: what deletion removes, without the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
    /// When the last reconcile (successful or not) finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<String>,
    /// Bounded summary of the last deploy, prune or delete run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<RunSummary>,
}

/// Counts and the first messages of one run: bounded, and without Secret values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The verbs that ran, e.g. `deploy` or `deploy+prune`.
    pub command: String,
    /// Id of the run's result.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Start (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start_time: String,
    /// End (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end_time: String,
    /// Whether it was a dry run.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Objects rendered.
    #[serde(default)]
    pub rendered_objects: i64,
    /// Objects applied.
    #[serde(default)]
    pub applied_objects: i64,
    /// New objects.
    #[serde(default)]
    pub new_objects: i64,
    /// Changed objects.
    #[serde(default)]
    pub changed_objects: i64,
    /// Orphan objects found.
    #[serde(default)]
    pub orphan_objects: i64,
    /// Objects deleted (prune or delete).
    #[serde(default)]
    pub deleted_objects: i64,
    /// Errors.
    #[serde(default)]
    pub errors: i64,
    /// Warnings.
    #[serde(default)]
    pub warnings: i64,
    /// The first errors (`ns/Kind/name: message`), each cut short.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_messages: Vec<String>,
    /// The first warnings, bounded the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning_messages: Vec<String>,
}

impl RunSummary {
    /// The status form of a result summary (already bounded and scrubbed by
    /// [`ResultSummary::of`]).
    pub fn from_summary(summary: &ResultSummary) -> Self {
        let messages = |list: &[ResultMessage]| list.iter().map(ResultMessage::to_string).collect();
        RunSummary {
            command: summary.command.clone(),
            id: summary.id.clone(),
            start_time: summary.start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            end_time: summary
                .end_time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            dry_run: summary.dry_run,
            rendered_objects: summary.counts.rendered_objects as i64,
            applied_objects: summary.counts.applied_objects as i64,
            new_objects: summary.counts.new_objects as i64,
            changed_objects: summary.counts.changed_objects as i64,
            orphan_objects: summary.counts.orphan_objects as i64,
            deleted_objects: summary.counts.deleted_objects as i64,
            errors: summary.counts.errors as i64,
            warnings: summary.counts.warnings as i64,
            error_messages: messages(&summary.error_messages),
            warning_messages: messages(&summary.warning_messages),
        }
    }

    /// Adds the counts and messages of a following run (prune after deploy), keeping the bounds.
    pub fn merge(&mut self, other: RunSummary) {
        self.command = format!("{}+{}", self.command, other.command);
        if !other.end_time.is_empty() {
            self.end_time = other.end_time;
        }
        self.orphan_objects = self.orphan_objects.max(other.orphan_objects);
        self.deleted_objects += other.deleted_objects;
        self.errors += other.errors;
        self.warnings += other.warnings;
        let limit = crate::result::MAX_SUMMARY_MESSAGES;
        for (mine, theirs) in [
            (&mut self.error_messages, other.error_messages),
            (&mut self.warning_messages, other.warning_messages),
        ] {
            mine.extend(theirs);
            mine.truncate(limit);
        }
    }
}

/// Why a spec cannot be used as written (a terminal error until the spec changes).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    /// A duration field does not parse.
    #[error("failed to parse spec.{field} {value:?}: expected a Go duration such as 30s, 5m or 1h30m")]
    ParseDuration {
        /// The field name.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// `interval` is zero.
    #[error("failed to validate spec.interval: it must be greater than zero")]
    ZeroInterval,
    /// `sourceRef.kind` is not supported.
    #[error(
        "failed to resolve spec.sourceRef: kind {kind:?} is not supported (use GitRepository, OCIRepository or Bucket)"
    )]
    UnsupportedSourceKind {
        /// The kind given.
        kind: String,
    },
    /// `sourceRef.apiVersion` is not a source-controller version.
    #[error(
        "failed to resolve spec.sourceRef: apiVersion {api_version:?} is not served by the agent (use source.toolkit.fluxcd.io/v1 or v1beta2)"
    )]
    UnsupportedSourceVersion {
        /// The apiVersion given.
        api_version: String,
    },
    /// `path` is absolute or leaves the artifact.
    #[error("failed to validate spec.path {path:?}: it must be a relative path inside the artifact, without '..'")]
    InvalidPath {
        /// The path.
        path: String,
    },
    /// `target` is empty or too long.
    #[error("failed to validate spec.target: it must be 1 to 63 characters long")]
    InvalidTarget,
}

/// A validated spec: durations parsed and defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedSpec {
    /// The source kind.
    pub source_kind: FluxSourceKind,
    /// The source version the spec asks for, when it names one (`v1`, `v1beta2`).
    pub source_version: Option<String>,
    /// `path` split into normal components (empty for the root).
    pub path: Vec<String>,
    /// Requeue after success.
    pub interval: Duration,
    /// Requeue after failure.
    pub retry_interval: Duration,
    /// Bound of one reconcile.
    pub timeout: Duration,
}

/// The shortest timeout the agent uses, whatever `interval` is.
pub const MIN_TIMEOUT: Duration = Duration::from_secs(30);

impl KluctlDeploymentSpec {
    /// Parses durations, applies Flux's defaults and checks the source reference and path.
    pub fn validate(&self) -> Result<ValidatedSpec, SpecError> {
        let duration = |field: &'static str, value: &str| {
            parse_go_duration(value).ok_or_else(|| SpecError::ParseDuration {
                field,
                value: value.to_string(),
            })
        };
        let interval = duration("interval", &self.interval)?;
        if interval.is_zero() {
            return Err(SpecError::ZeroInterval);
        }
        let retry_interval = match &self.retry_interval {
            Some(value) => duration("retryInterval", value)?,
            None => interval,
        };
        let timeout = match &self.timeout {
            Some(value) => duration("timeout", value)?,
            None => interval.saturating_sub(Duration::from_secs(30)).max(MIN_TIMEOUT),
        };
        let source_kind =
            FluxSourceKind::parse(&self.source_ref.kind).ok_or_else(|| SpecError::UnsupportedSourceKind {
                kind: self.source_ref.kind.clone(),
            })?;
        let source_version = match self.source_ref.api_version.as_deref() {
            None | Some("") => None,
            Some(api_version) => match api_version.split_once('/') {
                Some((super::flux_source::SOURCE_GROUP, version))
                    if super::flux_source::SOURCE_VERSIONS.contains(&version) =>
                {
                    Some(version.to_string())
                }
                _ => {
                    return Err(SpecError::UnsupportedSourceVersion {
                        api_version: api_version.to_string(),
                    });
                }
            },
        };
        if let Some(target) = &self.target
            && (target.is_empty() || target.len() > 63)
        {
            return Err(SpecError::InvalidTarget);
        }
        Ok(ValidatedSpec {
            source_kind,
            source_version,
            path: split_relative_path(self.path.as_deref().unwrap_or(""))?,
            interval,
            retry_interval,
            timeout: if timeout.is_zero() { MIN_TIMEOUT } else { timeout },
        })
    }
}

/// Splits `spec.path` into components, refusing absolute paths, `..`, backslashes and NUL.
fn split_relative_path(path: &str) -> Result<Vec<String>, SpecError> {
    let invalid = || SpecError::InvalidPath { path: path.to_string() };
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(invalid());
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(invalid()),
            normal => parts.push(normal.to_string()),
        }
    }
    Ok(parts)
}

/// The CustomResourceDefinition of `KluctlDeployment`.
pub fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    KluctlDeployment::crd()
}

/// The CRD as the YAML committed in `agent/config/crd.yaml`.
pub fn crd_yaml() -> String {
    let value = serde_json::to_value(crd()).unwrap_or(Value::Null);
    format!(
        "# Generated from shared/src/crd (KluctlDeployment); do not edit.\n\
         # Regenerate: cargo run -p kluctl-agent --bin crdgen > agent/config/crd.yaml\n{}",
        crate::yaml::to_yaml_string(&value)
    )
}

#[cfg(test)]
mod tests;
