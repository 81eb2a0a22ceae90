//! The write path shared by HTTP handlers and built-in controllers: create, update (main resource and
//! `status`), patch, server-side apply and delete, each as a read–compute–compare-and-swap loop over the
//! [`Store`](super::store::Store) with kube-apiserver's metadata, defaulting, validation, generation and
//! finalizer rules. Input: decoded request objects and [`WriteOptions`]; output: [`Written`] objects.

mod apply;
mod create;
mod delete;
mod patch;
mod update;

pub use apply::{apply, record, ssa_error};
pub use create::create;
pub use delete::{DeleteOptions, delete, delete_collection, deletion_response};
pub use patch::{PatchType, apply_patch, patch};
pub use update::{Subresource, update};

use serde_json::Value;
use std::sync::Arc;

use super::auth::UserInfo;
use super::controllers;
use super::errors::ApiError;
use super::meta;
use super::registry::{GroupResource, ResourceInfo};
use super::request::FieldValidation;
use super::state::ApiState;
use super::store::{CommitError, EventType, ObjectKey, Precondition};

/// Per-request options of a write.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and compute, store nothing.
    pub dry_run: bool,
    /// The field manager recorded in `managedFields`.
    pub field_manager: String,
    /// Unknown-field handling.
    pub field_validation: FieldValidation,
    /// Who writes.
    pub user: UserInfo,
}

impl WriteOptions {
    /// Options for the server's own controllers.
    pub fn system(manager: &str) -> Self {
        WriteOptions {
            dry_run: false,
            field_manager: manager.to_string(),
            field_validation: FieldValidation::Ignore,
            user: UserInfo::system(),
        }
    }
}

/// The result of a write.
#[derive(Clone, Debug)]
pub struct Written {
    /// The object as stored (or as it would be stored, for dry runs), in the storage version.
    pub object: Arc<Value>,
    /// What happened (`None` for no-op updates and dry runs of them).
    pub event: Option<EventType>,
    /// Warnings for `Warning` headers.
    pub warnings: Vec<String>,
}

/// The store key of an object of `info` in `namespace`.
pub fn object_key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> ObjectKey {
    let namespace = if info.namespaced { namespace.unwrap_or("") } else { "" };
    (namespace.to_string(), name.to_string())
}

/// Checks a body's `apiVersion` and `kind` against the resource and rewrites them to the storage
/// version (conversion between served versions only changes `apiVersion`).
pub fn to_storage_version(info: &ResourceInfo, version: &str, object: &mut Value) -> Result<(), ApiError> {
    let map = object
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body of the request must be a JSON or YAML object"))?;
    let expected = info.api_version(version);
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {}
        Some(given) => {
            let (group, given_version) = meta::split_api_version(given);
            if group != info.group || info.version(given_version).is_none() {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({given}) does not match the expected API version ({expected})"
                )));
            }
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {}
        Some(kind) if kind == info.kind => {}
        Some(kind) => {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): kind {kind:?} does not match",
                info.kind
            )));
        }
    }
    set_type_meta(object, &info.api_version(&info.storage_version), &info.kind);
    Ok(())
}

/// Puts `apiVersion` and `kind` first, as the real server's encoder does.
pub fn set_type_meta(object: &mut Value, api_version: &str, kind: &str) {
    let Some(map) = object.as_object_mut() else { return };
    map.shift_remove("apiVersion");
    map.shift_remove("kind");
    let rest = std::mem::take(map);
    map.insert("kind".into(), Value::String(kind.to_string()));
    map.insert("apiVersion".into(), Value::String(api_version.to_string()));
    map.extend(rest);
}

/// An object from the store as a client asked for it (the requested version).
pub fn to_request_version(info: &ResourceInfo, version: &str, object: &Value) -> Value {
    let mut out = object.clone();
    if version != info.storage_version
        && let Some(map) = out.as_object_mut()
    {
        map.insert("apiVersion".into(), Value::String(info.api_version(version)));
    }
    out
}

/// [`to_request_version`] without a copy when the request asks for the storage version.
pub fn in_request_version<'a>(info: &ResourceInfo, version: &str, object: &'a Value) -> std::borrow::Cow<'a, Value> {
    if version == info.storage_version {
        std::borrow::Cow::Borrowed(object)
    } else {
        std::borrow::Cow::Owned(to_request_version(info, version, object))
    }
}

/// Checks a body's `apiVersion` and `kind` against the resource without changing it.
pub fn check_type_meta(info: &ResourceInfo, version: &str, object: &Value) -> Result<(), ApiError> {
    let mut probe = serde_json::Map::new();
    for field in ["apiVersion", "kind"] {
        if let Some(value) = object.get(field) {
            probe.insert(field.to_string(), value.clone());
        }
    }
    to_storage_version(info, version, &mut Value::Object(probe))
}

