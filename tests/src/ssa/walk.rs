//! The schema-driven walks of structured-merge-diff over JSON objects: the field set an object
//! specifies ([`to_field_set`]), the merge of an applied configuration into a live object
//! ([`merge`]), the difference between two objects ([`compare`]), and removing paths
//! ([`remove_items`]).
//!
//! How a position is treated follows its schema: granular maps and structs recurse, atomic maps
//! and lists are leaves, `set` lists are keyed by value and `map` lists by their key fields
//! (missing keys take the schema default, e.g. a container port's `protocol: TCP`). Untyped data
//! is "deduced": objects are granular maps, lists are atomic.

use super::path::{PathElement, compare_values};
use super::set::FieldSet;
use serde_json::{Map, Value};
use shared::schema::{ListType, MapType, SchemaKind, SchemaNode};
use std::collections::{BTreeMap, BTreeSet};

/// How a value at a schema position is walked.
enum Shape<'s> {
    /// Replaced and owned as a whole.
    Leaf,
    /// Merged key by key.
    Map,
    /// Merged item by item; items are identified by `keys` (empty: by value).
    Associative(&'s [String]),
}

fn shape<'s>(schema: SchemaNode<'s>, value: &Value) -> Shape<'s> {
    match (schema.kind(), value) {
        (SchemaKind::Object | SchemaKind::Map, Value::Object(_)) if schema.map_type() == MapType::Granular => {
            Shape::Map
        }
        (SchemaKind::Untyped, Value::Object(_)) => Shape::Map,
        (SchemaKind::List, Value::Array(_)) => match schema.list_type() {
            ListType::Atomic => Shape::Leaf,
            ListType::Set => Shape::Associative(&[]),
            ListType::Map(keys) => Shape::Associative(keys),
        },
        _ => Shape::Leaf,
    }
}

/// Where the walk is relative to `metadata.managedFields`, which no walk may see.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Root,
    Metadata,
    Other,
}

impl Level {
    fn below(self, key: &str) -> Level {
        match (self, key) {
            (Level::Root, "metadata") => Level::Metadata,
            _ => Level::Other,
        }
    }

    fn skips(self, key: &str) -> bool {
        self == Level::Metadata && key == "managedFields"
    }
}

