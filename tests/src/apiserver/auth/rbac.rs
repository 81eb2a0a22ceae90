//! The RBAC authorizer: request [`Attributes`] checked against the stored Roles, ClusterRoles,
//! RoleBindings and ClusterRoleBindings (aggregated ClusterRoles included), and the bootstrap policy
//! (`cluster-admin`, `admin`, `edit`, `view`, `system:discovery`, `system:basic-user`) a real cluster has.

use serde_json::{Value, json};

use super::UserInfo;
use crate::apiserver::errors::ApiError;
use crate::apiserver::registry::GroupResource;
use crate::apiserver::selectors::LabelSelector;
use crate::apiserver::store::Store;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What a request wants to do, as the authorizer sees it.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    /// The (possibly impersonated) user.
    pub user: UserInfo,
    /// Kubernetes verb (`get`, `list`, `create`, ..., `impersonate`), or HTTP verb for paths.
    pub verb: String,
    /// Namespace, empty for cluster scope.
    pub namespace: String,
    /// API group.
    pub api_group: String,
    /// Plural resource.
    pub resource: String,
    /// Subresource, empty when none.
    pub subresource: String,
    /// Object name, empty for collections.
    pub name: String,
    /// True for resource requests; false for non-resource paths.
    pub is_resource: bool,
    /// The path, for non-resource requests.
    pub path: String,
}

/// The authorizer's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, with the reason (`RBAC: allowed by ...`).
    Allowed(String),
    /// Not allowed by any rule.
    Denied,
}

impl Decision {
    /// True when allowed.
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }
}

/// Evaluates RBAC for a request. `system:masters` members are always allowed.
pub fn authorize(store: &Store, attrs: &Attributes) -> Decision {
    if attrs.user.is_superuser() {
        return Decision::Allowed(String::new());
    }
    let crb = GroupResource::new(RBAC_GROUP, "clusterrolebindings");
    for binding in store.list(&crb, None).0 {
        if let Some(reason) = binding_allows(store, &binding, "", attrs) {
            return Decision::Allowed(reason);
        }
    }
    if !attrs.namespace.is_empty() {
        let rb = GroupResource::new(RBAC_GROUP, "rolebindings");
        for binding in store.list(&rb, Some(&attrs.namespace)).0 {
            if let Some(reason) = binding_allows(store, &binding, &attrs.namespace, attrs) {
                return Decision::Allowed(reason);
            }
        }
    }
    Decision::Denied
}

fn binding_allows(store: &Store, binding: &Value, namespace: &str, attrs: &Attributes) -> Option<String> {
    let subjects = binding.get("subjects").and_then(Value::as_array)?;
    let subject = subjects.iter().find(|s| subject_matches(s, namespace, &attrs.user))?;
    let role_ref = binding.get("roleRef")?;
    let role_kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or("");
    let role_name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
    let rules = match role_kind {
        "ClusterRole" => cluster_role_rules(store, role_name),
        "Role" if !namespace.is_empty() => store
            .get(&GroupResource::new(RBAC_GROUP, "roles"), namespace, role_name)
            .and_then(|role| role.get("rules").and_then(Value::as_array).cloned())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if !rules.iter().any(|rule| rule_allows(rule, attrs)) {
        return None;
    }
    let binding_name = binding.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let subject_kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let subject_name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    let binding_text = if namespace.is_empty() {
        format!("ClusterRoleBinding {binding_name:?}")
    } else {
        format!("RoleBinding \"{binding_name}/{namespace}\"")
    };
    Some(format!(
        "RBAC: allowed by {binding_text} of {role_kind} {role_name:?} to {subject_kind} {subject_name:?}"
    ))
}

/// Rules of a ClusterRole, including those aggregated into it by `aggregationRule`.
pub fn cluster_role_rules(store: &Store, name: &str) -> Vec<Value> {
    let roles = GroupResource::new(RBAC_GROUP, "clusterroles");
    let Some(role) = store.get(&roles, "", name) else {
        return Vec::new();
    };
    let mut rules: Vec<Value> = role.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
    let selectors: Vec<LabelSelector> = role
        .pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|s| LabelSelector::from_object(s).ok()).collect())
        .unwrap_or_default();
    if !selectors.is_empty() {
        for other in store.list(&roles, None).0 {
            let labels = other.pointer("/metadata/labels").and_then(Value::as_object);
            let other_name = other.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            if other_name != name && selectors.iter().any(|s| s.matches(labels)) {
                rules.extend(
                    other
                        .get("rules")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
    }
    rules
}

fn subject_matches(subject: &Value, binding_namespace: &str, user: &UserInfo) -> bool {
    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "User" => user.name == name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let namespace = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|ns| !ns.is_empty())
                .unwrap_or(binding_namespace);
            user.name == format!("system:serviceaccount:{namespace}:{name}")
        }
        _ => false,
    }
}

