//! The per-kind readiness rules (step 5 and 6 of the module docs).

use super::Readiness;
use serde_json::Value;

/// Waiting reasons of a container that no amount of waiting fixes.
const TERMINAL_WAITING_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

struct Condition<'a> {
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<Condition<'a>> {
    let c = status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))?;
    let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default();
    Some(Condition {
        status: text("status"),
        reason: text("reason"),
        message: text("message"),
    })
}

fn message_or<'a>(c: &Condition<'a>, default: &'a str) -> &'a str {
    if c.message.is_empty() { default } else { c.message }
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn not_ready(message: impl Into<String>) -> Readiness {
    Readiness::NotReady(message.into())
}

pub(super) fn check_kind(object: &Value, status: &Value) -> Readiness {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or_default();
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    match (group, kind) {
        ("", "Pod") => pod(status),
        ("batch", "Job") => job(status),
        ("apps", "Deployment") => deployment(object, status),
        ("apps", "StatefulSet") => stateful_set(object, status),
        ("apps", "DaemonSet") => daemon_set(object, status),
        ("apps", "ReplicaSet") => replica_set(object, status),
        ("", "PersistentVolumeClaim") => match status.get("phase").and_then(Value::as_str) {
            Some("Bound") => Readiness::Ready,
            Some(_) => not_ready("Volume is not bound"),
            None => not_ready("phase field not in status or empty"),
        },
        ("", "Service") => service(object, status),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(status),
        ("cluster.x-k8s.io", "MachineDeployment") => machine_deployment(status),
        _ => generic(status),
    }
}

fn pod(status: &Value) -> Readiness {
    if status.get("phase").and_then(Value::as_str) == Some("Failed") {
        let reason = status.get("reason").and_then(Value::as_str).unwrap_or("Failed");
        let message = status.get("message").and_then(Value::as_str).unwrap_or_default();
        return Readiness::Failed(format!(
            "pod failed: {reason}{}{message}",
            if message.is_empty() { "" } else { ": " }
        ));
    }
    for field in ["initContainerStatuses", "containerStatuses"] {
        for cs in status.get(field).and_then(Value::as_array).into_iter().flatten() {
            let name = cs.get("name").and_then(Value::as_str).unwrap_or("?");
            if cs.pointer("/state/terminated/reason").and_then(Value::as_str) == Some("Error") {
                return Readiness::Failed(format!("container {name} exited with error"));
            }
            if let Some(reason) = cs.pointer("/state/waiting/reason").and_then(Value::as_str)
                && TERMINAL_WAITING_REASONS.contains(&reason)
            {
                let message = cs
                    .pointer("/state/waiting/message")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let detail = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                return Readiness::Failed(format!("container {name} is waiting with {reason}{detail}"));
            }
        }
    }
    match condition(status, "Ready") {
        // Kluctl treats a Pod as ready only once it has completed: Pods are waited on as hooks.
        Some(c) if c.status == "False" && c.reason == "PodCompleted" => Readiness::Ready,
        Some(_) => not_ready("Not ready"),
        None => not_ready("Ready condition not in status"),
    }
}

fn job(status: &Value) -> Readiness {
    if let Some(c) = condition(status, "Failed")
        && c.status == "True"
    {
        return Readiness::Failed(message_or(&c, "Failed").to_string());
    }
    match condition(status, "Complete") {
        Some(c) if c.status == "True" => Readiness::Ready,
        Some(c) => not_ready(message_or(&c, "Not completed")),
        None => not_ready("Not completed"),
    }
}

fn deployment(object: &Value, status: &Value) -> Readiness {
    if let Some(c) = condition(status, "Progressing")
        && c.status == "False"
        && c.reason == "ProgressDeadlineExceeded"
    {
        return Readiness::Failed(format!(
            "rollout exceeded its progress deadline: {}",
            message_or(&c, "no progress")
        ));
    }
    let replicas = int(object, "/spec/replicas").unwrap_or(1);
    if replicas == 0 {
        return Readiness::Ready;
    }
    // `kubectl rollout status` semantics: all replicas updated, no old ones left, all available.
    let updated = int(status, "/updatedReplicas").unwrap_or(0);
    let current = int(status, "/replicas").unwrap_or(0);
    let available = int(status, "/availableReplicas").unwrap_or(0);
    if updated < replicas {
        return not_ready(format!(
            "Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated"
        ));
    }
    if current > updated {
        return not_ready(format!(
            "Waiting for rollout to finish: {} old replicas are pending termination",
            current - updated
        ));
    }
    if available < updated {
        return not_ready(format!(
            "Waiting for rollout to finish: {available} of {updated} updated replicas are available"
        ));
    }
    let ready = int(status, "/readyReplicas").unwrap_or(0);
    if ready < current {
        return not_ready(format!("readyReplicas ({ready}) is less than replicas ({current})"));
    }
    Readiness::Ready
}

fn stateful_set(object: &Value, status: &Value) -> Readiness {
    let strategy = object
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate");
    if strategy != "RollingUpdate" {
        return Readiness::Ready;
    }
    let replicas = int(object, "/spec/replicas").unwrap_or(1);
    if replicas == 0 {
        return Readiness::Ready;
    }
    let partition = int(object, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);
    let expected = replicas - partition;
    let updated = int(status, "/updatedReplicas").unwrap_or(0);
    if updated != expected {
        return not_ready(format!(
            "StatefulSet is not ready. {updated} out of {expected} expected pods have been scheduled"
        ));
    }
    let ready = int(status, "/readyReplicas").unwrap_or(0);
    if ready != replicas {
        return not_ready(format!(
            "StatefulSet is not ready. {ready} out of {replicas} expected pods are ready"
        ));
    }
    Readiness::Ready
}

fn daemon_set(object: &Value, status: &Value) -> Readiness {
    let strategy = object
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate");
    if strategy != "RollingUpdate" {
        return Readiness::Ready;
    }
    let desired = int(status, "/desiredNumberScheduled").unwrap_or(0);
    let updated = int(status, "/updatedNumberScheduled").unwrap_or(0);
    if updated != desired {
        return not_ready(format!(
            "DaemonSet is not ready. {updated} out of {desired} expected pods have been scheduled"
        ));
    }
    let max_unavailable = match object.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable") {
        None | Some(Value::Null) => 1,
        Some(v) => int_or_percent(v, desired).unwrap_or(desired),
    };
    let expected_ready = desired - max_unavailable;
    let ready = int(status, "/numberReady").unwrap_or(0);
    if ready < expected_ready {
        return not_ready(format!(
            "DaemonSet is not ready. {ready} out of {expected_ready} expected pods are ready"
        ));
    }
    Readiness::Ready
}

