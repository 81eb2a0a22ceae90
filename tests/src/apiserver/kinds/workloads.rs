//! Workloads (`apps` and `batch`, plus ReplicationController): spec defaults, Job selectors and labels,
//! and validation of selectors against template labels, restart policies and immutable fields.

use serde_json::{Map, Value, json};

use super::pod;
use crate::apiserver::errors::FieldCause;
use crate::apiserver::meta::{self, default_field};
use crate::apiserver::selectors::LabelSelector;

/// Defaults of an `apps` or `batch` object.
pub fn default_workload(kind: &str, object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match kind {
        "Deployment" => {
            default_field(spec, "replicas", json!(1));
            default_field(spec, "revisionHistoryLimit", json!(10));
            default_field(spec, "progressDeadlineSeconds", json!(600));
            default_field(spec, "strategy", json!({}));
            let strategy = spec
                .get_mut("strategy")
                .and_then(Value::as_object_mut)
                .expect("defaulted");
            default_field(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type") == Some(&json!("RollingUpdate")) {
                default_field(strategy, "rollingUpdate", json!({}));
                if let Some(rolling) = strategy.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                    default_field(rolling, "maxUnavailable", json!("25%"));
                    default_field(rolling, "maxSurge", json!("25%"));
                }
            }
        }
        "StatefulSet" => {
            default_field(spec, "replicas", json!(1));
            default_field(spec, "podManagementPolicy", json!("OrderedReady"));
            default_field(spec, "updateStrategy", json!({}));
            let strategy = spec
                .get_mut("updateStrategy")
                .and_then(Value::as_object_mut)
                .expect("defaulted");
            default_field(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type") == Some(&json!("RollingUpdate")) {
                default_field(strategy, "rollingUpdate", json!({}));
                if let Some(rolling) = strategy.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                    default_field(rolling, "partition", json!(0));
                }
            }
            default_field(spec, "revisionHistoryLimit", json!(10));
            default_field(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            if let Some(claims) = spec.get_mut("volumeClaimTemplates").and_then(Value::as_array_mut) {
                for claim in claims.iter_mut().filter_map(Value::as_object_mut) {
                    default_field(claim, "apiVersion", json!("v1"));
                    default_field(claim, "kind", json!("PersistentVolumeClaim"));
                    if let Some(claim_spec) = claim.get_mut("spec").and_then(Value::as_object_mut) {
                        default_field(claim_spec, "volumeMode", json!("Filesystem"));
                    }
                    default_field(claim, "status", json!({"phase": "Pending"}));
                }
            }
        }
        "DaemonSet" => {
            default_field(spec, "updateStrategy", json!({}));
            let strategy = spec
                .get_mut("updateStrategy")
                .and_then(Value::as_object_mut)
                .expect("defaulted");
            default_field(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type") == Some(&json!("RollingUpdate")) {
                default_field(strategy, "rollingUpdate", json!({}));
                if let Some(rolling) = strategy.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                    default_field(rolling, "maxUnavailable", json!(1));
                    default_field(rolling, "maxSurge", json!(0));
                }
            }
            default_field(spec, "revisionHistoryLimit", json!(10));
        }
        "ReplicaSet" => default_field(spec, "replicas", json!(1)),
        "Job" => default_job_spec(spec),
        "CronJob" => {
            default_field(spec, "concurrencyPolicy", json!("Allow"));
            default_field(spec, "suspend", json!(false));
            default_field(spec, "successfulJobsHistoryLimit", json!(3));
            default_field(spec, "failedJobsHistoryLimit", json!(1));
            if let Some(template) = spec.get_mut("jobTemplate") {
                let metadata = meta::ensure_map(template, &["metadata"]);
                default_field(metadata, "creationTimestamp", Value::Null);
                if let Some(job_template) = template.pointer_mut("/spec/template") {
                    pod::default_template(job_template);
                }
            }
            return;
        }
        _ => return,
    }
    if let Some(template) = spec.get_mut("template") {
        pod::default_template(template);
    }
}

fn default_job_spec(spec: &mut Map<String, Value>) {
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec.insert("completions".into(), json!(1));
    }
    default_field(spec, "parallelism", json!(1));
    if spec.get("backoffLimitPerIndex").is_none() {
        default_field(spec, "backoffLimit", json!(6));
    }
    default_field(spec, "completionMode", json!("NonIndexed"));
    default_field(spec, "suspend", json!(false));
    if spec.get("podFailurePolicy").is_none() {
        default_field(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    }
}

/// Defaults of a ReplicationController.
pub fn default_replication_controller(object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    default_field(spec, "replicas", json!(1));
    if let Some(template) = spec.get_mut("template") {
        pod::default_template(template);
    }
}

