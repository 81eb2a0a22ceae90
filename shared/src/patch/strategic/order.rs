//! Element order of merged lists, as `strategicpatch` decides it: items named in the patch (or
//! in `$setElementOrder`) keep the patch's order, items only on the server keep the server's
//! order, and the two are interleaved by the server's order where both sides know an item.

use super::{Failure, is_delete_directive};
use crate::patch::json_equal;
use serde_json::Value;

/// How list items are identified: by a merge key (lists of objects) or by value (scalars).
#[derive(Clone, Copy)]
pub(super) enum Identity<'a> {
    MergeKey(&'a str),
    Value,
}

impl Identity<'_> {
    /// The identifying value of an item (`None` for an object without the merge key).
    fn of<'v>(&self, item: &'v Value) -> Option<&'v Value> {
        match self {
            Identity::MergeKey(key) => item.as_object().and_then(|m| m.get(*key)),
            Identity::Value => Some(item),
        }
    }

    /// Position of the item with the same identity in `list`.
    pub(super) fn index(&self, list: &[Value], item: &Value) -> Option<usize> {
        let wanted = self.of(item);
        list.iter().position(|candidate| match (self.of(candidate), wanted) {
            (Some(a), Some(b)) => json_equal(a, b),
            (None, None) => matches!(self, Identity::MergeKey(_)),
            _ => false,
        })
    }

    /// Checks that every object of the lists has the merge key.
    pub(super) fn require_keys(&self, lists: &[&[Value]]) -> Result<(), Failure> {
        let Identity::MergeKey(key) = self else {
            return Ok(());
        };
        for item in lists.iter().flat_map(|list| list.iter()) {
            match item {
                Value::Object(map) if map.contains_key(*key) => {}
                Value::Object(_) => return Err(Failure::here(format!("a list item has no merge key \"{key}\""))),
                other => {
                    return Err(Failure::here(format!(
                        "expected list items to be objects with merge key \"{key}\", got {}",
                        crate::patch::type_name(other)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Splits `items` into those present in `by` and the others, keeping their order.
pub(super) fn partition(items: Vec<Value>, by: &[Value], identity: Identity<'_>) -> (Vec<Value>, Vec<Value>) {
    let (mut present, mut absent) = (Vec::new(), Vec::new());
    for item in items {
        if identity.index(by, &item).is_some() {
            present.push(item);
        } else {
            absent.push(item);
        }
    }
    (present, absent)
}

/// Orders patch items by `patch_order` and server-only items by `server_order`, then
/// interleaves them (`normalizeElementOrder`).
pub(super) fn normalize(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, Failure> {
    let patch_items = sort_by_order(patch_items, patch_order, identity)?;
    let server_only = sort_by_order(server_only, server_order, identity)?;
    Ok(interleave(server_only, patch_items, server_order, identity))
}

/// `normalizeSliceOrder`: a stable insertion sort by position in `order` with Go's comparator,
/// which calls an item not found in `order` "less" (so such items move towards the front).
/// Items marked `$patch: delete` go last.
fn sort_by_order(items: Vec<Value>, order: &[Value], identity: Identity<'_>) -> Result<Vec<Value>, Failure> {
    let mut items = items;
    let mut to_delete = Vec::new();
    if let Identity::MergeKey(_) = identity {
        identity.require_keys(&[&items, order])?;
        let (keep, delete): (Vec<_>, Vec<_>) = items.into_iter().partition(|item| !is_delete_directive(item));
        items = keep;
        to_delete = delete;
    }
    let positions: Vec<Option<usize>> = items.iter().map(|item| identity.index(order, item)).collect();
    let mut indices: Vec<usize> = (0..items.len()).collect();
    let less = |a: usize, b: usize| match (positions[a], positions[b]) {
        (Some(pa), Some(pb)) => pa < pb,
        _ => true,
    };
    for i in 1..indices.len() {
        let mut j = i;
        while j > 0 && less(indices[j], indices[j - 1]) {
            indices.swap(j, j - 1);
            j -= 1;
        }
    }
    let mut slots: Vec<Option<Value>> = items.into_iter().map(Some).collect();
    let mut sorted: Vec<Value> = indices.into_iter().filter_map(|i| slots[i].take()).collect();
    sorted.extend(to_delete);
    Ok(sorted)
}

/// `mergeSortedSlice`: inserts each `left` (server-only) item into `right` (patch items) before
/// the first right item that comes after it on the server; relative orders are kept.
fn interleave(left: Vec<Value>, right: Vec<Value>, server_order: &[Value], identity: Identity<'_>) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = identity.index(server_order, l);
                let ri = identity.index(server_order, r);
                let left_first = matches!((li, ri), (Some(li), Some(ri)) if li < ri);
                if left_first {
                    out.extend(left.next());
                } else {
                    out.extend(right.next());
                }
            }
        }
    }
    out
}
