//! Validation of custom resources against their CRD version's `openAPIV3Schema`: types, required
//! fields, enums, numeric bounds, patterns, string lengths, list sizes and `x-kubernetes-list-type`
//! keys, worded as kube-apiserver's OpenAPI validation words them.

use serde_json::{Map, Value, json};

use crate::apiserver::errors::{FieldCause, go_value};
use crate::apiserver::meta;
use crate::apiserver::registry::ResourceInfo;

/// Validates a custom resource against its version's schema.
pub fn validate_custom_resource(info: &ResourceInfo, object: &Value) -> Vec<FieldCause> {
    let version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(|v| meta::split_api_version(v).1.to_string())
        .unwrap_or_else(|| info.storage_version.clone());
    let mut causes = Vec::new();
    let Some(schema) = info.version(&version).and_then(|v| v.schema.clone()) else {
        return causes;
    };
    let Some(map) = object.as_object() else { return causes };
    let root: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut root_schema = (*schema).clone();
    if let Some(required) = root_schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !matches!(r.as_str(), Some("apiVersion" | "kind" | "metadata")));
    }
    validate_value(&Value::Object(root), &root_schema, "", &mut causes);
    causes
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn validate_value(value: &Value, schema: &Value, path: &str, causes: &mut Vec<FieldCause>) {
    let field = if path.is_empty() {
        "<root>".to_string()
    } else {
        path.to_string()
    };
    let actual = type_name(value);
    if value.is_null() {
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&json!(true)) {
        if !matches!(actual, "integer" | "string") {
            causes.push(type_invalid(&field, actual, "integer,string"));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let fits = expected == actual || (expected == "number" && actual == "integer");
        if !fits {
            causes.push(type_invalid(&field, actual, expected));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let supported: Vec<String> = options.iter().map(go_value).collect();
        causes.push(FieldCause {
            reason: "FieldValueNotSupported",
            field: field.clone(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                supported.join(", ")
            ),
        });
    }
    match value {
        Value::String(s) => validate_string(s, value, schema, &field, causes),
        Value::Number(n) => validate_number(n.as_f64().unwrap_or(0.0), value, schema, &field, causes),
        Value::Array(items) => validate_array(items, value, schema, &field, path, causes),
        Value::Object(map) => validate_object(map, schema, path, causes),
        _ => {}
    }
}

fn type_invalid(field: &str, actual: &str, expected: &str) -> FieldCause {
    FieldCause {
        reason: "FieldValueTypeInvalid",
        field: field.to_string(),
        message: format!("Invalid value: {actual:?}: {field} in body must be of type {expected}: {actual:?}"),
    }
}

fn validate_string(s: &str, value: &Value, schema: &Value, field: &str, causes: &mut Vec<FieldCause>) {
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && s.chars().count() as u64 > max
    {
        causes.push(FieldCause {
            reason: "FieldValueTooLong",
            field: field.to_string(),
            message: format!("Too long: may not be more than {max} bytes"),
        });
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && (s.chars().count() as u64) < min
    {
        causes.push(FieldCause::invalid(
            field,
            value,
            &format!("{field} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Ok(re) = regex::Regex::new(pattern)
        && !re.is_match(s)
    {
        causes.push(FieldCause::invalid(
            field,
            value,
            &format!("{field} in body should match '{pattern}'"),
        ));
    }
}

fn validate_number(n: f64, value: &Value, schema: &Value, field: &str, causes: &mut Vec<FieldCause>) {
    let exclusive = |key: &str| schema.get(key) == Some(&json!(true));
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if exclusive("exclusiveMinimum") && n <= min {
            causes.push(FieldCause::invalid(
                field,
                value,
                &format!("{field} in body should be greater than {min}"),
            ));
        } else if n < min {
            causes.push(FieldCause::invalid(
                field,
                value,
                &format!("{field} in body should be greater than or equal to {min}"),
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if exclusive("exclusiveMaximum") && n >= max {
            causes.push(FieldCause::invalid(
                field,
                value,
                &format!("{field} in body should be less than {max}"),
            ));
        } else if n > max {
            causes.push(FieldCause::invalid(
                field,
                value,
                &format!("{field} in body should be less than or equal to {max}"),
            ));
        }
    }
}

fn validate_array(
    items: &[Value],
    value: &Value,
    schema: &Value,
    field: &str,
    path: &str,
    causes: &mut Vec<FieldCause>,
) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        causes.push(FieldCause {
            reason: "FieldValueTooMany",
            field: field.to_string(),
            message: format!("Too many: {}: must have at most {max} items", items.len()),
        });
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        causes.push(FieldCause::invalid(
            field,
            &json!(items.len()),
            &format!("{field} in body should have at least {min} items"),
        ));
    }
    let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
    if list_type == Some("set") || schema.get("uniqueItems") == Some(&json!(true)) {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                causes.push(FieldCause::duplicate(format!("{field}[{i}]"), item));
            }
        }
    }
    if list_type == Some("map") {
        let keys: Vec<&str> = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let key_of = |item: &Value| keys.iter().map(|k| item.get(*k).cloned()).collect::<Vec<_>>();
        for (i, item) in items.iter().enumerate() {
            if items[..i].iter().any(|other| key_of(other) == key_of(item)) {
                causes.push(FieldCause::duplicate(format!("{field}[{i}]"), item));
            }
        }
    }
    let _ = value;
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            validate_value(item, item_schema, &format!("{path}[{i}]"), causes);
        }
    }
}

fn validate_object(map: &Map<String, Value>, schema: &Value, path: &str, causes: &mut Vec<FieldCause>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
        if let Some(key) = required.as_str()
            && map.get(key).is_none_or(Value::is_null)
        {
            causes.push(FieldCause::required(join(key)));
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, child) in map {
        if let Some(child_schema) = properties.and_then(|p| p.get(key)).or(additional) {
            validate_value(child, child_schema, &join(key), causes);
        }
    }
}
