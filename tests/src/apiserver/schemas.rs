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
        generator.take_definitions(true)
    })
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
    }
}