/// Maps a store commit error to the API's answer.
pub fn commit_error(info: &ResourceInfo, name: &str, err: CommitError) -> ApiError {
    match err {
        CommitError::NotFound => ApiError::not_found(&info.group, &info.plural, name),
        CommitError::AlreadyExists => ApiError::already_exists(&info.group, &info.plural, name),
        CommitError::Conflict { .. } => ApiError::conflict_modified(&info.group, &info.plural, name),
    }
}

/// Commits a change (or, for dry runs, only reports it), then runs the synchronous hooks (CRD
/// registration) so the next request already sees their effect.
pub fn commit(
    state: &ApiState,
    info: &ResourceInfo,
    key: ObjectKey,
    precondition: Precondition,
    new: Option<Value>,
    dry_run: bool,
) -> Result<Arc<Value>, CommitError> {
    let gr = info.group_resource();
    if dry_run {
        return Ok(Arc::new(new.unwrap_or(Value::Null)));
    }
    let removing = new.is_none();
    let committed = state.store.commit(&gr, key, precondition, new)?;
    controllers::after_commit(state, info, &committed, removing);
    Ok(committed)
}

/// Rejects creates in missing or terminating namespaces, as the NamespaceLifecycle admission plugin does.
pub fn check_namespace(state: &ApiState, info: &ResourceInfo, namespace: &str, name: &str) -> Result<(), ApiError> {
    if !info.namespaced {
        return Ok(());
    }
    let namespaces = GroupResource::new("", "namespaces");
    match state.store.get(&namespaces, "", namespace) {
        None => Err(ApiError::not_found("", "namespaces", namespace)),
        Some(ns) if meta::is_terminating(&ns) => {
            let mut err = ApiError::forbidden(
                &info.group,
                &info.plural,
                name,
                &format!("unable to create new content in namespace {namespace} because it is being terminated"),
            );
            if let Some(details) = err.details.as_mut() {
                (**details)["causes"] = serde_json::json!([{
                    "reason": "NamespaceTerminating",
                    "message": format!("namespace {namespace} is being terminated"),
                    "field": "metadata.namespace"
                }]);
            }
            Err(err)
        }
        Some(_) => Ok(()),
    }
}

/// True when two objects differ in anything but metadata and status (what bumps `metadata.generation`).
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return old != new;
    };
    let relevant = |k: &String| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind");
    let old_fields: Vec<_> = old.iter().filter(|(k, _)| relevant(k)).collect();
    let new_fields: Vec<_> = new.iter().filter(|(k, _)| relevant(k)).collect();
    if old_fields.len() != new_fields.len() {
        return true;
    }
    old_fields.iter().any(|(k, v)| new.get(k.as_str()) != Some(*v))
}

/// The field manager of a request without `fieldManager`: the User-Agent up to the first `/`, as the
/// real server derives it.
pub fn default_field_manager(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or("unknown");
    let name = agent.split('/').next().unwrap_or(agent);
    let name: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    if name.is_empty() { "unknown".into() } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generation_relevant_changes_ignore_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 1}, "status": {"x": 1}});
        let mut b = a.clone();
        b["metadata"]["labels"]["a"] = json!("2");
        b["status"]["x"] = json!(2);
        assert!(!spec_changed(&a, &b));
        b["spec"]["replicas"] = json!(2);
        assert!(spec_changed(&a, &b));
        let cm_a = json!({"metadata": {}, "data": {"k": "v"}});
        let cm_b = json!({"metadata": {}, "data": {"k": "w"}});
        assert!(spec_changed(&cm_a, &cm_b));
    }

    #[test]
    fn field_manager_defaults_to_the_user_agent_name() {
        assert_eq!(
            default_field_manager(Some("kubectl/v1.32.4 (linux/amd64) kubernetes/abc")),
            "kubectl"
        );
        assert_eq!(default_field_manager(None), "unknown");
    }

    #[test]
    fn type_meta_goes_first_and_versions_are_checked() {
        let registry = crate::apiserver::registry::Registry::with_builtins();
        let info = registry.lookup("apps", "v1", "deployments").unwrap();
        let mut obj = json!({"metadata": {"name": "x"}, "apiVersion": "apps/v1"});
        to_storage_version(&info, "v1", &mut obj).unwrap();
        let keys: Vec<_> = obj.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["kind", "apiVersion", "metadata"]);
        let mut wrong = json!({"apiVersion": "v1", "kind": "Deployment"});
        let err = to_storage_version(&info, "v1", &mut wrong).unwrap_err();
        assert!(
            err.message
                .contains("does not match the expected API version (apps/v1)"),
            "{}",
            err.message
        );
    }
}
