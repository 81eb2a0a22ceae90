//! Unknown and mistyped fields in request bodies: fields a kind's schema does not declare are dropped
//! (built-ins: Go decoding; custom resources: structural pruning), reported in `Warning` headers or, with
//! `fieldValidation=Strict`, answered with `strict decoding error: unknown field "spec.foo"`. Values of the
//! wrong JSON type in built-in kinds get the decoder's 400 answer.

use serde_json::{Map, Value};

use crate::apiserver::errors::ApiError;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::request::FieldValidation;
use crate::apiserver::schemas::{builtin_definitions, reference_name, resolve};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

struct Walk<'a> {
    definitions: &'a Map<String, Value>,
    /// Custom resources: prune, drop non-nullable nulls, leave type checks to validation.
    custom: bool,
    unknown: Vec<String>,
    type_error: Option<String>,
}

/// Drops undeclared fields of `object` (of `info` in request version `version`) and reports them as
/// `mode` asks; returns the warnings.
pub fn check_fields(
    info: &ResourceInfo,
    version: &str,
    object: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let definitions = builtin_definitions();
    let mut walk = Walk {
        definitions,
        custom: info.is_custom(),
        unknown: Vec::new(),
        type_error: None,
    };
    if let Some(definition) = &info.definition {
        let Some(root) = definitions.get(definition.name) else {
            return Ok(Vec::new());
        };
        walk.value(object, root, "", definition.name);
        if let Some(err) = walk.type_error.take() {
            return Err(ApiError::bad_request(format!(
                "{kind} in version {version:?} cannot be handled as a {kind}: {err}",
                kind = info.kind
            )));
        }
    } else if let Some(schema) = info.version(version).and_then(|v| v.schema.clone()) {
        walk.custom_root(object, &schema);
    }
    if walk.unknown.is_empty() || mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let messages: Vec<String> = walk.unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
    if mode == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            messages.join(", ")
        )));
    }
    Ok(messages)
}

/// What Go's encoder leaves out of a built-in object: nulls, empty lists and empty maps (`omitempty`
/// on slices and maps; structs, even empty, are kept).
fn omitted_by_go(value: &Value, schema: &Value, definitions: &Map<String, Value>) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) if map.is_empty() => {
            let schema = resolve(schema, definitions);
            schema.get("properties").is_none() && schema.get("additionalProperties").is_some_and(Value::is_object)
        }
        _ => false,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn go_type(schema: &Value, definition: Option<&str>) -> String {
    if let Some(name) = definition {
        let short = name.rsplit('.').next().unwrap_or(name);
        return format!("v1.{short}");
    }
    match (
        schema.get("type").and_then(Value::as_str),
        schema.get("format").and_then(Value::as_str),
    ) {
        (Some("integer"), Some(format)) => format.to_string(),
        (Some("integer"), None) => "int".into(),
        (Some("number"), _) => "float64".into(),
        (Some("boolean"), _) => "bool".into(),
        (Some("string"), _) => "string".into(),
        (Some("array"), _) => "[]interface {}".into(),
        _ => "map[string]string".into(),
    }
}

