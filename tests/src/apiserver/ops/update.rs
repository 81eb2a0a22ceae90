//! Update (PUT) of the main resource, `status` or a namespace's `finalize`: optimistic concurrency on
//! `metadata.resourceVersion`, server-owned metadata kept, status kept on the main resource (and only
//! status taken on `status`), generation bumped on spec changes, finalizer rules, no-op detection.

use serde_json::Value;
use std::sync::Arc;

use super::{WriteOptions, Written, commit, commit_error, object_key, spec_changed, to_storage_version};
use crate::apiserver::errors::{ApiError, FieldCause};
use crate::apiserver::kinds;
use crate::apiserver::meta;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{CommitError, EventType, Precondition};

/// Which part of an object a write targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    /// The object itself (status changes are ignored when a status subresource exists).
    Main,
    /// `/status`: only status changes are taken.
    Status,
    /// `/finalize` of a Namespace: only `spec.finalizers` changes are taken.
    Finalize,
}

/// Replaces an object (PUT).
#[allow(clippy::too_many_arguments)] // mirrors the REST call: resource, version, namespace, name, body, subresource, options
pub fn update(
    state: &ApiState,
    info: &ResourceInfo,
    version: &str,
    namespace: Option<&str>,
    name: &str,
    mut body: Value,
    subresource: Subresource,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    to_storage_version(info, version, &mut body)?;
    let warnings = kinds::check_fields(info, version, &mut body, opts.field_validation)?;
    check_identity(info, namespace, name, &mut body)?;
    let pinned =
        match meta::meta_str(&body, "resourceVersion") {
            "" => None,
            rv => Some(rv.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resourceVersion {rv:?}: must be a decimal number"))
            })?),
        };
    let key = object_key(info, namespace, name);
    loop {
        let current = state
            .store
            .get(&info.group_resource(), &key.0, &key.1)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        let current_rv = meta::resource_version(&current);
        if pinned.is_some_and(|rv| rv != current_rv) {
            return Err(ApiError::conflict_modified(&info.group, &info.plural, name));
        }
        let change = finish_update(state, info, &current, body.clone(), subresource, opts, true)?;
        match write_change(state, info, key.clone(), current_rv, change, opts.dry_run) {
            Ok(mut written) => {
                written.warnings.extend(warnings);
                return Ok(written);
            }
            Err(CommitError::Conflict { .. }) if pinned.is_none() => continue,
            Err(err) => return Err(commit_error(info, name, err)),
        }
    }
}

/// Checks the body's name and namespace against the URL (filling them in when missing).
pub fn check_identity(
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    body: &mut Value,
) -> Result<(), ApiError> {
    let metadata = meta::metadata_mut(body);
    match metadata.get("name").and_then(Value::as_str) {
        Some(given) if !given.is_empty() && given != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given}) does not match the name on the URL ({name})"
            )));
        }
        _ => {
            metadata.insert("name".into(), Value::String(name.to_string()));
        }
    }
    if info.namespaced {
        let ns = namespace.unwrap_or("");
        match metadata.get("namespace").and_then(Value::as_str) {
            Some(given) if !given.is_empty() && given != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                metadata.insert("namespace".into(), Value::String(ns.to_string()));
            }
        }
    } else {
        metadata.shift_remove("namespace");
    }
    Ok(())
}

/// What an update amounts to once the server's rules are applied.
#[derive(Debug)]
pub enum Change {
    /// Store this new state.
    Put(Value),
    /// The last finalizer of a terminating object is gone: remove it.
    Remove,
    /// Nothing changed: no new resourceVersion, no event.
    Unchanged,
}

