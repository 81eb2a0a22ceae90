//! Recognising applies that change nothing, so the common re-apply of an unchanged
//! configuration skips merging, comparing and re-encoding managed fields.

use super::walk::{Level, Shape, field, index_items, is_empty_container, items_of, shape, values_equal};
use serde_json::{Map, Value};
use shared::schema::SchemaNode;

/// Whether two objects are equal, `metadata.managedFields` aside.
pub(crate) fn same_object(a: &Value, b: &Value) -> bool {
    fn equal(a: &Value, b: &Value, level: Level) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let visible = |m: &Map<String, Value>| m.keys().filter(|k| !level.skips(k)).count();
                visible(x) == visible(y)
                    && x.iter()
                        .filter(|(k, _)| !level.skips(k))
                        .all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w, level.below(k))))
            }
            _ => values_equal(a, b),
        }
    }
    equal(a, b, Level::Root)
}

/// True when merging `applied` into `live` would give `live` back: every applied value is
/// already there, list items in the same relative order, and `live` has no explicit nulls (a
/// merge drops them). Allocates nothing for maps and scalars.
pub(crate) fn applies_cleanly(live: &Value, applied: &Value, schema: SchemaNode<'_>) -> bool {
    fn no_nulls(value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::Object(map) => map.values().all(no_nulls),
            Value::Array(items) => items.iter().all(no_nulls),
            _ => true,
        }
    }
    no_nulls(live) && clean(live, applied, schema, Level::Root)
}

fn clean(live: &Value, applied: &Value, schema: SchemaNode<'_>, level: Level) -> bool {
    let both_empty = is_empty_container(live) && is_empty_container(applied);
    if both_empty || std::mem::discriminant(live) != std::mem::discriminant(applied) {
        return values_equal(live, applied);
    }
    match (shape(schema, applied), live, applied) {
        (Shape::Map, Value::Object(lhs), Value::Object(rhs)) => rhs.iter().all(|(key, right)| {
            if level.skips(key) {
                return true;
            }
            match lhs.get(key) {
                // A null lands on nothing and is dropped.
                None => right.is_null(),
                Some(left) => !right.is_null() && clean(left, right, field(schema, key).0, level.below(key)),
            }
        }),
        (Shape::Associative(keys), Value::Array(lhs), Value::Array(rhs)) => {
            let items = items_of(schema);
            let (Some(left), Some(right)) = (index_items(lhs, keys, items), index_items(rhs, keys, items)) else {
                return false;
            };
            let mut last_position = None;
            right.elements.iter().all(|element| {
                let (Some(Some(l)), Some(Some(r))) = (left.by_element.get(element), right.by_element.get(element))
                else {
                    return false;
                };
                let position = left.elements.iter().position(|e| e == element);
                let in_order = position > last_position;
                last_position = position;
                in_order && clean(l, r, items, Level::Other)
            })
        }
        _ => values_equal(live, applied),
    }
}
