//! The remaining built-in kinds: RBAC, networking (Ingress, NetworkPolicy), storage, autoscaling,
//! policy, admission webhooks and priority classes: their defaults and validation errors.

use serde_json::{Value, json};

use crate::apiserver::errors::FieldCause;
use crate::apiserver::meta::default_field;

const RBAC: &str = "rbac.authorization.k8s.io";

/// Defaults of the kinds this module covers.
pub fn default_other(group: &str, kind: &str, object: &mut Value) {
    match (group, kind) {
        (RBAC, "RoleBinding" | "ClusterRoleBinding") => {
            if let Some(subjects) = object.get_mut("subjects").and_then(Value::as_array_mut) {
                for subject in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
                    if kind == "User" || kind == "Group" {
                        default_field(subject, "apiGroup", json!(RBAC));
                    }
                }
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
                return;
            };
            if spec.get("policyTypes").is_none() {
                let mut types = vec![json!("Ingress")];
                if spec.get("egress").is_some() {
                    types.push(json!("Egress"));
                }
                spec.insert("policyTypes".into(), Value::Array(types));
            }
            for direction in ["ingress", "egress"] {
                if let Some(rules) = spec.get_mut(direction).and_then(Value::as_array_mut) {
                    for rule in rules.iter_mut() {
                        if let Some(ports) = rule.get_mut("ports").and_then(Value::as_array_mut) {
                            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                                default_field(port, "protocol", json!("TCP"));
                            }
                        }
                    }
                }
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            if let Some(map) = object.as_object_mut() {
                default_field(map, "reclaimPolicy", json!("Delete"));
                default_field(map, "volumeBindingMode", json!("Immediate"));
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => default_hpa(object),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration") => {
            let mutating = kind == "MutatingWebhookConfiguration";
            if let Some(hooks) = object.get_mut("webhooks").and_then(Value::as_array_mut) {
                for hook in hooks.iter_mut().filter_map(Value::as_object_mut) {
                    default_field(hook, "failurePolicy", json!("Fail"));
                    default_field(hook, "matchPolicy", json!("Equivalent"));
                    default_field(hook, "namespaceSelector", json!({}));
                    default_field(hook, "objectSelector", json!({}));
                    default_field(hook, "timeoutSeconds", json!(10));
                    if mutating {
                        default_field(hook, "reinvocationPolicy", json!("Never"));
                    }
                    if let Some(service) = hook
                        .get_mut("clientConfig")
                        .and_then(|c| c.get_mut("service"))
                        .and_then(Value::as_object_mut)
                    {
                        default_field(service, "port", json!(443));
                    }
                    if let Some(rules) = hook.get_mut("rules").and_then(Value::as_array_mut) {
                        for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                            default_field(rule, "scope", json!("*"));
                        }
                    }
                }
            }
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            if let Some(map) = object.as_object_mut() {
                default_field(map, "preemptionPolicy", json!("PreemptLowerPriority"));
            }
        }
        _ => {}
    }
}

fn default_hpa(object: &mut Value) {
    let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    default_field(spec, "minReplicas", json!(1));
    if spec.get("metrics").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(behavior) = spec.get_mut("behavior").and_then(Value::as_object_mut) {
        default_field(
            behavior,
            "scaleUp",
            json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}]}),
        );
        default_field(
            behavior,
            "scaleDown",
            json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}),
        );
    }
}

