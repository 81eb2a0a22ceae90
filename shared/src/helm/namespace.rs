//! The internal `kluctl.io/helm-install-namespace` annotation: how a Helm release's namespace
//! reaches namespace fixing after Kustomize.
//!
//! `helm install` puts objects without a namespace into the release namespace, `helm template`
//! does not; so the renderer marks every object of a release that sets `namespace:` with this
//! annotation, and namespace fixing (render post-processing) consumes it through
//! [`apply_install_namespace`]. Input and output: one object (`serde_json::Value`).

use serde_json::Value;

/// The annotation carrying a Helm release's namespace until namespace fixing.
pub const INSTALL_NAMESPACE_ANNOTATION: &str = "kluctl.io/helm-install-namespace";

/// Removes the annotation (and an `annotations` map it leaves empty); returns its value.
pub fn take_install_namespace(object: &mut Value) -> Option<String> {
    let metadata = object.get_mut("metadata")?.as_object_mut()?;
    let annotations = metadata.get_mut("annotations")?.as_object_mut()?;
    let value = annotations.shift_remove(INSTALL_NAMESPACE_ANNOTATION)?;
    if annotations.is_empty() {
        metadata.shift_remove("annotations");
    }
    value.as_str().map(str::to_string)
}

/// Namespace fixing for Helm objects: removes the annotation and, when the object is namespaced
/// (`namespaced`, from discovery) and has no namespace, gives it the release namespace.
/// Returns the namespace that was set, if any. Cluster-scoped objects only lose the annotation.
pub fn apply_install_namespace(object: &mut Value, namespaced: bool) -> Option<String> {
    let namespace = take_install_namespace(object)?;
    if !namespaced {
        return None;
    }
    let metadata = object.get_mut("metadata")?.as_object_mut()?;
    let has_namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|ns| !ns.is_empty());
    if has_namespace {
        return None;
    }
    metadata.insert("namespace".to_string(), Value::String(namespace.clone()));
    Some(namespace)
}

/// Marks an object rendered by a release with `namespace:` (what the renderer does).
pub(crate) fn mark_install_namespace(object: &mut Value, namespace: &str) {
    let Some(object) = object.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if annotations.is_null() {
        *annotations = Value::Object(Default::default());
    }
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert(
            INSTALL_NAMESPACE_ANNOTATION.to_string(),
            Value::String(namespace.to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespaced_objects_without_namespace_get_the_release_namespace() {
        let mut obj = json!({"kind": "ConfigMap", "metadata": {"name": "a"}});
        mark_install_namespace(&mut obj, "redis");
        assert_eq!(obj["metadata"]["annotations"][INSTALL_NAMESPACE_ANNOTATION], "redis");
        assert_eq!(apply_install_namespace(&mut obj, true).as_deref(), Some("redis"));
        assert_eq!(
            obj,
            json!({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "redis"}})
        );
    }

    #[test]
    fn explicit_namespaces_and_cluster_scoped_objects_are_kept() {
        let mut obj = json!({"metadata": {"name": "a", "namespace": "other", "annotations": {"x": "y"}}});
        mark_install_namespace(&mut obj, "redis");
        assert_eq!(apply_install_namespace(&mut obj, true), None);
        assert_eq!(
            obj,
            json!({"metadata": {"name": "a", "namespace": "other", "annotations": {"x": "y"}}})
        );
        let mut role = json!({"kind": "ClusterRole", "metadata": {"name": "r"}});
        mark_install_namespace(&mut role, "redis");
        assert_eq!(apply_install_namespace(&mut role, false), None);
        assert_eq!(role, json!({"kind": "ClusterRole", "metadata": {"name": "r"}}));
    }

    #[test]
    fn unmarked_objects_are_untouched() {
        let mut obj = json!({"metadata": {"name": "a"}});
        assert_eq!(take_install_namespace(&mut obj), None);
        assert_eq!(obj, json!({"metadata": {"name": "a"}}));
    }
}
