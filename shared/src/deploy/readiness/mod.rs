//! Readiness of a live object, as one pure function: used while waiting (hooks,
//! `waitReadiness`, `--wait`) and by `validate`.
//!
//! Input: the live object, plus what only the cluster can tell ([`ReadinessContext`]: whether
//! the kind has a status at all, and the current time). Output: a [`ReadinessCheck`]: `Ready`,
//! `NotReady(reason)` (keep waiting) or `Failed(reason)` (terminal: stop waiting now).
//!
//! The rules are Kluctl's (`pkg/validation/validation.go`), in this order:
//! 1. `kluctl.io/validate-ignore: "true"`: ready.
//! 2. `kluctl.io/is-ready: "true"|"false"` decides.
//! 3. No `status`: ready if the kind has none; if it should have one, not ready until the object
//!    is 15 s old (Kluctl's allowance for controllers that never write a status); if unknown,
//!    ready with a warning.
//! 4. `status.observedGeneration` behind `metadata.generation`: not ready.
//! 5. Per kind: Pod, Job, Deployment, StatefulSet, DaemonSet, ReplicaSet, PersistentVolumeClaim,
//!    Service, CustomResourceDefinition, cluster-api MachineDeployment (see `kinds.rs`).
//! 6. Anything else: ready, unless it reports a `Ready` condition that is not `True` or a
//!    `Stalled` condition that is `True`.
//!
//! Deliberate differences from Kluctl, all towards failing fast or waiting correctly:
//! - a Pod with a container waiting in `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`,
//!   `ErrImageNeverPull`, `CrashLoopBackOff`, `CreateContainerConfigError` or
//!   `CreateContainerError`, or in phase `Failed`, is `Failed` instead of waited on until the
//!   timeout;
//! - a Deployment whose `Progressing` condition says `ProgressDeadlineExceeded` is `Failed`, and
//!   a rollout must be complete (updated, available, old replicas gone, as `kubectl rollout
//!   status` checks), not only `readyReplicas >= replicas`;
//! - DaemonSets read `maxUnavailable` from `spec.updateStrategy.rollingUpdate` (Kluctl reads a
//!   path that does not exist and always uses 1);
//! - ReplicaSets are checked (ready replicas), and step 6 checks `Ready`/`Stalled` conditions,
//!   which Kluctl ignores: objects managed by controllers such as cert-manager or Flux are only
//!   ready once their controller says so. Opt out per object with `kluctl.io/is-ready: "true"`.

mod kinds;

use crate::diff::rules::{annotation, bool_annotation, parse_go_bool_strict};
use crate::objects::ObjectRef;
use crate::result::ValidateResult;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The verdict on one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Ready.
    Ready,
    /// Not ready yet; waiting may help.
    NotReady(String),
    /// Failed for good (a failed Job, an image that cannot be pulled); waiting will not help.
    Failed(String),
}

impl Readiness {
    /// Whether the object is ready.
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }

    /// Whether waiting should stop (ready or failed).
    pub fn is_final(&self) -> bool {
        !matches!(self, Readiness::NotReady(_))
    }
}

/// Whether objects of a kind carry a `status` (needed only when one has none yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusExpectation {
    /// The kind has a status (a built-in kind with one, or a CRD whose schema declares it).
    Expected,
    /// The kind never has a status (ConfigMap, Secret, RBAC, ...).
    NotExpected,
    /// Could not be determined (e.g. no permission to read CRDs).
    #[default]
    Unknown,
}

impl StatusExpectation {
    /// The answer for built-in kinds, without asking the cluster; `None` for other kinds (ask
    /// the CRD, see [`crd_declares_status`]).
    pub fn for_builtin(group: &str, kind: &str) -> Option<Self> {
        let with_status: &[(&str, &[&str])] = &[
            (
                "",
                &[
                    "Pod",
                    "Service",
                    "Namespace",
                    "Node",
                    "PersistentVolume",
                    "PersistentVolumeClaim",
                    "ReplicationController",
                    "ResourceQuota",
                ],
            ),
            ("apps", &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]),
            ("batch", &["Job", "CronJob"]),
            ("autoscaling", &["HorizontalPodAutoscaler"]),
            ("networking.k8s.io", &["Ingress"]),
            ("policy", &["PodDisruptionBudget"]),
            ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
            ("apiregistration.k8s.io", &["APIService"]),
            ("certificates.k8s.io", &["CertificateSigningRequest"]),
            ("storage.k8s.io", &["VolumeAttachment"]),
            (
                "flowcontrol.apiserver.k8s.io",
                &["FlowSchema", "PriorityLevelConfiguration"],
            ),
        ];
        let without_status: &[(&str, &[&str])] = &[
            (
                "",
                &[
                    "ConfigMap",
                    "Secret",
                    "ServiceAccount",
                    "Endpoints",
                    "LimitRange",
                    "PodTemplate",
                    "Event",
                ],
            ),
            ("apps", &["ControllerRevision"]),
            (
                "rbac.authorization.k8s.io",
                &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"],
            ),
            ("networking.k8s.io", &["NetworkPolicy", "IngressClass"]),
            ("storage.k8s.io", &["StorageClass", "CSIDriver", "CSINode"]),
            ("scheduling.k8s.io", &["PriorityClass"]),
            ("node.k8s.io", &["RuntimeClass"]),
            ("discovery.k8s.io", &["EndpointSlice"]),
            ("coordination.k8s.io", &["Lease"]),
            (
                "admissionregistration.k8s.io",
                &["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"],
            ),
        ];
        let find = |table: &[(&str, &[&str])]| table.iter().any(|(g, kinds)| *g == group && kinds.contains(&kind));
        if find(with_status) {
            Some(StatusExpectation::Expected)
        } else if find(without_status) {
            Some(StatusExpectation::NotExpected)
        } else {
            None
        }
    }
}