/// Identifies a list item of an associative list (`k:{...}` or `v:...`).
pub(crate) fn item_element(item: &Value, keys: &[String], items: SchemaNode<'_>) -> Result<PathElement, String> {
    if keys.is_empty() {
        return match item {
            Value::Object(m) if !m.is_empty() => {
                Err("associative list without keys has an element that's a map type".into())
            }
            Value::Array(l) if !l.is_empty() => Err("not supported: associative list with lists as elements".into()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".into()),
            other => Ok(PathElement::Value(other.clone())),
        };
    }
    let Value::Object(fields) = item else {
        return Err(if item.is_null() {
            "associative list with keys may not have a null element".into()
        } else {
            "associative list with keys may not have non-map elements".into()
        });
    };
    let mut key_values: Vec<(Box<str>, Value)> = Vec::with_capacity(keys.len());
    for key in keys {
        let value = match fields.get(key.as_str()) {
            Some(value) => value.clone(),
            None => match items.field(key).and_then(|f| f.default_value()) {
                Some(default) => default.clone(),
                None => {
                    return Err(format!(
                        "associative list with keys has an element that omits key field \"{key}\" (and doesn't have default value)"
                    ));
                }
            },
        };
        key_values.push((key.as_str().into(), value));
    }
    key_values.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(PathElement::Key(key_values.into()))
}

/// Field set of an object, as structured-merge-diff's `ToFieldSet` computes it for an applied
/// configuration: leaves, list items, and map entries that are null or empty.
pub(crate) fn to_field_set(value: &Value, schema: SchemaNode<'_>) -> Result<FieldSet, (String, String)> {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    field_set_into(value, schema, Level::Root, &mut path, &mut set)?;
    Ok(set)
}

fn field_set_into(
    value: &Value,
    schema: SchemaNode<'_>,
    level: Level,
    path: &mut Vec<PathElement>,
    set: &mut FieldSet,
) -> Result<(), (String, String)> {
    let located = |path: &[PathElement], reason: String| (super::path::FieldPath(path.to_vec()).to_string(), reason);
    check_type(value, schema).map_err(|reason| located(path, reason))?;
    match (shape(schema, value), value) {
        (Shape::Map, Value::Object(map)) => {
            for (key, child) in map {
                if level.skips(key) {
                    continue;
                }
                let declared = schema.declares(key);
                let child_schema = schema.field_or_untyped(key);
                path.push(PathElement::Field(key.as_str().into()));
                field_set_into(child, child_schema, level.below(key), path, set)?;
                let empty_map = child.as_object().is_some_and(Map::is_empty);
                if child.is_null() || empty_map || !declared {
                    set.insert(path);
                }
                path.pop();
            }
        }
        (Shape::Associative(keys), Value::Array(items)) => {
            let item_schema = schema.items().unwrap_or_else(|| SchemaNode::untyped());
            let mut seen = BTreeSet::new();
            for item in items {
                let element = item_element(item, keys, item_schema).map_err(|reason| located(path, reason))?;
                if !seen.insert(element.clone()) {
                    return Err(located(path, format!("duplicate entries for key {element}")));
                }
                path.push(element);
                field_set_into(item, item_schema, Level::Other, path, set)?;
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

/// Rejects values whose JSON type the schema does not allow (what the API server reports as
/// "expected map, got string").
fn check_type(value: &Value, schema: SchemaNode<'_>) -> Result<(), String> {
    let wanted = match schema.kind() {
        SchemaKind::Object | SchemaKind::Map if !value.is_object() && !value.is_null() => "map",
        SchemaKind::List if !value.is_array() && !value.is_null() => "list",
        SchemaKind::Scalar if (value.is_object() || value.is_array()) && !schema.preserves_unknown_fields() => {
            "a scalar"
        }
        _ => return Ok(()),
    };
    Err(format!("expected {wanted}, got {}", json_type(value)))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// Values as structured-merge-diff compares them (numbers by value).
pub(crate) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b)),
        (Value::Number(_), Value::Number(_)) => compare_values(a, b).is_eq(),
        _ => a == b,
    }
}

/// Merges an applied configuration into a live object: the applied side wins on leaves,
/// granular maps merge by key, associative lists by item (applied order for shared items).
pub(crate) fn merge(live: &Value, applied: &Value, schema: SchemaNode<'_>, level: Level) -> Value {
    let both_empty = is_empty_container(live) && is_empty_container(applied);
    match (shape(schema, applied), live, applied) {
        (_, _, _) if both_empty || std::mem::discriminant(live) != std::mem::discriminant(applied) => applied.clone(),
        (Shape::Map, Value::Object(lhs), Value::Object(rhs)) => {
            let mut out = Map::with_capacity(lhs.len().max(rhs.len()));
            for (key, left) in lhs {
                if level.skips(key) {
                    continue;
                }
                let merged = match rhs.get(key) {
                    Some(right) => merge(left, right, schema.field_or_untyped(key), level.below(key)),
                    None => left.clone(),
                };
                out.insert(key.clone(), merged);
            }
            for (key, right) in rhs {
                if !lhs.contains_key(key) && !level.skips(key) {
                    out.insert(key.clone(), right.clone());
                }
            }
            Value::Object(out)
        }
        (Shape::Associative(keys), Value::Array(lhs), Value::Array(rhs)) => {
            let items = schema.items().unwrap_or_else(|| SchemaNode::untyped());
            merge_list(lhs, rhs, keys, items).unwrap_or_else(|| applied.clone())
        }
        _ => applied.clone(),
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(l) => l.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Indexes list items by path element; `None` marks a duplicated element.
fn index_items<'v>(items: &'v [Value], keys: &[String], schema: SchemaNode<'_>) -> Option<IndexedItems<'v>> {
    let mut elements = Vec::with_capacity(items.len());
    let mut by_element: BTreeMap<PathElement, Option<&'v Value>> = BTreeMap::new();
    for item in items {
        let element = item_element(item, keys, schema).ok()?;
        match by_element.get_mut(&element) {
            Some(slot) => *slot = None,
            None => {
                by_element.insert(element.clone(), Some(item));
                elements.push(element);
            }
        }
    }
    Some(IndexedItems { elements, by_element })
}

struct IndexedItems<'v> {
    /// Distinct elements in list order.
    elements: Vec<PathElement>,
    by_element: BTreeMap<PathElement, Option<&'v Value>>,
}

/// structured-merge-diff's list merge: items shared by both sides follow the applied order,
/// live-only items keep their place relative to them, applied-only items come where applied.
fn merge_list(lhs: &[Value], rhs: &[Value], keys: &[String], items: SchemaNode<'_>) -> Option<Value> {
    let left = index_items(lhs, keys, items)?;
    let right = index_items(rhs, keys, items)?;
    let merge_item = |element: &PathElement| -> Option<Value> {
        let l = left.by_element.get(element).copied().flatten();
        let r = right.by_element.get(element).copied().flatten();
        match (l, r) {
            (Some(l), Some(r)) => Some(merge(l, r, items, Level::Other)),
            (None, Some(r)) => Some(r.clone()),
            (Some(l), None) => Some(l.clone()),
            (None, None) => None,
        }
    };
    let mut shared = right.elements.iter().filter(|e| left.by_element.contains_key(*e));
    let mut next_shared = shared.next();
    let mut merged_right: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (llen, rlen) = (left.elements.len(), right.elements.len());
    let (mut li, mut ri) = (0, 0);
    while li < llen || ri < rlen {
        if li < llen && ri < rlen {
            let element = &left.elements[li];
            if *element == right.elements[ri] {
                merged_right.insert(element);
                out.extend(merge_item(element));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if right.by_element.contains_key(element) && next_shared.is_some_and(|n| n != element) {
                li += 1;
                continue;
            }
        }
        if li < llen {
            let element = &left.elements[li];
            if !right.by_element.contains_key(element) {
                out.extend(merge_item(element));
                li += 1;
                continue;
            } else if merged_right.contains(element) {
                li += 1;
                continue;
            }
        }
        if ri < rlen {
            let element = &right.elements[ri];
            merged_right.insert(element);
            out.extend(merge_item(element));
            ri += 1;
            if next_shared == Some(element) {
                next_shared = shared.next();
            }
        }
    }
    Some(Value::Array(out))
}

/// What changed between two versions of an object.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

/// structured-merge-diff's `Compare`: leaves that were added, changed or removed, plus the
/// maps and list items that appeared or disappeared as a whole.
pub(crate) fn compare(old: &Value, new: &Value, schema: SchemaNode<'_>) -> Comparison {
    let mut comparison = Comparison::default();
    let mut path = Vec::new();
    compare_into(Some(old), Some(new), schema, Level::Root, &mut path, &mut comparison);
    comparison
}

fn compare_into(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: SchemaNode<'_>,
    level: Level,
    path: &mut Vec<PathElement>,
    out: &mut Comparison,
) {
    let probe = new.or(old).unwrap_or(&Value::Null);
    let both_empty = old.is_none_or(is_empty_container) && new.is_none_or(is_empty_container);
    let same_type = match (old, new) {
        (Some(a), Some(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
        _ => true,
    };
    let shape = if both_empty || !same_type {
        Shape::Leaf
    } else {
        shape(schema, probe)
    };
    match shape {
        Shape::Leaf => {
            match (old, new) {
                (None, Some(_)) => out.added.insert(path),
                (Some(_), None) => out.removed.insert(path),
                (Some(a), Some(b)) if !values_equal(a, b) => out.modified.insert(path),
                _ => {}
            }
            return;
        }
        Shape::Map => {
            let empty = Map::new();
            let lhs = old.and_then(Value::as_object).unwrap_or(&empty);
            let rhs = new.and_then(Value::as_object).unwrap_or(&empty);
            for (key, left) in lhs {
                if level.skips(key) {
                    continue;
                }
                path.push(PathElement::Field(key.as_str().into()));
                compare_into(
                    Some(left),
                    rhs.get(key),
                    schema.field_or_untyped(key),
                    level.below(key),
                    path,
                    out,
                );
                path.pop();
            }
            for (key, right) in rhs {
                if lhs.contains_key(key) || level.skips(key) {
                    continue;
                }
                path.push(PathElement::Field(key.as_str().into()));
                compare_into(
                    None,
                    Some(right),
                    schema.field_or_untyped(key),
                    level.below(key),
                    path,
                    out,
                );
                path.pop();
            }
        }
        Shape::Associative(keys) => {
            let items = schema.items().unwrap_or_else(|| SchemaNode::untyped());
            let no_items: Vec<Value> = Vec::new();
            let lhs = old.and_then(Value::as_array).unwrap_or(&no_items);
            let rhs = new.and_then(Value::as_array).unwrap_or(&no_items);
            match (index_items(lhs, keys, items), index_items(rhs, keys, items)) {
                (Some(left), Some(right)) => {
                    for element in &left.elements {
                        let l = left.by_element[element];
                        let r = right.by_element.get(element).copied();
                        path.push(element.clone());
                        match (l, r) {
                            (Some(l), Some(Some(r))) => compare_into(Some(l), Some(r), items, Level::Other, path, out),
                            (Some(l), None) => compare_into(Some(l), None, items, Level::Other, path, out),
                            // Duplicated items cannot be matched: call the element modified.
                            _ => out.modified.insert(path),
                        }
                        path.pop();
                    }
                    for element in &right.elements {
                        if left.by_element.contains_key(element) {
                            continue;
                        }
                        path.push(element.clone());
                        match right.by_element[element] {
                            Some(r) => compare_into(None, Some(r), items, Level::Other, path, out),
                            None => out.modified.insert(path),
                        }
                        path.pop();
                    }
                }
                // Items that cannot be keyed: treat the list as one value.
                _ => {
                    if !values_equal(old.unwrap_or(&Value::Null), new.unwrap_or(&Value::Null)) {
                        out.modified.insert(path);
                    }
                    return;
                }
            }
        }
    }
    match (old, new) {
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        _ => {}
    }
}

/// Removes from `value` every map entry and list item whose path is a member of `set`.
pub(crate) fn remove_items(value: &mut Value, set: &FieldSet, schema: SchemaNode<'_>) {
    if set.is_empty() {
        return;
    }
    match (shape(schema, value), value) {
        (Shape::Map, Value::Object(map)) => {
            map.retain(|key, child| {
                let element = PathElement::Field(key.as_str().into());
                if set.is_member(&element) {
                    return false;
                }
                if let Some(below) = set.child(&element) {
                    remove_items(child, below, schema.field_or_untyped(key));
                }
                true
            });
        }
        (Shape::Associative(keys), Value::Array(list)) => {
            let items = schema.items().unwrap_or_else(|| SchemaNode::untyped());
            list.retain_mut(|item| {
                let Ok(element) = item_element(item, keys, items) else {
                    return true;
                };
                if set.is_member(&element) {
                    return false;
                }
                if let Some(below) = set.child(&element) {
                    remove_items(item, below, items);
                }
                true
            });
        }
        _ => {}
    }
}

/// Adds to a set the struct fields on the way to its members (structured-merge-diff's
/// `EnsureNamedFieldsAreMembers`), so that owning `spec.a.b` also means owning `spec.a` when
/// `a` is a named field, but not when it is a map key.
pub(crate) fn with_named_fields(set: &FieldSet, schema: SchemaNode<'_>) -> FieldSet {
    let mut out = set.clone();
    out.mark_named_fields(
        &|parent: SchemaNode<'_>, element: &PathElement| match element {
            PathElement::Field(name) => (parent.declares(name), parent.field_or_untyped(name)),
            _ => (false, parent.items().unwrap_or_else(|| SchemaNode::untyped())),
        },
        schema,
    );
    out
}
