//! Flux/kstatus conditions of a `KluctlDeployment`: the [`Condition`] type, its [`ConditionStatus`],
//! the condition types and the [`reasons`] the agent writes, and the helpers that keep a
//! condition list consistent (one entry per type, transition times kept while the status holds).
//!
//! Consumers (`kubectl wait --for=condition=Ready`, `flux`, kstatus) read `Ready` together with
//! `observedGeneration`, `Reconciling` and `Stalled`; the strings here are therefore load-bearing.

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition type: the object is reconciled (True), failed (False) or being worked on (Unknown).
pub const READY: &str = "Ready";
/// Condition type: present (True) only while the agent works on the object.
pub const RECONCILING: &str = "Reconciling";
/// Condition type: present (True) only for terminal configuration errors that a retry cannot fix.
pub const STALLED: &str = "Stalled";
/// Condition type: the deployed objects became ready (only when waiting is enabled).
pub const HEALTHY: &str = "Healthy";

/// Condition messages are cut to this many characters, well under the API's 32768 limit, so a
/// status stays small whatever a failure prints.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// The reasons the agent writes into conditions and events (Flux's names where Flux has one).
pub mod reasons {
    /// Work in progress (Ready=Unknown, Reconciling=True).
    pub const PROGRESSING: &str = "Progressing";
    /// Work in progress after a failed attempt.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// Deploy (and prune) succeeded.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The source, its artifact or the download failed (not found, digest, size, host, path).
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Loading or rendering the project failed, or it renders objects the agent refuses.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// The deploy failed (API errors, object errors, timeout).
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// The deploy succeeded but pruning orphans failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// Deployed objects did not become ready.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// A `dependsOn` entry is missing, not ready or not at the same revision.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A reference leaves the agent's namespace (terminal: Stalled).
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// `sourceRef.kind` is not a supported Flux source (terminal: Stalled).
    pub const UNSUPPORTED_SOURCE_KIND: &str = "UnsupportedSourceKind";
    /// The spec cannot be used as written (bad duration, empty target; terminal: Stalled).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// `dependsOn` entries form a cycle (terminal: Stalled).
    pub const DEPENDENCY_CYCLE: &str = "DependencyCycle";
    /// Deleting the deployed objects of a deleted `KluctlDeployment` failed (retried).
    pub const DELETION_FAILED: &str = "DeletionFailed";
    /// Deployed objects are ready.
    pub const SUCCEEDED: &str = "Succeeded";
}

/// A condition's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet (work in progress).
    Unknown,
}

impl ConditionStatus {
    /// `"True"`, `"False"` or `"Unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// One condition, shaped like Kubernetes' `metav1.Condition`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Reconciling`, `Stalled` or `Healthy`.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// The generation the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    #[schemars(schema_with = "date_time")]
    pub last_transition_time: DateTime<Utc>,
    /// One word, CamelCase: why the condition has its status.
    pub reason: String,
    /// Human-readable detail, bounded in size.
    #[serde(default)]
    pub message: String,
}

fn date_time(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "format": "date-time"})
}

impl Condition {
    /// A condition stamped now, with the message cut to [`MAX_MESSAGE_CHARS`].
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
        generation: Option<i64>,
    ) -> Self {
        Condition {
            type_: type_.to_string(),
            status,
            observed_generation: generation,
            last_transition_time: now(),
            reason: reason.to_string(),
            message: truncate_message(&message.into()),
        }
    }

    /// True when the status is `True`.
    pub fn is_true(&self) -> bool {
        self.status == ConditionStatus::True
    }
}

/// The current time at second precision, as Kubernetes stores it.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::parse_from_rfc3339(&now.to_rfc3339_opts(SecondsFormat::Secs, true))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// Cuts a message to [`MAX_MESSAGE_CHARS`] characters (plus `…`).
pub fn truncate_message(message: &str) -> String {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

/// The condition of a type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Sets a condition, replacing the one of the same type. The transition time is kept when the
/// status did not change, so it records when the status last flipped.
pub fn set(conditions: &mut Vec<Condition>, mut condition: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time;
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

/// Removes the condition of a type.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_the_same_status_keeps_the_transition_time() {
        let mut conditions = Vec::new();
        let mut first = Condition::new(READY, ConditionStatus::False, reasons::ARTIFACT_FAILED, "a", Some(1));
        first.last_transition_time = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        set(&mut conditions, first.clone());
        set(
            &mut conditions,
            Condition::new(READY, ConditionStatus::False, reasons::BUILD_FAILED, "b", Some(2)),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].reason, reasons::BUILD_FAILED);
        assert_eq!(conditions[0].last_transition_time, first.last_transition_time);
        set(
            &mut conditions,
            Condition::new(
                READY,
                ConditionStatus::True,
                reasons::RECONCILIATION_SUCCEEDED,
                "ok",
                Some(2),
            ),
        );
        assert_ne!(conditions[0].last_transition_time, first.last_transition_time);
        remove(&mut conditions, READY);
        assert!(find(&conditions, READY).is_none());
    }

    #[test]
    fn messages_are_bounded_and_serialized_as_kubernetes_does() {
        let c = Condition::new(READY, ConditionStatus::True, "R", "x".repeat(100_000), None);
        assert_eq!(c.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["type"], "Ready");
        assert_eq!(json["status"], "True");
        assert!(json["lastTransitionTime"].as_str().unwrap().ends_with('Z'));
        assert!(json.get("observedGeneration").is_none());
    }
}