/// Validation of the kinds this module covers.
pub fn validate_other(group: &str, kind: &str, object: &Value, old: Option<&Value>) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    match (group, kind) {
        (RBAC, "Role" | "ClusterRole") => {
            for (i, rule) in array(object, "rules").iter().enumerate() {
                if array(rule, "verbs").is_empty() {
                    causes.push(FieldCause::required(format!("rules[{i}].verbs")));
                }
                let has_urls = !array(rule, "nonResourceURLs").is_empty();
                if has_urls && kind == "Role" {
                    causes.push(FieldCause::invalid(
                        format!("rules[{i}].nonResourceURLs"),
                        &rule["nonResourceURLs"],
                        "namespaced rules cannot apply to non-resource URLs",
                    ));
                }
                if !has_urls {
                    if array(rule, "apiGroups").is_empty() {
                        causes.push(FieldCause::required(format!("rules[{i}].apiGroups")));
                    }
                    if array(rule, "resources").is_empty() {
                        causes.push(FieldCause::required(format!("rules[{i}].resources")));
                    }
                }
            }
        }
        (RBAC, "RoleBinding" | "ClusterRoleBinding") => validate_binding(kind, object, old, &mut causes),
        ("networking.k8s.io", "Ingress") => {
            for (i, rule) in object
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (j, path) in rule
                    .pointer("/http/paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let field = format!("spec.rules[{i}].http.paths[{j}]");
                    match path.get("pathType") {
                        None => causes.push(FieldCause::required_detail(
                            format!("{field}.pathType"),
                            "pathType must be specified",
                        )),
                        Some(t) if !matches!(t.as_str(), Some("Exact" | "Prefix" | "ImplementationSpecific")) => causes
                            .push(FieldCause::not_supported(
                                format!("{field}.pathType"),
                                t,
                                &["Exact", "ImplementationSpecific", "Prefix"],
                            )),
                        _ => {}
                    }
                    if path.get("backend").is_none() {
                        causes.push(FieldCause::required(format!("{field}.backend")));
                    }
                }
            }
        }
        ("policy", "PodDisruptionBudget")
            if object.pointer("/spec/minAvailable").is_some() && object.pointer("/spec/maxUnavailable").is_some() =>
        {
            causes.push(FieldCause::invalid(
                "spec",
                &object["spec"],
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            for field in ["kind", "name"] {
                super::require_str(
                    &mut causes,
                    object.pointer(&format!("/spec/scaleTargetRef/{field}")),
                    &format!("spec.scaleTargetRef.{field}"),
                );
            }
            let max = object.pointer("/spec/maxReplicas").and_then(Value::as_i64);
            let min = object.pointer("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1);
            match max {
                None => causes.push(FieldCause::required("spec.maxReplicas")),
                Some(max) if max < min => causes.push(FieldCause::invalid(
                    "spec.maxReplicas",
                    &json!(max),
                    "must be greater than or equal to `minReplicas`",
                )),
                _ => {}
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            super::require_str(&mut causes, object.get("provisioner"), "provisioner");
            if let Some(old) = old {
                super::immutable(&mut causes, old, object, "/provisioner", "provisioner");
                super::immutable(&mut causes, old, object, "/parameters", "parameters");
                super::immutable(&mut causes, old, object, "/reclaimPolicy", "reclaimPolicy");
            }
        }
        ("admissionregistration.k8s.io", _) => {
            for (i, hook) in array(object, "webhooks").iter().enumerate() {
                super::require_str(&mut causes, hook.get("name"), &format!("webhooks[{i}].name"));
                super::require_str(
                    &mut causes,
                    hook.get("sideEffects"),
                    &format!("webhooks[{i}].sideEffects"),
                );
                if array(hook, "admissionReviewVersions").is_empty() {
                    causes.push(FieldCause::required(format!("webhooks[{i}].admissionReviewVersions")));
                }
            }
        }
        _ => {}
    }
    causes
}

fn validate_binding(kind: &str, object: &Value, old: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let role_ref = object.get("roleRef").cloned().unwrap_or(Value::Null);
    let allowed: &[&str] = if kind == "ClusterRoleBinding" {
        &["ClusterRole"]
    } else {
        &["Role", "ClusterRole"]
    };
    match role_ref.get("kind") {
        Some(k) if k.as_str().is_some_and(|k| allowed.contains(&k)) => {}
        Some(k) => causes.push(FieldCause::not_supported("roleRef.kind", k, allowed)),
        None => causes.push(FieldCause::required("roleRef.kind")),
    }
    super::require_str(causes, role_ref.get("name"), "roleRef.name");
    if role_ref.get("apiGroup").and_then(Value::as_str) != Some(RBAC) {
        causes.push(FieldCause::not_supported(
            "roleRef.apiGroup",
            role_ref.get("apiGroup").unwrap_or(&json!("")),
            &[RBAC],
        ));
    }
    for (i, subject) in array(object, "subjects").iter().enumerate() {
        super::require_str(causes, subject.get("name"), &format!("subjects[{i}].name"));
        match subject.get("kind").and_then(Value::as_str) {
            Some("ServiceAccount") => {
                if kind == "ClusterRoleBinding" {
                    super::require_str(causes, subject.get("namespace"), &format!("subjects[{i}].namespace"));
                }
            }
            Some("User" | "Group") => {}
            _ => causes.push(FieldCause::not_supported(
                format!("subjects[{i}].kind"),
                subject.get("kind").unwrap_or(&json!("")),
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    if let Some(old) = old
        && old.get("roleRef") != object.get("roleRef")
    {
        causes.push(FieldCause::invalid(
            "roleRef",
            &Value::String(format!(
                "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
                role_ref.get("apiGroup").and_then(Value::as_str).unwrap_or(""),
                role_ref.get("kind").and_then(Value::as_str).unwrap_or(""),
                role_ref.get("name").and_then(Value::as_str).unwrap_or("")
            )),
            "cannot change roleRef",
        ));
    }
}

fn array<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_refs_cannot_change_and_subjects_get_api_groups() {
        let mut binding = json!({"metadata": {"name": "b", "namespace": "ns"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa"}]});
        default_other(RBAC, "RoleBinding", &mut binding);
        assert_eq!(binding["subjects"][0]["apiGroup"], RBAC);
        assert!(binding["subjects"][1].get("apiGroup").is_none());
        assert!(validate_other(RBAC, "RoleBinding", &binding, None).is_empty());
        let mut changed = binding.clone();
        changed["roleRef"]["name"] = json!("other");
        let causes = validate_other(RBAC, "RoleBinding", &changed, Some(&binding));
        assert_eq!(causes.len(), 1);
        assert!(causes[0].message.ends_with("cannot change roleRef"));
    }

    #[test]
    fn ingress_paths_need_a_path_type() {
        let ingress = json!({"spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {}}]}}]}});
        let causes = validate_other("networking.k8s.io", "Ingress", &ingress, None);
        assert_eq!(causes[0].field, "spec.rules[0].http.paths[0].pathType");
        assert_eq!(causes[0].message, "Required value: pathType must be specified");
    }
}