fn strings<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    rule.get(field)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// True when one PolicyRule allows the request.
pub fn rule_allows(rule: &Value, attrs: &Attributes) -> bool {
    let verbs = strings(rule, "verbs");
    if !verbs.iter().any(|v| *v == "*" || *v == attrs.verb) {
        return false;
    }
    if !attrs.is_resource {
        return strings(rule, "nonResourceURLs").iter().any(|url| {
            *url == "*"
                || *url == attrs.path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| attrs.path.starts_with(prefix))
        });
    }
    let groups = strings(rule, "apiGroups");
    if !groups.iter().any(|g| *g == "*" || *g == attrs.api_group) {
        return false;
    }
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let resources = strings(rule, "resources");
    let resource_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == combined
            || (!attrs.subresource.is_empty() && r.strip_prefix("*/") == Some(attrs.subresource.as_str()))
    });
    if !resource_ok {
        return false;
    }
    let names = strings(rule, "resourceNames");
    names.is_empty() || (!attrs.name.is_empty() && names.contains(&attrs.name.as_str()))
}

/// The 403 kube-apiserver sends for a denied request.
pub fn forbidden(attrs: &Attributes) -> ApiError {
    let user = &attrs.user.name;
    if !attrs.is_resource {
        return ApiError::forbidden_message(
            format!("forbidden: User {user:?} cannot {} path {:?}", attrs.verb, attrs.path),
            None,
        );
    }
    let resource = if attrs.subresource.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let detail = if attrs.namespace.is_empty() {
        format!(
            "User {user:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
            attrs.verb, attrs.api_group
        )
    } else {
        format!(
            "User {user:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
            attrs.verb, attrs.api_group, attrs.namespace
        )
    };
    ApiError::forbidden(&attrs.api_group, &attrs.resource, &attrs.name, &detail)
}

