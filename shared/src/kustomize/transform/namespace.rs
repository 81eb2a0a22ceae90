//! The `namespace` field: sets `metadata.namespace` on every namespaced object, renames
//! `Namespace` objects, points RBAC subjects named `default` at the namespace and fills the
//! configured extra fields (APIService and CRD conversion webhook services), as Kustomize does.

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::FieldSpec;
use serde_json::Value;
use std::collections::HashSet;

/// Applies `namespace` to every resource.
pub fn apply(resmap: &mut ResMap, namespace: &str, specs: &[FieldSpec]) -> Result<(), String> {
    if namespace.is_empty() {
        return Ok(());
    }
    for resource in &mut resmap.resources {
        if resource.object.as_object().is_none_or(|o| o.is_empty()) {
            continue;
        }
        resource.store_previous_id();
        let gvk = resource.gvk();
        let api_version = gvk.api_version();
        if !gvk.is_cluster_scoped() {
            resource.set_namespace(namespace);
        }
        let rbac = matches!(gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding");
        if rbac {
            set_default_subjects(&mut resource.object, namespace)?;
        }
        for spec in specs {
            if spec.path == "metadata/namespace"
                || (spec.path == "metadata/name" && api_version != "v1")
                || (rbac && spec.path == "subjects")
                || !spec_selects(spec, &gvk)
            {
                continue;
            }
            let mut set = |node: &mut Value| -> Result<(), String> {
                match node {
                    Value::Object(_) | Value::Array(_) => {
                        Err("namespace field specs must point at a scalar field".to_string())
                    }
                    _ => {
                        *node = Value::String(namespace.to_string());
                        Ok(())
                    }
                }
            };
            fieldspec::apply(&mut resource.object, spec, Create::Scalar, &mut set)
                .map_err(|e| format!("{}: {e}", resource.cur_id()))?;
        }
    }
    check_unique(resmap)
}

/// In `subjects`, entries named `default` get the namespace (Kustomize's default
/// `setRoleBindingSubjects: defaultOnly`).
fn set_default_subjects(object: &mut Value, namespace: &str) -> Result<(), String> {
    let Some(subjects) = object.get_mut("subjects") else {
        return Ok(());
    };
    match subjects {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for subject in items {
                if let Value::Object(map) = subject
                    && map.get("name").and_then(Value::as_str) == Some("default")
                {
                    map.insert("namespace".to_string(), Value::String(namespace.to_string()));
                }
            }
            Ok(())
        }
        _ => Err("subjects must be a list".to_string()),
    }
}

fn check_unique(resmap: &ResMap) -> Result<(), String> {
    let mut seen = HashSet::new();
    for resource in &resmap.resources {
        let id = resource.cur_id();
        let key = (id.gvk.clone(), id.name.clone(), id.effective_namespace().to_string());
        if !seen.insert(key) {
            return Err(format!(
                "setting the namespace makes two resources the same: {id} (rename one of them)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::config;
    use crate::kustomize::resource::Resource;
    use serde_json::json;

    fn map(objects: Vec<Value>) -> ResMap {
        ResMap {
            resources: objects.into_iter().map(Resource::new).collect(),
        }
    }

    #[test]
    fn sets_namespaces_like_kustomize() {
        let mut m = map(vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
                   "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "foo"},
                                {"kind": "ServiceAccount", "name": "sa", "namespace": "foo"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cr"}}),
            json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.x"}, "spec": {"service": {"name": "s"}}}),
        ]);
        apply(&mut m, "myns", &config::defaults().namespace).unwrap();
        let objects: Vec<&Value> = m.resources.iter().map(|r| &r.object).collect();
        assert_eq!(objects[0]["metadata"], json!({"name": "myns"}));
        assert_eq!(objects[1]["metadata"]["namespace"], json!("myns"));
        assert_eq!(objects[1]["subjects"][0]["namespace"], json!("myns"));
        assert_eq!(objects[1]["subjects"][1]["namespace"], json!("foo"));
        assert!(objects[2]["metadata"].get("namespace").is_none());
        assert_eq!(objects[3]["spec"]["service"]["namespace"], json!("myns"));
        assert_eq!(m.resources[1].org_id().namespace, "");
    }

    #[test]
    fn reports_collisions() {
        let mut m = map(vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}),
        ]);
        assert!(
            apply(&mut m, "x", &config::defaults().namespace)
                .unwrap_err()
                .contains("two resources the same")
        );
    }
}
