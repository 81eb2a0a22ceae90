//! Per-kind server behaviour: defaulting, validation (names, labels, required and immutable fields),
//! allocation (Service cluster IPs and node ports), status initialisation and deletion rules, as
//! kube-apiserver's registry strategies do for the built-in kinds, and schema-driven pruning,
//! defaulting and validation for custom resources.
//!
//! Defaults applied (so `kubectl diff` and server-side apply see what a real server returns):
//! - Pod specs (Pods and every pod template): `restartPolicy: Always`, `terminationGracePeriodSeconds: 30`,
//!   `dnsPolicy: ClusterFirst`, `securityContext: {}`, `schedulerName: default-scheduler`; containers
//!   get `terminationMessagePath`, `terminationMessagePolicy: File`, `imagePullPolicy` (`Always` for
//!   `:latest` or untagged images, else `IfNotPresent`), `resources: {}`, ports `protocol: TCP`, probe
//!   timings and `scheme: HTTP`, env `fieldRef.apiVersion: v1`; ConfigMap/Secret volumes
//!   `defaultMode: 420`; templates get `metadata.creationTimestamp: null`.
//! - Deployment: `replicas: 1`, `revisionHistoryLimit: 10`, `progressDeadlineSeconds: 600`,
//!   `strategy: RollingUpdate 25%/25%`. StatefulSet: `replicas`, `podManagementPolicy: OrderedReady`,
//!   `updateStrategy`, `revisionHistoryLimit`, `persistentVolumeClaimRetentionPolicy`, claim template
//!   `volumeMode`. DaemonSet: `updateStrategy` (maxUnavailable 1, maxSurge 0), `revisionHistoryLimit`.
//!   ReplicaSet: `replicas`. Job: `parallelism`, `completions`, `backoffLimit: 6`,
//!   `completionMode: NonIndexed`, `suspend`, `podReplacementPolicy`, a generated selector and the
//!   `batch.kubernetes.io/controller-uid` / `job-name` template labels. CronJob: `concurrencyPolicy`,
//!   `suspend`, history limits.
//! - Service: `type: ClusterIP`, `sessionAffinity: None`, allocated `clusterIP`/`clusterIPs`,
//!   `ipFamilies: [IPv4]`, `ipFamilyPolicy: SingleStack`, `internalTrafficPolicy: Cluster`, ports
//!   `protocol: TCP` and `targetPort` = `port`; NodePort/LoadBalancer get node ports and
//!   `externalTrafficPolicy: Cluster`.
//! - Namespace: `spec.finalizers: [kubernetes]`, `status.phase: Active`, label
//!   `kubernetes.io/metadata.name`. Secret: `type: Opaque`, `stringData` folded into `data`.
//!   PVC: `volumeMode: Filesystem`, `status.phase: Pending`. NetworkPolicy: `policyTypes`.
//!   StorageClass: `reclaimPolicy: Delete`, `volumeBindingMode: Immediate`. RBAC subjects: `apiGroup`.
//!   HPA: `minReplicas: 1`, a CPU 80% metric when none. CRD: `conversion.strategy: None`, accepted
//!   names, `Established` and `NamesAccepted` conditions, `storedVersions`.
//! - Custom resources: `default`s of the CRD's structural schema; unknown fields pruned unless
//!   `x-kubernetes-preserve-unknown-fields`.

mod core;
mod crd;
mod custom_validation;
mod fields;
mod other;
mod pod;
mod workloads;

pub use crd::{CLEANUP_FINALIZER, custom_resource_info};
pub use fields::check_fields;

use serde_json::Value;

use super::errors::{ApiError, FieldCause};
use super::meta;
use super::registry::ResourceInfo;
use super::state::ApiState;

/// Defaults and status initialisation of a new object.
pub fn default_new(state: &ApiState, info: &ResourceInfo, object: &mut Value, dry_run: bool) {
    apply_defaults(info, object);
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Namespace") => core::init_namespace(object),
        ("", "PersistentVolumeClaim") => core::init_pvc(object),
        ("", "Pod") => core::init_pod(object),
        ("batch", "Job") => workloads::init_job(object),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::init_crd(object),
        _ => {
            if info.group == "apps" || (info.group == "batch" && info.kind == "CronJob") {
                object["status"] = Value::Object(Default::default());
            }
        }
    }
    let _ = (state, dry_run);
}

