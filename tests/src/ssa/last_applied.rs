//! Upgrading from client-side apply: the `kubectl.kubernetes.io/last-applied-configuration`
//! annotation tells which conflicts an apply by `kubectl` may resolve in its own favour, and
//! is kept in sync with what `kubectl` applies server-side.

use super::set::FieldSet;
use super::{text, walk};
use serde_json::Value;
use shared::schema::SchemaNode;

/// The fields of the client-side apply annotation whose values the live object still has.
pub(crate) fn allowed_by_last_applied(live: &Value, root: SchemaNode<'_>) -> Option<FieldSet> {
    let annotation = live
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")?
        .as_str()
        .filter(|s| !s.is_empty())?;
    let last_applied: Value = serde_json::from_str(annotation).ok()?;
    if text(&last_applied, "apiVersion") != text(live, "apiVersion") {
        return None;
    }
    let mut set = walk::to_field_set(&last_applied, root).ok()?;
    let comparison = walk::compare(&last_applied, live, root);
    set.subtract(&comparison.modified);
    set.subtract(&comparison.added);
    set.subtract(&comparison.removed);
    Some(set)
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Whether an object carries the client-side apply annotation.
pub(crate) fn has_last_applied(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(LAST_APPLIED))
}

/// Keeps an existing client-side apply annotation equal to what `kubectl` applied server-side.
pub(crate) fn sync_last_applied(object: &mut Value, applied: &Value) {
    if !has_last_applied(object) {
        return;
    }
    let mut recorded = applied.clone();
    if let Some(annotations) = recorded
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.shift_remove(LAST_APPLIED);
    }
    let text = format!("{}\n", sorted(&recorded));
    if let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(LAST_APPLIED.to_string(), Value::String(text));
    }
}

/// A value with object keys sorted, as Go's `encoding/json` writes maps.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
