//! The schema-driven walks of structured-merge-diff over JSON objects: the field set an object
//! specifies ([`to_field_set`]), the merge of an applied configuration into a live object
//! ([`merge`]), the difference between two objects ([`compare`]), removing paths
//! ([`remove_items`]) and the paths a re-apply may prune ([`prunable`]). Checks for applies that
//! change nothing are in [`super::noop`].
//!
//! How a position is treated follows its schema: granular maps and structs recurse, atomic maps
//! and lists are leaves, `set` lists are keyed by value and `map` lists by their key fields
//! (missing keys take the schema default, e.g. a container port's `protocol: TCP`). Untyped data
//! is "deduced": objects are granular maps, lists are atomic.
//!
//! Sets are built bottom-up: a node is allocated only when something below it is in the set,
//! so walking unchanged parts of an object costs no allocation.

use super::path::{FieldPath, PathElement, compare_values};
use super::set::FieldSet;
use serde_json::{Map, Value};
use shared::schema::{ListType, MapType, SchemaKind, SchemaNode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How a value at a schema position is walked.
pub(crate) enum Shape<'s> {
    /// Replaced and owned as a whole.
    Leaf,
    /// Merged key by key.
    Map,
    /// Merged item by item; items are identified by `keys` (empty: by value).
    Associative(&'s [String]),
}

pub(crate) fn shape<'s>(schema: SchemaNode<'s>, value: &Value) -> Shape<'s> {
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
    pub(crate) fn below(self, key: &str) -> Level {
        match (self, key) {
            (Level::Root, "metadata") => Level::Metadata,
            _ => Level::Other,
        }
    }

    pub(crate) fn skips(self, key: &str) -> bool {
        self == Level::Metadata && key == "managedFields"
    }
}

/// The schema of field `key` and its path element (sharing the schema's copy of the name).
pub(crate) fn field<'s>(schema: SchemaNode<'s>, key: &str) -> (SchemaNode<'s>, Option<&'s Arc<str>>) {
    match schema.declared_field(key) {
        Some((name, child)) => (child, Some(name)),
        None => (schema.field_or_untyped(key), None),
    }
}

fn field_element(name: Option<&Arc<str>>, key: &str) -> PathElement {
    PathElement::Field(name.cloned().unwrap_or_else(|| Arc::from(key)))
}

