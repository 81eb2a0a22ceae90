//! The object store: one ordered map per resource keyed by (namespace, name), a global monotonically
//! increasing resourceVersion, and a bounded history of [`StoreEvent`]s that watches replay and follow.
//!
//! Writers compute new objects outside the lock and [`Store::commit`] them with a precondition on the
//! current resourceVersion (compare-and-swap), so a commit is a short critical section and events enter the
//! history and the broadcast channel in resourceVersion order.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

use super::meta;
use super::registry::GroupResource;

/// (namespace, name); the namespace is empty for cluster-scoped objects.
pub type ObjectKey = (String, String);

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch event type name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change, in resourceVersion order.
#[derive(Debug)]
pub struct StoreEvent {
    /// The resourceVersion of the change (for deletions, the version at which the object disappeared).
    pub rv: u64,
    /// Which resource.
    pub resource: GroupResource,
    /// What happened.
    pub event_type: EventType,
    /// The object after the change (for deletions: the last state, with the deletion's resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change, if any (watches with selectors need it to see objects leave).
    pub previous: Option<Arc<Value>>,
}

/// What must hold for a commit to go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// The object must not exist (create).
    MustNotExist,
    /// The object must exist, whatever its version.
    MustExist,
    /// The object must exist with exactly this resourceVersion (update, compare-and-swap).
    ResourceVersion(u64),
}

/// Why a commit was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The object does not exist.
    #[error("failed to commit object: not found")]
    NotFound,
    /// The object already exists.
    #[error("failed to commit object: already exists")]
    AlreadyExists,
    /// The object changed since it was read.
    #[error("failed to commit object: resourceVersion {expected} is not the current {actual}")]
    Conflict {
        /// The version the writer read.
        expected: u64,
        /// The version now stored.
        actual: u64,
    },
}

/// A watch start point older than the kept history.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct TooOld {
    /// The version asked for.
    pub requested: u64,
    /// The oldest version still replayable.
    pub oldest: u64,
}

/// What [`Store::subscribe`] hands out: the replayed events, a receiver for later ones, and the
/// resourceVersion at the moment of subscribing.
pub type Subscription = (Vec<Arc<StoreEvent>>, broadcast::Receiver<Arc<StoreEvent>>, u64);

/// The store.
pub struct Store {
    inner: RwLock<Inner>,
    sender: broadcast::Sender<Arc<StoreEvent>>,
    history_limit: usize,
}

type Table = BTreeMap<ObjectKey, Arc<Value>>;

struct Inner {
    rv: u64,
    tables: HashMap<GroupResource, Table>,
    history: VecDeque<Arc<StoreEvent>>,
    /// Every event after this version is in `history`.
    history_floor: u64,
    /// `metadata.uid` to where the object lives.
    uids: HashMap<String, (GroupResource, ObjectKey)>,
    /// Owner uid to the objects whose `ownerReferences` name it.
    dependents: HashMap<String, BTreeSet<(GroupResource, ObjectKey)>>,
}

