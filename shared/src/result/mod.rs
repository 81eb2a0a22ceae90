//! Stage 6: the `CommandResult` of every command, and its text, YAML and JSON forms.
//!
//! Input: what the cluster code reports while a command runs (objects applied, changes, orphans,
//! deletions, hooks, errors and warnings), fed into a thread-safe [`ResultBuilder`]. Output: a
//! [`CommandResult`] (Kluctl's result model, `pkg/types/result`), its compact [`ResultSummary`]
//! for the agent's status, and its text form ([`render_text`]); [`ValidateResult`] does the same
//! for `validate`. Secret values are masked in all of them unless the user asks otherwise.
//!
//! # Schema (`-o yaml` / `-o json`)
//!
//! The document has a top-level `apiVersion` ([`RESULT_API_VERSION`]) and `kind`
//! (`CommandResult` or `ValidateResult`); consumers should check both. Additive changes keep the
//! version; renaming or removing a field changes it. Fields that are empty or `false` are left
//! out. Times are RFC 3339 in UTC. An example, with every field shown:
//!
//! ```yaml
//! apiVersion: kubectl-kluctl.io/v1alpha1
//! kind: CommandResult
//! id: 3f2c8e0a-5b1d-4c6e-9a7f-0d4b2e8c1a6f   # random, one per run
//! command:
//!   command: deploy            # the verb
//!   initiator: CommandLine     # or Agent
//!   startTime: 2024-05-01T10:00:00Z
//!   endTime: 2024-05-01T10:00:07Z
//!   target: prod               # -t
//!   targetNameOverride: prod-eu
//!   contextOverride: kind-prod
//!   dryRun: true               # and noWait, forceApply, replaceOnError, forceReplaceOnError, abortOnError
//!   includeTags: [apps]        # and excludeTags, includeDeploymentDirs, excludeDeploymentDirs
//! targetKey:
//!   targetName: prod
//!   clusterId: 5b5c...         # UID of the kube-system Namespace
//!   discriminator: prod-apps
//! summary:                     # counts, see ResultCounts
//!   renderedObjects: 12
//!   remoteObjects: 11
//!   appliedObjects: 12
//!   appliedHookObjects: 1
//!   newObjects: 1
//!   changedObjects: 2
//!   orphanObjects: 1
//!   deletedObjects: 0
//!   errors: 0
//!   warnings: 1
//!   totalChanges: 3
//! objects:                     # sorted by ref as printed (ns/Kind/name)
//! - ref: {group: apps, version: v1, kind: Deployment, namespace: prod, name: web}
//!   changed: true              # flags: new, changed, orphan, deleted, applied, hook
//!   applied: true
//!   changes:
//!   - type: update             # insert | delete | update
//!     jsonPath: spec.template.spec.containers[0].image
//!     oldValue: nginx:1.25
//!     newValue: nginx:1.27
//!     unifiedDiff: "-nginx:1.25\n+nginx:1.27"
//!     owners: [kluctl]         # field managers owning the field before the apply
//!   rendered: {...}            # only when objects are kept (ResultOptions::keep_objects)
//!   remote: {...}
//!   appliedObject: {...}
//! errors:
//! - ref: {version: v1, kind: ConfigMap, namespace: prod, name: cfg}   # ref absent: global
//!   message: "..."
//! warnings: []
//! ```
//!
//! Secret `data`/`stringData` values appear as `***** (obfuscated, #1a2b3c4d)` (base64-encoded
//! inside `data`), where the hash is salted per run: equal hashes mean equal values within one
//! result, never across results.

mod builder;
mod summary;
mod table;
mod text;
mod validate;

pub use builder::{ResultBuilder, ResultOptions};
pub use summary::{MAX_SUMMARY_MESSAGE_CHARS, MAX_SUMMARY_MESSAGES, ResultSummary};
pub use text::{TextOptions, render_text, render_validate_text};
pub use validate::{ValidateResult, ValidateResultEntry};

use crate::diff::Change;
use crate::objects::ObjectRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The `apiVersion` of every result document this version writes.
pub const RESULT_API_VERSION: &str = "kubectl-kluctl.io/v1alpha1";

