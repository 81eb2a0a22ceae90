//! Strategic merge as Kustomize applies `patches` / `patchesStrategicMerge` (kyaml's `merge2`
//! with patch items prepended), which differs from the API server's in ways users see:
//!
//! - list items from the patch come first, in patch order, then the original's other items;
//! - lists are merged only where the schema gives a `merge` strategy (types without schema, e.g.
//!   custom resources, have their lists replaced); the patch strategy `replace` is ignored;
//! - `$patch: delete` removes a field (or, at the top, the whole object: `Ok(None)`),
//!   `$patch: replace` replaces it, and a `{$patch: replace}` list item replaces the list;
//! - `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...` are not
//!   directives here: Kustomize keeps them as ordinary fields;
//! - null deletes, in new values too; emptied maps stay (`labels: {}`);
//! - items are matched by the string form of their keys (`"80"` matches `80`); in lists keyed by
//!   several fields (container ports: `containerPort` + `protocol`), a patch item that matches an
//!   original item on the keys both give, but not on all keys, is dropped;
//! - a patch item without its merge key matches, and deletes, every original item that has it.
//!
//! Each rule is checked against `kubectl kustomize` (see `testdata/kustomize-cases.json`).

use super::path::Path;
use super::{PatchError, type_name};
use crate::schema::{ListType, SchemaNode, TypeSchema, root_or_untyped};
use serde_json::{Map, Value};

const DIRECTIVE: &str = "$patch";

/// Applies `patch` to `original` as Kustomize's strategic merge does. `Ok(None)` means the
/// patch deletes the object (`$patch: delete` at its top).
pub fn kustomize_strategic_merge(
    original: &Value,
    patch: &Value,
    schema: Option<&TypeSchema>,
) -> Result<Option<Value>, PatchError> {
    let root = Path::ROOT;
    match walk(Some(original), Some(patch), root_or_untyped(schema), &root) {
        Ok(Outcome::Keep(value)) => Ok(Some(value)),
        Ok(Outcome::Clear) => Ok(None),
        Err((path, reason)) => Err(PatchError::ApplyStrategicMerge { path, reason }),
    }
}

/// The result of walking one position.
enum Outcome {
    /// The position is set to this value.
    Keep(Value),
    /// The position is removed.
    Clear,
}

type Walked = Result<Outcome, (String, String)>;

fn fail(path: &Path<'_>, reason: String) -> (String, String) {
    (path.pointer(), reason)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        _ => "a scalar",
    }
}

/// kyaml's `Walker.Walk` with the `Merger` visitor: `dest` is the original, `origin` the patch
/// (`None`: absent; `Some(Null)`: an explicit null).
fn walk(dest: Option<&Value>, origin: Option<&Value>, schema: SchemaNode<'_>, path: &Path<'_>) -> Walked {
    let (dest_value, origin_value) = (present(dest), present(origin));
    if let (Some(d), Some(o)) = (dest_value, origin_value)
        && std::mem::discriminant(&kind_of(d)) != std::mem::discriminant(&kind_of(o))
    {
        return Err(fail(
            path,
            format!("wrong node kind: expected {} but got {}", kind_name(d), kind_name(o)),
        ));
    }
    match dest_value.or(origin_value) {
        Some(Value::Array(_)) => walk_list(dest, origin, schema, path),
        Some(Value::Object(_)) | None => walk_map(dest, origin, schema, path),
        Some(_) => Ok(match origin {
            Some(Value::Null) => Outcome::Clear,
            Some(value) => Outcome::Keep(value.clone()),
            None => dest.cloned().map_or(Outcome::Clear, Outcome::Keep),
        }),
    }
}

fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn kind_of(value: &Value) -> Value {
    match value {
        Value::Object(_) => Value::Object(Map::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// The `$patch` directive of a patch map and the map without it.
fn map_directive<'v>(map: &'v Map<String, Value>, path: &Path<'_>) -> Result<Option<&'v str>, (String, String)> {
    match map.get(DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(d)) if matches!(d.as_str(), "delete" | "replace" | "merge") => Ok(Some(d.as_str())),
        Some(other) => Err(fail(
            path,
            format!(
                "unknown patch strategy '{}'",
                other.as_str().map_or_else(|| other.to_string(), str::to_string)
            ),
        )),
    }
}

fn without_directive(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| k.as_str() != DIRECTIVE)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn walk_map(dest: Option<&Value>, origin: Option<&Value>, schema: SchemaNode<'_>, path: &Path<'_>) -> Walked {
    let dest_map = dest.and_then(Value::as_object);
    let Some(dest_map) = dest_map else {
        // Nothing to merge into: the patch value is added, with its own directives and nulls
        // resolved (kyaml merges it into itself).
        return match origin {
            None => Ok(match dest {
                Some(Value::Null) => Outcome::Keep(Value::Null),
                _ => Outcome::Clear,
            }),
            Some(Value::Object(map)) => {
                if map.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                    return Ok(Outcome::Clear);
                }
                let added = match map_directive(map, path) {
                    Ok(Some(_)) => without_directive(map),
                    _ => map.clone(),
                };
                clean_map(&added, schema, path)
            }
            Some(_) => Ok(Outcome::Clear),
        };
    };
    let origin_map = match origin {
        None => return Ok(Outcome::Keep(Value::Object(dest_map.clone()))),
        Some(Value::Null) => return Ok(Outcome::Clear),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(fail(
                path,
                format!("wrong node kind: expected a map but got {}", type_name(other)),
            ));
        }
    };
    match map_directive(origin_map, path)? {
        Some("delete") => Ok(Outcome::Clear),
        Some("replace") => clean_map(&without_directive(origin_map), schema, path),
        _ => merge_fields(dest_map, origin_map, schema, path),
    }
}

/// A patch value that lands on nothing: kyaml merges it into itself, which resolves nested
/// directives and drops nulls.
fn clean_map(map: &Map<String, Value>, schema: SchemaNode<'_>, path: &Path<'_>) -> Walked {
    merge_fields(map, map, schema, path)
}

/// Merges the fields of two maps; fields new to `dest` come after its own, in name order.
fn merge_fields(
    dest: &Map<String, Value>,
    origin: &Map<String, Value>,
    schema: SchemaNode<'_>,
    path: &Path<'_>,
) -> Walked {
    // A recognised directive was consumed by the caller (kyaml elides it from the patch, which
    // is also the original when a value merges into itself).
    let directive_consumed = matches!(
        origin.get(DIRECTIVE).and_then(Value::as_str),
        Some("delete" | "replace" | "merge")
    );
    let mut out = Map::with_capacity(dest.len() + origin.len());
    for (key, value) in dest {
        if key == DIRECTIVE && directive_consumed {
            continue;
        }
        let child_path = path.key(key);
        match walk(Some(value), origin.get(key), schema.field_or_untyped(key), &child_path)? {
            Outcome::Keep(v) => {
                out.insert(key.clone(), v);
            }
            Outcome::Clear => {}
        }
    }
    let mut new_keys: Vec<&String> = origin
        .keys()
        .filter(|k| !dest.contains_key(*k) && *k != DIRECTIVE)
        .collect();
    new_keys.sort();
    for key in new_keys {
        let child_path = path.key(key);
        if let Outcome::Keep(v) = walk(None, origin.get(key), schema.field_or_untyped(key), &child_path)? {
            out.insert(key.clone(), v);
        }
    }
    Ok(Outcome::Keep(Value::Object(out)))
}

/// Whether kyaml merges this list item by item: only where the schema says `merge`.
fn merge_keys(schema: SchemaNode<'_>) -> Option<Vec<String>> {
    if !schema.patch_strategy().merge {
        return None;
    }
    Some(match schema.list_type() {
        ListType::Map(keys) => keys.to_vec(),
        _ => schema
            .patch_merge_key()
            .map(|k| vec![k.to_string()])
            .unwrap_or_default(),
    })
}

fn walk_list(dest: Option<&Value>, origin: Option<&Value>, schema: SchemaNode<'_>, path: &Path<'_>) -> Walked {
    let Some(keys) = merge_keys(schema) else {
        // Not associative: the patch list (or null) replaces the original as written.
        return Ok(match origin {
            Some(Value::Null) => Outcome::Clear,
            Some(value) => Outcome::Keep(value.clone()),
            None => dest.cloned().map_or(Outcome::Clear, Outcome::Keep),
        });
    };
    let items = schema.items().unwrap_or_else(|| SchemaNode::untyped());
    let origin_list = match origin {
        Some(Value::Null) if dest.is_some_and(|d| !d.is_null()) => return Ok(Outcome::Clear),
        Some(Value::Array(list)) => Some(list),
        _ => None,
    };
    let dest_list = dest.and_then(Value::as_array);
    let (patch_items, directive) = match origin_list {
        Some(list) => split_list_directive(list),
        None => (Vec::new(), None),
    };
    if directive == Some("delete") {
        return Err(fail(
            path,
            "delete is not a supported patch strategy for lists".to_string(),
        ));
    }
    // Replaced, or nothing to merge into: the patch items merge into themselves.
    let base: Vec<&Value> = match dest_list {
        Some(list) if directive != Some("replace") => list.iter().collect(),
        _ => patch_items.clone(),
    };
    let merged = if keys.is_empty() {
        merge_scalars(&base, &patch_items)
    } else {
        merge_items(&base, &patch_items, &keys, items, path)?
    };
    Ok(Outcome::Keep(Value::Array(merged)))
}

