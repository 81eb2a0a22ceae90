//! Readiness waits: poll an object until the pure rules of [`crate::deploy::readiness`] say it
//! is ready, it failed for good (a failed Job, an image that cannot be pulled: stop at once
//! instead of waiting for the timeout), it disappeared, or the per-object timeout passed.
//!
//! Input: the object's resource and ref. Output: a [`WaitOutcome`]. Whether a kind has a
//! status at all is asked once per kind (from the built-in table, else the CRD's schema).

use super::client::ClusterClient;
use super::discovery::ApiResource;
use super::progress::{Progress, ProgressEvent};
use crate::deploy::readiness::{Readiness, ReadinessContext, StatusExpectation, check_readiness, crd_declares_status};
use crate::objects::ObjectRef;
use chrono::Utc;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How often a long wait is reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Longest pause between two checks.
const MAX_POLL: Duration = Duration::from_millis(1000);

/// How a wait ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Ready.
    Ready,
    /// Failed for good; the reason.
    Failed(String),
    /// Still not ready when the timeout passed; the last reason.
    TimedOut(String),
    /// The object does not exist (any more).
    Gone,
    /// It could not be read; the error.
    Error(String),
}

impl WaitOutcome {
    /// The message to record as the object's error, `None` when ready.
    pub fn error_message(&self, timeout: Duration) -> Option<String> {
        match self {
            WaitOutcome::Ready => None,
            WaitOutcome::Failed(reason) => Some(format!("failed while waiting for readiness: {reason}")),
            WaitOutcome::TimedOut(reason) => Some(format!(
                "timed out after {} waiting for readiness: {reason} (raise --readiness-timeout, or kluctl.io/hook-timeout for hooks)",
                humantime::format_duration(Duration::from_secs(timeout.as_secs()))
            )),
            WaitOutcome::Gone => Some("the object disappeared while waiting for readiness".to_string()),
            WaitOutcome::Error(e) => Some(format!("failed to check readiness: {e}")),
        }
    }
}

/// Waits for readiness; shares the per-kind status answers across waits of one command.
pub struct ReadinessWaiter<'a> {
    client: &'a ClusterClient,
    progress: &'a dyn Progress,
    status_kinds: Mutex<HashMap<(String, String), StatusExpectation>>,
}

impl<'a> ReadinessWaiter<'a> {
    /// A waiter for one command.
    pub fn new(client: &'a ClusterClient, progress: &'a dyn Progress) -> Self {
        ReadinessWaiter {
            client,
            progress,
            status_kinds: Mutex::new(HashMap::new()),
        }
    }

    /// Whether objects of this kind have a status (built-in table, else the CRD schema).
    pub async fn status_expectation(&self, group: &str, kind: &str, version: &str) -> StatusExpectation {
        if let Some(known) = StatusExpectation::for_builtin(group, kind) {
            return known;
        }
        let key = (group.to_string(), kind.to_string());
        if let Some(known) = self.lock().get(&key) {
            return *known;
        }
        let answer = self.crd_status(group, kind, version).await;
        self.lock().insert(key, answer);
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), StatusExpectation>> {
        self.status_kinds.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn crd_status(&self, group: &str, kind: &str, version: &str) -> StatusExpectation {
        let Ok(discovery) = self.client.discovery().await else {
            return StatusExpectation::Unknown;
        };
        let (Some(crds), Some(resource)) = (
            discovery.preferred("apiextensions.k8s.io", "CustomResourceDefinition"),
            discovery.preferred(group, kind),
        ) else {
            return StatusExpectation::Unknown;
        };
        match self
            .client
            .get_object(crds, None, &format!("{}.{group}", resource.plural))
            .await
        {
            Ok(Some(crd)) if crd_declares_status(&crd, version) => StatusExpectation::Expected,
            Ok(Some(_)) => StatusExpectation::NotExpected,
            _ => StatusExpectation::Unknown,
        }
    }

    /// The readiness of a live object now, with warnings about the check itself.
    pub async fn check(&self, object: &Value) -> (Readiness, Vec<String>) {
        let r = ObjectRef::from_object(object).unwrap_or_default();
        let ctx = ReadinessContext {
            status: self.status_expectation(&r.group, &r.kind, &r.version).await,
            now: Utc::now(),
        };
        let check = check_readiness(object, &ctx);
        (check.readiness, check.warnings)
    }

    /// Polls until the object is ready, failed, gone or `timeout` passed.
    pub async fn wait(&self, resource: &ApiResource, r: &ObjectRef, timeout: Duration) -> WaitOutcome {
        let start = Instant::now();
        let mut pause = Duration::from_millis(100);
        let mut last_report: Option<Instant> = None;
        let namespace = if resource.namespaced {
            Some(r.namespace.as_deref().unwrap_or(self.client.default_namespace()))
        } else {
            None
        };
        // Objects named by `waitReadinessObjects` may be applied by an item running in parallel,
        // so an object not found yet is awaited; only one that vanishes after being seen fails.
        let mut seen = false;
        let outcome = loop {
            let reason = match self.client.get_object(resource, namespace, &r.name).await {
                Ok(Some(object)) => {
                    seen = true;
                    match self.check(&object).await.0 {
                        Readiness::Ready => break WaitOutcome::Ready,
                        Readiness::Failed(reason) => break WaitOutcome::Failed(reason),
                        Readiness::NotReady(reason) => reason,
                    }
                }
                Ok(None) if seen => break WaitOutcome::Gone,
                Ok(None) => "waiting for the object to be created".to_string(),
                Err(e) => break WaitOutcome::Error(e.to_string()),
            };
            if start.elapsed() >= timeout {
                break WaitOutcome::TimedOut(reason);
            }
            if last_report.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
                last_report = Some(Instant::now());
                self.progress.event(ProgressEvent::Waiting {
                    object: r,
                    reason: &reason,
                    elapsed: start.elapsed(),
                });
            }
            let left = timeout.saturating_sub(start.elapsed());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 3 / 2).min(MAX_POLL);
        };
        self.progress.event(ProgressEvent::WaitDone {
            object: r,
            ok: outcome == WaitOutcome::Ready,
        });
        outcome
    }
}