impl Walk<'_> {
    /// The root of a custom resource: `apiVersion`, `kind` and `metadata` (checked as ObjectMeta) are
    /// always allowed; everything else follows the CRD schema.
    fn custom_root(&mut self, object: &mut Value, schema: &Value) {
        let Some(map) = object.as_object_mut() else { return };
        let properties = schema.get("properties").and_then(Value::as_object);
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let mut drop = Vec::new();
        for (key, value) in map.iter_mut() {
            match key.as_str() {
                "apiVersion" | "kind" => {}
                "metadata" => {
                    if let Some(meta_schema) = self.definitions.get(OBJECT_META) {
                        self.value(value, meta_schema, "metadata", OBJECT_META);
                    }
                }
                _ => match properties.and_then(|p| p.get(key)) {
                    Some(child) => {
                        if value.is_null() && child.get("nullable") != Some(&Value::Bool(true)) {
                            drop.push(key.clone());
                        } else {
                            self.value(value, child, key, "");
                        }
                    }
                    None if preserve => {}
                    None => {
                        self.unknown.push(key.clone());
                        drop.push(key.clone());
                    }
                },
            }
        }
        for key in drop {
            map.shift_remove(&key);
        }
    }

    fn value(&mut self, value: &mut Value, schema: &Value, path: &str, owner: &str) {
        let definition = reference_name(schema);
        let owner = definition.unwrap_or(owner).to_string();
        let schema = resolve(schema, self.definitions);
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            let ok = value.is_string() || value.as_i64().is_some() || value.is_null() || value.as_f64().is_some();
            if !ok && !self.custom {
                self.mistyped(value, path, &owner, "intstr.IntOrString");
            }
            return;
        }
        let expected = schema.get("type").and_then(Value::as_str);
        match value {
            Value::Object(map) => {
                if expected.is_some_and(|t| t != "object") {
                    if !self.custom {
                        self.mistyped(value, path, &owner, &go_type(schema, definition));
                    }
                    return;
                }
                self.object(map, schema, path, &owner);
            }
            Value::Array(items) => {
                if expected.is_some_and(|t| t != "array") {
                    if !self.custom {
                        self.mistyped(value, path, &owner, &go_type(schema, definition));
                    }
                    return;
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.value(item, item_schema, &format!("{path}[{i}]"), &owner);
                    }
                }
            }
            Value::Null => {}
            scalar => {
                if self.custom {
                    return;
                }
                let fits = match expected {
                    None => true,
                    Some("object") => {
                        // Free-form objects (RawExtension, JSON) accept any value.
                        schema.get("properties").is_none() && schema.get("additionalProperties").is_none()
                    }
                    Some("string") => scalar.is_string(),
                    Some("boolean") => scalar.is_boolean(),
                    Some("integer") => scalar.as_i64().is_some() || scalar.as_u64().is_some(),
                    Some("number") => scalar.is_number(),
                    Some(_) => false,
                };
                if !fits {
                    self.mistyped(scalar, path, &owner, &go_type(schema, definition));
                }
            }
        }
    }

    fn object(&mut self, map: &mut Map<String, Value>, schema: &Value, path: &str, owner: &str) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let embedded = schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
        if properties.is_none() && additional.is_none() {
            return;
        }
        let mut drop = Vec::new();
        for (key, child) in map.iter_mut() {
            let child_path = join(path, key);
            let child_schema = properties.and_then(|p| p.get(key)).or(additional);
            match child_schema {
                Some(child_schema) => {
                    if self.custom && child.is_null() && child_schema.get("nullable") != Some(&Value::Bool(true)) {
                        drop.push(key.clone());
                        continue;
                    }
                    self.value(child, child_schema, &child_path, owner);
                    if !self.custom && omitted_by_go(child, child_schema, self.definitions) {
                        drop.push(key.clone());
                    }
                }
                None if preserve => {}
                None if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
                None => {
                    self.unknown.push(child_path);
                    drop.push(key.clone());
                }
            }
        }
        for key in drop {
            map.shift_remove(&key);
        }
    }

    fn mistyped(&mut self, value: &Value, path: &str, owner: &str, go_type: &str) {
        if self.type_error.is_none() {
            let owner = owner.rsplit('.').next().unwrap_or(owner);
            self.type_error = Some(format!(
                "json: cannot unmarshal {} into Go struct field {owner}.{path} of type {go_type}",
                json_kind(value)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::registry::Registry;
    use serde_json::json;

    #[test]
    fn unknown_fields_of_builtins_are_dropped_warned_or_rejected() {
        let registry = Registry::with_builtins();
        let info = registry.lookup("apps", "v1", "deployments").unwrap();
        let body = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "bogus": 1},
            "spec": {"replicas": 2, "replica": 3, "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePolicy": "x"}]}}}});
        let mut warned = body.clone();
        let warnings = check_fields(&info, "v1", &mut warned, FieldValidation::Warn).unwrap();
        assert_eq!(
            warnings,
            vec![
                "unknown field \"metadata.bogus\"",
                "unknown field \"spec.replica\"",
                "unknown field \"spec.template.spec.containers[0].imagePolicy\""
            ]
        );
        assert!(warned["spec"].get("replica").is_none());
        assert_eq!(warned["spec"]["replicas"], 2);
        let mut strict = body.clone();
        let err = check_fields(&info, "v1", &mut strict, FieldValidation::Strict).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message
                .starts_with("strict decoding error: unknown field \"metadata.bogus\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn empty_maps_lists_and_nulls_of_builtins_are_dropped_like_go_does() {
        let registry = Registry::with_builtins();
        let info = registry.lookup("", "v1", "configmaps").unwrap();
        let mut body = json!({"metadata": {"name": "c", "labels": {}, "finalizers": [], "annotations": null},
            "data": {"a": "1"}});
        check_fields(&info, "v1", &mut body, FieldValidation::Strict).unwrap();
        assert_eq!(body, json!({"metadata": {"name": "c"}, "data": {"a": "1"}}));
        let deployments = registry.lookup("apps", "v1", "deployments").unwrap();
        let mut d = json!({"metadata": {"name": "d"}, "spec": {"template": {"spec": {"securityContext": {}}}}});
        check_fields(&deployments, "v1", &mut d, FieldValidation::Strict).unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["securityContext"],
            json!({}),
            "empty structs stay"
        );
    }

    #[test]
    fn wrong_types_in_builtins_are_decoding_errors() {
        let registry = Registry::with_builtins();
        let info = registry.lookup("apps", "v1", "deployments").unwrap();
        let mut body = json!({"metadata": {"name": "web"}, "spec": {"replicas": "two"}});
        let err = check_fields(&info, "v1", &mut body, FieldValidation::Warn).unwrap_err();
        assert_eq!(
            err.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let mut quantities = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i",
            "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}, "ports": [{"containerPort": 80}]}]}});
        let pods = registry.lookup("", "v1", "pods").unwrap();
        assert!(
            check_fields(&pods, "v1", &mut quantities, FieldValidation::Strict)
                .unwrap()
                .is_empty()
        );
    }
}