pub(crate) fn items_of(schema: SchemaNode<'_>) -> SchemaNode<'_> {
    schema.items().unwrap_or_else(|| SchemaNode::untyped())
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

/// A path (relative to the root) and what is wrong there.
pub(crate) type Located = (String, String);

/// A failure below a node: the path from the failing node up (innermost first) and why.
struct Failure {
    reversed_path: Vec<PathElement>,
    reason: String,
}

impl Failure {
    fn here(reason: String) -> Self {
        Failure {
            reversed_path: Vec::new(),
            reason,
        }
    }

    fn under(mut self, element: PathElement) -> Self {
        self.reversed_path.push(element);
        self
    }
}

/// Field set of an object, as structured-merge-diff's `ToFieldSet` computes it for an applied
/// configuration: leaves, list items, and map entries that are null, empty or not declared.
pub(crate) fn to_field_set(value: &Value, schema: SchemaNode<'_>) -> Result<FieldSet, Located> {
    field_set_below(value, schema, Level::Root).map_err(|failure| {
        let mut path = failure.reversed_path;
        path.reverse();
        (FieldPath(path).to_string(), failure.reason)
    })
}

/// The paths below a node; the caller decides whether the node itself is a member.
fn field_set_below(value: &Value, schema: SchemaNode<'_>, level: Level) -> Result<FieldSet, Failure> {
    check_type(value, schema).map_err(Failure::here)?;
    let mut set = FieldSet::new();
    match (shape(schema, value), value) {
        (Shape::Map, Value::Object(map)) => {
            for (key, child) in map {
                if level.skips(key) {
                    continue;
                }
                let (child_schema, name) = field(schema, key);
                let below = field_set_below(child, child_schema, level.below(key))
                    .map_err(|f| f.under(field_element(name, key)))?;
                let empty_map = child.as_object().is_some_and(Map::is_empty);
                let leaf = !matches!(shape(child_schema, child), Shape::Map | Shape::Associative(_));
                let member = leaf || child.is_null() || empty_map || name.is_none();
                set.attach(field_element(name, key), member, below);
            }
        }
        (Shape::Associative(keys), Value::Array(items)) => {
            let item_schema = items_of(schema);
            let mut seen = BTreeSet::new();
            for (index, item) in items.iter().enumerate() {
                let element = item_element(item, keys, item_schema)
                    .map_err(|reason| Failure::here(format!("element {index}: {reason}")))?;
                if !seen.insert(element.clone()) {
                    return Err(Failure::here(format!("duplicate entries for key {element}")));
                }
                let below = field_set_below(item, item_schema, Level::Other).map_err(|f| f.under(element.clone()))?;
                set.attach(element, true, below);
            }
        }
        _ => {}
    }
    Ok(set)
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
    let got = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    };
    Err(format!("expected {wanted}, got {got}"))
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

pub(crate) fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(l) => l.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Merges an applied configuration into a live object: the applied side wins on leaves,
/// granular maps merge by key, associative lists by item (applied order for shared items).
pub(crate) fn merge(live: &Value, applied: &Value, schema: SchemaNode<'_>, level: Level) -> Value {
    let both_empty = is_empty_container(live) && is_empty_container(applied);
    if both_empty || std::mem::discriminant(live) != std::mem::discriminant(applied) {
        return applied.clone();
    }
    match (shape(schema, applied), live, applied) {
        (Shape::Map, Value::Object(lhs), Value::Object(rhs)) => {
            let mut out = Map::with_capacity(lhs.len().max(rhs.len()));
            for (key, left) in lhs {
                if level.skips(key) {
                    continue;
                }
                let merged = match rhs.get(key) {
                    Some(right) => merge(left, right, field(schema, key).0, level.below(key)),
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
            merge_list(lhs, rhs, keys, items_of(schema)).unwrap_or_else(|| applied.clone())
        }
        _ => applied.clone(),
    }
}

/// List items by path element; `None` marks a duplicated element.
pub(crate) struct IndexedItems<'v> {
    /// Distinct elements in list order.
    pub(crate) elements: Vec<PathElement>,
    pub(crate) by_element: BTreeMap<PathElement, Option<&'v Value>>,
}

pub(crate) fn index_items<'v>(items: &'v [Value], keys: &[String], schema: SchemaNode<'_>) -> Option<IndexedItems<'v>> {
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

/// Whether a node itself was added, modified (leaves only) or removed.
#[derive(Clone, Copy, Default)]
struct Change {
    added: bool,
    modified: bool,
    removed: bool,
}

impl Comparison {
    fn attach(&mut self, element: PathElement, change: Change, below: Comparison) {
        let any = change.added || change.modified || change.removed;
        if !any && below.added.is_empty() && below.modified.is_empty() && below.removed.is_empty() {
            return;
        }
        self.added.attach(element.clone(), change.added, below.added);
        self.modified.attach(element.clone(), change.modified, below.modified);
        self.removed.attach(element, change.removed, below.removed);
    }
}

/// structured-merge-diff's `Compare`: leaves that were added, changed or removed, plus the
/// maps and list items that appeared or disappeared as a whole.
pub(crate) fn compare(old: &Value, new: &Value, schema: SchemaNode<'_>) -> Comparison {
    let mut comparison = Comparison::default();
    compare_below(Some(old), Some(new), schema, Level::Root, &mut comparison);
    comparison
}

/// Fills `out` with the changes below a node and returns the change of the node itself.
fn compare_below(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: SchemaNode<'_>,
    level: Level,
    out: &mut Comparison,
) -> Change {
    let appeared = Change {
        added: old.is_none(),
        modified: false,
        removed: new.is_none(),
    };
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
            let modified = matches!((old, new), (Some(a), Some(b)) if !values_equal(a, b));
            return Change { modified, ..appeared };
        }
        Shape::Map => {
            let empty = Map::new();
            let lhs = old.and_then(Value::as_object).unwrap_or(&empty);
            let rhs = new.and_then(Value::as_object).unwrap_or(&empty);
            let visit = |key: &str, l: Option<&Value>, r: Option<&Value>, out: &mut Comparison| {
                let (child_schema, name) = field(schema, key);
                let mut below = Comparison::default();
                let change = compare_below(l, r, child_schema, level.below(key), &mut below);
                if change.added || change.modified || change.removed || !below.is_empty() {
                    out.attach(field_element(name, key), change, below);
                }
            };
            for (key, left) in lhs {
                if !level.skips(key) {
                    visit(key, Some(left), rhs.get(key), out);
                }
            }
            for (key, right) in rhs {
                if !lhs.contains_key(key) && !level.skips(key) {
                    visit(key, None, Some(right), out);
                }
            }
        }
        Shape::Associative(keys) => {
            let items = items_of(schema);
            let no_items: Vec<Value> = Vec::new();
            let lhs = old.and_then(Value::as_array).unwrap_or(&no_items);
            let rhs = new.and_then(Value::as_array).unwrap_or(&no_items);
            let (Some(left), Some(right)) = (index_items(lhs, keys, items), index_items(rhs, keys, items)) else {
                // Items that cannot be keyed: the list is one value.
                let modified = !values_equal(old.unwrap_or(&Value::Null), new.unwrap_or(&Value::Null));
                return Change { modified, ..appeared };
            };
            let mut visit = |element: &PathElement, l: Option<Option<&Value>>, r: Option<Option<&Value>>| {
                let mut below = Comparison::default();
                let change = match (l, r) {
                    (Some(Some(l)), Some(Some(r))) => compare_below(Some(l), Some(r), items, Level::Other, &mut below),
                    (Some(Some(l)), None) => compare_below(Some(l), None, items, Level::Other, &mut below),
                    (None, Some(Some(r))) => compare_below(None, Some(r), items, Level::Other, &mut below),
                    // Duplicated items cannot be matched: call the element modified.
                    _ => Change {
                        modified: true,
                        ..Change::default()
                    },
                };
                out.attach(element.clone(), change, below);
            };
            for element in &left.elements {
                visit(
                    element,
                    Some(left.by_element[element]),
                    right.by_element.get(element).copied(),
                );
            }
            for element in right.elements.iter().filter(|e| !left.by_element.contains_key(*e)) {
                visit(element, None, Some(right.by_element[element]));
            }
        }
    }
    appeared
}

impl Comparison {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
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
                if set.is_member_field(key) {
                    return false;
                }
                if let Some(below) = set.child_field(key) {
                    remove_items(child, below, field(schema, key).0);
                }
                true
            });
        }
        (Shape::Associative(keys), Value::Array(list)) => {
            let items = items_of(schema);
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

/// The paths of `last` that no set of `kept` claims, where owning anything below a named
/// struct field also counts as owning the field (structured-merge-diff's
/// `EnsureNamedFieldsAreMembers`; map keys and list items are not named fields).
pub(crate) fn prunable(last: &FieldSet, kept: &[&FieldSet], schema: SchemaNode<'_>) -> FieldSet {
    let mut out = FieldSet::new();
    for (element, member, below) in last.entries() {
        let (named, child_schema) = match element {
            PathElement::Field(name) => (schema.declares(name), field(schema, name).0),
            _ => (false, items_of(schema)),
        };
        let kept_below: Vec<&FieldSet> = kept.iter().filter_map(|k| k.child(element)).collect();
        let kept_here =
            kept.iter().any(|k| k.is_member(element)) || (named && kept_below.iter().any(|k| !k.is_empty()));
        let owned_here = member || (named && !below.is_empty());
        let sub = prunable(below, &kept_below, child_schema);
        out.attach(element.clone(), owned_here && !kept_here, sub);
    }
    out
}
