//! Tests of server-side apply against Kubernetes' documented behaviour ("Server-Side Apply":
//! managed fields, conflicts, merge strategies, transferring ownership, upgrading from
//! client-side apply) and structured-merge-diff's rules.

mod apply;
mod docs;
mod lists;
mod update;

use super::*;
use serde_json::{Value, json};
use shared::schema;

pub(super) const T1: &str = "2024-01-01T00:00:01Z";
pub(super) const T2: &str = "2024-01-01T00:00:02Z";
pub(super) const T3: &str = "2024-01-01T00:00:03Z";

pub(super) fn deployment_schema() -> &'static TypeSchema {
    schema::builtin("apps", "v1", "Deployment").expect("built-in Deployment schema")
}

pub(super) fn schema_of(object: &Value) -> Option<&'static TypeSchema> {
    schema::builtin_for(object)
}

/// Applies at a fixed time.
pub(super) fn apply_at(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, SsaError> {
    let options = ApplyOptions {
        force,
        now: Some(now),
        ..ApplyOptions::new(manager)
    };
    apply_with(live, applied, &options, schema_of(applied))
}

/// Records an update at a fixed time and returns the stored object.
pub(super) fn update_at(old: Option<&Value>, mut new: Value, manager: &str, now: &str) -> Value {
    let options = UpdateOptions {
        manager,
        subresource: None,
        scope: None,
        now: Some(now),
    };
    let schema = schema_of(&new);
    record_update_with(old, &mut new, &options, schema).unwrap();
    new
}

/// The `fieldsV1` of the entry of `manager` with `operation`.
pub(super) fn fields_of(object: &Value, manager: &str, operation: Operation) -> Value {
    let entries = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    entries
        .into_iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation.as_str())
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

pub(super) fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap(),
                        e["operation"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The owners of a field, sorted by name.
pub(super) fn owners(object: &Value, path: &[&str]) -> Vec<String> {
    let mut owners = field_owners(object, &FieldPath::fields(path)).unwrap();
    owners.sort();
    owners
}

pub(super) fn nginx(replicas: Option<i64>, image: &str) -> Value {
    let mut deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": image}]}
            }
        }
    });
    if let Some(replicas) = replicas {
        deployment["spec"]["replicas"] = json!(replicas);
    }
    deployment
}
