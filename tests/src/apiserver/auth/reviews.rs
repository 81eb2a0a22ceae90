//! The review kinds answered without storing anything: SelfSubjectAccessReview (`kubectl auth can-i`),
//! SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectRulesReview (`kubectl auth can-i --list`),
//! SelfSubjectReview (`kubectl auth whoami`) and TokenReview.

use serde_json::{Value, json};

use super::UserInfo;
use super::rbac::{self, Attributes, Decision};
use crate::apiserver::errors::ApiError;
use crate::apiserver::registry::GroupResource;
use crate::apiserver::request::RequestInfo;
use crate::apiserver::state::ApiState;

/// Answers a review request: the body with `status` filled in.
pub fn review(state: &ApiState, user: &UserInfo, req: &RequestInfo, mut body: Value) -> Result<Value, ApiError> {
    let kind = match (req.group.as_str(), req.resource.as_str()) {
        ("authorization.k8s.io", "selfsubjectaccessreviews") => "SelfSubjectAccessReview",
        ("authorization.k8s.io", "subjectaccessreviews") => "SubjectAccessReview",
        ("authorization.k8s.io", "localsubjectaccessreviews") => "LocalSubjectAccessReview",
        ("authorization.k8s.io", "selfsubjectrulesreviews") => "SelfSubjectRulesReview",
        ("authentication.k8s.io", "selfsubjectreviews") => "SelfSubjectReview",
        ("authentication.k8s.io", "tokenreviews") => "TokenReview",
        _ => return Err(ApiError::path_not_found()),
    };
    let status = match kind {
        "SelfSubjectAccessReview" => access(state, user.clone(), &body)?,
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let spec = body.get("spec").cloned().unwrap_or(json!({}));
            let strings = |field: &str| -> Vec<String> {
                spec.get(field)
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default()
            };
            let subject = UserInfo {
                name: spec.get("user").and_then(Value::as_str).unwrap_or("").to_string(),
                uid: spec.get("uid").and_then(Value::as_str).unwrap_or("").to_string(),
                groups: strings("groups"),
                extra: Default::default(),
            };
            if kind == "LocalSubjectAccessReview" {
                let ns = spec
                    .pointer("/resourceAttributes/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if Some(ns) != req.namespace.as_deref() {
                    return Err(ApiError::invalid(
                        "authorization.k8s.io",
                        kind,
                        "",
                        vec![crate::apiserver::errors::FieldCause::invalid(
                            "spec.resourceAttributes.namespace",
                            &json!(ns),
                            "must match metadata.namespace",
                        )],
                    ));
                }
            }
            access(state, subject, &body)?
        }
        "SelfSubjectRulesReview" => {
            let namespace = body.pointer("/spec/namespace").and_then(Value::as_str).unwrap_or("");
            rules(state, user, namespace)
        }
        "SelfSubjectReview" => json!({"userInfo": user_json(user)}),
        _ => {
            let token = body.pointer("/spec/token").and_then(Value::as_str).unwrap_or("");
            match state.auth.authenticate(Some(&format!("Bearer {token}"))) {
                Ok(found) => json!({"authenticated": true, "user": user_json(&found), "audiences": []}),
                Err(_) => json!({"user": {}, "error": "invalid bearer token"}),
            }
        }
    };
    body["kind"] = json!(kind);
    body["apiVersion"] = json!(format!("{}/v1", req.group));
    let metadata = body
        .as_object_mut()
        .map(|m| m.entry("metadata").or_insert_with(|| json!({})).clone())
        .unwrap_or(json!({}));
    let mut metadata = metadata;
    metadata["creationTimestamp"] = Value::Null;
    body["metadata"] = metadata;
    body["status"] = status;
    Ok(body)
}

fn user_json(user: &UserInfo) -> Value {
    let mut out = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        out["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        out["extra"] = json!(user.extra);
    }
    out
}

