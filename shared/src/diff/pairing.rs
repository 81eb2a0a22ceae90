//! `kluctl.io/diff-name`: which live object a rendered object is compared with.
//!
//! Objects whose name changes with their content (hash-named Jobs and ConfigMaps) carry the
//! annotation; the live object used for the diff is then the one with the same diff-name and
//! the newest `creationTimestamp`, ties broken by the greater name (Kluctl's rule; creation
//! times only have second resolution).

use crate::objects::ObjectRef;
use serde_json::Value;
use std::collections::HashMap;

const DIFF_NAME: &str = "kluctl.io/diff-name";

/// The reference an object is diffed under: its own, with the name replaced by its
/// `kluctl.io/diff-name` annotation when it has one.
pub fn diff_ref(object: &Value) -> Option<ObjectRef> {
    let mut r = ObjectRef::from_object(object)?;
    if let Some(name) = super::rules::annotation(object, DIFF_NAME) {
        r.name = name.to_string();
    }
    Some(r)
}

/// Version-less key, because the rendered and the live object may be read with different
/// API versions.
type Key = (String, String, Option<String>, String);

fn key(r: &ObjectRef) -> Key {
    (r.group.clone(), r.kind.clone(), r.namespace.clone(), r.name.clone())
}

/// The live objects indexed by their diff reference.
#[derive(Debug, Default)]
pub struct RemoteDiffIndex<'a> {
    by_diff_ref: HashMap<Key, &'a Value>,
}

impl<'a> RemoteDiffIndex<'a> {
    /// Indexes the live objects (as listed from the cluster).
    pub fn new(remote: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut by_diff_ref: HashMap<Key, &'a Value> = HashMap::new();
        for object in remote {
            let Some(r) = diff_ref(object) else { continue };
            let entry = by_diff_ref.entry(key(&r)).or_insert(object);
            if newer(object, entry) {
                *entry = object;
            }
        }
        RemoteDiffIndex { by_diff_ref }
    }

    /// The live object to diff `rendered` against, with the reference to report the change
    /// under (the diff reference), or `None` when the object is new.
    pub fn get(&self, rendered: &Value) -> Option<(ObjectRef, &'a Value)> {
        let r = diff_ref(rendered)?;
        self.by_diff_ref.get(&key(&r)).map(|o| (r, *o))
    }
}

fn newer(candidate: &Value, current: &Value) -> bool {
    let created = |o: &Value| {
        o.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let name = |o: &Value| {
        o.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match (created(candidate), created(current)) {
        (Some(a), Some(b)) if a != b => a > b,
        _ => name(candidate) > name(current),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(name: &str, created: &str) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": created,
                "annotations": {"kluctl.io/diff-name": "migrate"}}})
    }

    #[test]
    fn picks_the_newest_object_with_the_same_diff_name() {
        let remote = vec![
            job("migrate-aaa", "2024-01-01T00:00:00Z"),
            job("migrate-ccc", "2024-01-02T00:00:00Z"),
            job("migrate-bbb", "2024-01-01T12:00:00Z"),
        ];
        let index = RemoteDiffIndex::new(&remote);
        let (r, live) = index.get(&job("migrate-new", "")).unwrap();
        assert_eq!(r.name, "migrate");
        assert_eq!(live["metadata"]["name"], json!("migrate-ccc"));
    }

    #[test]
    fn ties_are_broken_by_name_and_plain_objects_pair_by_name() {
        let remote = vec![
            job("migrate-b", "2024-01-01T00:00:00Z"),
            job("migrate-c", "2024-01-01T00:00:00Z"),
        ];
        let index = RemoteDiffIndex::new(&remote);
        assert_eq!(
            index.get(&job("x", "")).unwrap().1["metadata"]["name"],
            json!("migrate-c")
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}});
        let index = RemoteDiffIndex::new(std::iter::once(&cm));
        let rendered_other_version =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}});
        assert!(index.get(&rendered_other_version).is_some());
        assert!(
            index
                .get(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "ns"}}))
                .is_none()
        );
    }
}