/// Applies the update rules to a proposed new state of `old`; `record` adds the writer's managed
/// fields (applies bring their own).
pub fn finish_update(
    state: &ApiState,
    info: &ResourceInfo,
    old: &Value,
    proposed: Value,
    subresource: Subresource,
    opts: &WriteOptions,
    record: bool,
) -> Result<Change, ApiError> {
    let name = meta::meta_str(old, "name").to_string();
    let has_status = info.versions.iter().any(|v| v.status);
    let mut new = match subresource {
        Subresource::Status => {
            let mut merged = old.clone();
            let status = proposed.get("status").cloned();
            if let Some(map) = merged.as_object_mut() {
                match status {
                    Some(status) => map.insert("status".into(), status),
                    None => map.shift_remove("status"),
                };
            }
            merged
        }
        Subresource::Finalize => {
            let mut merged = old.clone();
            let finalizers = proposed
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            meta::ensure_map(&mut merged, &["spec"]).insert("finalizers".into(), finalizers);
            merged
        }
        Subresource::Main => {
            let mut merged = proposed;
            if has_status && let Some(map) = merged.as_object_mut() {
                match old.get("status") {
                    Some(status) => map.insert("status".into(), status.clone()),
                    None => map.shift_remove("status"),
                };
            }
            merged
        }
    };
    keep_server_metadata(old, &mut new);
    check_finalizers(info, old, &new, &name)?;
    kinds::default_update(state, info, old, &mut new);
    if record {
        super::apply::record(info, Some(old), &mut new, opts, subresource)?;
    }
    if info.generation || info.is_custom() {
        let changed = spec_changed(old, &new) || (!has_status && old.get("status") != new.get("status"));
        if changed {
            let generation = meta::metadata(old)
                .and_then(|m| m.get("generation"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta::metadata_mut(&mut new).insert("generation".into(), Value::from(generation + 1));
        }
    }
    super::create::normalize_metadata_order(&mut new);
    let causes = kinds::validate(state, info, &new, Some(old));
    if !causes.is_empty() {
        return Err(ApiError::invalid_object(info, &name, causes));
    }
    kinds::admit(state, info, &mut new, Some(old), opts.dry_run)?;
    if meta::is_terminating(&new) && meta::finalizers(&new).is_empty() && !kinds::blocks_removal(info, &new) {
        return Ok(Change::Remove);
    }
    if same_ignoring_version(old, &new) {
        return Ok(Change::Unchanged);
    }
    Ok(Change::Put(new))
}

/// Copies the fields clients cannot change (uid, creation and deletion timestamps, generation).
fn keep_server_metadata(old: &Value, new: &mut Value) {
    let empty = serde_json::Map::new();
    let old_meta = meta::metadata(old).unwrap_or(&empty);
    let metadata = meta::metadata_mut(new);
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "selfLink",
    ] {
        match old_meta.get(field) {
            Some(value) => metadata.insert(field.into(), value.clone()),
            None => metadata.shift_remove(field),
        };
    }
    metadata.insert(
        "resourceVersion".into(),
        old_meta.get("resourceVersion").cloned().unwrap_or(Value::Null),
    );
    if let Some(ns) = old_meta.get("namespace") {
        metadata.insert("namespace".into(), ns.clone());
    }
}

/// Terminating objects may lose finalizers but not gain new ones.
fn check_finalizers(info: &ResourceInfo, old: &Value, new: &Value, name: &str) -> Result<(), ApiError> {
    if !meta::is_terminating(old) {
        return Ok(());
    }
    let before = meta::finalizers(old);
    let added: Vec<String> = meta::finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid_object(
        info,
        name,
        vec![FieldCause::forbidden(
            "metadata.finalizers",
            &format!("no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
        )],
    ))
}

fn same_ignoring_version(old: &Value, new: &Value) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return old == new;
    };
    if old.len() != new.len() {
        return false;
    }
    old.iter().all(|(key, before)| {
        let Some(after) = new.get(key) else { return false };
        if key != "metadata" {
            return before == after;
        }
        let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
            return before == after;
        };
        let relevant = |m: &serde_json::Map<String, Value>| m.keys().filter(|k| *k != "resourceVersion").count();
        relevant(before) == relevant(after)
            && before
                .iter()
                .filter(|(k, _)| *k != "resourceVersion")
                .all(|(k, v)| after.get(k) == Some(v))
    })
}

/// Commits a [`Change`] against the version that was read.
pub fn write_change(
    state: &ApiState,
    info: &ResourceInfo,
    key: (String, String),
    read_rv: u64,
    change: Change,
    dry_run: bool,
) -> Result<Written, CommitError> {
    let precondition = Precondition::ResourceVersion(read_rv);
    match change {
        Change::Unchanged => {
            let current = state
                .store
                .get(&info.group_resource(), &key.0, &key.1)
                .ok_or(CommitError::NotFound)?;
            if meta::resource_version(&current) != read_rv {
                return Err(CommitError::Conflict {
                    expected: read_rv,
                    actual: meta::resource_version(&current),
                });
            }
            Ok(Written {
                object: current,
                event: None,
                warnings: Vec::new(),
            })
        }
        Change::Put(new) => {
            let object = commit(state, info, key, precondition, Some(new), dry_run)?;
            Ok(Written {
                object,
                event: Some(EventType::Modified),
                warnings: Vec::new(),
            })
        }
        Change::Remove => {
            let object = if dry_run {
                state
                    .store
                    .get(&info.group_resource(), &key.0, &key.1)
                    .ok_or(CommitError::NotFound)?
            } else {
                commit(state, info, key, precondition, None, false)?
            };
            Ok(Written {
                object: Arc::clone(&object),
                event: Some(EventType::Deleted),
                warnings: Vec::new(),
            })
        }
    }
}
