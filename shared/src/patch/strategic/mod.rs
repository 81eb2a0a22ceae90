//! Strategic merge patch, following `k8s.io/apimachinery/pkg/util/strategicpatch` as the API
//! server and `kubectl patch` run it (`MergeParallelList` and `IgnoreUnmatchedNulls` on).
//!
//! Per field, the [`SchemaNode`] says how to merge: maps merge key by key unless the field's
//! strategy is `replace`; lists are replaced unless the strategy is `merge`, in which case lists
//! of objects merge by the patch merge key and lists of scalars are unioned. Directives:
//! `$patch: replace|delete` (maps and list items), `$retainKeys`, `$setElementOrder/<list>`,
//! `$deleteFromPrimitiveList/<list>`; `null` deletes a key. Without a schema everything is
//! untyped: maps merge and lists are replaced, i.e. JSON merge patch plus the directives.

mod order;

use super::PatchError;
use super::path::Path;
use crate::schema::{SchemaNode, TypeSchema, root_or_untyped};
use order::Identity;
use serde_json::{Map, Value};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `original` (an object, or null for "nothing yet").
///
/// `schema` is the type of the object (from [`crate::schema::builtin`] or a CRD); `None`
/// merges as Kubernetes does for unknown types (maps merge, lists are replaced).
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    schema: Option<&TypeSchema>,
) -> Result<Value, PatchError> {
    let root = Path::ROOT;
    let fail = |reason: String| PatchError::ApplyStrategicMerge {
        path: "/".to_string(),
        reason,
    };
    let Value::Object(patch) = patch else {
        return Err(fail(format!(
            "expected the patch to be an object, got {}",
            super::type_name(patch)
        )));
    };
    let original = match original {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(fail(format!(
                "expected the original to be an object, got {}",
                super::type_name(other)
            )));
        }
    };
    merge_map(original, patch, root_or_untyped(schema), &root)
        .map(Value::Object)
        .map_err(|failure| PatchError::ApplyStrategicMerge {
            path: failure.path.unwrap_or_else(|| "/".to_string()),
            reason: failure.reason,
        })
}

/// A failure and the JSON pointer where it happened (set by the innermost caller that knows it).
#[derive(Debug)]
pub(super) struct Failure {
    reason: String,
    path: Option<String>,
}

impl Failure {
    pub(super) fn here(reason: String) -> Self {
        Failure { reason, path: None }
    }

    fn at(mut self, path: &Path<'_>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.pointer());
        }
        self
    }
}

/// True for `{..., "$patch": "delete"}` list items.
pub(super) fn is_delete_directive(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// Merges a patch object into an original object (`mergeMap`).
fn merge_map(
    mut original: Map<String, Value>,
    patch: &Map<String, Value>,
    schema: SchemaNode<'_>,
    path: &Path<'_>,
) -> Result<Map<String, Value>, Failure> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                let mut replacement = patch.clone();
                replacement.shift_remove(DIRECTIVE);
                Ok(replacement)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(Failure::here(format!("unknown $patch directive {directive} in an object")).at(path)),
        };
    }
    apply_retain_keys(&mut original, patch).map_err(|f| f.at(path))?;
    let ordered = merge_ordered_lists(&mut original, patch, schema, path)?;

    for (key, patch_value) in patch {
        if key == RETAIN_KEYS || key.starts_with(SET_ELEMENT_ORDER) || ordered.contains(&key.as_str()) {
            continue;
        }
        let (key, is_delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(list) => (list, true),
            None => (key.as_str(), false),
        };
        let child_path = path.key(key);
        if patch_value.is_null() {
            original.shift_remove(key);
            continue;
        }
        let Some(original_value) = original.get_mut(key) else {
            if !is_delete_list && let Some(value) = fresh_value(patch_value) {
                original.insert(key.to_string(), value);
            }
            continue;
        };
        if !same_json_type(original_value, patch_value) {
            if is_delete_list {
                continue;
            }
            match fresh_value(patch_value) {
                Some(value) => *original_value = value,
                None => {
                    original.shift_remove(key);
                }
            }
            continue;
        }
        let field = schema.field_or_untyped(key);
        match (original_value, patch_value) {
            (Value::Object(current), Value::Object(patch_map)) => {
                if field.patch_strategy().replace {
                    *current = patch_map.clone();
                } else {
                    let taken = std::mem::take(current);
                    *current = merge_map(taken, patch_map, field, &child_path)?;
                }
            }
            (Value::Array(current), Value::Array(patch_list)) => {
                let taken = std::mem::take(current);
                *current = merge_list_field(taken, patch_list, field, is_delete_list, &child_path)?;
            }
            (slot, _) => *slot = patch_value.clone(),
        }
    }
    Ok(original)
}

