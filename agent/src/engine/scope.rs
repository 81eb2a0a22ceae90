//! The pre-flight scope check: before anything is applied, every rendered object must be a
//! namespaced object in the agent's namespace. Cluster-scoped objects and objects in other
//! namespaces are refused as a whole (nothing is applied), independently of RBAC, unless the
//! agent runs with `--allow-out-of-namespace`.
//!
//! Input: rendered objects and a scope lookup (from discovery). Output: `Ok` or a
//! [`ScopeViolation`] listing the first offenders.

use serde_json::Value;
use shared::objects::ObjectRef;
use std::fmt;

/// At most this many offenders are named in the message.
const MAX_NAMED: usize = 5;

/// Objects the agent refuses to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeViolation {
    /// How many objects are out of scope.
    pub count: usize,
    /// The first ones, as `Kind/name` or `namespace/Kind/name`.
    pub named: Vec<String>,
    /// The agent's namespace.
    pub namespace: String,
}

impl fmt::Display for ScopeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to deploy: {} rendered object(s) are cluster-scoped or outside namespace {} ({}{}); \
             the agent only deploys into its own namespace (run it with --allow-out-of-namespace to allow this)",
            self.count,
            self.namespace,
            self.named.join(", "),
            if self.count > self.named.len() { ", ..." } else { "" }
        )
    }
}

/// Checks `objects` against `namespace`. `is_namespaced(group, kind)` answers from discovery;
/// kinds it does not know are namespaced only when the object names the agent's namespace
/// (a CRD rendered alongside its resources, say), and `CustomResourceDefinition` is always
/// cluster-scoped.
pub fn check(
    objects: &[&Value],
    namespace: &str,
    is_namespaced: impl Fn(&str, &str) -> Option<bool>,
) -> Result<(), ScopeViolation> {
    let mut offenders = Vec::new();
    for object in objects {
        let Some(r) = ObjectRef::from_object(object) else {
            continue;
        };
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let namespaced = if r.kind == "CustomResourceDefinition" {
            Some(false)
        } else {
            is_namespaced(group, &r.kind)
        };
        let in_scope = match (namespaced, r.namespace.as_deref()) {
            (Some(false), _) => false,
            // Namespaced without a namespace: it lands in the agent's (the default) namespace.
            (Some(true), None) => true,
            (Some(true) | None, Some(ns)) => ns == namespace,
            (None, None) => false,
        };
        if !in_scope {
            offenders.push(match &r.namespace {
                Some(ns) if namespaced != Some(false) => format!("{ns}/{}/{}", r.kind, r.name),
                _ => format!("{}/{}", r.kind, r.name),
            });
        }
    }
    if offenders.is_empty() {
        return Ok(());
    }
    Err(ScopeViolation {
        count: offenders.len(),
        named: offenders.into_iter().take(MAX_NAMED).collect(),
        namespace: namespace.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(group: &str, kind: &str) -> Option<bool> {
        match (group, kind) {
            ("", "ConfigMap") | ("apps", "Deployment") => Some(true),
            ("", "Namespace") | ("rbac.authorization.k8s.io", "ClusterRole") => Some(false),
            _ => None,
        }
    }

    #[test]
    fn objects_in_the_namespace_pass() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team"}});
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}});
        let c =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "c", "namespace": "team"}});
        assert_eq!(check(&[&a, &b, &c], "team", scope), Ok(()));
    }

    #[test]
    fn cluster_scoped_and_foreign_objects_are_named() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": "team"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "other"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new-ns"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cr"}}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "w"}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "unknown"}}),
        ];
        let refs: Vec<&Value> = objects.iter().collect();
        let err = check(&refs, "team", scope).unwrap_err();
        assert_eq!(err.count, 5);
        assert_eq!(
            err.named,
            [
                "other/ConfigMap/theirs",
                "Namespace/new-ns",
                "ClusterRole/cr",
                "CustomResourceDefinition/w",
                "Widget/unknown"
            ]
        );
        assert!(err.to_string().contains("--allow-out-of-namespace"), "{err}");
    }
}
