//! Always-on controllers: namespace deletion (delete the contents, then drop the `kubernetes` finalizer),
//! CRD cleanup (delete the custom resources, then drop the cleanup finalizer) and the garbage collector
//! (`ownerReferences`: Background deletes dependents after the owner, Foreground before it, Orphan
//! removes the references; dependents whose owners are all gone are deleted).

use serde_json::Value;
use std::sync::Arc;

use crate::apiserver::kinds::CLEANUP_FINALIZER;
use crate::apiserver::meta;
use crate::apiserver::ops::{self, DeleteOptions, Subresource, WriteOptions};
use crate::apiserver::registry::{GroupResource, Propagation, ResourceInfo};
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{EventType, StoreEvent};

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

fn namespaces() -> GroupResource {
    GroupResource::new("", "namespaces")
}

fn crds() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

/// Reacts to one store event.
pub fn on_event(state: &Arc<ApiState>, event: &StoreEvent) {
    let object = &event.object;
    let removed = event.event_type == EventType::Deleted;
    if event.resource == namespaces() && !removed && meta::is_terminating(object) {
        clean_namespace(state, meta::meta_str(object, "name"));
    }
    let namespace = meta::meta_str(object, "namespace");
    if removed
        && !namespace.is_empty()
        && state
            .store
            .get(&namespaces(), "", namespace)
            .is_some_and(|ns| meta::is_terminating(&ns))
    {
        clean_namespace(state, namespace);
    }
    if event.resource == crds() && !removed && meta::is_terminating(object) {
        clean_crd(state, object);
    }
    if removed
        && let Some(info) = state.registry.get(&event.resource)
        && let Some(crd_name) = &info.crd_name
        && let Some(crd) = state.store.get(&crds(), "", crd_name)
        && meta::is_terminating(&crd)
    {
        clean_crd(state, &crd);
    }
    collect_garbage(state, event);
}

/// Re-examines everything after missed events.
pub fn resync(state: &Arc<ApiState>) {
    for ns in state.store.list(&namespaces(), None).0 {
        if meta::is_terminating(&ns) {
            clean_namespace(state, meta::meta_str(&ns, "name"));
        }
    }
    for crd in state.store.list(&crds(), None).0 {
        if meta::is_terminating(&crd) {
            clean_crd(state, &crd);
        }
    }
    for resource in state.store.resources() {
        for object in state.store.list(&resource, None).0 {
            let finalizers = meta::finalizers(&object);
            if meta::is_terminating(&object) && finalizers.iter().any(|f| f == ORPHAN || f == FOREGROUND) {
                collect_garbage(
                    state,
                    &StoreEvent {
                        rv: 0,
                        resource: resource.clone(),
                        event_type: EventType::Modified,
                        object: object.clone(),
                        previous: None,
                    },
                );
            }
        }
    }
}

fn system() -> WriteOptions {
    WriteOptions::system("kube-controller-manager")
}

fn delete_object(state: &ApiState, resource: &GroupResource, object: &Value) {
    let Some(info) = state.registry.get(resource) else {
        return;
    };
    let opts = DeleteOptions {
        propagation: Some(Propagation::Background),
        ..Default::default()
    };
    let namespace = meta::meta_str(object, "namespace");
    // Already gone or already terminating objects are fine; nothing else can fail here.
    let _ = ops::delete(
        state,
        &info,
        Some(namespace).filter(|ns| !ns.is_empty()),
        meta::meta_str(object, "name"),
        &opts,
        &system(),
    );
}

/// Reads, changes and writes back an object until the write is not a conflict.
pub fn mutate(state: &ApiState, info: &ResourceInfo, namespace: &str, name: &str, change: impl Fn(&mut Value) -> bool) {
    mutate_with(state, info, namespace, name, Subresource::Main, &system(), change);
}

/// [`mutate`] on a subresource with given options.
pub fn mutate_with(
    state: &ApiState,
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
    subresource: Subresource,
    opts: &WriteOptions,
    change: impl Fn(&mut Value) -> bool,
) {
    for _ in 0..10 {
        let Some(current) = state.store.get(&info.group_resource(), namespace, name) else {
            return;
        };
        let mut next = (*current).clone();
        if !change(&mut next) {
            return;
        }
        let ns = Some(namespace).filter(|ns| !ns.is_empty());
        match ops::update(state, info, &info.storage_version, ns, name, next, subresource, opts) {
            Err(err) if err.code == 409 => continue,
            _ => return,
        }
    }
}

fn remove_finalizer(state: &ApiState, resource: &GroupResource, object: &Value, finalizer: &str) {
    let Some(info) = state.registry.get(resource) else {
        return;
    };
    mutate(
        state,
        &info,
        meta::meta_str(object, "namespace"),
        meta::meta_str(object, "name"),
        |next| {
            let Some(list) = next.pointer_mut("/metadata/finalizers").and_then(Value::as_array_mut) else {
                return false;
            };
            let before = list.len();
            list.retain(|f| f != finalizer);
            before != list.len()
        },
    );
}

