//! Resource verbs: get, list (selectors, `limit`/`continue`, list `resourceVersion`), create, update,
//! patch, delete and deletecollection, answering in the request's version as JSON, YAML or a Table.

use base64::Engine;
use http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use super::encode::decode_object;
use super::{Context, Reply, subresources};
use crate::apiserver::errors::{ApiError, FieldCause};
use crate::apiserver::meta;
use crate::apiserver::ops::{
    self, DeleteOptions, PatchType, Subresource, WriteOptions, default_field_manager, to_request_version,
};
use crate::apiserver::registry::{GroupResource, ResourceInfo};
use crate::apiserver::selectors::{FieldSelector, LabelSelector};
use crate::apiserver::state::ApiState;
use crate::apiserver::store::ObjectKey;
use crate::apiserver::table::{self, IncludeObject};

/// Routes a resource request to its verb.
pub fn dispatch(state: &ApiState, ctx: &Context) -> Result<Reply, ApiError> {
    let req = &ctx.info;
    if matches!(req.group.as_str(), "authorization.k8s.io" | "authentication.k8s.io") && req.verb == "create" {
        let body = decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?;
        return super::review(state, ctx, body);
    }
    let info = state
        .registry
        .lookup(&req.group, &req.version, &req.resource)
        .ok_or_else(ApiError::path_not_found)?;
    if !info.namespaced && req.namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    let warnings = info
        .version(&req.version)
        .and_then(|v| v.deprecation_warning.clone())
        .into_iter()
        .collect::<Vec<_>>();
    if !req.subresource.is_empty() {
        return subresources::dispatch(state, ctx, &info).map(|r| r.warnings(warnings));
    }
    if !info.allows(&req.verb) {
        return Err(ApiError::method_not_allowed(&req.verb, &info.group, &info.plural));
    }
    let reply = match req.verb.as_str() {
        "get" => get(state, ctx, &info),
        "list" => list(state, ctx, &info),
        "create" => create(state, ctx, &info),
        "update" => update(state, ctx, &info),
        "patch" => patch(state, ctx, &info),
        "delete" => delete(state, ctx, &info),
        "deletecollection" => delete_collection(state, ctx, &info),
        other => Err(ApiError::method_not_allowed(other, &info.group, &info.plural)),
    }?;
    Ok(reply.warnings(warnings))
}

/// Options of a write request.
pub fn write_options(ctx: &Context) -> Result<WriteOptions, ApiError> {
    let manager = match &ctx.query.field_manager {
        Some(manager) if manager.chars().count() > 128 => {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                vec![FieldCause::invalid(
                    "fieldManager",
                    &json!(manager),
                    "must be no more than 128 characters",
                )],
            ));
        }
        Some(manager) => manager.clone(),
        None => default_field_manager(ctx.header("user-agent")),
    };
    Ok(WriteOptions {
        dry_run: ctx.query.dry_run,
        field_manager: manager,
        field_validation: ctx.query.field_validation,
        user: ctx.user.clone(),
    })
}

/// An object answer in the request's version (or as a one-row Table when asked).
pub fn respond_object(info: &ResourceInfo, ctx: &Context, status: StatusCode, object: &Value) -> Reply {
    let version = &ctx.info.version;
    let accept = ctx.accept();
    if table::wants_table(accept) {
        let include = IncludeObject::parse(ctx.query.include_object.as_deref());
        let rv = meta::meta_str(object, "resourceVersion");
        let t = table::table(info, version, &[object], include, json!({"resourceVersion": rv}));
        return Reply::json(status, &t).content_type(table::TABLE_CONTENT_TYPE);
    }
    if accept.contains("as=PartialObjectMetadata") && !accept.contains("as=PartialObjectMetadataList") {
        return Reply::json(status, &table::partial_metadata(object));
    }
    Reply::object(status, &ops::in_request_version(info, version, object), accept)
}

fn namespace(ctx: &Context) -> Option<&str> {
    ctx.info.namespace.as_deref()
}

fn get(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let key = ops::object_key(info, namespace(ctx), &ctx.info.name);
    let object = state
        .store
        .get(&info.group_resource(), &key.0, &key.1)
        .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, &ctx.info.name))?;
    Ok(respond_object(info, ctx, StatusCode::OK, &object))
}