/// Whether Go's `reflect.TypeOf` would see the same type (all numbers are float64).
fn same_json_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// A patch value that lands where the original has nothing comparable: nulls in objects are
/// dropped and objects carrying `$patch` are removed (`removeDirectives`). `None`: omit it.
fn fresh_value(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) => {
            if map.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .filter_map(|(k, v)| fresh_value(v).map(|v| (k.clone(), v)))
                    .collect(),
            ))
        }
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(fresh_value).collect())),
        other => Some(other.clone()),
    }
}

/// `$retainKeys`: drops original keys the list does not name, after checking that the patch
/// only sets keys it names.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), Failure> {
    let Some(retain) = patch.get(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(Failure::here("$retainKeys must be a list of field names".to_string()));
    };
    let retained = |key: &str| retain.iter().any(|k| k.as_str() == Some(key));
    for (key, value) in patch {
        if key == RETAIN_KEYS
            || value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !retained(key) {
            return Err(Failure::here(format!(
                "the patch sets \"{key}\", which its $retainKeys list does not name"
            )));
        }
    }
    original.retain(|key, _| retained(key));
    Ok(())
}

/// `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<list>` directive and
/// orders it as the directive says. Returns the list keys it handled.
fn merge_ordered_lists<'p>(
    original: &mut Map<String, Value>,
    patch: &'p Map<String, Value>,
    schema: SchemaNode<'_>,
    path: &Path<'_>,
) -> Result<Vec<&'p str>, Failure> {
    let mut handled = Vec::new();
    for (directive_key, order) in patch {
        let Some(key) = directive_key.strip_prefix(SET_ELEMENT_ORDER) else {
            continue;
        };
        let directive_path = path.key(directive_key);
        let Value::Array(order) = order else {
            return Err(Failure::here("$setElementOrder must be a list".to_string()).at(&directive_path));
        };
        let list_path = path.key(key);
        let as_list = |value: Option<&Value>| -> Result<Option<Vec<Value>>, Failure> {
            match value {
                None => Ok(None),
                Some(Value::Array(items)) => Ok(Some(items.clone())),
                Some(other) => Err(Failure::here(format!(
                    "$setElementOrder names a field that is {}, not a list",
                    super::type_name(other)
                ))
                .at(&list_path)),
            }
        };
        let original_list = as_list(original.get(key))?;
        let patch_list = as_list(patch.get(key))?;
        handled.push(key);
        let field = schema.field_or_untyped(key);
        let merge_key = field.patch_merge_key();
        let identity = merge_key.map_or(Identity::Value, Identity::MergeKey);
        if let Some(patch_list) = &patch_list {
            validate_order(patch_list, order, identity).map_err(|f| f.at(&list_path))?;
        }
        let original_items = original_list.clone().unwrap_or_default();
        let merged = match (original_list, &patch_list) {
            (None, None) => continue,
            (Some(original_list), None) => original_list,
            (None, Some(patch_list)) => patch_list.clone(),
            (Some(original_list), Some(patch_list)) => {
                merge_list_field(original_list, patch_list, field, false, &list_path)?
            }
        };
        if original_items.is_empty() && patch_list.as_ref().is_none_or(Vec::is_empty) {
            return Err(Failure::here("no elements in any of the given lists".to_string()).at(&list_path));
        }
        let (in_order, server_only) = order::partition(merged, order, identity);
        let both =
            order::normalize(in_order, server_only, order, &original_items, identity).map_err(|f| f.at(&list_path))?;
        original.insert(key.to_string(), Value::Array(both));
    }
    Ok(handled)
}