fn access(state: &ApiState, user: UserInfo, body: &Value) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let text = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).unwrap_or("").to_string();
    let attrs = if let Some(resource) = spec.get("resourceAttributes") {
        Attributes {
            user,
            verb: text(resource, "verb"),
            namespace: text(resource, "namespace"),
            api_group: text(resource, "group"),
            resource: text(resource, "resource"),
            subresource: text(resource, "subresource"),
            name: text(resource, "name"),
            is_resource: true,
            path: String::new(),
        }
    } else if let Some(non_resource) = spec.get("nonResourceAttributes") {
        Attributes {
            user,
            verb: text(non_resource, "verb"),
            path: text(non_resource, "path"),
            is_resource: false,
            ..Default::default()
        }
    } else {
        return Err(ApiError::invalid(
            "authorization.k8s.io",
            "SelfSubjectAccessReview",
            "",
            vec![crate::apiserver::errors::FieldCause::invalid(
                "spec.resourceAttributes",
                &Value::Null,
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )],
        ));
    };
    if !state.options.rbac {
        return Ok(json!({"allowed": true}));
    }
    Ok(match rbac::authorize(&state.store, &attrs) {
        Decision::Allowed(reason) if reason.is_empty() => json!({"allowed": true}),
        Decision::Allowed(reason) => json!({"allowed": true, "reason": reason}),
        Decision::Denied => json!({"allowed": false}),
    })
}

fn rules(state: &ApiState, user: &UserInfo, namespace: &str) -> Value {
    let everything = || {
        json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false
        })
    };
    if !state.options.rbac || user.is_superuser() {
        return everything();
    }
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    let mut collect = |rules: Vec<Value>| {
        for rule in rules {
            if rule.get("nonResourceURLs").is_some() {
                non_resource_rules.push(json!({"verbs": rule["verbs"], "nonResourceURLs": rule["nonResourceURLs"]}));
            } else {
                let mut out =
                    json!({"verbs": rule["verbs"], "apiGroups": rule["apiGroups"], "resources": rule["resources"]});
                if let Some(names) = rule.get("resourceNames") {
                    out["resourceNames"] = names.clone();
                }
                resource_rules.push(out);
            }
        }
    };
    let rbac_group = "rbac.authorization.k8s.io";
    let mut bindings: Vec<(Value, String)> = state
        .store
        .list(&GroupResource::new(rbac_group, "clusterrolebindings"), None)
        .0
        .into_iter()
        .map(|b| ((*b).clone(), String::new()))
        .collect();
    if !namespace.is_empty() {
        bindings.extend(
            state
                .store
                .list(&GroupResource::new(rbac_group, "rolebindings"), Some(namespace))
                .0
                .into_iter()
                .map(|b| ((*b).clone(), namespace.to_string())),
        );
    }
    for (binding, ns) in bindings {
        let subject_matches = binding
            .get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|s| {
                let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
                let name = s.get("name").and_then(Value::as_str).unwrap_or("");
                match kind {
                    "User" => user.name == name,
                    "Group" => user.groups.iter().any(|g| g == name),
                    "ServiceAccount" => {
                        let sa_ns = s.get("namespace").and_then(Value::as_str).unwrap_or(&ns);
                        user.name == format!("system:serviceaccount:{sa_ns}:{name}")
                    }
                    _ => false,
                }
            });
        if !subject_matches {
            continue;
        }
        let role_kind = binding.pointer("/roleRef/kind").and_then(Value::as_str).unwrap_or("");
        let role_name = binding.pointer("/roleRef/name").and_then(Value::as_str).unwrap_or("");
        let role_rules = if role_kind == "ClusterRole" {
            rbac::cluster_role_rules(&state.store, role_name)
        } else {
            state
                .store
                .get(&GroupResource::new(rbac_group, "roles"), &ns, role_name)
                .and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
                .unwrap_or_default()
        };
        collect(role_rules);
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false})
}