fn clean_namespace(state: &ApiState, namespace: &str) {
    for resource in state.store.resources() {
        let Some(info) = state.registry.get(&resource) else {
            continue;
        };
        if !info.namespaced {
            continue;
        }
        for object in state.store.list(&resource, Some(namespace)).0 {
            if !meta::is_terminating(&object) {
                delete_object(state, &resource, &object);
            }
        }
    }
    if state.store.count_in_namespace(namespace) > 0 {
        return;
    }
    let Some(info) = state.registry.get(&namespaces()) else {
        return;
    };
    mutate_with(state, &info, "", namespace, Subresource::Finalize, &system(), |next| {
        let Some(list) = next.pointer_mut("/spec/finalizers").and_then(Value::as_array_mut) else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f != "kubernetes");
        before != list.len()
    });
}

fn clean_crd(state: &ApiState, crd: &Value) {
    if !meta::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER) {
        return;
    }
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or("");
    let resource = GroupResource::new(group, plural);
    let (objects, _) = state.store.list(&resource, None);
    for object in &objects {
        if !meta::is_terminating(object) {
            delete_object(state, &resource, object);
        }
    }
    if state.store.list(&resource, None).0.is_empty() {
        remove_finalizer(state, &crds(), crd, CLEANUP_FINALIZER);
    }
}

fn collect_garbage(state: &ApiState, event: &StoreEvent) {
    let object = &event.object;
    let uid = meta::meta_str(object, "uid").to_string();
    if event.event_type == EventType::Deleted {
        for (resource, dependent) in state.store.dependents_of(&uid) {
            drop_owner_or_delete(state, &resource, &dependent, &uid);
        }
        // A removed dependent may be the last thing a foreground deletion waits for.
        for owner_uid in owner_uids(object) {
            if let Some((resource, owner)) = state.store.find_by_uid(&owner_uid) {
                finish_foreground(state, &resource, &owner);
            }
        }
        return;
    }
    if meta::is_terminating(object) {
        let finalizers = meta::finalizers(object);
        if finalizers.iter().any(|f| f == ORPHAN) {
            for (resource, dependent) in state.store.dependents_of(&uid) {
                remove_owner_reference(state, &resource, &dependent, &uid);
            }
            remove_finalizer(state, &event.resource, object, ORPHAN);
        } else if finalizers.iter().any(|f| f == FOREGROUND) {
            for (resource, dependent) in state.store.dependents_of(&uid) {
                if !meta::is_terminating(&dependent) {
                    delete_object(state, &resource, &dependent);
                }
            }
            finish_foreground(state, &event.resource, object);
        }
        return;
    }
    let owners = owner_uids(object);
    if event.event_type == EventType::Added
        && !owners.is_empty()
        && owners.iter().all(|owner| state.store.find_by_uid(owner).is_none())
    {
        delete_object(state, &event.resource, object);
    }
}

fn finish_foreground(state: &ApiState, resource: &GroupResource, owner: &Value) {
    if !meta::is_terminating(owner) || !meta::finalizers(owner).iter().any(|f| f == FOREGROUND) {
        return;
    }
    if state.store.dependents_of(meta::meta_str(owner, "uid")).is_empty() {
        remove_finalizer(state, resource, owner, FOREGROUND);
    }
}

fn owner_uids(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|owners| {
            owners
                .iter()
                .filter_map(|o| o.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn drop_owner_or_delete(state: &ApiState, resource: &GroupResource, dependent: &Value, owner_uid: &str) {
    let others_alive = owner_uids(dependent)
        .iter()
        .filter(|uid| uid.as_str() != owner_uid)
        .any(|uid| state.store.find_by_uid(uid).is_some());
    if others_alive {
        remove_owner_reference(state, resource, dependent, owner_uid);
    } else if !meta::is_terminating(dependent) {
        delete_object(state, resource, dependent);
    }
}

fn remove_owner_reference(state: &ApiState, resource: &GroupResource, dependent: &Value, owner_uid: &str) {
    let Some(info) = state.registry.get(resource) else {
        return;
    };
    mutate(
        state,
        &info,
        meta::meta_str(dependent, "namespace"),
        meta::meta_str(dependent, "name"),
        |next| {
            let metadata = meta::metadata_mut(next);
            let Some(list) = metadata.get_mut("ownerReferences").and_then(Value::as_array_mut) else {
                return false;
            };
            let before = list.len();
            list.retain(|o| o.get("uid").and_then(Value::as_str) != Some(owner_uid));
            let changed = before != list.len();
            if list.is_empty() {
                metadata.shift_remove("ownerReferences");
            }
            changed
        },
    );
}