/// `validatePatchWithSetOrderList`: the patch list's items (deletions aside) must appear in the
/// `$setElementOrder` list, in the same relative order.
fn validate_order(patch_list: &[Value], order: &[Value], identity: Identity<'_>) -> Result<(), Failure> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = match identity {
        Identity::MergeKey(_) => patch_list.iter().filter(|item| !is_delete_directive(item)).collect(),
        Identity::Value => patch_list.iter().collect(),
    };
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if items[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        // Go's mergeKeyValueEqual: both sides must carry the merge key.
        identity.require_keys(&[std::slice::from_ref(items[p]), std::slice::from_ref(&order[o])])?;
        if identity.index(std::slice::from_ref(&order[o]), items[p]).is_some() {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() {
        return Err(Failure::here(
            "the order of the patch list does not match its $setElementOrder list".to_string(),
        ));
    }
    Ok(())
}

/// `mergeSliceHandler`: lists merge only when the field's strategy is `merge` (or for
/// `$deleteFromPrimitiveList`); otherwise the patch list replaces the original.
fn merge_list_field(
    original: Vec<Value>,
    patch: &[Value],
    field: SchemaNode<'_>,
    is_delete_list: bool,
    path: &Path<'_>,
) -> Result<Vec<Value>, Failure> {
    if !field.patch_strategy().merge && !is_delete_list {
        return Ok(patch.to_vec());
    }
    merge_list(original, patch, field, is_delete_list, path)
}

/// `mergeSlice`: scalars are unioned (or deleted, for `$deleteFromPrimitiveList`), objects are
/// merged by the merge key; then the result is ordered.
fn merge_list(
    original: Vec<Value>,
    patch: &[Value],
    field: SchemaNode<'_>,
    is_delete_list: bool,
    path: &Path<'_>,
) -> Result<Vec<Value>, Failure> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let element_is_object = element_kind(&original, patch).map_err(|f| f.at(path))?;
    if !element_is_object {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|item| !patch.iter().any(|gone| super::json_equal(item, gone)))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.iter().chain(patch) {
            if !merged.iter().any(|seen| super::json_equal(seen, item)) {
                merged.push(item.clone());
            }
        }
        let (in_patch, server_only) = order::partition(merged, patch, Identity::Value);
        return order::normalize(in_patch, server_only, patch, &original, Identity::Value).map_err(|f| f.at(path));
    }

    let Some(merge_key) = field.patch_merge_key() else {
        return Err(Failure::here("cannot merge lists of objects without a patch merge key".to_string()).at(path));
    };
    let identity = Identity::MergeKey(merge_key);
    let (original, patch_items) = apply_list_directives(original, patch, merge_key).map_err(|f| f.at(path))?;
    let items = field.items().unwrap_or_else(|| SchemaNode::untyped());
    let mut merged = original.clone();
    for (index, item) in patch_items.iter().enumerate() {
        let item_path = path.index(index);
        let Value::Object(item_map) = item else {
            return Err(Failure::here("expected a list item to be an object".to_string()).at(&item_path));
        };
        let Some(key_value) = item_map.get(merge_key) else {
            return Err(Failure::here(format!("a list item has no merge key \"{merge_key}\"")).at(&item_path));
        };
        let existing = merged
            .iter()
            .position(|m| m.get(merge_key).is_some_and(|v| super::json_equal(v, key_value)));
        match existing {
            Some(at) => {
                let Value::Object(current) = std::mem::take(&mut merged[at]) else {
                    return Err(Failure::here("expected a list item to be an object".to_string()).at(&item_path));
                };
                merged[at] = Value::Object(merge_map(current, item_map, items, &item_path)?);
            }
            None => merged.push(item.clone()),
        }
    }
    let (in_patch, server_only) = order::partition(merged, &patch_items, identity);
    order::normalize(in_patch, server_only, &patch_items, &original, identity).map_err(|f| f.at(path))
}

/// Whether list items are objects (`sliceElementType`): all items must share one JSON type and
/// lists of lists are not supported.
fn element_kind(original: &[Value], patch: &[Value]) -> Result<bool, Failure> {
    let mut first: Option<&Value> = None;
    for item in original.iter().chain(patch) {
        match first {
            None => {
                if item.is_array() {
                    return Err(Failure::here("lists of lists cannot be merged".to_string()));
                }
                first = Some(item);
            }
            Some(seen) if !same_json_type(seen, item) => {
                return Err(Failure::here("list items are not all of the same type".to_string()));
            }
            Some(_) => {}
        }
    }
    Ok(first.is_some_and(Value::is_object))
}

/// `mergeSliceWithSpecialElements`: applies `{key: x, $patch: delete}` items to the original and
/// `{$patch: replace}` (the patch items replace the whole list). Returns the new original and
/// the patch items without directives.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), Failure> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            plain.push(item.clone());
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(key_value) = item.get(merge_key) else {
                    return Err(Failure::here(format!(
                        "a $patch: delete list item has no merge key \"{merge_key}\""
                    )));
                };
                original.retain(|m| !m.get(merge_key).is_some_and(|v| super::json_equal(v, key_value)));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(Failure::here(
                    "merging lists cannot yet be specified in the patch ($patch: merge)".to_string(),
                ));
            }
            _ => {
                return Err(Failure::here(format!(
                    "unknown $patch directive {directive} in a list item"
                )));
            }
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

#[cfg(test)]
mod tests;
