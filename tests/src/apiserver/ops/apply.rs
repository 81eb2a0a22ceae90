//! Server-side apply (`PATCH` with `application/apply-patch+yaml`) and managed fields: the applied
//! configuration is merged into the live object by [`crate::ssa`] (conflicts answered with 409 naming
//! the fields and their managers unless `force=true`), then stored through the create or update rules;
//! every other write records its manager's fields with [`record`].

use serde_json::Value;

use super::create::prepare_new_object;
use super::update::{Subresource, check_identity, finish_update, write_change};
use super::{WriteOptions, Written, check_namespace, commit, commit_error, in_request_version, object_key};
use crate::apiserver::errors::{ApiError, FieldCause};
use crate::apiserver::kinds;
use crate::apiserver::meta;
use crate::apiserver::registry::ResourceInfo;
use crate::apiserver::state::ApiState;
use crate::apiserver::store::{CommitError, EventType, Precondition};
use crate::ssa::{self, ApplyOptions, Operation, SsaError};

/// The answer for a failed server-side apply or managed-fields update.
pub fn ssa_error(err: SsaError) -> ApiError {
    let status = err.status();
    let reason = match err.code() {
        409 => "Conflict",
        400 => "BadRequest",
        _ => "InternalError",
    };
    ApiError {
        code: err.code(),
        reason,
        message: status["message"].as_str().unwrap_or_default().to_string(),
        details: status.get("details").cloned().map(Box::new),
        retry_after: None,
    }
}

fn subresource_name(subresource: Subresource) -> Option<&'static str> {
    match subresource {
        Subresource::Status => Some("status"),
        Subresource::Main | Subresource::Finalize => None,
    }
}

/// Records the managed fields of a non-apply write by `opts.field_manager`.
pub fn record(
    info: &ResourceInfo,
    old: Option<&Value>,
    new: &mut Value,
    opts: &WriteOptions,
    subresource: Subresource,
) -> Result<(), ApiError> {
    let version = new
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(|v| meta::split_api_version(v).1.to_string())
        .unwrap_or_else(|| info.storage_version.clone());
    let schema = info.type_schema(&version);
    ssa::record_update(
        old,
        new,
        &opts.field_manager,
        Operation::Update,
        subresource_name(subresource),
        schema.as_ref(),
    )
    .map_err(ssa_error)
}

/// Applies a configuration (the request body, YAML or JSON) as `opts.field_manager`.
#[allow(clippy::too_many_arguments)] // mirrors the REST call: resource, version, namespace, name, body, subresource, force, options
pub fn apply(
    state: &ApiState,
    info: &ResourceInfo,
    version: &str,
    namespace: Option<&str>,
    name: &str,
    body: &[u8],
    subresource: Subresource,
    force: bool,
    opts: &WriteOptions,
) -> Result<Written, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("error decoding YAML: not UTF-8"))?;
    let mut applied = shared::yaml::parse_single(text, "request body")
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {}", e.message)))?;
    if !applied.is_object() {
        return Err(ApiError::bad_request("the applied configuration must be an object"));
    }
    for field in ["apiVersion", "kind"] {
        if applied.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ApiError::invalid_object(
                info,
                name,
                vec![FieldCause::required_detail(field, "must be set for server-side apply")],
            ));
        }
    }
    super::check_type_meta(info, version, &applied)?;
    let warnings = kinds::check_fields(info, version, &mut applied, opts.field_validation)?;
    check_identity(info, namespace, name, &mut applied)?;
    let schema = info.type_schema(version);
    let key = object_key(info, namespace, name);
    let options = ApplyOptions {
        force,
        subresource: subresource_name(subresource),
        ..ApplyOptions::new(&opts.field_manager)
    };
    loop {
        let current = state.store.get(&info.group_resource(), &key.0, &key.1);
        let live = current.as_ref().map(|c| in_request_version(info, version, c));
        let mut merged = ssa::apply_with(live.as_deref(), &applied, &options, schema.as_ref()).map_err(ssa_error)?;
        super::to_storage_version(info, version, &mut merged)?;
        let attempt = match &current {
            None if subresource != Subresource::Main => {
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            }
            None => create_applied(state, info, namespace, name, merged, opts)?,
            Some(current) => {
                let read_rv = meta::resource_version(current);
                let change = finish_update(state, info, current, merged, subresource, opts, false)?;
                match write_change(state, info, key.clone(), read_rv, change, opts.dry_run) {
                    Ok(written) => Attempt::Done(written),
                    Err(CommitError::Conflict { .. } | CommitError::NotFound) => Attempt::Retry,
                    Err(err) => return Err(commit_error(info, name, err)),
                }
            }
        };
        if let Attempt::Done(mut written) = attempt {
            written.warnings.extend(warnings);
            return Ok(written);
        }
    }
}

/// One try at storing an apply's result; retried when the object changed meanwhile.
enum Attempt {
    Done(Written),
    Retry,
}

/// Stores the result of an apply that creates the object.
fn create_applied(
    state: &ApiState,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    mut object: Value,
    opts: &WriteOptions,
) -> Result<Attempt, ApiError> {
    if let Some(ns) = namespace.filter(|_| info.namespaced) {
        check_namespace(state, info, ns, name)?;
    }
    prepare_new_object(state, info, &mut object, opts, false)?;
    let causes = kinds::validate(state, info, &object, None);
    if !causes.is_empty() {
        return Err(ApiError::invalid_object(info, name, causes));
    }
    kinds::admit(state, info, &mut object, None, opts.dry_run)?;
    let key = object_key(info, namespace, name);
    match commit(state, info, key, Precondition::MustNotExist, Some(object), opts.dry_run) {
        Ok(stored) => Ok(Attempt::Done(Written {
            object: stored,
            event: Some(EventType::Added),
            warnings: Vec::new(),
        })),
        Err(CommitError::AlreadyExists) => Ok(Attempt::Retry),
        Err(err) => Err(commit_error(info, name, err)),
    }
}
