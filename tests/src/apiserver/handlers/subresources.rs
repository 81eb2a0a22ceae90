//! Subresources: `status` (get, update, patch), `scale` (an `autoscaling/v1` Scale view of the replicas,
//! get, update, patch) and a Namespace's `finalize` (update).

use http::StatusCode;
use serde_json::{Value, json};

use super::encode::decode_object;
use super::resources::{patch_object, respond_object, write_options};
use super::{Context, Reply};
use crate::apiserver::errors::ApiError;
use crate::apiserver::meta;
use crate::apiserver::ops::{self, PatchType, Subresource};
use crate::apiserver::registry::{ResourceInfo, ScaleInfo};
use crate::apiserver::selectors::LabelSelector;
use crate::apiserver::state::ApiState;

/// Routes a subresource request.
pub fn dispatch(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    let version = info.version(&ctx.info.version).ok_or_else(ApiError::path_not_found)?;
    let verb = ctx.info.verb.as_str();
    match ctx.info.subresource.as_str() {
        "status" if version.status => status(state, ctx, info),
        "scale" => match &version.scale {
            Some(scale) => scale_request(state, ctx, info, scale),
            None => Err(ApiError::path_not_found()),
        },
        "finalize" if info.group.is_empty() && info.plural == "namespaces" && verb == "update" => {
            let body = decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?;
            let written = ops::update(
                state,
                info,
                &ctx.info.version,
                None,
                &ctx.info.name,
                body,
                Subresource::Finalize,
                &write_options(ctx)?,
            )?;
            Ok(respond_object(info, ctx, StatusCode::OK, &written.object))
        }
        _ => Err(ApiError::path_not_found()),
    }
}

fn current(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<std::sync::Arc<Value>, ApiError> {
    let key = ops::object_key(info, ctx.info.namespace.as_deref(), &ctx.info.name);
    state
        .store
        .get(&info.group_resource(), &key.0, &key.1)
        .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, &ctx.info.name))
}

fn status(state: &ApiState, ctx: &Context, info: &ResourceInfo) -> Result<Reply, ApiError> {
    match ctx.info.verb.as_str() {
        "get" => {
            let object = current(state, ctx, info)?;
            Ok(respond_object(info, ctx, StatusCode::OK, &object))
        }
        "update" => {
            let body = decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?;
            let written = ops::update(
                state,
                info,
                &ctx.info.version,
                ctx.info.namespace.as_deref(),
                &ctx.info.name,
                body,
                Subresource::Status,
                &write_options(ctx)?,
            )?;
            Ok(respond_object(info, ctx, StatusCode::OK, &written.object).warnings(written.warnings))
        }
        "patch" => {
            let written = patch_object(state, ctx, info, Subresource::Status)?;
            Ok(respond_object(info, ctx, StatusCode::OK, &written.object).warnings(written.warnings))
        }
        other => Err(ApiError::method_not_allowed(
            other,
            &info.group,
            &format!("{}/status", info.plural),
        )),
    }
}

fn pointer(path: &str) -> String {
    path.trim_start_matches('.')
        .split('.')
        .fold(String::new(), |acc, p| format!("{acc}/{p}"))
}

/// The Scale view of an object.
fn scale_of(info: &ResourceInfo, scale: &ScaleInfo, object: &Value) -> Value {
    let metadata = meta::metadata(object).cloned().unwrap_or_default();
    let pick = |field: &str| metadata.get(field).cloned().unwrap_or(Value::Null);
    let selector = if info.is_custom() {
        scale
            .label_selector_path
            .as_ref()
            .and_then(|p| object.pointer(&pointer(p)))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    } else {
        object
            .pointer("/spec/selector")
            .and_then(|s| LabelSelector::from_object(s).ok())
            .map(|s| s.to_query())
            .unwrap_or_default()
    };
    let mut status =
        json!({"replicas": object.pointer(&pointer(&scale.status_replicas_path)).and_then(Value::as_i64).unwrap_or(0)});
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": pick("name"), "namespace": pick("namespace"), "uid": pick("uid"),
                     "resourceVersion": pick("resourceVersion"), "creationTimestamp": pick("creationTimestamp")},
        "spec": {"replicas": object.pointer(&pointer(&scale.spec_replicas_path)).and_then(Value::as_i64).unwrap_or(0)},
        "status": status,
    })
}

fn scale_request(state: &ApiState, ctx: &Context, info: &ResourceInfo, scale: &ScaleInfo) -> Result<Reply, ApiError> {
    let verb = ctx.info.verb.as_str();
    if !matches!(verb, "get" | "update" | "patch") {
        return Err(ApiError::method_not_allowed(
            verb,
            &info.group,
            &format!("{}/scale", info.plural),
        ));
    }
    loop {
        let object = current(state, ctx, info)?;
        let view = scale_of(info, scale, &object);
        if verb == "get" {
            return Ok(Reply::json(StatusCode::OK, &view));
        }
        let desired = if verb == "update" {
            decode_object(&ctx.body, ctx.header("content-type"), &state.registry)?
        } else {
            let patch_type = PatchType::from_content_type(ctx.header("content-type").unwrap_or(""))?;
            let mut patched = view.clone();
            ops::apply_patch(patch_type, &ctx.body, &mut patched, None)?;
            patched
        };
        let replicas = desired.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::invalid(
                "autoscaling",
                "Scale",
                &ctx.info.name,
                vec![crate::apiserver::errors::FieldCause::invalid(
                    "spec.replicas",
                    &json!(replicas),
                    "must be greater than or equal to 0",
                )],
            ));
        }
        let pinned = meta::meta_str(&desired, "resourceVersion").to_string();
        let current_rv = meta::meta_str(&object, "resourceVersion").to_string();
        if verb == "update" && !pinned.is_empty() && pinned != current_rv {
            return Err(ApiError::conflict_modified(&info.group, &info.plural, &ctx.info.name));
        }
        let mut next = (*object).clone();
        let path = pointer(&scale.spec_replicas_path);
        let (parent, field) = path.rsplit_once('/').unwrap_or(("", &path));
        let parents: Vec<&str> = parent.split('/').filter(|p| !p.is_empty()).collect();
        meta::ensure_map(&mut next, &parents).insert(field.to_string(), json!(replicas));
        match ops::update(
            state,
            info,
            &info.storage_version,
            ctx.info.namespace.as_deref(),
            &ctx.info.name,
            next,
            Subresource::Main,
            &write_options(ctx)?,
        ) {
            Ok(written) => return Ok(Reply::json(StatusCode::OK, &scale_of(info, scale, &written.object))),
            Err(err) if err.code == 409 && pinned.is_empty() => continue,
            Err(err) => return Err(err),
        }
    }
}
