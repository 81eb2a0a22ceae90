//! OpenAPI v3 documents: the `/openapi/v3` index and one document per group version, with the
//! operations kubectl looks for (PATCH with `fieldValidation`, tagged `x-kubernetes-group-version-kind`)
//! and the schemas of the kinds served there (built-ins from k8s-openapi, custom resources from their
//! CRD). Documents are generated on first use and dropped when a CRD changes.

use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::registry::{Registry, ResourceInfo};
use super::schemas::{REF_PREFIX, builtin_definitions};
use super::version::GIT_VERSION;

/// Generated documents by path (`apis/apps/v1`), as serialized bytes.
#[derive(Default)]
pub struct OpenApiCache {
    documents: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl OpenApiCache {
    /// Forgets every document (the set of resources changed).
    pub fn invalidate(&self) {
        self.documents.lock().expect("openapi cache lock poisoned").clear();
    }

    /// The document of a group version path (`api/v1`, `apis/apps/v1`), or `None` if not served.
    pub fn document(&self, registry: &Registry, path: &str) -> Option<Arc<Vec<u8>>> {
        if let Some(doc) = self.documents.lock().expect("openapi cache lock poisoned").get(path) {
            return Some(doc.clone());
        }
        let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
            ["api", version] => (String::new(), version.to_string()),
            ["apis", group, version] => (group.to_string(), version.to_string()),
            _ => return None,
        };
        let resources = registry.in_group_version(&group, &version);
        if resources.is_empty() {
            return None;
        }
        let bytes = Arc::new(serde_json::to_vec(&group_version_document(&group, &version, &resources)).ok()?);
        self.documents
            .lock()
            .expect("openapi cache lock poisoned")
            .insert(path.to_string(), bytes.clone());
        Some(bytes)
    }

    /// The `/openapi/v3` index: every group version with a URL that changes when its document does.
    pub fn index(&self, registry: &Registry) -> Value {
        let mut paths = Map::new();
        for (group, versions) in registry.groups() {
            for version in versions {
                let path = if group.is_empty() {
                    format!("api/{version}")
                } else {
                    format!("apis/{group}/{version}")
                };
                let hash = self
                    .document(registry, &path)
                    .map(|doc| {
                        let mut hasher = std::collections::hash_map::DefaultHasher::new();
                        doc.hash(&mut hasher);
                        format!("{:016X}", hasher.finish())
                    })
                    .unwrap_or_default();
                paths.insert(
                    path.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}")}),
                );
            }
        }
        json!({"paths": paths})
    }
}

/// The definition name kube-apiserver gives a custom resource (`com.example.v1.Widget`).
fn custom_definition_name(info: &ResourceInfo, version: &str) -> String {
    let reversed: Vec<&str> = info.group.split('.').rev().collect();
    format!("{}.{version}.{}", reversed.join("."), info.kind)
}

fn group_version_document(group: &str, version: &str, resources: &[Arc<ResourceInfo>]) -> Value {
    let builtin = builtin_definitions();
    let mut schemas = Map::new();
    let mut paths = Map::new();
    let mut needed: BTreeSet<String> = BTreeSet::new();
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for info in resources {
        let gvk = json!({"group": group, "version": version, "kind": info.kind});
        let definition = match &info.definition {
            Some(definition) => {
                needed.insert(definition.name.to_string());
                definition.name.to_string()
            }
            None => {
                let name = custom_definition_name(info, version);
                let mut schema = info
                    .version(version)
                    .and_then(|v| v.schema.as_deref().cloned())
                    .unwrap_or_else(|| json!({"type": "object"}));
                if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                    properties.insert("apiVersion".into(), json!({"type": "string"}));
                    properties.insert("kind".into(), json!({"type": "string"}));
                    properties.insert(
                        "metadata".into(),
                        json!({"allOf": [{"$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")}]}),
                    );
                }
                needed.insert("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta".into());
                schema["x-kubernetes-group-version-kind"] = json!([gvk]);
                schemas.insert(name.clone(), schema);
                name
            }
        };
        let collection = if info.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", info.plural)
        } else {
            format!("{prefix}/{}", info.plural)
        };
        let item_ref = json!({"$ref": format!("{REF_PREFIX}{definition}")});
        paths.insert(collection.clone(), collection_operations(info, &gvk, &item_ref));
        paths.insert(format!("{collection}/{{name}}"), item_operations(info, &gvk, &item_ref));
    }
    close_over_references(&mut needed, builtin);
    for name in needed {
        if let Some(schema) = builtin.get(&name) {
            let mut schema = schema.clone();
            if let Some(info) = resources.iter().find(|r| r.definition.is_some_and(|d| d.name == name)) {
                schema["x-kubernetes-group-version-kind"] =
                    json!([{"group": group, "version": version, "kind": info.kind}]);
            }
            schemas.insert(name, schema);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas}
    })
}

