//! The structural diff of two normalized objects into [`Change`]s (Kluctl's `result.Change`).
//!
//! Maps are compared key by key. Lists are aligned first (a longest-common-subsequence match on
//! the items' content), so that inserting one item is one `insert` rather than a shifted list of
//! updates, while a reordering still shows; aligned items that differ are compared recursively.

use super::jsonpath::KeyPath;
use super::unified::unified_diff;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use similar::{Algorithm, DiffOp, capture_diff_slices_by_key};
use std::hash::{DefaultHasher, Hash, Hasher};

/// What happened to a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    /// The field is new.
    Insert,
    /// The field is gone.
    Delete,
    /// The value changed.
    Update,
}

/// One changed field of an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Insert, delete or update.
    #[serde(rename = "type")]
    pub change_type: ChangeType,
    /// Where, in Kluctl's notation (`spec.template.spec.containers[0].image`); for deletes the
    /// index in the old object, otherwise in the new one.
    pub json_path: String,
    /// The value before (deletes and updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<Value>,
    /// The value after (inserts and updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<Value>,
    /// A unified diff of the YAML of the values.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unified_diff: String,
    /// The field managers that owned the field (or fields below it) in the live object before
    /// the apply; another manager than `kluctl` here means the field is shared or taken over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    #[serde(skip)]
    path: KeyPath,
    #[serde(skip)]
    old_path: Option<KeyPath>,
}

impl Change {
    fn new(
        change_type: ChangeType,
        path: KeyPath,
        old_path: Option<KeyPath>,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Self {
        let unified_diff = unified_diff(change_type, old.as_ref(), new.as_ref());
        Change {
            change_type,
            json_path: path.to_json_path(),
            old_value: old,
            new_value: new,
            unified_diff,
            owners: Vec::new(),
            path,
            old_path,
        }
    }

    /// The location of the change (in the new object, or in the old one for deletes). Empty
    /// for changes read back from YAML or JSON.
    pub fn key_path(&self) -> &KeyPath {
        &self.path
    }

    /// The location of the changed field in the old object, when it existed there.
    pub fn old_key_path(&self) -> Option<&KeyPath> {
        self.old_path.as_ref()
    }

    /// Recomputes [`Change::unified_diff`] from the values (after they were edited).
    pub fn refresh_unified_diff(&mut self) {
        self.unified_diff = unified_diff(self.change_type, self.old_value.as_ref(), self.new_value.as_ref());
    }
}

/// Diffs two (normalized) objects. The result is sorted by path, then by type, so the same
/// input always gives the same output.
pub fn diff_values(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(old, new, &KeyPath::root(), &KeyPath::root(), &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path).then(a.change_type.cmp(&b.change_type)));
    out
}

fn walk(old: &Value, new: &Value, old_path: &KeyPath, new_path: &KeyPath, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, va) in a {
                match b.get(key) {
                    Some(vb) => walk(va, vb, &old_path.child(key), &new_path.child(key), out),
                    None => out.push(deleted(old_path.child(key), va)),
                }
            }
            for (key, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                out.push(inserted(new_path.child(key), vb));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a != b {
                walk_lists(a, b, old_path, new_path, out);
            }
        }
        (a, b) if values_equal(a, b) => {}
        (a, b) => out.push(Change::new(
            ChangeType::Update,
            new_path.clone(),
            Some(old_path.clone()),
            Some(a.clone()),
            Some(b.clone()),
        )),
    }
}

fn walk_lists(a: &[Value], b: &[Value], old_path: &KeyPath, new_path: &KeyPath, out: &mut Vec<Change>) {
    for op in capture_diff_slices_by_key(Algorithm::Myers, a, b, content_hash) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                // Equal hashes; compare anyway so that a hash collision still shows as a change.
                for i in 0..len {
                    walk(
                        &a[old_index + i],
                        &b[new_index + i],
                        &old_path.index(old_index + i),
                        &new_path.index(new_index + i),
                        out,
                    );
                }
            }
            DiffOp::Delete { old_index, old_len, .. } => {
                deleted_range(a, old_index, old_index + old_len, old_path, out)
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                inserted_range(b, new_index, new_index + new_len, new_path, out)
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let paired = old_len.min(new_len);
                for k in 0..paired {
                    let (i, j) = (old_index + k, new_index + k);
                    walk(&a[i], &b[j], &old_path.index(i), &new_path.index(j), out);
                }
                deleted_range(a, old_index + paired, old_index + old_len, old_path, out);
                inserted_range(b, new_index + paired, new_index + new_len, new_path, out);
            }
        }
    }
}

fn deleted_range(items: &[Value], from: usize, to: usize, path: &KeyPath, out: &mut Vec<Change>) {
    out.extend((from..to).zip(&items[from..to]).map(|(i, v)| deleted(path.index(i), v)));
}

fn inserted_range(items: &[Value], from: usize, to: usize, path: &KeyPath, out: &mut Vec<Change>) {
    out.extend(
        (from..to)
            .zip(&items[from..to])
            .map(|(i, v)| inserted(path.index(i), v)),
    );
}