fn encode_continue(rv: u64, key: &ObjectKey) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": [key.0, key.1]});
    base64::engine::general_purpose::STANDARD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, ObjectKey), ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let rv = value.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    let start = value.get("start").and_then(Value::as_array).ok_or_else(bad)?;
    let part = |i: usize| start.get(i).and_then(Value::as_str).map(str::to_string).ok_or_else(bad);
    Ok((rv, (part(0)?, part(1)?)))
}

/// The selectors of a list, watch or deletecollection request.
pub fn selectors(ctx: &Context, info: &ResourceInfo) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(ctx.query.label_selector.as_deref().unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.query.field_selector.as_deref().unwrap_or(""), &info.kind)?;
    Ok((labels, fields))
}

fn list(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(ctx, info)?;
    let current = state.store.current_rv();
    if let Some(rv) = ctx.query.resource_version.as_deref().filter(|rv| *rv != "0") {
        let requested: u64 = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?;
        if requested > current {
            return Err(ApiError::timeout(format!(
                "Too large resource version: {requested}, current: {current}"
            )));
        }
        if ctx.query.resource_version_match.as_deref() == Some("Exact") && requested != current {
            return Err(ApiError::gone(format!(
                "too old resource version: {requested} ({current}); this server keeps no list snapshots"
            )));
        }
    }
    let (start, snapshot_rv) = match &ctx.query.continue_token {
        Some(token) => {
            let (rv, key) = decode_continue(token)?;
            (Some(key), Some(rv))
        }
        None => (None, None),
    };
    let limit = ctx.query.limit;
    let mut items: Vec<Arc<Value>> = Vec::new();
    let mut last_key: Option<ObjectKey> = None;
    let mut more = false;
    let mut remaining = 0usize;
    let filtered = !labels.is_empty() || !fields.is_empty();
    let rv = state
        .store
        .scan(&info.group_resource(), namespace(ctx), start.as_ref(), |key, object| {
            if !labels.matches(meta::labels(object)) || !fields.matches(object) {
                return true;
            }
            if limit > 0 && items.len() >= limit {
                more = true;
                remaining += 1;
                return !filtered;
            }
            items.push(object.clone());
            last_key = Some(key.clone());
            true
        });
    let rv = snapshot_rv.unwrap_or(rv);
    let mut list_meta = json!({"resourceVersion": rv.to_string()});
    if more && let Some(key) = &last_key {
        list_meta["continue"] = json!(encode_continue(rv, key));
        if !filtered {
            list_meta["remainingItemCount"] = json!(remaining);
        }
    }
    let accept = ctx.accept();
    let version = &ctx.info.version;
    if table::wants_table(accept) {
        let include = IncludeObject::parse(ctx.query.include_object.as_deref());
        let refs: Vec<&Value> = items.iter().map(|o| o.as_ref()).collect();
        let t = table::table(info, version, &refs, include, list_meta);
        return Ok(Reply::json(StatusCode::OK, &t).content_type(table::TABLE_CONTENT_TYPE));
    }
    let metadata_only = accept.contains("as=PartialObjectMetadataList");
    let items: Vec<Value> = items
        .iter()
        .map(|object| {
            if metadata_only {
                return table::partial_metadata(object);
            }
            let mut item = to_request_version(info, version, object);
            if !info.is_custom()
                && let Some(map) = item.as_object_mut()
            {
                // Typed lists of built-in kinds carry no type meta on their items.
                map.shift_remove("kind");
                map.shift_remove("apiVersion");
            }
            item
        })
        .collect();
    let (kind, api_version) = if metadata_only {
        ("PartialObjectMetadataList".to_string(), "meta.k8s.io/v1".to_string())
    } else {
        (info.list_kind.clone(), info.api_version(version))
    };
    let body = json!({"kind": kind, "apiVersion": api_version, "metadata": list_meta, "items": items});
    Ok(Reply::object(StatusCode::OK, &body, accept))
}

fn crd_terminating(state: &ApiState, info: &ResourceInfo) -> bool {
    info.crd_name.as_ref().is_some_and(|name| {
        state
            .store
            .get(
                &GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
                "",
                name,
            )
            .is_some_and(|crd| meta::is_terminating(&crd))
    })
}

fn create(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    if info.namespaced && namespace(ctx).is_none() {
        return Err(ApiError::method_not_allowed("create", &info.group, &info.plural));
    }
    if crd_terminating(state, info) {
        return Err(ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: "create not allowed while custom resource definition is terminating".into(),
            details: None,
            retry_after: None,
        });
    }
    let body = decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?;
    let opts = write_options(ctx)?;
    let written = ops::create(state, info, &ctx.info.version, namespace(ctx), body, &opts)?;
    Ok(respond_object(info, ctx, StatusCode::CREATED, &written.object).warnings(written.warnings))
}