/// ClusterRoles and ClusterRoleBindings of a fresh cluster, as (resource, object) pairs.
pub fn bootstrap_policy() -> Vec<(&'static str, Value)> {
    let aggregate = |name: &str, to: &[&str]| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "aggregationRule": {"clusterRoleSelectors": to.iter().map(|t| json!({"matchLabels": {
                format!("rbac.authorization.k8s.io/aggregate-to-{t}"): "true"}})).collect::<Vec<_>>()},
            "rules": []
        })
    };
    let role = |name: &str, labels: Value, rules: Value| {
        let mut role_labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
        if let (Some(target), Some(extra)) = (role_labels.as_object_mut(), labels.as_object()) {
            target.extend(extra.clone());
        }
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": role_labels,
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules
        })
    };
    let binding = |name: &str, role: &str, groups: &[&str]| {
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": groups.iter().map(|g| json!({"apiGroup": RBAC_GROUP, "kind": "Group", "name": g})).collect::<Vec<_>>()
        })
    };
    let read = json!(["get", "list", "watch"]);
    let write = json!(["create", "delete", "deletecollection", "patch", "update"]);
    let workloads = json!([
        {"apiGroups": [""], "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services"], "verbs": write},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments", "deployments/scale", "replicasets",
            "replicasets/scale", "statefulsets", "statefulsets/scale"], "verbs": write},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": write},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": write},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": write},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": write},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": write}
    ]);
    let views = json!([
        {"apiGroups": [""], "resources": ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
            "replicationcontrollers", "serviceaccounts", "services", "bindings", "events", "limitranges",
            "namespaces", "namespaces/status", "pods/status", "resourcequotas"], "verbs": read},
        {"apiGroups": ["apps"], "resources": ["controllerrevisions", "daemonsets", "deployments", "deployments/scale",
            "replicasets", "statefulsets"], "verbs": read},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": read},
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": read},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": read},
        {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": read},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": read}
    ]);
    vec![
        (
            "clusterroles",
            role(
                "cluster-admin",
                json!({}),
                json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                       {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            ),
        ),
        ("clusterroles", aggregate("admin", &["admin"])),
        ("clusterroles", aggregate("edit", &["edit"])),
        ("clusterroles", aggregate("view", &["view"])),
        (
            "clusterroles",
            role(
                "system:aggregate-to-admin",
                json!({"rbac.authorization.k8s.io/aggregate-to-admin": "true"}),
                json!([{"apiGroups": [RBAC_GROUP], "resources": ["rolebindings", "roles"],
                        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]},
                       {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:aggregate-to-edit",
                json!({"rbac.authorization.k8s.io/aggregate-to-admin": "true",
                       "rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
                workloads,
            ),
        ),
        (
            "clusterroles",
            role(
                "system:aggregate-to-view",
                json!({"rbac.authorization.k8s.io/aggregate-to-admin": "true",
                       "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                       "rbac.authorization.k8s.io/aggregate-to-view": "true"}),
                views,
            ),
        ),
        (
            "clusterroles",
            role(
                "system:discovery",
                json!({}),
                json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                        "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:basic-user",
                json!({}),
                json!([{"apiGroups": ["authorization.k8s.io"],
                        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                       {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
            ),
        ),
        (
            "clusterrolebindings",
            binding("cluster-admin", "cluster-admin", &["system:masters"]),
        ),
        (
            "clusterrolebindings",
            binding("system:discovery", "system:discovery", &["system:authenticated"]),
        ),
        (
            "clusterrolebindings",
            binding("system:basic-user", "system:basic-user", &["system:authenticated"]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::store::Precondition;

    fn attrs(user: &str, verb: &str, ns: &str, resource: &str, name: &str) -> Attributes {
        Attributes {
            user: UserInfo::new(user, &[]),
            verb: verb.into(),
            namespace: ns.into(),
            api_group: String::new(),
            resource: resource.into(),
            name: name.into(),
            is_resource: true,
            ..Default::default()
        }
    }

    fn put(store: &Store, resource: &str, ns: &str, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        store
            .commit(
                &GroupResource::new(RBAC_GROUP, resource),
                (ns.into(), name),
                Precondition::MustNotExist,
                Some(object),
            )
            .unwrap();
    }

    #[test]
    fn rules_match_verbs_resources_subresources_and_names() {
        let rule = json!({"apiGroups": [""], "resources": ["configmaps", "*/status"], "verbs": ["get"],
                          "resourceNames": ["allowed"]});
        assert!(rule_allows(&rule, &attrs("u", "get", "ns", "configmaps", "allowed")));
        assert!(!rule_allows(&rule, &attrs("u", "get", "ns", "configmaps", "other")));
        assert!(!rule_allows(&rule, &attrs("u", "list", "ns", "configmaps", "")));
        let mut status = attrs("u", "get", "ns", "pods", "allowed");
        status.subresource = "status".into();
        assert!(rule_allows(&rule, &status));
    }

    #[test]
    fn role_bindings_grant_only_in_their_namespace_and_aggregation_works() {
        let store = Store::new(100);
        for (resource, object) in bootstrap_policy() {
            put(&store, resource, "", object);
        }
        put(
            &store,
            "rolebindings",
            "team",
            json!({"metadata": {"name": "alice-edit", "namespace": "team"},
                   "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "edit"},
                   "subjects": [{"kind": "User", "name": "alice", "apiGroup": RBAC_GROUP}]}),
        );
        let decision = authorize(&store, &attrs("alice", "create", "team", "configmaps", ""));
        assert!(decision.allowed(), "{decision:?}");
        assert!(!authorize(&store, &attrs("alice", "create", "other", "configmaps", "")).allowed());
        assert!(!authorize(&store, &attrs("alice", "create", "team", "roles", "")).allowed());
        let err = forbidden(&attrs("alice", "create", "other", "configmaps", ""));
        assert_eq!(
            err.message,
            "configmaps is forbidden: User \"alice\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"other\""
        );
    }
}