fn query_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_parameters(patch: bool) -> Vec<Value> {
    let mut params = vec![
        query_parameter(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        query_parameter(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query_parameter(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        ),
    ];
    if patch {
        params.push(
            json!({"name": "force", "in": "query", "description": "Force is going to \"force\" Apply requests.",
            "schema": {"type": "boolean", "uniqueItems": true}}),
        );
    }
    params
}

fn operation(action: &str, gvk: &Value, parameters: Vec<Value>, body: Option<&Value>) -> Value {
    let mut op = json!({
        "description": format!("{action} {}", gvk["kind"].as_str().unwrap_or("")),
        "operationId": format!("{action}{}", gvk["kind"].as_str().unwrap_or("")),
        "parameters": parameters,
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    });
    if let Some(schema) = body {
        op["requestBody"] = json!({"content": {"*/*": {"schema": schema}}, "required": true});
    }
    op
}

fn collection_operations(info: &ResourceInfo, gvk: &Value, item: &Value) -> Value {
    let mut ops = Map::new();
    if info.allows("list") {
        ops.insert("get".into(), operation("list", gvk, Vec::new(), None));
    }
    if info.allows("create") {
        ops.insert(
            "post".into(),
            operation("post", gvk, write_parameters(false), Some(item)),
        );
    }
    if info.allows("deletecollection") {
        ops.insert("delete".into(), operation("deletecollection", gvk, Vec::new(), None));
    }
    Value::Object(ops)
}

fn item_operations(info: &ResourceInfo, gvk: &Value, item: &Value) -> Value {
    let mut ops = Map::new();
    if info.allows("get") {
        ops.insert("get".into(), operation("get", gvk, Vec::new(), None));
    }
    if info.allows("update") {
        ops.insert("put".into(), operation("put", gvk, write_parameters(false), Some(item)));
    }
    if info.allows("patch") {
        ops.insert(
            "patch".into(),
            operation("patch", gvk, write_parameters(true), Some(&json!({"type": "object"}))),
        );
    }
    if info.allows("delete") {
        ops.insert("delete".into(), operation("delete", gvk, Vec::new(), None));
    }
    Value::Object(ops)
}

/// Adds every definition transitively referenced from `names`.
fn close_over_references(names: &mut BTreeSet<String>, definitions: &Map<String, Value>) {
    let mut pending: Vec<String> = names.iter().cloned().collect();
    while let Some(name) = pending.pop() {
        let Some(schema) = definitions.get(&name) else { continue };
        let mut found = Vec::new();
        collect_references(schema, &mut found);
        for reference in found {
            if names.insert(reference.clone()) {
                pending.push(reference);
            }
        }
    }
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
            {
                out.push(name.to_string());
            }
            for child in map.values() {
                collect_references(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_patch_operations_with_field_validation_and_closed_schemas() {
        let registry = Registry::with_builtins();
        let cache = OpenApiCache::default();
        let doc: Value = serde_json::from_slice(&cache.document(&registry, "apis/apps/v1").unwrap()).unwrap();
        let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        assert!(schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(schemas.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        let index = cache.index(&registry);
        assert!(
            index["paths"]["apis/apps/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/apis/apps/v1?hash=")
        );
        assert!(cache.document(&registry, "apis/nope/v1").is_none());
    }
}
