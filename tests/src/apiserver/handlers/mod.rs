//! HTTP handling: one request from hyper to an answer. Authentication, impersonation, fault injection
//! and authorization come first; then non-resource paths (version, health, discovery, OpenAPI) or a
//! resource verb ([`resources`], [`watch`], [`subresources`], the access reviews).

mod encode;
mod resources;
mod subresources;
mod watch;

pub use encode::{Body, Reply, empty_body};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;

use super::auth::rbac::{self, Attributes};
use super::auth::{ImpersonationRequest, UserInfo, reviews};
use super::discovery;
use super::errors::ApiError;
use super::faults::Fault;
use super::request::{Query, RequestInfo};
use super::state::ApiState;
use super::version::version_info;

/// Largest request body accepted (kube-apiserver's limit is 3 MiB per object; lists of patches are bigger).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Returned to hyper to close the connection without an answer (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub struct DroppedConnection;

/// Everything a handler needs about the request.
pub struct Context {
    /// The (possibly impersonated) user.
    pub user: UserInfo,
    /// Decoded path.
    pub info: RequestInfo,
    /// Decoded query.
    pub query: Query,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
}

impl Context {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Accept` header (empty when missing).
    pub fn accept(&self) -> &str {
        self.header("accept").unwrap_or("")
    }
}

/// Serves one request.
pub async fn serve(
    state: Arc<ApiState>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let query = match Query::parse(parts.uri.query()) {
        Ok(query) => query,
        Err(err) => return Ok(Reply::error(&err).into_response()),
    };
    let info = RequestInfo::parse(&parts.method, parts.uri.path(), query.watch);
    if let Some(reply) = public_endpoint(&parts.method, &info.path) {
        return Ok(reply.into_response());
    }
    let user = match authenticate(&state, &parts.headers) {
        Ok(user) => user,
        Err(err) => return Ok(Reply::error(&err).into_response()),
    };
    if let Some(faults) = &state.faults
        && info.is_resource
    {
        let resource = if info.subresource.is_empty() {
            info.resource.clone()
        } else {
            format!("{}/{}", info.resource, info.subresource)
        };
        match faults.decide(&info.verb, &resource) {
            Some(Fault::Drop) => return Err(DroppedConnection),
            Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::Status(code)) => {
                let err = if code == 503 {
                    ApiError {
                        code: 503,
                        reason: "ServiceUnavailable",
                        message: "the server is currently unable to handle the request (injected fault)".into(),
                        details: None,
                        retry_after: Some(1),
                    }
                } else {
                    ApiError::internal(
                        "an error on the server (\"injected fault\") has prevented the request from succeeding",
                    )
                };
                return Ok(Reply::error(&err).into_response());
            }
            Some(Fault::TooManyRequests(seconds)) => {
                return Ok(Reply::error(&ApiError::too_many_requests(seconds)).into_response());
            }
            None => {}
        }
    }
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let err = ApiError {
                code: 413,
                reason: "RequestEntityTooLarge",
                message: "the request body is too large".into(),
                details: None,
                retry_after: None,
            };
            return Ok(Reply::error(&err).into_response());
        }
    };
    let ctx = Context {
        user,
        info,
        query,
        headers: parts.headers,
        body,
    };
    if let Err(err) = authorize(&state, &ctx) {
        return Ok(Reply::error(&err).into_response());
    }
    let method = parts.method;
    if ctx.info.is_resource {
        if ctx.info.verb == "watch" {
            return Ok(watch::watch(state, ctx).into_response());
        }
        let reply = resources::dispatch(&state, &ctx).unwrap_or_else(|err| Reply::error(&err));
        return Ok(reply.into_response());
    }
    let reply = non_resource(&state, &method, &ctx).unwrap_or_else(|err| Reply::error(&err));
    Ok(reply.into_response())
}

/// Paths served without authentication, as kube-apiserver's `system:public-info-viewer` allows.
fn public_endpoint(method: &Method, path: &str) -> Option<Reply> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    match path.trim_end_matches('/') {
        "/healthz" | "/livez" | "/readyz" => Some(Reply::text(StatusCode::OK, "ok")),
        "/version" => Some(Reply::json(StatusCode::OK, &version_info())),
        _ => None,
    }
}

fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let user = state.auth.authenticate(authorization)?;
    let Some(request) = ImpersonationRequest::from_headers(headers)? else {
        return Ok(user);
    };
    let target = request.user.clone().unwrap_or_default();
    let mut checks: Vec<Attributes> = Vec::new();
    let check = |resource: &str, name: &str, namespace: &str, group: &str| Attributes {
        user: user.clone(),
        verb: "impersonate".into(),
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        name: name.into(),
        is_resource: true,
        ..Default::default()
    };
    match target
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) => checks.push(check("serviceaccounts", name, namespace, "")),
        None => checks.push(check("users", &target, "", "")),
    }
    for group in &request.groups {
        checks.push(check("groups", group, "", ""));
    }
    if let Some(uid) = &request.uid {
        checks.push(check("uids", uid, "", "authentication.k8s.io"));
    }
    for (key, values) in &request.extra {
        for value in values {
            let mut attrs = check("userextras", value, "", "authentication.k8s.io");
            attrs.subresource = key.clone();
            checks.push(attrs);
        }
    }
    if state.options.rbac {
        for attrs in &checks {
            if !rbac::authorize(&state.store, attrs).allowed() {
                return Err(rbac::forbidden(attrs));
            }
        }
    }
    Ok(request.to_user())
}

fn authorize(state: &ApiState, ctx: &Context) -> Result<(), ApiError> {
    if !state.options.rbac {
        return Ok(());
    }
    let info = &ctx.info;
    let attrs = Attributes {
        user: ctx.user.clone(),
        verb: info.verb.clone(),
        namespace: info.namespace.clone().unwrap_or_default(),
        api_group: info.group.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone(),
        name: info.name.clone(),
        is_resource: info.is_resource,
        path: info.path.clone(),
    };
    if rbac::authorize(&state.store, &attrs).allowed() {
        Ok(())
    } else {
        Err(rbac::forbidden(&attrs))
    }
}

fn non_resource(state: &ApiState, method: &Method, ctx: &Context) -> Result<Reply, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(method.as_str(), "", ""));
    }
    let path = ctx.info.path.trim_end_matches('/');
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let aggregated = discovery::aggregated_version(ctx.accept());
    match parts.as_slice() {
        ["api"] => Ok(match aggregated {
            Some(v) => Reply::json(StatusCode::OK, &discovery::aggregated(&state.registry, true, v))
                .content_type(discovery::aggregated_content_type(v)),
            None => Reply::json(
                StatusCode::OK,
                &discovery::legacy_core_versions(&state.address.to_string()),
            ),
        }),
        ["apis"] => Ok(match aggregated {
            Some(v) => Reply::json(StatusCode::OK, &discovery::aggregated(&state.registry, false, v))
                .content_type(discovery::aggregated_content_type(v)),
            None => Reply::json(StatusCode::OK, &discovery::legacy_group_list(&state.registry)),
        }),
        ["api", version] => discovery::legacy_resource_list(&state.registry, "", version)
            .map(|list| Reply::json(StatusCode::OK, &list))
            .ok_or_else(ApiError::path_not_found),
        ["apis", group] => discovery::legacy_group(&state.registry, group)
            .map(|g| Reply::json(StatusCode::OK, &g))
            .ok_or_else(ApiError::path_not_found),
        ["apis", group, version] => discovery::legacy_resource_list(&state.registry, group, version)
            .map(|list| Reply::json(StatusCode::OK, &list))
            .ok_or_else(ApiError::path_not_found),
        ["openapi", "v3"] => Ok(Reply::json(StatusCode::OK, &state.openapi.index(&state.registry))),
        ["openapi", "v3", rest @ ..] => state
            .openapi
            .document(&state.registry, &rest.join("/"))
            .map(|doc| Reply::bytes(StatusCode::OK, Bytes::from(doc.as_ref().clone()), "application/json"))
            .ok_or_else(ApiError::path_not_found),
        _ => Err(ApiError::path_not_found()),
    }
}

/// Creates one of the non-stored review kinds (access reviews, self subject review).
pub fn review(state: &ApiState, ctx: &Context, body: serde_json::Value) -> Result<Reply, ApiError> {
    let answer = reviews::review(state, &ctx.user, &ctx.info, body)?;
    Ok(Reply::json(StatusCode::CREATED, &answer))
}
