//! Delete and deletecollection: preconditions, propagation policy (the `orphan` and `foregroundDeletion`
//! finalizers the garbage collector acts on), finalizers that keep an object terminating with a
//! `deletionTimestamp`, and the namespaces a cluster refuses to delete.

use serde_json::Value;
use std::sync::Arc;

use super::update::{Change, write_change};
use super::{WriteOptions, Written, commit_error, object_key};
use crate::apiserver::errors::ApiError;
use crate::apiserver::kinds;
use crate::apiserver::meta;
use crate::apiserver::registry::{Propagation, ResourceInfo};
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::state::ApiState;
use crate::apiserver::store::CommitError;

/// Finalizer the garbage collector removes after orphaning dependents.
pub const ORPHAN_FINALIZER: &str = "orphan";
/// Finalizer the garbage collector removes after deleting dependents.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Options of a delete request (body `DeleteOptions` or query parameters).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeleteOptions {
    /// `propagationPolicy`
    pub propagation: Option<Propagation>,
    /// `preconditions.uid`
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`
    pub precondition_rv: Option<String>,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` body merged with query parameters (the body wins, as in the real server).
    pub fn from_request(
        body: Option<&Value>,
        propagation_query: Option<&str>,
        orphan_query: Option<bool>,
    ) -> Result<Self, ApiError> {
        let mut opts = DeleteOptions::default();
        let mut policy = propagation_query.map(str::to_string);
        let mut orphan = orphan_query;
        if let Some(body) = body {
            if let Some(p) = body.get("propagationPolicy").and_then(Value::as_str) {
                policy = Some(p.to_string());
            }
            if let Some(o) = body.get("orphanDependents").and_then(Value::as_bool) {
                orphan = Some(o);
            }
            opts.precondition_uid = body
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_string);
            opts.precondition_rv = body
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if let Some(policy) = policy.filter(|p| !p.is_empty()) {
            opts.propagation = Some(Propagation::parse(&policy).ok_or_else(|| {
                ApiError::invalid(
                    "",
                    "DeleteOptions",
                    "",
                    vec![crate::apiserver::errors::FieldCause::not_supported(
                        "propagationPolicy",
                        &Value::String(policy.clone()),
                        &["Foreground", "Background", "Orphan"],
                    )],
                )
            })?);
            if orphan.is_some() {
                return Err(ApiError::bad_request(
                    "orphanDependents and propagationPolicy cannot both be set",
                ));
            }
        } else if let Some(orphan) = orphan {
            opts.propagation = Some(if orphan {
                Propagation::Orphan
            } else {
                Propagation::Background
            });
        }
        Ok(opts)
    }
}

/// The result of a delete: the object, and whether it is gone (false: it is terminating).
#[derive(Clone, Debug)]
pub struct Deleted {
    /// The deleted or now-terminating object.
    pub written: Written,
    /// True when removed from the store.
    pub gone: bool,
}

/// Deletes one object.
pub fn delete(
    state: &ApiState,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    delete_opts: &DeleteOptions,
    opts: &WriteOptions,
) -> Result<Deleted, ApiError> {
    let key = object_key(info, namespace, name);
    if info.group.is_empty() && info.plural == "namespaces" && ["default", "kube-system", "kube-public"].contains(&name)
    {
        return Err(ApiError::forbidden(
            "",
            "namespaces",
            name,
            "this namespace may not be deleted",
        ));
    }
    loop {
        let current = state
            .store
            .get(&info.group_resource(), &key.0, &key.1)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        check_preconditions(info, name, &current, delete_opts)?;
        let read_rv = meta::resource_version(&current);
        let propagation = delete_opts.propagation.unwrap_or(info.default_propagation);
        let change = deletion_change(info, &current, propagation);
        let gone = matches!(change, Change::Remove);
        match write_change(state, info, key.clone(), read_rv, change, opts.dry_run) {
            Ok(mut written) => {
                if written.event.is_none() {
                    written.object = current;
                }
                return Ok(Deleted { written, gone });
            }
            Err(CommitError::Conflict { .. }) => continue,
            Err(err) => return Err(commit_error(info, name, err)),
        }
    }
}

