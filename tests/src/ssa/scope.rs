//! Which fields a write may own: never type and identity metadata, and for kinds with a
//! status subresource either everything but `status` or only `status`.

use super::set::FieldSet;
use serde_json::{Map, Value};
use shared::schema::SchemaNode;

/// Which fields a write may own, for kinds with a `status` subresource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldScope {
    /// Every field (kinds without a status subresource).
    #[default]
    Everything,
    /// The main resource of a kind with a status subresource: `status` is not owned.
    AllButStatus,
    /// The `status` subresource: only `status` is owned.
    StatusOnly,
}

pub(crate) fn default_scope(subresource: &str) -> FieldScope {
    if subresource == "status" {
        FieldScope::StatusOnly
    } else {
        FieldScope::Everything
    }
}

/// Fields of `metadata` no manager ever owns.
const STRIPPED_METADATA: [&str; 9] = [
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];

/// Removes the type and identity fields no manager ever owns (`apiVersion`, `kind`,
/// `metadata` itself, `metadata.name`, ...), keeping what is below them.
pub(crate) fn strip_identity(set: &mut FieldSet) {
    set.unmark_field("apiVersion");
    set.unmark_field("kind");
    set.unmark_field("metadata");
    set.edit_below_field("metadata", |metadata| {
        for name in STRIPPED_METADATA {
            metadata.unmark_field(name);
        }
    });
}

/// Drops the identity fields and, per scope, `status` (or everything but it).
pub(crate) fn filter(set: &mut FieldSet, scope: FieldScope) {
    strip_identity(set);
    match scope {
        FieldScope::Everything => {}
        FieldScope::AllButStatus => set.remove_field("status"),
        FieldScope::StatusOnly => set.keep_only_field("status"),
    }
}

/// The applied configuration without the top-level fields the scope does not write (type and
/// identity stay so the object still names itself).
pub(crate) fn restrict(applied: &Value, scope: FieldScope) -> Value {
    let Value::Object(map) = applied else {
        return applied.clone();
    };
    let keep = |key: &str| match scope {
        FieldScope::Everything => true,
        FieldScope::AllButStatus => key != "status",
        FieldScope::StatusOnly => matches!(key, "status" | "apiVersion" | "kind" | "metadata"),
    };
    let mut out: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if scope == FieldScope::StatusOnly
        && let Some(Value::Object(metadata)) = out.get_mut("metadata")
    {
        metadata.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "uid" | "resourceVersion"));
    }
    Value::Object(out)
}

/// What an empty object of the kind looks like to a create: the top-level structs exist.
pub(crate) fn skeleton(root: SchemaNode<'_>) -> Value {
    let mut map = Map::new();
    for name in ["metadata", "spec", "status"] {
        if root.declares(name) || (name == "metadata" && root.is_untyped()) {
            map.insert(name.to_string(), Value::Object(Map::new()));
        }
    }
    Value::Object(map)
}
