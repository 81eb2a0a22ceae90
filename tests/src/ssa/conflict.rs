//! Apply conflicts and the `Status` objects the API server answers with, worded exactly as
//! Kubernetes words them (`Apply failed with 1 conflict: conflict with "mgr" using apps/v1:
//! .spec.replicas`).

use super::Operation;
use super::path::FieldPath;
use serde_json::{Value, json};
use std::fmt;

/// One field another manager owns with a different value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager.
    pub manager: String,
    /// How that manager wrote the field.
    pub operation: Operation,
    /// The apiVersion of that manager's entry.
    pub api_version: String,
    /// The owning entry's subresource (`status`), empty for the main resource.
    pub subresource: String,
    /// The field.
    pub path: FieldPath,
}

impl Conflict {
    /// `"mgr"`, `"mgr" using apps/v1` (Update entries) and `with subresource "status"`, as
    /// Kubernetes prints a manager.
    pub fn manager_description(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

/// The conflicts that stop an apply without `force`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyConflicts {
    /// Sorted by manager, then field.
    pub conflicts: Vec<Conflict>,
}

impl ApplyConflicts {
    /// The `Status` object of the 409 answer, with one `FieldManagerConflict` cause per field.
    pub fn status(&self) -> Value {
        let causes: Vec<Value> = self
            .conflicts
            .iter()
            .map(|c| {
                json!({
                    "reason": "FieldManagerConflict",
                    "message": format!("conflict with {}", c.manager_description()),
                    "field": c.path.to_string(),
                })
            })
            .collect();
        status_json(409, "Conflict", &self.to_string(), Some(causes))
    }
}

impl fmt::Display for ApplyConflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.conflicts.as_slice() {
            return write!(
                f,
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager_description(),
                only.path
            );
        }
        let mut lines = Vec::new();
        let mut current: Option<String> = None;
        for conflict in &self.conflicts {
            let manager = conflict.manager_description();
            if current.as_ref() != Some(&manager) {
                lines.push(format!("conflicts with {manager}:"));
                current = Some(manager);
            }
            lines.push(format!("- {}", conflict.path));
        }
        write!(
            f,
            "Apply failed with {} conflicts: {}",
            self.conflicts.len(),
            lines.join("\n")
        )
    }
}

impl std::error::Error for ApplyConflicts {}

/// A Kubernetes `Status` failure object.
pub(crate) fn status_json(code: u16, reason: &str, message: &str, causes: Option<Vec<Value>>) -> Value {
    let mut status = serde_json::Map::new();
    status.insert("kind".into(), json!("Status"));
    status.insert("apiVersion".into(), json!("v1"));
    status.insert("metadata".into(), json!({}));
    status.insert("status".into(), json!("Failure"));
    status.insert("message".into(), json!(message));
    status.insert("reason".into(), json!(reason));
    if let Some(causes) = causes {
        status.insert("details".into(), json!({ "causes": causes }));
    }
    status.insert("code".into(), json!(code));
    Value::Object(status)
}