fn check_preconditions(info: &ResourceInfo, name: &str, current: &Value, opts: &DeleteOptions) -> Result<(), ApiError> {
    if let Some(uid) = &opts.precondition_uid {
        let actual = meta::meta_str(current, "uid");
        if uid != actual {
            return Err(ApiError::conflict(
                &info.group,
                &info.plural,
                name,
                &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"),
            ));
        }
    }
    if let Some(rv) = &opts.precondition_rv {
        let actual = meta::meta_str(current, "resourceVersion");
        if rv != actual {
            return Err(ApiError::conflict(
                &info.group,
                &info.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in meta: {actual}"
                ),
            ));
        }
    }
    Ok(())
}

/// What a delete does to `current`: remove it, or mark it terminating with the finalizers the
/// propagation policy needs.
fn deletion_change(info: &ResourceInfo, current: &Value, propagation: Propagation) -> Change {
    let mut finalizers = meta::finalizers(current);
    let wanted = match propagation {
        Propagation::Orphan => Some(ORPHAN_FINALIZER),
        Propagation::Foreground => Some(FOREGROUND_FINALIZER),
        Propagation::Background => None,
    };
    let terminating = meta::is_terminating(current);
    if let Some(wanted) = wanted
        && !finalizers.iter().any(|f| f == wanted)
    {
        finalizers.push(wanted.to_string());
    }
    if !terminating && finalizers.is_empty() && !kinds::blocks_removal(info, current) {
        return Change::Remove;
    }
    let mut next = current.clone();
    let metadata = meta::metadata_mut(&mut next);
    if !terminating {
        metadata.insert("deletionTimestamp".into(), Value::String(meta::now_rfc3339()));
        metadata.insert("deletionGracePeriodSeconds".into(), Value::from(0));
        if let Some(generation) = metadata.get("generation").and_then(Value::as_i64) {
            metadata.insert("generation".into(), Value::from(generation + 1));
        }
    }
    if finalizers.is_empty() {
        metadata.shift_remove("finalizers");
    } else {
        metadata.insert(
            "finalizers".into(),
            Value::Array(finalizers.into_iter().map(Value::String).collect()),
        );
    }
    kinds::mark_terminating(info, &mut next);
    super::create::normalize_metadata_order(&mut next);
    if &next == current {
        Change::Unchanged
    } else {
        Change::Put(next)
    }
}

/// Deletes every object matching the selectors in a namespace (or cluster-wide); returns the objects.
pub fn delete_collection(
    state: &ApiState,
    info: &ResourceInfo,
    namespace: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
    delete_opts: &DeleteOptions,
    opts: &WriteOptions,
) -> Result<Vec<Arc<Value>>, ApiError> {
    let (objects, _) = state.store.list(&info.group_resource(), namespace);
    let mut deleted = Vec::new();
    for object in objects {
        if !labels.matches(meta::labels(&object)) || !fields.matches(&object) {
            continue;
        }
        let name = meta::meta_str(&object, "name").to_string();
        let ns = meta::meta_str(&object, "namespace").to_string();
        match delete(state, info, Some(&ns), &name, delete_opts, opts) {
            Ok(result) => deleted.push(result.written.object),
            Err(err) if err.code == 404 => {}
            Err(err) => return Err(err),
        }
    }
    Ok(deleted)
}

/// The answer to a finished delete: the object for kinds whose storage returns it, else a success Status.
pub fn deletion_response(info: &ResourceInfo, object: &Value, gone: bool) -> Option<Value> {
    if !gone || kinds::returns_deleted_object(info) {
        return None;
    }
    let mut details = serde_json::json!({
        "name": meta::meta_str(object, "name"),
        "group": info.group,
        "kind": info.plural,
        "uid": meta::meta_str(object, "uid"),
    });
    if info.group.is_empty()
        && let Some(map) = details.as_object_mut()
    {
        map.shift_remove("group");
    }
    Some(serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }))
}