/// Defaults of an updated object (and the values the server carries over from the old one).
pub fn default_update(state: &ApiState, info: &ResourceInfo, old: &Value, new: &mut Value) {
    apply_defaults(info, new);
    if info.group.is_empty() && info.kind == "Service" {
        core::keep_allocations(old, new);
    }
    if info.group == "batch" && info.kind == "Job" {
        workloads::keep_job_selector(old, new);
    }
    if info.group == "apiextensions.k8s.io" && info.kind == "CustomResourceDefinition" {
        crd::refresh_crd_status(new, Some(old));
    }
    let _ = state;
}

fn apply_defaults(info: &ResourceInfo, object: &mut Value) {
    if info.is_custom() {
        crd::default_custom_resource(info, object);
        return;
    }
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Pod") => {
            if let Some(spec) = object.get_mut("spec") {
                pod::default_pod_spec(spec);
            }
        }
        ("", "Service") => core::default_service(object),
        ("", "Secret") => core::default_secret(object),
        ("", "PersistentVolumeClaim") => core::default_pvc_spec(object.get_mut("spec")),
        ("", "ReplicationController") => workloads::default_replication_controller(object),
        ("", "Endpoints") => core::default_endpoints(object),
        ("apps", _) | ("batch", _) => workloads::default_workload(&info.kind, object),
        _ => other::default_other(&info.group, &info.kind, object),
    }
}

/// Every validation error of a new (`old` = None) or updated object.
pub fn validate(state: &ApiState, info: &ResourceInfo, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = validate_metadata(info, object, old);
    if info.is_custom() {
        causes.extend(custom_validation::validate_custom_resource(info, object));
        return causes;
    }
    causes.extend(match (info.group.as_str(), info.kind.as_str()) {
        ("", "Pod") => pod::validate_pod(object),
        ("", "Service") => core::validate_service(object, old),
        ("", "ConfigMap") => core::validate_config_data(object, &["data", "binaryData"]),
        ("", "Secret") => core::validate_secret(object, old),
        ("", "PersistentVolumeClaim") => core::validate_pvc(object, old),
        ("apps", _) | ("batch", _) => workloads::validate_workload(&info.kind, object, old),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::validate_crd(state, object, old),
        _ => other::validate_other(&info.group, &info.kind, object, old),
    });
    causes
}

/// Admission after validation: allocations (Service cluster IPs and node ports).
pub fn admit(
    state: &ApiState,
    info: &ResourceInfo,
    object: &mut Value,
    old: Option<&Value>,
    dry_run: bool,
) -> Result<(), ApiError> {
    if info.group.is_empty() && info.kind == "Service" {
        let mut allocator = state.allocator.lock().expect("allocator lock poisoned");
        core::allocate_service(&mut allocator, object, old, !dry_run);
    }
    Ok(())
}