fn deleted(path: KeyPath, value: &Value) -> Change {
    Change::new(ChangeType::Delete, path.clone(), Some(path), Some(value.clone()), None)
}

fn inserted(path: KeyPath, value: &Value) -> Change {
    Change::new(ChangeType::Insert, path, None, None, Some(value.clone()))
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A hash of a value's content that ignores map key order (maps compare equal regardless of
/// order, so their hashes must agree).
fn content_hash(v: &Value) -> u64 {
    fn feed(v: &Value, h: &mut DefaultHasher) {
        match v {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, b).hash(h),
            Value::Number(n) => (2u8, n.as_f64().map(f64::to_bits)).hash(h),
            Value::String(s) => (3u8, s).hash(h),
            Value::Array(items) => {
                (4u8, items.len()).hash(h);
                items.iter().for_each(|i| feed(i, h));
            }
            Value::Object(map) => {
                (5u8, map.len()).hash(h);
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for k in keys {
                    k.hash(h);
                    feed(&map[k], h);
                }
            }
        }
    }
    let mut h = DefaultHasher::new();
    feed(v, &mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(changes: &[Change]) -> Vec<(ChangeType, String)> {
        changes.iter().map(|c| (c.change_type, c.json_path.clone())).collect()
    }

    #[test]
    fn equal_objects_have_no_changes_even_with_other_key_order() {
        let a = json!({"a": 1, "b": {"c": [1, {"x": 1, "y": 2}]}});
        let b = json!({"b": {"c": [1, {"y": 2, "x": 1}]}, "a": 1});
        assert!(diff_values(&a, &b).is_empty());
    }

    #[test]
    fn map_inserts_deletes_and_updates() {
        let old = json!({"spec": {"replicas": 1, "paused": true}, "metadata": {"labels": {"a.b/c": "x"}}});
        let new =
            json!({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}, "metadata": {"labels": {"a.b/c": "y"}}});
        let changes = diff_values(&old, &new);
        assert_eq!(
            summary(&changes),
            vec![
                (ChangeType::Update, r#"metadata.labels["a.b/c"]"#.to_string()),
                (ChangeType::Delete, "spec.paused".to_string()),
                (ChangeType::Update, "spec.replicas".to_string()),
                (ChangeType::Insert, "spec.strategy".to_string()),
            ]
        );
        let replicas = &changes[2];
        assert_eq!(
            (replicas.old_value.clone(), replicas.new_value.clone()),
            (Some(json!(1)), Some(json!(3)))
        );
        assert_eq!(replicas.unified_diff, "-1\n+3");
        assert_eq!(changes[3].unified_diff, "+type: Recreate");
        assert_eq!(changes[1].new_value, None);
    }

    #[test]
    fn list_items_are_aligned_before_comparing() {
        let c = |name: &str, image: &str| json!({"name": name, "image": image});
        let old = json!({"containers": [c("a", "1"), c("b", "1"), c("c", "1")]});
        // Insert at the front and change the last one.
        let new = json!({"containers": [c("z", "1"), c("a", "1"), c("b", "1"), c("c", "2")]});
        assert_eq!(
            summary(&diff_values(&old, &new)),
            vec![
                (ChangeType::Insert, "containers[0]".to_string()),
                (ChangeType::Update, "containers[3].image".to_string()),
            ]
        );
        // Removing the middle item is one delete at its old index.
        let new = json!({"containers": [c("a", "1"), c("c", "1")]});
        assert_eq!(
            summary(&diff_values(&old, &new)),
            vec![(ChangeType::Delete, "containers[1]".to_string())]
        );
        // A changed scalar list item is an update at its index.
        let changes = diff_values(&json!({"args": ["a", "b", "c"]}), &json!({"args": ["a", "x", "c"]}));
        assert_eq!(summary(&changes), vec![(ChangeType::Update, "args[1]".to_string())]);
    }

    #[test]
    fn type_changes_are_updates_of_the_whole_value() {
        let changes = diff_values(&json!({"a": {"b": 1}}), &json!({"a": "text"}));
        assert_eq!(summary(&changes), vec![(ChangeType::Update, "$[\"a\"]".to_string())]);
        assert!(
            changes[0].unified_diff.contains("(type: map)"),
            "{}",
            changes[0].unified_diff
        );
    }

    #[test]
    fn serializes_in_kluctls_shape() {
        let changes = diff_values(&json!({"spec": {"xy": 1}}), &json!({"spec": {"xy": 2}}));
        let v = serde_json::to_value(&changes[0]).unwrap();
        assert_eq!(
            v,
            json!({"type": "update", "jsonPath": "spec.xy", "oldValue": 1, "newValue": 2, "unifiedDiff": "-1\n+2"})
        );
        let back: Change = serde_json::from_value(v).unwrap();
        assert_eq!(back.json_path, "spec.xy");
    }
}
