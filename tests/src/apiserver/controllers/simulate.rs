//! Controller simulation (`--simulate-controllers`): after the configured delay, Deployments,
//! StatefulSets, DaemonSets and ReplicaSets report all replicas ready (observedGeneration, replica
//! counts, conditions), Jobs complete, PVCs bind, Pods run, LoadBalancer Services get an address, and
//! every namespace gets a `default` ServiceAccount (without token Secrets, as since Kubernetes 1.24).
//!
//! Annotations on an object change what happens to it:
//! - `test-apiserver.kluctl.io/never-ready: "true"`: a workload reports its replicas but none ready.
//! - `test-apiserver.kluctl.io/fail: "true"`: a Job fails (`Failed`, reason `BackoffLimitExceeded`).
//! - `test-apiserver.kluctl.io/ready-after: <duration>`: use this delay instead of the server's.

use serde_json::{Value, json};
use std::sync::Arc;

use super::lifecycle::mutate_with;
use crate::apiserver::meta;
use crate::apiserver::ops::{self, Subresource, WriteOptions};
use crate::apiserver::registry::GroupResource;
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{EventType, StoreEvent};

/// Keeps a workload from ever becoming ready.
pub const NEVER_READY_ANNOTATION: &str = "test-apiserver.kluctl.io/never-ready";
/// Makes a Job fail.
pub const FAIL_ANNOTATION: &str = "test-apiserver.kluctl.io/fail";
/// Overrides the controller delay for one object.
pub const READY_AFTER_ANNOTATION: &str = "test-apiserver.kluctl.io/ready-after";

const MANAGER: &str = "kube-controller-manager";

/// Reacts to one store event.
pub fn on_event(state: &Arc<ApiState>, event: &StoreEvent) {
    if event.event_type == EventType::Deleted || meta::is_terminating(&event.object) {
        return;
    }
    let resource = &event.resource;
    let object = &event.object;
    if resource.group.is_empty() && resource.resource == "namespaces" {
        if event.event_type == EventType::Added {
            ensure_default_service_account(state, meta::meta_str(object, "name"));
        }
        return;
    }
    if needs_work(resource, object) {
        schedule(state, resource.clone(), object);
    }
}

/// Creates what is missing and schedules every object that is not yet where the simulation puts it.
pub fn resync(state: &Arc<ApiState>) {
    for ns in state.store.list(&GroupResource::new("", "namespaces"), None).0 {
        if !meta::is_terminating(&ns) {
            ensure_default_service_account(state, meta::meta_str(&ns, "name"));
        }
    }
    for resource in state.store.resources() {
        for object in state.store.list(&resource, None).0 {
            if needs_work(&resource, &object) && !meta::is_terminating(&object) {
                schedule(state, resource.clone(), &object);
            }
        }
    }
}

fn ensure_default_service_account(state: &ApiState, namespace: &str) {
    let Some(info) = state.registry.lookup("", "v1", "serviceaccounts") else {
        return;
    };
    if state.store.get(&info.group_resource(), namespace, "default").is_some() {
        return;
    }
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    // A concurrent creation or a namespace that just started terminating is fine to lose to.
    let _ = ops::create(
        state,
        &info,
        "v1",
        Some(namespace),
        account,
        &WriteOptions::system(MANAGER),
    );
}

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    meta::metadata(object)
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

fn needs_work(resource: &GroupResource, object: &Value) -> bool {
    match (resource.group.as_str(), resource.resource.as_str()) {
        ("apps", "deployments" | "statefulsets" | "daemonsets" | "replicasets") | ("batch", "jobs") => {
            desired_status(resource, object).is_some_and(|d| !equivalent(object.get("status"), Some(&d)))
        }
        ("", "persistentvolumeclaims") => object.pointer("/status/phase") != Some(&json!("Bound")),
        ("", "pods") => object.pointer("/status/phase") == Some(&json!("Pending")),
        ("", "services") => {
            object.pointer("/spec/type") == Some(&json!("LoadBalancer"))
                && object.pointer("/status/loadBalancer/ingress").is_none()
        }
        _ => false,
    }
}

fn schedule(state: &Arc<ApiState>, resource: GroupResource, object: &Value) {
    let delay = annotation(object, READY_AFTER_ANNOTATION)
        .and_then(|d| humantime::parse_duration(d).ok())
        .unwrap_or(state.options.controller_delay);
    let namespace = meta::meta_str(object, "namespace").to_string();
    let name = meta::meta_str(object, "name").to_string();
    let uid = meta::meta_str(object, "uid").to_string();
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        progress(&state, &resource, &namespace, &name, &uid);
    });
}

