//! Create: the body becomes a stored object with server-set metadata (uid, creationTimestamp,
//! generation, a name from `generateName`), defaults and validation, in an existing namespace.

use serde_json::Value;

use super::{WriteOptions, Written, check_namespace, commit, commit_error, object_key, to_storage_version};
use crate::apiserver::errors::{ApiError, FieldCause};
use crate::apiserver::kinds;
use crate::apiserver::meta;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{EventType, Precondition};

/// Creates an object of `info` from a request body (`version` is the request's API version).
pub fn create(
    state: &ApiState,
    info: &ResourceInfo,
    version: &str,
    namespace: Option<&str>,
    mut object: Value,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    to_storage_version(info, version, &mut object)?;
    let warnings = kinds::check_fields(info, version, &mut object, opts.field_validation)?;
    let name = set_identity(info, namespace, &mut object)?;
    if let Some(ns) = namespace.filter(|_| info.namespaced) {
        check_namespace(state, info, ns, &name)?;
    }
    prepare_new_object(state, info, &mut object, opts, true)?;
    let causes = kinds::validate(state, info, &object, None);
    if !causes.is_empty() {
        return Err(ApiError::invalid_object(info, &name, causes));
    }
    kinds::admit(state, info, &mut object, None, opts.dry_run)?;
    let key = object_key(info, namespace, &name);
    let stored = commit(state, info, key, Precondition::MustNotExist, Some(object), opts.dry_run)
        .map_err(|e| commit_error(info, &name, e))?;
    Ok(Written {
        object: stored,
        event: Some(EventType::Added),
        warnings,
    })
}

/// Sets (or checks) namespace and name; returns the name.
fn set_identity(info: &ResourceInfo, namespace: Option<&str>, object: &mut Value) -> Result<String, ApiError> {
    let metadata = meta::metadata_mut(object);
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
    let name = metadata.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    if !name.is_empty() {
        return Ok(name);
    }
    let prefix = metadata
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if prefix.is_empty() {
        return Err(ApiError::invalid_object(
            info,
            "",
            vec![FieldCause::required_detail(
                "metadata.name",
                "name or generateName is required",
            )],
        ));
    }
    let name = format!("{prefix}{}", meta::generated_suffix());
    metadata.insert("name".into(), Value::String(name.clone()));
    Ok(name)
}

/// Server-set metadata, status reset and defaults of a new object (create, or apply creating);
/// `record` adds the writer's managed fields (applies bring their own).
pub fn prepare_new_object(
    state: &ApiState,
    info: &ResourceInfo,
    object: &mut Value,
    opts: &WriteOptions,
    record: bool,
) -> Result<(), ApiError> {
    let metadata = meta::metadata_mut(object);
    if metadata
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty())
    {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    for server_owned in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "generation",
        "resourceVersion",
    ] {
        metadata.shift_remove(server_owned);
    }
    metadata.insert("uid".into(), Value::String(meta::new_uid()));
    if info.generation || info.is_custom() {
        metadata.insert("generation".into(), Value::from(1));
    }
    metadata.insert("creationTimestamp".into(), Value::String(meta::now_rfc3339()));
    normalize_metadata_order(object);
    if has_status_subresource(info)
        && let Some(map) = object.as_object_mut()
    {
        map.shift_remove("status");
    }
    kinds::default_new(state, info, object, opts.dry_run);
    if record {
        super::apply::record(info, None, object, opts, super::Subresource::Main)?;
    }
    Ok(())
}

fn has_status_subresource(info: &ResourceInfo) -> bool {
    info.versions.iter().any(|v| v.status)
}

/// Orders metadata fields as the real server's encoder does, so responses read the same.
pub fn normalize_metadata_order(object: &mut Value) {
    const ORDER: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    let metadata = meta::metadata_mut(object);
    let mut old = std::mem::take(metadata);
    for key in ORDER {
        if let Some(value) = old.shift_remove(*key) {
            metadata.insert((*key).to_string(), value);
        }
    }
    metadata.extend(old);
}
