//! Step 6 of a reconcile: the `KluctlDeployment`'s status, kept as Flux and kstatus expect it.
//!
//! Input: what the reconcile learned (progress, failure, success, the run summary). Output: a
//! status written with a JSON merge patch on the `status` subresource as field manager
//! `kluctl-agent`. Every write gets its own short deadline, independent of the reconcile's
//! timeout, so a failure is always recorded.
//!
//! Rules: `Ready` is Unknown while working, True on success, False on failure; `Reconciling` is
//! present only while working (reason `ProgressingWithRetry` after a failure); `Stalled` only for
//! terminal errors; `observedGeneration` moves only with Ready=True or Stalled.

use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;
use shared::crd::conditions::{self, HEALTHY, READY, RECONCILING, STALLED};
use shared::crd::{
    Condition, ConditionStatus, KluctlDeployment, KluctlDeploymentStatus, REQUESTED_AT_ANNOTATION, RunSummary,
    STATUS_FIELD_MANAGER, reasons,
};
use std::time::Duration;

/// How long one status write may take, whatever the reconcile's deadline.
pub const STATUS_WRITE_TIMEOUT: Duration = Duration::from_secs(15);

/// The status of one object during one reconcile.
pub struct StatusWriter<'a> {
    api: &'a Api<DynamicObject>,
    name: String,
    generation: Option<i64>,
    requested_at: Option<String>,
    /// The status as it will be written.
    pub status: KluctlDeploymentStatus,
    written: Option<serde_json::Value>,
}

impl<'a> StatusWriter<'a> {
    /// Starts from the object's current status.
    pub fn new(api: &'a Api<DynamicObject>, object: &KluctlDeployment) -> Self {
        let status = object.status.clone().unwrap_or_default();
        StatusWriter {
            api,
            name: object.metadata.name.clone().unwrap_or_default(),
            generation: object.metadata.generation,
            requested_at: object
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REQUESTED_AT_ANNOTATION))
                .cloned(),
            written: serde_json::to_value(&status).ok(),
            status,
        }
    }

    fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: &str) {
        conditions::set(
            &mut self.status.conditions,
            Condition::new(type_, status, reason, message, self.generation),
        );
    }

    fn failed_before(&self) -> bool {
        conditions::find(&self.status.conditions, READY).is_some_and(|c| c.status == ConditionStatus::False)
    }

    /// Work started or moved to a new phase (`message` names it).
    pub fn progressing(&mut self, message: &str) {
        let reason = if self.failed_before()
            || conditions::find(&self.status.conditions, RECONCILING)
                .is_some_and(|c| c.reason == reasons::PROGRESSING_WITH_RETRY)
        {
            reasons::PROGRESSING_WITH_RETRY
        } else {
            reasons::PROGRESSING
        };
        self.set(RECONCILING, ConditionStatus::True, reason, message);
        self.set(READY, ConditionStatus::Unknown, reasons::PROGRESSING, message);
        conditions::remove(&mut self.status.conditions, STALLED);
    }

    /// The artifact was fetched and verified.
    pub fn attempted(&mut self, revision: &str, digest: &str) {
        self.status.last_attempted_revision = Some(revision.to_string());
        self.status.last_attempted_digest = Some(digest.to_string());
    }

    /// A failure that a retry may fix.
    pub fn failed(&mut self, reason: &str, message: &str) {
        self.set(READY, ConditionStatus::False, reason, message);
        self.set(
            RECONCILING,
            ConditionStatus::True,
            reasons::PROGRESSING_WITH_RETRY,
            message,
        );
        conditions::remove(&mut self.status.conditions, STALLED);
    }

    /// A terminal failure: nothing changes until the spec does.
    pub fn stalled(&mut self, reason: &str, message: &str) {
        self.set(READY, ConditionStatus::False, reason, message);
        self.set(STALLED, ConditionStatus::True, reason, message);
        conditions::remove(&mut self.status.conditions, RECONCILING);
        self.status.observed_generation = self.generation;
    }

    /// Deployed: `revision` (with its digest) is what runs now.
    pub fn succeeded(&mut self, revision: &str, digest: &str, origin_revision: Option<&str>, message: &str) {
        self.set(READY, ConditionStatus::True, reasons::RECONCILIATION_SUCCEEDED, message);
        conditions::remove(&mut self.status.conditions, RECONCILING);
        conditions::remove(&mut self.status.conditions, STALLED);
        self.status.observed_generation = self.generation;
        self.status.last_applied_revision = Some(revision.to_string());
        self.status.last_applied_digest = Some(digest.to_string());
        self.status.last_applied_origin_revision = origin_revision.map(str::to_string);
    }

    /// `Healthy`: `Some(true)` when waiting succeeded, `Some(false)` when it failed, `None` when
    /// there was no waiting (`noWait`), which removes the condition.
    pub fn healthy(&mut self, healthy: Option<bool>, message: &str) {
        match healthy {
            Some(true) => self.set(HEALTHY, ConditionStatus::True, reasons::SUCCEEDED, message),
            Some(false) => self.set(HEALTHY, ConditionStatus::False, reasons::HEALTH_CHECK_FAILED, message),
            None => conditions::remove(&mut self.status.conditions, HEALTHY),
        }
    }

    /// The summary of the last run.
    pub fn result(&mut self, summary: RunSummary) {
        self.status.last_result = Some(summary);
    }

    /// Marks the end of a reconcile: the request token handled and the time.
    pub fn finish(&mut self) {
        if let Some(token) = &self.requested_at {
            self.status.last_handled_reconcile_at = Some(token.clone());
        }
        self.status.last_reconcile_time = Some(conditions::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }

    /// Records only the handled request token (what a suspended object may change).
    pub fn handled_only(&mut self) {
        if let Some(token) = &self.requested_at {
            self.status.last_handled_reconcile_at = Some(token.clone());
        }
    }

    /// The Ready status and reason as they stand.
    pub fn ready(&self) -> (&'static str, String) {
        match conditions::find(&self.status.conditions, READY) {
            Some(c) => (c.status.as_str(), c.reason.clone()),
            None => ("Unknown", String::new()),
        }
    }

    /// Writes the status if it changed since the last write.
    pub async fn write(&mut self) -> Result<(), String> {
        let value = serde_json::to_value(&self.status).map_err(|e| e.to_string())?;
        if self.written.as_ref() == Some(&value) {
            return Ok(());
        }
        let params = PatchParams {
            field_manager: Some(STATUS_FIELD_MANAGER.to_string()),
            ..Default::default()
        };
        let patch = Patch::Merge(json!({ "status": value }));
        let written =
            tokio::time::timeout(STATUS_WRITE_TIMEOUT, self.api.patch_status(&self.name, &params, &patch)).await;
        match written {
            Ok(Ok(_)) => {
                self.written = Some(value);
                Ok(())
            }
            Ok(Err(e)) => Err(format!("failed to write the status of {}: {e}", self.name)),
            Err(_) => Err(format!("failed to write the status of {}: timed out", self.name)),
        }
    }
}