/// A new Job's generated selector and template labels, and its empty status.
pub fn init_job(object: &mut Value) {
    let uid = meta::meta_str(object, "uid").to_string();
    let name = meta::meta_str(object, "name").to_string();
    let manual = object.pointer("/spec/manualSelector") == Some(&json!(true));
    if !manual && object.get("spec").is_some() {
        let spec = meta::ensure_map(object, &["spec"]);
        spec.insert(
            "selector".into(),
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        let labels = meta::ensure_map(object, &["spec", "template", "metadata", "labels"]);
        labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
        labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
        labels.insert("controller-uid".into(), json!(uid));
        labels.insert("job-name".into(), json!(name));
    }
    object["status"] = json!({});
}

/// Updates may omit the generated selector; the server keeps it.
pub fn keep_job_selector(old: &Value, new: &mut Value) {
    if new.pointer("/spec/selector").is_none()
        && let Some(selector) = old.pointer("/spec/selector").cloned()
        && let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.insert("selector".into(), selector);
    }
}

/// Go's `%#v` of a label map, as validation messages print it.
fn go_label_map(value: Option<&Value>) -> String {
    let Some(map) = value.and_then(Value::as_object) else {
        return "map[string]string(nil)".into();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

/// Go's `%#v` of a LabelSelector.
fn go_selector(value: Option<&Value>) -> String {
    let Some(selector) = value else {
        return "(*v1.LabelSelector)(nil)".into();
    };
    let expressions = match selector.get("matchExpressions").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => format!("[]v1.LabelSelectorRequirement{{ /* {} */ }}", list.len()),
        _ => "[]v1.LabelSelectorRequirement(nil)".into(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{expressions}}}",
        go_label_map(selector.get("matchLabels"))
    )
}

/// Validation of workloads.
pub fn validate_workload(kind: &str, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let empty = json!({});
    let spec = object.get("spec").unwrap_or(&empty);
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
            validate_selector_and_template(spec, "spec", kind, &mut causes);
            if let Some(replicas) = spec.get("replicas").and_then(Value::as_i64)
                && replicas < 0
            {
                causes.push(FieldCause::invalid(
                    "spec.replicas",
                    &json!(replicas),
                    "must be greater than or equal to 0",
                ));
            }
            if let Some(old) = old {
                let old_selector = old.pointer("/spec/selector");
                if old_selector != spec.get("selector") {
                    causes.push(FieldCause::invalid(
                        "spec.selector",
                        &Value::String(go_selector(spec.get("selector"))),
                        "field is immutable",
                    ));
                }
                if kind == "StatefulSet" {
                    validate_statefulset_update(old, object, &mut causes);
                }
            }
            if kind == "Deployment"
                && let Some(strategy) = spec.pointer("/strategy/type")
                && !matches!(strategy.as_str(), Some("Recreate" | "RollingUpdate"))
            {
                causes.push(FieldCause::not_supported(
                    "spec.strategy.type",
                    strategy,
                    &["Recreate", "RollingUpdate"],
                ));
            }
        }
        "Job" => validate_job(object, old, &mut causes),
        "CronJob" => {
            if spec.get("schedule").and_then(Value::as_str).is_none_or(str::is_empty) {
                causes.push(FieldCause::required("spec.schedule"));
            }
            match spec.pointer("/jobTemplate/spec/template/spec") {
                Some(pod_spec) => {
                    causes.extend(pod::validate_pod_spec(pod_spec, "spec.jobTemplate.spec.template.spec"));
                    restart_policy(
                        pod_spec,
                        "spec.jobTemplate.spec.template.spec.restartPolicy",
                        &["OnFailure", "Never"],
                        &mut causes,
                    );
                }
                None => causes.push(FieldCause::required("spec.jobTemplate.spec.template.spec.containers")),
            }
        }
        _ => {}
    }
    causes
}

fn validate_selector_and_template(spec: &Value, path: &str, kind: &str, causes: &mut Vec<FieldCause>) {
    let selector = spec.get("selector");
    match selector {
        None => causes.push(FieldCause::required(format!("{path}.selector"))),
        Some(sel) => {
            let empty = sel
                .get("matchLabels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && sel
                    .get("matchExpressions")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty);
            if empty {
                causes.push(FieldCause::invalid(
                    format!("{path}.selector"),
                    &Value::String(go_selector(Some(sel))),
                    &format!("empty selector is invalid for {}", kind.to_lowercase()),
                ));
            } else {
                match LabelSelector::from_object(sel) {
                    Ok(parsed) => {
                        let labels = spec.pointer("/template/metadata/labels").and_then(Value::as_object);
                        if !parsed.matches(labels) {
                            causes.push(FieldCause::invalid(
                                format!("{path}.template.metadata.labels"),
                                &Value::String(go_label_map(spec.pointer("/template/metadata/labels"))),
                                "`selector` does not match template `labels`",
                            ));
                        }
                    }
                    Err(err) => causes.push(FieldCause::invalid(format!("{path}.selector"), sel, &err)),
                }
            }
        }
    }
    // Only StatefulSets have claim templates; their volumes are mountable by the pod template.
    let claims: Vec<&str> = spec
        .get("volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|claim| claim.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    match spec.pointer("/template/spec") {
        Some(pod_spec) => {
            causes.extend(pod::validate_pod_spec_with_claims(
                pod_spec,
                &format!("{path}.template.spec"),
                &claims,
            ));
            restart_policy(
                pod_spec,
                &format!("{path}.template.spec.restartPolicy"),
                &["Always"],
                causes,
            );
        }
        None => causes.push(FieldCause::required(format!("{path}.template.spec.containers"))),
    }
}