/// Who ran the command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Initiator {
    /// A user, with the `kubectl kluctl` plugin.
    #[default]
    CommandLine,
    /// The in-cluster agent reconciling a `KluctlDeployment`.
    Agent,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The command and the options it ran with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandInfo {
    /// The verb: `deploy`, `diff`, `prune`, `delete`, `validate`, ...
    pub command: String,
    /// Who ran it.
    #[serde(default)]
    pub initiator: Initiator,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it ended (set by [`ResultBuilder::finish`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// The target (`-t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `-T/--target-name-override`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name_override: Option<String>,
    /// `--context`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_override: Option<String>,
    /// `--dry-run`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// `--no-wait`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_wait: bool,
    /// `--force-apply`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_apply: bool,
    /// `--replace-on-error`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replace_on_error: bool,
    /// `--force-replace-on-error`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_replace_on_error: bool,
    /// `--abort-on-error`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub abort_on_error: bool,
    /// `-I/--include-tag`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_tags: Vec<String>,
    /// `-E/--exclude-tag`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tags: Vec<String>,
    /// `--include-deployment-dir`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_deployment_dirs: Vec<String>,
    /// `--exclude-deployment-dir`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_deployment_dirs: Vec<String>,
}

impl CommandInfo {
    /// A command started now from the command line, with every option off.
    pub fn new(command: &str) -> Self {
        CommandInfo {
            command: command.to_string(),
            initiator: Initiator::CommandLine,
            start_time: Utc::now(),
            end_time: None,
            target: None,
            target_name_override: None,
            context_override: None,
            dry_run: false,
            no_wait: false,
            force_apply: false,
            replace_on_error: false,
            force_replace_on_error: false,
            abort_on_error: false,
            include_tags: Vec::new(),
            exclude_tags: Vec::new(),
            include_deployment_dirs: Vec::new(),
            exclude_deployment_dirs: Vec::new(),
        }
    }
}

/// Which deployment the result belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetKey {
    /// The target name (after `--target-name-override`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// The UID of the cluster's `kube-system` Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// The target's discriminator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
}

/// An error or warning, about one object or (without `ref`) about the whole command.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResultMessage {
    /// The object concerned, if any.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectRef>,
    /// What happened.
    pub message: String,
}

impl fmt::Display for ResultMessage {
    /// `ns/Kind/name: message`, or just the message for global ones (Kluctl's format).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object_ref {
            Some(r) => write!(f, "{r}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One object the command touched or looked at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultObject {
    /// The object (for `kluctl.io/diff-name` objects: the diff reference).
    #[serde(rename = "ref")]
    pub object_ref: ObjectRef,
    /// Did not exist before.
    #[serde(default, skip_serializing_if = "is_false")]
    pub new: bool,
    /// Has changes (the same as `changes` being non-empty).
    #[serde(default, skip_serializing_if = "is_false")]
    pub changed: bool,
    /// On the cluster with the target's discriminator, but no longer rendered.
    #[serde(default, skip_serializing_if = "is_false")]
    pub orphan: bool,
    /// Deleted by this command.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// Applied by this command (a dry-run apply counts).
    #[serde(default, skip_serializing_if = "is_false")]
    pub applied: bool,
    /// Applied as a hook.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hook: bool,
    /// The changes, sorted by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The rendered object (only with [`ResultOptions::keep_objects`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered: Option<Value>,
    /// The live object before the command (only with `keep_objects`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Value>,
    /// The object the apply returned (only with `keep_objects`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_object: Option<Value>,
}

impl ResultObject {
    /// An entry with no flags set.
    pub fn new(object_ref: ObjectRef) -> Self {
        ResultObject {
            object_ref,
            new: false,
            changed: false,
            orphan: false,
            deleted: false,
            applied: false,
            hook: false,
            changes: Vec::new(),
            rendered: None,
            remote: None,
            applied_object: None,
        }
    }
}

/// How many objects of each kind of outcome a result holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultCounts {
    /// Objects rendered.
    pub rendered_objects: usize,
    /// Objects found on the cluster.
    pub remote_objects: usize,
    /// Objects applied (hooks included).
    pub applied_objects: usize,
    /// Hooks applied.
    pub applied_hook_objects: usize,
    /// New objects.
    pub new_objects: usize,
    /// Changed objects.
    pub changed_objects: usize,
    /// Orphan objects.
    pub orphan_objects: usize,
    /// Deleted objects.
    pub deleted_objects: usize,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Changes over all objects.
    pub total_changes: usize,
}

/// The result of `deploy`, `diff`, `prune`, `delete` and friends (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResult {
    /// Always [`RESULT_API_VERSION`] when written by this version.
    pub api_version: String,
    /// Always `CommandResult`.
    pub kind: String,
    /// A random id, one per run.
    pub id: String,
    /// The command and its options.
    pub command: CommandInfo,
    /// The deployment the result belongs to.
    #[serde(default)]
    pub target_key: TargetKey,
    /// Counts of objects, changes, errors and warnings.
    pub summary: ResultCounts,
    /// The objects, sorted by their printed ref.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ResultObject>,
    /// Errors; a non-empty list means the command failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ResultMessage>,
    /// Warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ResultMessage>,
}

impl CommandResult {
    /// Whether the command failed (Kluctl fails with "command failed" when there are errors).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Whether anything differs between the render and the cluster: new, changed, orphan or
    /// deleted objects. This is what `diff`'s exit code reports.
    pub fn has_changes(&self) -> bool {
        self.objects.iter().any(|o| o.new || o.changed || o.orphan || o.deleted)
    }

    /// The result as a YAML document.
    pub fn to_yaml(&self) -> String {
        crate::yaml::to_yaml_string(&self.to_value())
    }

    /// The result as pretty-printed JSON (ending in a newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_value()).unwrap_or_default();
        s.push('\n');
        s
    }

    fn to_value(&self) -> Value {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The objects that carry `flag`, in result order.
    pub fn refs_where(&self, flag: impl Fn(&ResultObject) -> bool) -> Vec<&ObjectRef> {
        self.objects.iter().filter(|o| flag(o)).map(|o| &o.object_ref).collect()
    }
}

/// A random id in UUID v4 form.
pub(crate) fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
