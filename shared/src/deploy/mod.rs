//! The pure decisions of `deploy`, `prune`, `delete` and `validate`, made on objects the
//! cluster code has fetched or is about to send (all I/O lives in `cluster`).
//!
//! - [`readiness`]: is a live object ready, still progressing, or failed for good (8.5)?
//! - [`hooks`]: which objects are hooks, for which phase, in which order, deleted when (8.3).
//! - [`orphans`]: which live objects `prune` and `delete` may remove, and in which order (8.8).
//! - [`conflicts`]: what to re-apply after a 409 field-manager conflict (8.2).
//! - [`inclusion`]: the tag and deployment-dir filters of the CLI and the agent.
//! - [`fix_object_for_apply`]: Kluctl's fixes to objects right before a server-side apply.
//!
//! Input: `serde_json::Value` objects (rendered or live) and [`crate::objects::ObjectRef`]s.
//! Output: plans and verdicts; per-object problems come back as [`RuleError`]s or messages for
//! the caller to record in the result.

mod apply_fix;
pub mod conflicts;
mod duration;
pub mod hooks;
pub mod inclusion;
pub mod orphans;
pub mod readiness;

pub use apply_fix::fix_object_for_apply;
pub use duration::parse_go_duration;

use crate::diff::DiffError;

/// Everything the deploy rules can reject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    /// A `kluctl.io/*` or `helm.sh/*` annotation has a value Kluctl does not accept.
    #[error("failed to parse annotation {key}: {message}")]
    ParseAnnotation {
        /// The annotation key.
        key: String,
        /// What is wrong, and what is accepted.
        message: String,
    },
    /// `prune` or `delete` without a discriminator would select objects of other targets.
    #[error(
        "failed to select objects for deletion: the target has no discriminator (set `discriminator` in the target or .kluctl.yaml, or pass --discriminator)"
    )]
    NoDiscriminator,
    /// An inclusion filter is not usable.
    #[error("failed to parse the inclusion filters: {message}")]
    ParseInclusion {
        /// What is wrong.
        message: String,
    },
    /// The 409 response does not look like a field-manager conflict.
    #[error("failed to parse the conflict status: {message}")]
    ParseConflictStatus {
        /// What is wrong.
        message: String,
    },
    /// A conflicting field could not be matched to the live object.
    #[error("failed to resolve the conflict on field '{field}': {message}")]
    ResolveConflict {
        /// The field as the API server named it (`.spec.replicas`).
        field: String,
        /// Why.
        message: String,
    },
    /// A `conflictResolution` rule or annotation does not compile.
    #[error("failed to compile the conflict resolution rules: {0}")]
    CompileRules(DiffError),
}
