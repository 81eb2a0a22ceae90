//! The `crds` field: OpenAPI definitions of custom types whose properties carry
//! `x-kubernetes-object-ref-kind` (and friends) extensions, turned into name references,
//! label, annotation and name-prefix field specs.

use super::{NameReference, TransformerConfig};
use crate::kustomize::types::FieldSpec;
use serde_json::{Map, Value};

const X_ANNOTATION: &str = "x-kubernetes-annotation";
const X_LABEL_SELECTOR: &str = "x-kubernetes-label-selector";
const X_IDENTITY: &str = "x-kubernetes-identity";
const X_VERSION: &str = "x-kubernetes-object-ref-api-version";
const X_KIND: &str = "x-kubernetes-object-ref-kind";
const X_NAME_KEY: &str = "x-kubernetes-object-ref-name-key";

/// Builds a configuration from a map of type name to OpenAPI definition (`{"Schema": {...}}`).
pub fn config_from_crd_schemas(definitions: &Value) -> Result<TransformerConfig, String> {
    let map = definitions
        .as_object()
        .ok_or_else(|| "expected a map of type names to OpenAPI definitions".to_string())?;
    let mut config = TransformerConfig::default();
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    for name in names {
        let Some(properties) = properties_of(map, name) else {
            continue;
        };
        let looks_like_a_kind = ["kind", "apiVersion", "metadata"]
            .iter()
            .all(|p| properties.contains_key(*p));
        if !looks_like_a_kind {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name).to_string();
        let mut one = TransformerConfig::default();
        load_type(&mut one, &kind, map, name, &[], 0)?;
        config.merge(&one)?;
    }
    Ok(config)
}

fn properties_of<'a>(map: &'a Map<String, Value>, type_name: &str) -> Option<&'a Map<String, Value>> {
    map.get(type_name)?.get("Schema")?.get("properties")?.as_object()
}

fn spec(kind: &str, path: &[String]) -> FieldSpec {
    FieldSpec {
        kind: kind.to_string(),
        path: path.join("/"),
        ..FieldSpec::default()
    }
}

fn load_type(
    config: &mut TransformerConfig,
    kind: &str,
    map: &Map<String, Value>,
    type_name: &str,
    path: &[String],
    depth: usize,
) -> Result<(), String> {
    // Definitions may refer to each other in a loop; real schemas are far shallower.
    if depth > 32 {
        return Ok(());
    }
    let Some(properties) = properties_of(map, type_name) else {
        return Ok(());
    };
    let mut names: Vec<&String> = properties.keys().collect();
    names.sort();
    for name in names {
        let property = &properties[name];
        let mut here = path.to_vec();
        here.push(name.clone());
        let extension = |key: &str| property.get(key).and_then(Value::as_str);
        if extension(X_ANNOTATION).is_some() {
            super::merge_specs(&mut config.common_annotations, &[spec(kind, &here)])?;
        }
        if extension(X_LABEL_SELECTOR).is_some() {
            super::merge_specs(&mut config.common_labels, &[spec(kind, &here)])?;
        }
        if extension(X_IDENTITY).is_some() {
            super::merge_specs(&mut config.name_prefix, &[spec(kind, &here)])?;
        }
        if let (Some(version), Some(target_kind)) = (extension(X_VERSION), extension(X_KIND)) {
            let name_key = extension(X_NAME_KEY).unwrap_or("name");
            let mut referrer = here.clone();
            referrer.push(name_key.to_string());
            config.merge(&TransformerConfig {
                name_reference: vec![NameReference {
                    group: String::new(),
                    version: version.to_string(),
                    kind: target_kind.to_string(),
                    field_specs: vec![spec(kind, &referrer)],
                }],
                ..TransformerConfig::default()
            })?;
        }
        if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
            load_type(config, kind, map, reference, &here, depth + 1)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn turns_object_ref_extensions_into_name_references() {
        let schemas = json!({
            "example.com/v1.MyKind": {"Schema": {"properties": {
                "apiVersion": {}, "kind": {}, "metadata": {},
                "spec": {"$ref": "example.com/v1.MyKindSpec"}
            }}},
            "example.com/v1.MyKindSpec": {"Schema": {"properties": {
                "secretRef": {"x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "Secret"},
                "selectors": {"x-kubernetes-label-selector": ""}
            }}}
        });
        let config = config_from_crd_schemas(&schemas).unwrap();
        let secret = &config.name_reference[0];
        assert_eq!((secret.kind.as_str(), secret.version.as_str()), ("Secret", "v1"));
        assert_eq!(secret.field_specs[0].path, "spec/secretRef/name");
        assert_eq!(secret.field_specs[0].kind, "MyKind");
        assert_eq!(config.common_labels[0].path, "spec/selectors");
    }
}