/// Whether a CRD's schema for `version` declares `properties.status`.
pub fn crd_declares_status(crd: &Value, version: &str) -> bool {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("name").and_then(Value::as_str) == Some(version))
        .any(|v| {
            v.pointer("/schema/openAPIV3Schema/properties/status").is_some()
                || v.pointer("/subresources/status").is_some()
        })
}

/// What the rules need besides the object.
#[derive(Clone, Debug)]
pub struct ReadinessContext {
    /// Whether objects of this kind have a status.
    pub status: StatusExpectation,
    /// The current time (objects without status count as ready after 15 s).
    pub now: DateTime<Utc>,
}

impl ReadinessContext {
    /// A context for `object` at the current time, with the built-in answer for its kind.
    pub fn for_object(object: &Value) -> Self {
        let r = ObjectRef::from_object(object).unwrap_or_default();
        ReadinessContext {
            status: StatusExpectation::for_builtin(&r.group, &r.kind).unwrap_or_default(),
            now: Utc::now(),
        }
    }
}

/// The verdict plus warnings to show (e.g. when it cannot be told whether a status is due).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadinessCheck {
    /// The verdict.
    pub readiness: Readiness,
    /// Warnings about the check itself.
    pub warnings: Vec<String>,
}

impl ReadinessCheck {
    fn of(readiness: Readiness) -> Self {
        ReadinessCheck {
            readiness,
            warnings: Vec::new(),
        }
    }

    /// Records the check into a `validate` result: failures as errors, not-ready as a warning
    /// (or as an error when `not_ready_is_error`, e.g. after `--wait` timed out).
    pub fn record(&self, r: &ObjectRef, result: &mut ValidateResult, not_ready_is_error: bool) {
        for w in &self.warnings {
            result.add_warning(r, w.clone());
        }
        match &self.readiness {
            Readiness::Ready => {}
            Readiness::NotReady(reason) => result.add_not_ready(r, reason.clone(), not_ready_is_error),
            Readiness::Failed(reason) => result.add_error(r, reason.clone()),
        }
    }
}

const NO_STATUS_GRACE_SECONDS: i64 = 15;

/// Checks the readiness of a live object (see the module docs for the rules).
pub fn check_readiness(object: &Value, ctx: &ReadinessContext) -> ReadinessCheck {
    if bool_annotation(object, "kluctl.io/validate-ignore", false) {
        return ReadinessCheck::of(Readiness::Ready);
    }
    match annotation(object, "kluctl.io/is-ready").and_then(parse_go_bool_strict) {
        Some(true) => return ReadinessCheck::of(Readiness::Ready),
        Some(false) => {
            return ReadinessCheck::of(Readiness::NotReady(
                "kluctl.io/is-ready annotation is set to false".to_string(),
            ));
        }
        None => {}
    }

    let Some(status) = object.get("status").filter(|s| s.is_object()) else {
        return match ctx.status {
            StatusExpectation::NotExpected => ReadinessCheck::of(Readiness::Ready),
            StatusExpectation::Expected => {
                let created = object
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                match created {
                    Some(t) if (ctx.now - t.with_timezone(&Utc)).num_seconds() > NO_STATUS_GRACE_SECONDS => {
                        ReadinessCheck::of(Readiness::Ready)
                    }
                    _ => ReadinessCheck::of(Readiness::NotReady("no status available yet".to_string())),
                }
            }
            StatusExpectation::Unknown => ReadinessCheck {
                readiness: Readiness::Ready,
                warnings: vec![
                    "unable to determine if a status is expected; this usually means missing permission to read CRDs or status subresources"
                        .to_string(),
                ],
            },
        };
    };

    if let Some(observed) = status.get("observedGeneration").and_then(Value::as_i64) {
        let generation = object
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if observed != generation {
            return ReadinessCheck::of(Readiness::NotReady("Waiting for reconciliation".to_string()));
        }
    }

    ReadinessCheck::of(kinds::check_kind(object, status))
}

/// The `validate-result.kluctl.io/<key>` annotations of an object, as `(key, value)`.
pub fn validate_results(object: &Value) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("validate-result.kluctl.io/"))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests;