/// True when an object without finalizers must still not be removed (a Namespace whose
/// `spec.finalizers` is not empty).
pub fn blocks_removal(info: &ResourceInfo, object: &Value) -> bool {
    info.group.is_empty()
        && info.kind == "Namespace"
        && object
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

/// Status changes when deletion starts (Namespace `phase: Terminating`, CRD `Terminating` condition).
pub fn mark_terminating(info: &ResourceInfo, object: &mut Value) {
    match (info.group.as_str(), info.kind.as_str()) {
        ("", "Namespace") => {
            meta::ensure_map(object, &["status"]).insert("phase".into(), Value::String("Terminating".into()));
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::mark_crd_terminating(object),
        _ => {}
    }
}

/// Whether the storage of this kind answers a finished DELETE with the object (else a Status).
pub fn returns_deleted_object(info: &ResourceInfo) -> bool {
    info.is_custom()
        || (info.group.is_empty() && matches!(info.kind.as_str(), "Pod" | "Service" | "Namespace"))
        || info.kind == "CustomResourceDefinition"
}

/// Metadata rules every kind shares: the name format, labels, annotations, owner references, finalizers,
/// and (on update) the immutable name and namespace.
fn validate_metadata(info: &ResourceInfo, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let name = meta::meta_str(object, "name");
    let name_errors = match (info.group.as_str(), info.kind.as_str()) {
        ("", "Namespace") => meta::dns1123_label_errors(name),
        ("", "Service") => dns1035_label_errors(name),
        ("rbac.authorization.k8s.io", _) => meta::path_segment_errors(name),
        _ => meta::dns1123_subdomain_errors(name),
    };
    if old.is_none() {
        for err in name_errors {
            causes.push(FieldCause::invalid("metadata.name", &Value::String(name.into()), &err));
        }
    }
    if let Some(labels) = meta::labels(object) {
        for (key, value) in labels {
            for err in meta::qualified_name_errors(key) {
                causes.push(FieldCause::invalid(
                    "metadata.labels",
                    &Value::String(key.clone()),
                    &err,
                ));
            }
            match value {
                Value::String(v) => {
                    for err in meta::label_value_errors(v) {
                        causes.push(FieldCause::invalid("metadata.labels", value, &err));
                    }
                }
                other => causes.push(FieldCause::invalid(
                    "metadata.labels",
                    other,
                    "label values must be strings",
                )),
            }
        }
    }
    if let Some(annotations) = meta::metadata(object)
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
    {
        let mut total = 0;
        for (key, value) in annotations {
            for err in meta::qualified_name_errors(&key.to_lowercase()) {
                causes.push(FieldCause::invalid(
                    "metadata.annotations",
                    &Value::String(key.clone()),
                    &err,
                ));
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > 256 * 1024 {
            causes.push(FieldCause {
                reason: "FieldValueTooLong",
                field: "metadata.annotations".into(),
                message: format!("Too long: may not be more than 262144 bytes (got {total})"),
            });
        }
    }
    if let Some(owners) = meta::metadata(object)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
    {
        for (i, owner) in owners.iter().enumerate() {
            for field in ["apiVersion", "kind", "name", "uid"] {
                if owner.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                    causes.push(FieldCause::invalid(
                        format!("metadata.ownerReferences[{i}].{field}"),
                        &Value::String(String::new()),
                        &format!("{field} must not be empty"),
                    ));
                }
            }
        }
    }
    for (i, finalizer) in meta::finalizers(object).iter().enumerate() {
        for err in meta::qualified_name_errors(finalizer) {
            causes.push(FieldCause::invalid(
                format!("metadata.finalizers[{i}]"),
                &Value::String(finalizer.clone()),
                &err,
            ));
        }
    }
    if let Some(old) = old {
        let old_ns = meta::meta_str(old, "namespace");
        let ns = meta::meta_str(object, "namespace");
        if old_ns != ns {
            causes.push(FieldCause::immutable("metadata.namespace", &Value::String(ns.into())));
        }
    }
    causes
}

/// Errors of a DNS-1035 label (Service names: must start with a letter).
fn dns1035_label_errors(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    let b = name.as_bytes();
    let valid = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-');
    if !valid {
        errors.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic \
             character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for \
             validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .to_string(),
        );
    }
    errors
}

/// A required string field: a `Required value` cause when missing or empty.
pub(crate) fn require_str(causes: &mut Vec<FieldCause>, value: Option<&Value>, field: &str) {
    if value.and_then(Value::as_str).is_none_or(str::is_empty) {
        causes.push(FieldCause::required(field));
    }
}

/// An immutable field: an `Invalid value ... field is immutable` cause when it changed.
pub(crate) fn immutable(causes: &mut Vec<FieldCause>, old: &Value, new: &Value, pointer: &str, field: &str) {
    let before = old.pointer(pointer);
    let after = new.pointer(pointer);
    if before != after {
        causes.push(FieldCause::immutable(field, after.unwrap_or(&Value::Null)));
    }
}