fn restart_policy(pod_spec: &Value, field: &str, allowed: &[&str], causes: &mut Vec<FieldCause>) {
    if let Some(policy) = pod_spec.get("restartPolicy")
        && !policy.as_str().is_some_and(|p| allowed.contains(&p))
    {
        causes.push(FieldCause::not_supported(field, policy, allowed));
    }
}

fn validate_job(object: &Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    match object.pointer("/spec/template/spec") {
        Some(pod_spec) => {
            causes.extend(pod::validate_pod_spec(pod_spec, "spec.template.spec"));
            restart_policy(
                pod_spec,
                "spec.template.spec.restartPolicy",
                &["OnFailure", "Never"],
                causes,
            );
        }
        None => causes.push(FieldCause::required("spec.template.spec.containers")),
    }
    for field in ["parallelism", "completions", "backoffLimit"] {
        if let Some(n) = object.pointer(&format!("/spec/{field}")).and_then(Value::as_i64)
            && n < 0
        {
            causes.push(FieldCause::invalid(
                format!("spec.{field}"),
                &json!(n),
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(old) = old {
        if old.pointer("/spec/selector") != object.pointer("/spec/selector") {
            causes.push(FieldCause::invalid(
                "spec.selector",
                &Value::String(go_selector(object.pointer("/spec/selector"))),
                "field is immutable",
            ));
        }
        if old.pointer("/spec/template") != object.pointer("/spec/template") {
            causes.push(FieldCause::invalid(
                "spec.template",
                &Value::String("core.PodTemplateSpec{...}".into()),
                "field is immutable",
            ));
        }
        if old.pointer("/spec/completionMode") != object.pointer("/spec/completionMode") {
            causes.push(FieldCause::immutable(
                "spec.completionMode",
                object.pointer("/spec/completionMode").unwrap_or(&Value::Null),
            ));
        }
    }
}

fn validate_statefulset_update(old: &Value, new: &Value, causes: &mut Vec<FieldCause>) {
    const MUTABLE: &[&str] = &[
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let strip = |v: &Value| {
        let mut spec = v.get("spec").cloned().unwrap_or(json!({}));
        if let Some(map) = spec.as_object_mut() {
            for field in MUTABLE {
                map.shift_remove(*field);
            }
        }
        spec
    };
    if strip(old) != strip(new) {
        causes.push(FieldCause::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', \
             'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        }})
    }

    #[test]
    fn deployments_get_replicas_strategy_and_template_defaults() {
        let mut d = deployment(json!({"app": "web"}));
        default_workload("Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(
            d["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(d["spec"]["template"]["metadata"]["creationTimestamp"], Value::Null);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
    }

    #[test]
    fn selector_must_match_template_labels_and_is_immutable() {
        let bad = deployment(json!({"app": "other"}));
        let causes = validate_workload("Deployment", &bad, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.template.metadata.labels");
        assert!(
            causes[0]
                .message
                .ends_with("`selector` does not match template `labels`")
        );
        let old = deployment(json!({"app": "web"}));
        let mut new = old.clone();
        new["spec"]["selector"]["matchLabels"]["tier"] = json!("x");
        new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
        let causes = validate_workload("Deployment", &new, Some(&old));
        assert_eq!(causes.len(), 1);
        assert!(causes[0].message.ends_with("field is immutable"));
    }

    #[test]
    fn jobs_get_generated_selectors_and_reject_always_restart() {
        let mut job = json!({"metadata": {"name": "j", "uid": "u-1"}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
        default_workload("Job", &mut job);
        init_job(&mut job);
        assert_eq!(
            job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
            "u-1"
        );
        assert_eq!(job["spec"]["template"]["metadata"]["labels"]["job-name"], "j");
        assert_eq!(job["spec"]["backoffLimit"], 6);
        assert!(validate_workload("Job", &job, None).is_empty());
        job["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        let causes = validate_workload("Job", &job, None);
        assert_eq!(causes[0].field, "spec.template.spec.restartPolicy");
    }
}
