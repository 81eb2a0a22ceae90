//! [`ValidateResult`]: the result of `validate` (readiness of every deployed object).

use super::{ResultMessage, new_id};
use crate::diff::Obfuscator;
use crate::objects::ObjectRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One `validate-result.kluctl.io/<key>` annotation found on an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateResultEntry {
    /// The object carrying the annotation.
    #[serde(rename = "ref")]
    pub object_ref: ObjectRef,
    /// The annotation key.
    pub annotation: String,
    /// Its value.
    pub message: String,
}

/// The result of `validate`: ready when there are no errors (and, with
/// `--warnings-as-errors`, no warnings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateResult {
    /// Always [`super::RESULT_API_VERSION`] when written by this version.
    pub api_version: String,
    /// Always `ValidateResult`.
    pub kind: String,
    /// A random id, one per run.
    pub id: String,
    /// When validation started.
    pub start_time: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// Whether every object is ready.
    pub ready: bool,
    /// Objects not ready yet, and other warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ResultMessage>,
    /// Objects that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ResultMessage>,
    /// The `validate-result.kluctl.io/*` annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ValidateResultEntry>,
}

impl Default for ValidateResult {
    fn default() -> Self {
        Self::new()
    }
}

impl ValidateResult {
    /// An empty, ready result started now.
    pub fn new() -> Self {
        ValidateResult {
            api_version: super::RESULT_API_VERSION.to_string(),
            kind: "ValidateResult".to_string(),
            id: new_id(),
            start_time: Utc::now(),
            end_time: None,
            ready: true,
            warnings: Vec::new(),
            errors: Vec::new(),
            results: Vec::new(),
        }
    }

    /// Records an error (the result is not ready).
    pub fn add_error(&mut self, r: &ObjectRef, message: impl Into<String>) {
        self.ready = false;
        self.errors.push(ResultMessage {
            object_ref: Some(r.clone()),
            message: message.into(),
        });
    }

    /// Records a warning.
    pub fn add_warning(&mut self, r: &ObjectRef, message: impl Into<String>) {
        self.warnings.push(ResultMessage {
            object_ref: Some(r.clone()),
            message: message.into(),
        });
    }

    /// Records an object that is not ready, as a warning (Kluctl's validate) or, when waiting
    /// has timed out, as an error.
    pub fn add_not_ready(&mut self, r: &ObjectRef, message: impl Into<String>, as_error: bool) {
        self.ready = false;
        let message = ResultMessage {
            object_ref: Some(r.clone()),
            message: message.into(),
        };
        if as_error {
            self.errors.push(message);
        } else {
            self.warnings.push(message);
        }
    }

    /// Records a `validate-result.kluctl.io/*` annotation.
    pub fn add_result(&mut self, r: &ObjectRef, annotation: &str, message: &str) {
        self.results.push(ValidateResultEntry {
            object_ref: r.clone(),
            annotation: annotation.to_string(),
            message: message.to_string(),
        });
    }

    /// Ends validation: `--warnings-as-errors` turns warnings into errors; messages are sorted
    /// by object and the end time is set.
    pub fn finish(mut self, warnings_as_errors: bool) -> Self {
        if warnings_as_errors && !self.warnings.is_empty() {
            self.errors.append(&mut self.warnings);
            self.ready = false;
        }
        let by_ref = |m: &ResultMessage| m.object_ref.as_ref().map(ToString::to_string);
        self.errors.sort_by_key(by_ref);
        self.warnings.sort_by_key(by_ref);
        self.results
            .sort_by_key(|r| (r.object_ref.to_string(), r.annotation.clone()));
        self.end_time = Some(Utc::now());
        self
    }

    /// Removes learned Secret values from every message (for results shown to others).
    pub fn scrub(&mut self, obfuscator: &Obfuscator) {
        for m in self.errors.iter_mut().chain(self.warnings.iter_mut()) {
            m.message = obfuscator.scrub(&m.message).into_owned();
        }
        for r in &mut self.results {
            r.message = obfuscator.scrub(&r.message).into_owned();
        }
    }

    /// The result as a YAML document.
    pub fn to_yaml(&self) -> String {
        crate::yaml::to_yaml_string(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// The result as pretty-printed JSON (ending in a newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(name: &str) -> ObjectRef {
        ObjectRef::from_object(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "ns"}}),
        )
        .unwrap()
    }

    #[test]
    fn warnings_as_errors_makes_the_result_not_ready() {
        let mut v = ValidateResult::new();
        v.add_warning(&r("a"), "unable to determine if a status is expected");
        assert!(v.clone().finish(false).ready);
        let strict = v.finish(true);
        assert!(!strict.ready);
        assert_eq!(strict.errors.len(), 1);
        assert!(strict.warnings.is_empty());
    }

    #[test]
    fn not_ready_objects_and_serialization() {
        let mut v = ValidateResult::new();
        v.add_not_ready(&r("b"), "readyReplicas (0) is less than replicas (1)", false);
        v.add_result(&r("b"), "validate-result.kluctl.io/x", "y");
        let v = v.finish(false);
        assert!(!v.ready);
        let value: Value = serde_json::from_str(&v.to_json()).unwrap();
        assert_eq!(value["kind"], json!("ValidateResult"));
        assert_eq!(value["warnings"][0]["ref"]["name"], json!("b"));
        assert_eq!(value["results"][0]["annotation"], json!("validate-result.kluctl.io/x"));
        let back: ValidateResult = crate::yaml::parse_typed(&v.to_yaml(), "v.yaml").unwrap();
        assert_eq!(back, v);
    }
}