fn update(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let body = decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?;
    let opts = write_options(ctx)?;
    let written = ops::update(
        state,
        info,
        &ctx.info.version,
        namespace(ctx),
        &ctx.info.name,
        body,
        Subresource::Main,
        &opts,
    )?;
    Ok(respond_object(info, ctx, StatusCode::OK, &written.object).warnings(written.warnings))
}

/// Applies a PATCH (server-side apply included) to the main resource or a subresource.
pub fn patch_object(
    state: &ApiState,
    ctx: &Context,
    info: &ResourceInfo,
    subresource: Subresource,
) -> Result<ops::Written, ApiError> {
    let patch_type = PatchType::from_content_type(ctx.header("content-type").unwrap_or(""))?;
    let opts = write_options(ctx)?;
    let patch_options_invalid = |cause: FieldCause| ApiError::invalid("meta.k8s.io", "PatchOptions", "", vec![cause]);
    if patch_type == PatchType::Apply {
        if ctx.query.field_manager.is_none() {
            return Err(patch_options_invalid(FieldCause::required_detail(
                "fieldManager",
                "is required for apply patch",
            )));
        }
        return ops::apply(
            state,
            info,
            &ctx.info.version,
            namespace(ctx),
            &ctx.info.name,
            &ctx.body,
            subresource,
            ctx.query.force,
            &opts,
        );
    }
    if ctx.query.force {
        return Err(patch_options_invalid(FieldCause::forbidden(
            "force",
            "may not be specified for non-apply patch",
        )));
    }
    ops::patch(
        state,
        info,
        &ctx.info.version,
        namespace(ctx),
        &ctx.info.name,
        patch_type,
        &ctx.body,
        subresource,
        &opts,
    )
}

fn patch(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let written = patch_object(state, ctx, info, Subresource::Main)?;
    Ok(respond_object(info, ctx, StatusCode::OK, &written.object).warnings(written.warnings))
}

fn delete_options(state: &ApiState, ctx: &Context) -> Result<DeleteOptions, ApiError> {
    let body = if ctx.body.is_empty() {
        None
    } else {
        Some(decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?)
    };
    DeleteOptions::from_request(
        body.as_ref(),
        ctx.query.propagation_policy.as_deref(),
        ctx.query.orphan_dependents,
    )
}

fn body_dry_run(ctx: &Context) -> bool {
    !ctx.body.is_empty()
        && serde_json::from_slice::<Value>(&ctx.body)
            .ok()
            .and_then(|b| b.get("dryRun").cloned())
            .and_then(|d| d.as_array().cloned())
            .is_some_and(|d| d.iter().any(|v| v == "All"))
}

fn delete(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let delete_opts = delete_options(state, ctx)?;
    let mut opts = write_options(ctx)?;
    opts.dry_run |= body_dry_run(ctx);
    let deleted = ops::delete(state, info, namespace(ctx), &ctx.info.name, &delete_opts, &opts)?;
    let object = &deleted.written.object;
    if let Some(status) = ops::deletion_response(info, object, deleted.gone) {
        return Ok(Reply::json(StatusCode::OK, &status));
    }
    Ok(respond_object(info, ctx, StatusCode::OK, object))
}

fn delete_collection(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(ctx, info)?;
    let delete_opts = delete_options(state, ctx)?;
    let mut opts = write_options(ctx)?;
    opts.dry_run |= body_dry_run(ctx);
    let deleted = ops::delete_collection(state, info, namespace(ctx), &labels, &fields, &delete_opts, &opts)?;
    let version = &ctx.info.version;
    let items: Vec<Value> = deleted.iter().map(|o| to_request_version(info, version, o)).collect();
    let body = json!({"kind": info.list_kind, "apiVersion": info.api_version(version),
        "metadata": {"resourceVersion": state.store.current_rv().to_string()}, "items": items});
    Ok(Reply::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue(42, &("ns".into(), "name".into()));
        assert_eq!(decode_continue(&token).unwrap(), (42, ("ns".into(), "name".into())));
        assert_eq!(decode_continue("garbage!").unwrap_err().code, 400);
    }
}
