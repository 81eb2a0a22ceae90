//! Patches, as the Kubernetes API server and Kustomize apply them: JSON patch (RFC 6902, with
//! the API server's extensions), JSON merge patch (RFC 7386) and strategic merge patch
//! (`apimachinery/pkg/util/strategicpatch`, driven by [`crate::schema`]), plus Kustomize's own
//! strategic merge ([`kustomize_strategic_merge`], kyaml's rules, which order and treat some
//! directives differently).
//!
//! Input: the original object and the patch document as `serde_json::Value`, plus the type
//! schema for strategic merge patches. Output: the patched object, or a [`PatchError`] that names
//! the JSON path where the patch does not apply. The original is never modified.
//!
//! Error messages never contain values from the documents (they may be secret), only paths,
//! keys and operation names.

mod json_patch;
mod kustomize;
mod merge_patch;
mod path;
mod strategic;

pub use json_patch::json_patch;
pub use kustomize::kustomize_strategic_merge;
pub use merge_patch::merge_patch;
pub use strategic::strategic_merge_patch;

/// A patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The JSON patch document is not a list of operations.
    #[error("failed to parse json patch: {reason}")]
    ParseJsonPatch {
        /// What is wrong with the document.
        reason: String,
    },
    /// One operation of a JSON patch does not apply.
    #[error("failed to apply json patch operation {index} ({op} {path}): {reason}")]
    ApplyJsonPatch {
        /// Position of the operation in the patch (0-based).
        index: usize,
        /// `add`, `remove`, `replace`, `move`, `copy` or `test`.
        op: String,
        /// The operation's `path`.
        path: String,
        /// Why it does not apply.
        reason: String,
    },
    /// A JSON merge patch does not apply.
    #[error("failed to apply merge patch: {reason}")]
    ApplyMergePatch {
        /// Why it does not apply.
        reason: String,
    },
    /// A strategic merge patch does not apply.
    #[error("failed to apply strategic merge patch at {path}: {reason}")]
    ApplyStrategicMerge {
        /// JSON pointer of the place in the patch (`/spec/template/spec/containers/0`).
        path: String,
        /// Why it does not apply.
        reason: String,
    },
}

/// What a JSON value is, for messages that must not print the value itself.
pub(crate) fn type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// JSON equality as Go's `encoding/json` sees it: every number is a float64, so `1 == 1.0`.
pub(crate) fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