fn owner_uids(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|owners| {
            owners
                .iter()
                .filter_map(|o| o.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Inner {
    fn unindex(&mut self, resource: &GroupResource, key: &ObjectKey, object: &Value) {
        let uid = meta::meta_str(object, "uid");
        if self.uids.get(uid).is_some_and(|(r, k)| r == resource && k == key) {
            self.uids.remove(uid);
        }
        for owner in owner_uids(object) {
            if let Some(set) = self.dependents.get_mut(&owner) {
                set.remove(&(resource.clone(), key.clone()));
                if set.is_empty() {
                    self.dependents.remove(&owner);
                }
            }
        }
    }

    fn index(&mut self, resource: &GroupResource, key: &ObjectKey, object: &Value) {
        let uid = meta::meta_str(object, "uid");
        if !uid.is_empty() {
            self.uids.insert(uid.to_string(), (resource.clone(), key.clone()));
        }
        for owner in owner_uids(object) {
            self.dependents
                .entry(owner)
                .or_default()
                .insert((resource.clone(), key.clone()));
        }
    }
}

impl Store {
    /// An empty store keeping `history_limit` events for watches.
    pub fn new(history_limit: usize) -> Self {
        let (sender, _) = broadcast::channel(history_limit.clamp(1024, 65536));
        Store {
            inner: RwLock::new(Inner {
                rv: 1,
                tables: HashMap::new(),
                history: VecDeque::new(),
                history_floor: 1,
                uids: HashMap::new(),
                dependents: HashMap::new(),
            }),
            sender,
            history_limit: history_limit.max(16),
        }
    }

    /// The latest committed resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.inner.read().expect("store lock poisoned").rv
    }

    /// One object.
    pub fn get(&self, resource: &GroupResource, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let inner = self.inner.read().expect("store lock poisoned");
        inner
            .tables
            .get(resource)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Visits objects of a resource in key order (namespace, then name), optionally in one namespace and
    /// starting after a key, until `visit` returns false. Returns the resourceVersion of the snapshot.
    pub fn scan(
        &self,
        resource: &GroupResource,
        namespace: Option<&str>,
        start_after: Option<&ObjectKey>,
        mut visit: impl FnMut(&ObjectKey, &Arc<Value>) -> bool,
    ) -> u64 {
        let inner = self.inner.read().expect("store lock poisoned");
        let Some(table) = inner.tables.get(resource) else {
            return inner.rv;
        };
        let lower = match (start_after, namespace) {
            (Some(key), _) => Bound::Excluded(key.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        for (key, object) in table.range((lower, Bound::Unbounded)) {
            if namespace.is_some_and(|ns| key.0 != ns) {
                break;
            }
            if !visit(key, object) {
                break;
            }
        }
        inner.rv
    }

    /// All objects of a resource (optionally in one namespace) and the snapshot's resourceVersion.
    pub fn list(&self, resource: &GroupResource, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let mut out = Vec::new();
        let rv = self.scan(resource, namespace, None, |_, object| {
            out.push(object.clone());
            true
        });
        (out, rv)
    }

    /// Number of objects in a namespace across all resources (for namespace deletion).
    pub fn count_in_namespace(&self, namespace: &str) -> usize {
        let inner = self.inner.read().expect("store lock poisoned");
        inner
            .tables
            .values()
            .map(|table| {
                table
                    .range((namespace.to_string(), String::new())..)
                    .take_while(|(key, _)| key.0 == namespace)
                    .count()
            })
            .sum()
    }

    /// Resources that currently hold at least one object.
    pub fn resources(&self) -> Vec<GroupResource> {
        let inner = self.inner.read().expect("store lock poisoned");
        inner
            .tables
            .iter()
            .filter(|(_, table)| !table.is_empty())
            .map(|(resource, _)| resource.clone())
            .collect()
    }

    /// Writes (`Some`) or removes (`None`) an object if `precondition` holds, assigning the next
    /// resourceVersion; returns the committed object (for removals, the removed one with the new version).
    pub fn commit(
        &self,
        resource: &GroupResource,
        key: ObjectKey,
        precondition: Precondition,
        new: Option<Value>,
    ) -> Result<Arc<Value>, CommitError> {
        let mut inner = self.inner.write().expect("store lock poisoned");
        let current = inner.tables.get(resource).and_then(|t| t.get(&key)).cloned();
        match (precondition, &current) {
            (Precondition::MustNotExist, Some(_)) => return Err(CommitError::AlreadyExists),
            (Precondition::MustExist | Precondition::ResourceVersion(_), None) => return Err(CommitError::NotFound),
            (Precondition::ResourceVersion(expected), Some(existing)) => {
                let actual = meta::resource_version(existing);
                if actual != expected {
                    return Err(CommitError::Conflict { expected, actual });
                }
            }
            _ => {}
        }
        inner.rv += 1;
        let rv = inner.rv;
        if let Some(existing) = &current {
            inner.unindex(resource, &key, existing);
        }
        let (event_type, object) = match new {
            Some(mut object) => {
                meta::metadata_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
                let object = Arc::new(object);
                inner.index(resource, &key, &object);
                inner
                    .tables
                    .entry(resource.clone())
                    .or_default()
                    .insert(key, object.clone());
                let event_type = if current.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                (event_type, object)
            }
            None => {
                let Some(removed) = inner.tables.get_mut(resource).and_then(|t| t.remove(&key)) else {
                    inner.rv -= 1;
                    return Err(CommitError::NotFound);
                };
                let mut last = (*removed).clone();
                meta::metadata_mut(&mut last).insert("resourceVersion".into(), Value::String(rv.to_string()));
                (EventType::Deleted, Arc::new(last))
            }
        };
        let event = Arc::new(StoreEvent {
            rv,
            resource: resource.clone(),
            event_type,
            object: object.clone(),
            previous: current,
        });
        inner.history.push_back(event.clone());
        while inner.history.len() > self.history_limit {
            if let Some(dropped) = inner.history.pop_front() {
                inner.history_floor = dropped.rv;
            }
        }
        // Nobody listening is fine: watches subscribe on demand.
        let _ = self.sender.send(event);
        Ok(object)
    }

    /// The object with this `metadata.uid`, and its resource.
    pub fn find_by_uid(&self, uid: &str) -> Option<(GroupResource, Arc<Value>)> {
        let inner = self.inner.read().expect("store lock poisoned");
        let (resource, key) = inner.uids.get(uid)?;
        let object = inner.tables.get(resource)?.get(key)?.clone();
        Some((resource.clone(), object))
    }

    /// Objects whose `ownerReferences` name this uid.
    pub fn dependents_of(&self, uid: &str) -> Vec<(GroupResource, Arc<Value>)> {
        let inner = self.inner.read().expect("store lock poisoned");
        let Some(set) = inner.dependents.get(uid) else {
            return Vec::new();
        };
        set.iter()
            .filter_map(|(resource, key)| {
                let object = inner.tables.get(resource)?.get(key)?.clone();
                Some((resource.clone(), object))
            })
            .collect()
    }

    /// Removes every object of a resource without events (a CRD's storage going away after its objects
    /// were deleted one by one).
    pub fn drop_resource(&self, resource: &GroupResource) {
        let mut inner = self.inner.write().expect("store lock poisoned");
        if let Some(table) = inner.tables.remove(resource) {
            for (key, object) in table {
                inner.unindex(resource, &key, &object);
            }
        }
    }

    /// Events after `from_rv` still in the history, plus a receiver for everything later, taken atomically.
    /// `None` starts at the current version with no replay.
    pub fn subscribe(&self, from_rv: Option<u64>) -> Result<Subscription, TooOld> {
        let inner = self.inner.read().expect("store lock poisoned");
        let receiver = self.sender.subscribe();
        let Some(from) = from_rv else {
            return Ok((Vec::new(), receiver, inner.rv));
        };
        if from < inner.history_floor {
            return Err(TooOld {
                requested: from,
                oldest: inner.history_floor + 1,
            });
        }
        let start = inner.history.partition_point(|e| e.rv <= from);
        let replay = inner.history.range(start..).cloned().collect();
        Ok((replay, receiver, inner.rv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    }

    fn key(name: &str) -> ObjectKey {
        ("default".into(), name.into())
    }

    #[test]
    fn commits_assign_increasing_versions_and_check_preconditions() {
        let store = Store::new(100);
        let gr = GroupResource::new("", "configmaps");
        let a = store
            .commit(&gr, key("a"), Precondition::MustNotExist, Some(cm("a")))
            .unwrap();
        let rv_a = meta::resource_version(&a);
        assert_eq!(
            store.commit(&gr, key("a"), Precondition::MustNotExist, Some(cm("a"))),
            Err(CommitError::AlreadyExists)
        );
        let stale = store.commit(&gr, key("a"), Precondition::ResourceVersion(rv_a - 1), Some(cm("a")));
        assert!(matches!(stale, Err(CommitError::Conflict { .. })));
        let b = store
            .commit(&gr, key("a"), Precondition::ResourceVersion(rv_a), Some(cm("a")))
            .unwrap();
        assert!(meta::resource_version(&b) > rv_a);
        assert_eq!(store.current_rv(), meta::resource_version(&b));
    }

    #[test]
    fn subscribe_replays_history_after_a_version_and_rejects_compacted_ones() {
        let store = Store::new(16);
        let gr = GroupResource::new("", "configmaps");
        let first = store
            .commit(&gr, key("x0"), Precondition::MustNotExist, Some(cm("x0")))
            .unwrap();
        let start = meta::resource_version(&first);
        for i in 1..5 {
            let name = format!("x{i}");
            store
                .commit(&gr, key(&name), Precondition::MustNotExist, Some(cm(&name)))
                .unwrap();
        }
        let (replay, _, _) = store.subscribe(Some(start)).unwrap();
        assert_eq!(replay.len(), 4);
        assert!(replay.windows(2).all(|w| w[0].rv < w[1].rv));
        for i in 5..40 {
            let name = format!("x{i}");
            store
                .commit(&gr, key(&name), Precondition::MustNotExist, Some(cm(&name)))
                .unwrap();
        }
        let err = store.subscribe(Some(start)).unwrap_err();
        assert_eq!(err.requested, start);
    }

    #[test]
    fn scan_stays_inside_one_namespace_in_name_order() {
        let store = Store::new(100);
        let gr = GroupResource::new("", "configmaps");
        for (ns, name) in [("b", "2"), ("a", "1"), ("b", "1"), ("c", "1")] {
            store
                .commit(
                    &gr,
                    (ns.into(), name.into()),
                    Precondition::MustNotExist,
                    Some(cm(name)),
                )
                .unwrap();
        }
        let mut seen = Vec::new();
        store.scan(&gr, Some("b"), None, |k, _| {
            seen.push(k.clone());
            true
        });
        assert_eq!(seen, vec![("b".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(store.count_in_namespace("a"), 1);
    }
}