/// Separates a list directive item (`{$patch: replace}`, a map with no other key).
fn split_list_directive(list: &[Value]) -> (Vec<&Value>, Option<&str>) {
    let mut directive = None;
    let mut rest = Vec::with_capacity(list.len());
    for item in list {
        match item.as_object() {
            Some(map) if map.len() == 1 && directive.is_none() => match map.get(DIRECTIVE).and_then(Value::as_str) {
                Some(d) => directive = Some(d),
                None => rest.push(item),
            },
            _ => rest.push(item),
        }
    }
    (rest, directive)
}

/// The text kyaml compares list keys and scalar items by.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Lists of scalars with a merge strategy: patch values first, then the original's others.
fn merge_scalars(dest: &[&Value], patch: &[&Value]) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(dest.len() + patch.len());
    for item in patch.iter().chain(dest) {
        if seen.insert(scalar_text(item)) {
            out.push((*item).clone());
        }
    }
    out
}

/// The key values of an item as kyaml reads them: empty for a missing or empty key.
fn key_tuple(item: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| match item.get(k) {
            None | Some(Value::Null) => String::new(),
            Some(Value::Object(m)) if m.is_empty() => String::new(),
            Some(Value::Array(l)) if l.is_empty() => String::new(),
            Some(v) => scalar_text(v),
        })
        .collect()
}

/// Equal where both tuples have a value, and not all equal: kyaml loses such a patch item.
fn partially_matches(a: &[String], b: &[String]) -> bool {
    a != b && a.iter().zip(b).all(|(x, y)| x.is_empty() || y.is_empty() || x == y)
}

/// Lists of objects merged by keys (kyaml's `setAssociativeSequenceElements`, prepending).
fn merge_items(
    dest: &[&Value],
    patch: &[&Value],
    keys: &[String],
    items: SchemaNode<'_>,
    path: &Path<'_>,
) -> Result<Vec<Value>, (String, String)> {
    let mut remaining: Vec<Option<&Value>> = dest.iter().copied().map(Some).collect();
    let dest_tuples: Vec<Vec<String>> = dest.iter().map(|d| key_tuple(d, keys)).collect();
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut out = Vec::with_capacity(dest.len() + patch.len());
    for (index, item) in patch.iter().enumerate() {
        let item_path = path.index(index);
        let tuple = key_tuple(item, keys);
        if seen.contains(&tuple) {
            continue;
        }
        seen.push(tuple.clone());
        if tuple.iter().all(String::is_empty) {
            // An empty key matches every item that has the key field: kyaml deletes them all.
            for slot in remaining.iter_mut() {
                if slot.is_some_and(|d| keys.iter().all(|k| d.get(k).is_some())) {
                    *slot = None;
                }
            }
            continue;
        }
        let matching = (0..dest.len()).find(|&i| remaining[i].is_some() && dest_tuples[i] == tuple);
        let outcome = match matching {
            Some(i) => {
                let original = remaining[i].take().expect("matched a remaining item");
                let merging_into_itself = std::ptr::eq(original, *item);
                if !merging_into_itself && item.get(DIRECTIVE).and_then(Value::as_str) == Some("replace") {
                    // kyaml keeps an existing item a `$patch: replace` item names.
                    Outcome::Keep(original.clone())
                } else {
                    walk(Some(original), Some(item), items, &item_path)?
                }
            }
            None if keys.len() > 1
                && (0..dest.len()).any(|i| remaining[i].is_some() && partially_matches(&dest_tuples[i], &tuple)) =>
            {
                continue;
            }
            None => walk(None, Some(item), items, &item_path)?,
        };
        match outcome {
            Outcome::Keep(value) if !value.as_object().is_some_and(Map::is_empty) => out.push(value),
            // Deleted, or emptied: the original items with these keys go too.
            _ => {
                for (i, slot) in remaining.iter_mut().enumerate() {
                    if dest_tuples[i] == tuple {
                        *slot = None;
                    }
                }
            }
        }
    }
    out.extend(remaining.into_iter().flatten().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests;