/// An IntOrString such as `1` or `"25%"` of `total` (percentages round down, as Kluctl does).
fn int_or_percent(v: &Value, total: i64) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => match s.strip_suffix('%') {
            Some(p) => p.trim().parse::<i64>().ok().map(|p| p * total / 100),
            None => s.trim().parse().ok(),
        },
        _ => None,
    }
}

fn replica_set(object: &Value, status: &Value) -> Readiness {
    if let Some(c) = condition(status, "ReplicaFailure")
        && c.status == "True"
    {
        return not_ready(message_or(&c, "ReplicaFailure"));
    }
    let replicas = int(object, "/spec/replicas").unwrap_or(1);
    let ready = int(status, "/readyReplicas").unwrap_or(0);
    if ready < replicas {
        return not_ready(format!("readyReplicas ({ready}) is less than replicas ({replicas})"));
    }
    Readiness::Ready
}

fn service(object: &Value, status: &Value) -> Readiness {
    let kind = object
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if kind == "ExternalName" {
        return Readiness::Ready;
    }
    if object
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        return Readiness::Failed("Service does not have a cluster IP".to_string());
    }
    if kind == "LoadBalancer" {
        let external_ips = object
            .pointer("/spec/externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let ingress = status
            .pointer("/loadBalancer/ingress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !external_ips && !ingress {
            return not_ready("Waiting for the load balancer to get an address");
        }
    }
    Readiness::Ready
}

fn crd(status: &Value) -> Readiness {
    // Helm's rule: established, or a name conflict (which waiting would not resolve).
    if condition(status, "Established").is_some_and(|c| c.status == "True") {
        return Readiness::Ready;
    }
    match condition(status, "NamesAccepted") {
        Some(c) if c.status == "False" => Readiness::Ready,
        Some(_) => not_ready("CRD is not ready"),
        None => not_ready("NamesAccepted condition not in status"),
    }
}

fn machine_deployment(status: &Value) -> Readiness {
    for kind in ["Ready", "Available"] {
        match condition(status, kind) {
            Some(c) if c.status == "True" => {}
            Some(c) => return not_ready(message_or(&c, "Not ready")),
            None => return not_ready(format!("{kind} condition not in status")),
        }
    }
    let ready = int(status, "/readyReplicas").unwrap_or(0);
    let replicas = int(status, "/replicas").unwrap_or(0);
    if ready < replicas {
        return not_ready(format!("readyReplicas ({ready}) is less than replicas ({replicas})"));
    }
    let unavailable = int(status, "/unavailableReplicas").unwrap_or(0);
    if unavailable != 0 {
        return not_ready(format!("unavailableReplicas ({unavailable}) != 0"));
    }
    Readiness::Ready
}

/// kstatus-style conditions for everything else (beyond Kluctl, see the module docs).
fn generic(status: &Value) -> Readiness {
    if let Some(c) = condition(status, "Stalled")
        && c.status == "True"
    {
        return Readiness::Failed(format!("stalled: {}", message_or(&c, c.reason)));
    }
    match condition(status, "Ready") {
        Some(c) if c.status != "True" => {
            let detail = if !c.message.is_empty() {
                c.message
            } else if !c.reason.is_empty() {
                c.reason
            } else {
                c.status
            };
            not_ready(format!(
                "Ready condition is {}: {detail}",
                if c.status.is_empty() { "unset" } else { c.status }
            ))
        }
        _ => Readiness::Ready,
    }
}
