//! OpenAPI v3 definitions of the built-in kinds (generated once per process from k8s-openapi's schemars
//! support, named like kube-apiserver's: `io.k8s.api.apps.v1.Deployment`), and `$ref`/`allOf` resolution
//! for walking them. Used by field validation and the `/openapi/v3` documents.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};
use std::sync::OnceLock;

use super::registry::builtin_resources;

/// Prefix of references between definitions.
pub const REF_PREFIX: &str = "#/components/schemas/";

/// Every definition reachable from a built-in kind, by name.
pub fn builtin_definitions() -> &'static Map<String, Value> {
    static DEFINITIONS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        let mut generator = SchemaSettings::openapi3().into_generator();
        for info in builtin_resources() {
            if let Some(definition) = info.definition {
                (definition.generate)(&mut generator);
            }
        }
        let mut definitions = generator.take_definitions(true);
        add_kubernetes_extensions(&mut definitions, shared::schema::builtin_openapi_document());
        definitions
    })
}

/// Copies the `x-kubernetes-*` extensions (list and map types, patch strategies and merge keys) of
/// the schema table in `shared::schema` into the generated definitions, which have descriptions but
/// no extensions; kubectl's client-side apply reads the patch strategies from `/openapi/v3`.
fn add_kubernetes_extensions(definitions: &mut Map<String, Value>, document: &Value) {
    let Some(source) = document.pointer("/components/schemas").and_then(Value::as_object) else {
        return;
    };
    let extensions = |from: &Value| -> Vec<(String, Value)> {
        from.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with("x-kubernetes-") && *k != "x-kubernetes-group-version-kind")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (name, target) in definitions.iter_mut() {
        let Some(from) = source.get(name) else { continue };
        if let Some(map) = target.as_object_mut() {
            map.extend(extensions(from));
        }
        let Some(properties) = target.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, schema) in properties.iter_mut() {
            let Some(from) = from.pointer(&format!("/properties/{}", field.replace('~', "~0").replace('/', "~1")))
            else {
                continue;
            };
            if let Some(map) = schema.as_object_mut() {
                map.extend(extensions(from));
            }
        }
    }
}

/// Follows `$ref` (directly or as the single entry of `allOf`) to the referenced definition.
pub fn resolve<'a>(schema: &'a Value, definitions: &'a Map<String, Value>) -> &'a Value {
    let mut current = schema;
    for _ in 0..16 {
        let reference = current.get("$ref").and_then(Value::as_str).or_else(|| {
            current
                .get("allOf")
                .and_then(Value::as_array)
                .filter(|all| all.len() == 1)
                .and_then(|all| all[0].get("$ref"))
                .and_then(Value::as_str)
        });
        match reference
            .and_then(|r| r.strip_prefix(REF_PREFIX))
            .and_then(|name| definitions.get(name))
        {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

/// The definition name a schema refers to, if it is a reference.
pub fn reference_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .or_else(|| {
            schema
                .get("allOf")
                .and_then(Value::as_array)
                .and_then(|all| all.first())
                .and_then(|r| r.get("$ref"))
                .and_then(Value::as_str)
        })
        .and_then(|r| r.strip_prefix(REF_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_cover_builtin_kinds_and_resolve_references() {
        let defs = builtin_definitions();
        let deployment = defs
            .get("io.k8s.api.apps.v1.Deployment")
            .expect("Deployment definition");
        let spec = resolve(&deployment["properties"]["spec"], defs);
        assert!(spec["properties"].get("replicas").is_some(), "{spec}");
        let meta = resolve(&deployment["properties"]["metadata"], defs);
        assert!(meta["properties"].get("labels").is_some());
        assert!(defs.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert!(containers["description"].is_string(), "descriptions stay");
    }
}