/// Moves one object to its simulated state (re-reading it: it may have changed while we slept).
fn progress(state: &ApiState, resource: &GroupResource, namespace: &str, name: &str, uid: &str) {
    let Some(info) = state.registry.get(resource) else {
        return;
    };
    let Some(current) = state.store.get(resource, namespace, name) else {
        return;
    };
    if meta::meta_str(&current, "uid") != uid || meta::is_terminating(&current) {
        return;
    }
    let opts = WriteOptions::system(MANAGER);
    if resource.group.is_empty() && resource.resource == "persistentvolumeclaims" {
        let volume = format!("pvc-{uid}");
        mutate_with(state, &info, namespace, name, Subresource::Main, &opts, |pvc| {
            if pvc.pointer("/spec/volumeName").is_some() {
                return false;
            }
            meta::ensure_map(pvc, &["spec"]).insert("volumeName".into(), json!(volume));
            let annotations = meta::ensure_map(pvc, &["metadata", "annotations"]);
            annotations.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
            annotations.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
            true
        });
    }
    mutate_with(state, &info, namespace, name, Subresource::Status, &opts, |next| {
        let Some(desired) = desired_status(resource, next) else {
            return false;
        };
        if equivalent(next.get("status"), Some(&desired)) {
            return false;
        }
        next["status"] = desired;
        true
    });
}

