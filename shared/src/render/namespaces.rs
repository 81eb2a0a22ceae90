//! Namespace fixing, which needs to know which kinds are namespaced: [`ResourceScopes`] answers
//! from cluster discovery, and CRDs rendered in the same project add their kinds. A namespaced
//! object without a namespace gets `default` (or its Helm release namespace); a cluster-scoped
//! object loses its namespace. Offline (no scopes) nothing is changed, as with Kluctl.

use serde_json::Value;
use std::collections::HashMap;

/// Which kinds are namespaced, as discovery reports them.
pub trait ResourceScopes: Send + Sync {
    /// `Some(true)` for namespaced kinds, `Some(false)` for cluster-scoped ones, `None` when
    /// the kind is unknown to the cluster.
    fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool>;
}

/// The internal annotation the Helm renderer puts on objects of a release with a namespace.
pub const HELM_INSTALL_NAMESPACE: &str = crate::helm::INSTALL_NAMESPACE_ANNOTATION;

/// Scopes of the kinds defined by CRDs among `objects`.
pub(crate) fn crd_scopes<'a>(objects: impl Iterator<Item = &'a Value>) -> HashMap<(String, String), bool> {
    let mut scopes = HashMap::new();
    for o in objects {
        if o["kind"] != "CustomResourceDefinition"
            || !o["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .starts_with("apiextensions.k8s.io/")
        {
            continue;
        }
        let spec = &o["spec"];
        if let (Some(group), Some(kind), Some(scope)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["scope"].as_str(),
        ) {
            scopes.insert(
                (group.to_string(), kind.to_string()),
                scope.eq_ignore_ascii_case("namespaced"),
            );
        }
    }
    scopes
}

/// Removes the Helm namespace annotation and returns its value.
fn take_helm_namespace(object: &mut Value) -> Option<String> {
    let annotations = object.pointer_mut("/metadata/annotations")?.as_object_mut()?;
    let ns = annotations.remove(HELM_INSTALL_NAMESPACE)?;
    if annotations.is_empty() {
        object["metadata"].as_object_mut()?.remove("annotations");
    }
    ns.as_str().map(str::to_string)
}

/// Fixes the namespace of one object (and of the items of a `*List`).
pub(crate) fn fix_namespace(
    object: &mut Value,
    scopes: Option<&dyn ResourceScopes>,
    rendered_crds: &HashMap<(String, String), bool>,
) {
    if object["kind"].as_str().is_some_and(|k| k.ends_with("List"))
        && let Some(items) = object.get_mut("items").and_then(Value::as_array_mut)
    {
        for item in items {
            fix_namespace(item, scopes, rendered_crds);
        }
        return;
    }
    let helm_namespace = take_helm_namespace(object);
    let Some(scopes) = scopes else { return };
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default()
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let namespaced = scopes
        .is_namespaced(&group, &kind)
        .or_else(|| rendered_crds.get(&(group, kind)).copied());
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match namespaced {
        Some(true) => {
            let has_namespace = metadata
                .get("namespace")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !has_namespace {
                let ns = helm_namespace.unwrap_or_else(|| "default".to_string());
                metadata.insert("namespace".to_string(), Value::String(ns));
            }
        }
        Some(false) => {
            metadata.remove("namespace");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Scopes;
    impl ResourceScopes for Scopes {
        fn is_namespaced(&self, group: &str, kind: &str) -> Option<bool> {
            match (group, kind) {
                ("", "ConfigMap") => Some(true),
                ("", "Namespace") => Some(false),
                _ => None,
            }
        }
    }

    #[test]
    fn namespaced_objects_get_default_and_cluster_scoped_ones_lose_theirs() {
        let crds = crd_scopes(
            [
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "spec": {"group": "ex.io", "scope": "Namespaced", "names": {"kind": "Widget"}}}),
            ]
            .iter(),
        );
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        fix_namespace(&mut cm, Some(&Scopes), &crds);
        assert_eq!(cm["metadata"]["namespace"], "default");
        let mut ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "x"}});
        fix_namespace(&mut ns, Some(&Scopes), &crds);
        assert!(ns["metadata"].get("namespace").is_none());
        let mut w = json!({"apiVersion": "ex.io/v1", "kind": "Widget", "metadata": {"name": "w",
                           "annotations": {HELM_INSTALL_NAMESPACE: "rel"}}});
        fix_namespace(&mut w, Some(&Scopes), &crds);
        assert_eq!(w["metadata"], json!({"name": "w", "namespace": "rel"}));
        let mut unknown = json!({"apiVersion": "x.io/v1", "kind": "Thing", "metadata": {"name": "t"}});
        fix_namespace(&mut unknown, Some(&Scopes), &crds);
        assert!(unknown["metadata"].get("namespace").is_none());
    }

    #[test]
    fn offline_nothing_changes_but_the_internal_annotation_goes() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "a", "annotations": {HELM_INSTALL_NAMESPACE: "rel", "k": "v"}}});
        fix_namespace(&mut cm, None, &HashMap::new());
        assert_eq!(cm["metadata"], json!({"name": "a", "annotations": {"k": "v"}}));
    }
}