fn int(object: &Value, pointer: &str, default: i64) -> i64 {
    object.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

/// Compares statuses ignoring condition timestamps (which the simulation sets to "now").
fn equivalent(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn strip(value: Option<&Value>) -> Value {
        let mut value = value.cloned().unwrap_or(Value::Null);
        for key in ["startTime", "completionTime"] {
            if let Some(map) = value.as_object_mut() {
                map.shift_remove(key);
            }
        }
        if let Some(conditions) = value.get_mut("conditions").and_then(Value::as_array_mut) {
            for condition in conditions.iter_mut().filter_map(Value::as_object_mut) {
                condition.shift_remove("lastUpdateTime");
                condition.shift_remove("lastTransitionTime");
                condition.shift_remove("lastProbeTime");
            }
        }
        value
    }
    strip(a) == strip(b)
}

fn condition(kind: &str, status: bool, reason: &str, message: &str) -> Value {
    let now = meta::now_rfc3339();
    json!({"type": kind, "status": if status { "True" } else { "False" }, "lastUpdateTime": now,
           "lastTransitionTime": now, "reason": reason, "message": message})
}

/// Inserts non-zero counts only, as Go's `omitempty` does.
fn counts(status: &mut serde_json::Map<String, Value>, fields: &[(&str, i64)]) {
    for (field, value) in fields {
        if *value != 0 {
            status.insert((*field).to_string(), json!(value));
        }
    }
}

/// The status the simulated controller wants for an object, or `None` when it leaves it alone.
fn desired_status(resource: &GroupResource, object: &Value) -> Option<Value> {
    let generation = int(object, "/metadata/generation", 1);
    let ready = annotation(object, NEVER_READY_ANNOTATION) != Some("true");
    let name = meta::meta_str(object, "name");
    let mut status = serde_json::Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    match resource.resource.as_str() {
        "deployments" => {
            let replicas = int(object, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            counts(
                &mut status,
                &[
                    ("replicas", replicas),
                    ("updatedReplicas", replicas),
                    ("readyReplicas", up),
                    ("availableReplicas", up),
                    ("unavailableReplicas", replicas - up),
                ],
            );
            let available = if ready {
                condition(
                    "Available",
                    true,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            } else {
                condition(
                    "Available",
                    false,
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            };
            let progressing = if ready {
                condition(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{name}\" has successfully progressed."),
                )
            } else {
                condition(
                    "Progressing",
                    true,
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{name}\" is progressing."),
                )
            };
            status.insert("conditions".into(), json!([available, progressing]));
        }
        "statefulsets" => {
            let replicas = int(object, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            status.insert("replicas".into(), json!(replicas));
            counts(
                &mut status,
                &[
                    ("readyReplicas", up),
                    ("currentReplicas", replicas),
                    ("updatedReplicas", replicas),
                    ("availableReplicas", up),
                ],
            );
            let revision = format!("{name}-{}", generation_hash(generation));
            status.insert("currentRevision".into(), json!(revision));
            status.insert("updateRevision".into(), json!(revision));
            status.insert("collisionCount".into(), json!(0));
        }
        "daemonsets" => {
            let up = i64::from(ready);
            status.insert("currentNumberScheduled".into(), json!(1));
            status.insert("desiredNumberScheduled".into(), json!(1));
            status.insert("numberMisscheduled".into(), json!(0));
            counts(
                &mut status,
                &[
                    ("numberAvailable", up),
                    ("numberReady", up),
                    ("updatedNumberScheduled", 1),
                    ("numberUnavailable", 1 - up),
                ],
            );
            status.insert("numberReady".into(), json!(up));
        }
        "replicasets" => {
            let replicas = int(object, "/spec/replicas", 1);
            let up = if ready { replicas } else { 0 };
            status.insert("replicas".into(), json!(replicas));
            counts(
                &mut status,
                &[
                    ("fullyLabeledReplicas", replicas),
                    ("readyReplicas", up),
                    ("availableReplicas", up),
                ],
            );
        }
        "jobs" => return job_status(object),
        "persistentvolumeclaims" => {
            let mut pvc = json!({"phase": "Bound", "accessModes": object.pointer("/spec/accessModes").cloned().unwrap_or(json!([]))});
            if let Some(storage) = object.pointer("/spec/resources/requests/storage") {
                pvc["capacity"] = json!({"storage": storage});
            }
            return Some(pvc);
        }
        "pods" => return Some(pod_status(object)),
        "services" => {
            let mut service_status = object.get("status").cloned().unwrap_or(json!({}));
            service_status["loadBalancer"] = json!({"ingress": [{"ip": "172.18.255.200", "ipMode": "VIP"}]});
            return Some(service_status);
        }
        _ => return None,
    }
    Some(Value::Object(status))
}

fn generation_hash(generation: i64) -> String {
    format!("{:010x}", (generation as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 24)
        .chars()
        .take(10)
        .collect()
}

fn job_status(object: &Value) -> Option<Value> {
    if object.pointer("/spec/suspend") == Some(&json!(true)) {
        return None;
    }
    let start = object
        .pointer("/status/startTime")
        .cloned()
        .unwrap_or_else(|| json!(meta::now_rfc3339()));
    if annotation(object, FAIL_ANNOTATION) == Some("true") {
        let message = "Job has reached the specified backoff limit";
        return Some(json!({
            "startTime": start,
            "failed": int(object, "/spec/backoffLimit", 6) + 1,
            "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
            "conditions": [condition("FailureTarget", true, "BackoffLimitExceeded", message),
                           condition("Failed", true, "BackoffLimitExceeded", message)]
        }));
    }
    let message = "Reached expected number of succeeded pods";
    Some(json!({
        "startTime": start,
        "completionTime": meta::now_rfc3339(),
        "succeeded": int(object, "/spec/completions", 1),
        "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
        "conditions": [condition("SuccessCriteriaMet", true, "CompletionsReached", message),
                       condition("Complete", true, "CompletionsReached", message)]
    }))
}

fn pod_status(object: &Value) -> Value {
    let now = meta::now_rfc3339();
    let ready = annotation(object, NEVER_READY_ANNOTATION) != Some("true");
    let containers: Vec<Value> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|c| {
                    json!({"name": c.get("name"), "ready": ready, "started": true, "restartCount": 0,
                           "image": c.get("image"), "imageID": "", "containerID": "containerd://simulated",
                           "state": {"running": {"startedAt": now}}})
                })
                .collect()
        })
        .unwrap_or_default();
    let flag = |b: bool| if b { "True" } else { "False" };
    json!({
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": now},
            {"type": "Ready", "status": flag(ready), "lastProbeTime": null, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag(ready), "lastProbeTime": null, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}
        ],
        "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
        "podIP": "10.244.0.10", "podIPs": [{"ip": "10.244.0.10"}],
        "startTime": now,
        "containerStatuses": containers,
        "qosClass": object.pointer("/status/qosClass").cloned().unwrap_or(json!("BestEffort")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_become_available_unless_annotated() {
        let gr = GroupResource::new("apps", "deployments");
        let d = json!({"metadata": {"name": "web", "generation": 2}, "spec": {"replicas": 3}});
        let status = desired_status(&gr, &d).unwrap();
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["availableReplicas"], 3);
        assert_eq!(status["conditions"][0]["status"], "True");
        let stuck = json!({"metadata": {"name": "web", "generation": 1,
            "annotations": {NEVER_READY_ANNOTATION: "true"}}, "spec": {"replicas": 1}});
        let status = desired_status(&gr, &stuck).unwrap();
        assert!(status.get("readyReplicas").is_none());
        assert_eq!(status["conditions"][0]["status"], "False");
    }

    #[test]
    fn jobs_complete_or_fail_and_statuses_compare_without_timestamps() {
        let gr = GroupResource::new("batch", "jobs");
        let job = json!({"metadata": {"name": "j"}, "spec": {"completions": 2}});
        let done = desired_status(&gr, &job).unwrap();
        assert_eq!(done["succeeded"], 2);
        assert_eq!(done["conditions"][1]["type"], "Complete");
        let failing = json!({"metadata": {"name": "j", "annotations": {FAIL_ANNOTATION: "true"}}, "spec": {}});
        let failed = desired_status(&gr, &failing).unwrap();
        assert_eq!(failed["conditions"][1]["type"], "Failed");
        let mut later = done.clone();
        later["conditions"][0]["lastTransitionTime"] = json!("2000-01-01T00:00:00Z");
        assert!(equivalent(Some(&done), Some(&later)));
    }
}
