//! The object operations every command is made of: get, list, server-side apply (field manager
//! [`FIELD_MANAGER`]), replace, create and delete, each one request (lists page by page) through
//! the client's limiter, with objects as `serde_json::Value`.

use super::client::ClusterClient;
use super::discovery::ApiResource;
use super::request::{ApiError, ApiRequest};
use http::Method;
use serde_json::{Value, json};

/// The field manager of every apply (load-bearing: changing it orphans every field kluctl owns).
pub const FIELD_MANAGER: &str = "kluctl";

/// Objects per page when listing.
const PAGE_SIZE: usize = 500;

/// The object an apply, replace or create returned.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The object as the server stored it (or would store it, for a dry run).
    pub object: Value,
    /// The server created it (`201`), i.e. it did not exist.
    pub created: bool,
    /// `Warning` headers of the answer (deprecated APIs, unknown fields).
    pub warnings: Vec<String>,
}

/// How to delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are deleted by the garbage collector afterwards (what kluctl uses).
    Background,
    /// Dependents first, then the object.
    Foreground,
    /// Dependents are left alone.
    Orphan,
}

impl Propagation {
    fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

fn object_name(object: &Value) -> Result<&str, ApiError> {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::Decode("the object has no metadata.name".to_string()))
}

fn warnings(headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .map(|h| {
            // `299 - "message"`: keep the message.
            let text = h.trim();
            let text = text.strip_prefix("299 - ").unwrap_or(text);
            text.trim_matches('"').to_string()
        })
        .collect()
}

impl ClusterClient {
    fn namespace_of<'a>(&'a self, resource: &ApiResource, object: &'a Value) -> Option<&'a str> {
        resource.namespaced.then(|| {
            object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .filter(|ns| !ns.is_empty())
                .unwrap_or(self.default_namespace())
        })
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get_object(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        match self.get_json(resource.path(namespace, Some(name))).await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists objects of a resource (in one namespace or all), optionally by label selector,
    /// page by page. Items get `apiVersion` and `kind`, which list answers leave out.
    pub async fn list_objects(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let base = resource.path(namespace, None);
        let mut out = Vec::new();
        let mut continue_token: Option<String> = None;
        loop {
            let query = {
                // The serializer is not `Send`; it must not live across the await.
                let mut query = url::form_urlencoded::Serializer::new(String::new());
                query.append_pair("limit", &PAGE_SIZE.to_string());
                if let Some(selector) = label_selector {
                    query.append_pair("labelSelector", selector);
                }
                if let Some(token) = &continue_token {
                    query.append_pair("continue", token);
                }
                query.finish()
            };
            let page = self.get_json(format!("{base}?{query}")).await?;
            let items = page.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            for mut item in items {
                if let Some(map) = item.as_object_mut() {
                    map.entry("apiVersion").or_insert_with(|| json!(resource.api_version()));
                    map.entry("kind").or_insert_with(|| json!(resource.kind));
                }
                out.push(item);
            }
            continue_token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if continue_token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Server-side apply of `object` as [`FIELD_MANAGER`]; `force` takes over conflicting
    /// fields, `dry_run` only asks what the result would be.
    pub async fn apply_object(
        &self,
        resource: &ApiResource,
        object: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<Written, ApiError> {
        let name = object_name(object)?;
        let mut query = format!("fieldManager={FIELD_MANAGER}");
        if force {
            query.push_str("&force=true");
        }
        if dry_run {
            query.push_str("&dryRun=All");
        }
        let path = format!(
            "{}?{query}",
            resource.path(self.namespace_of(resource, object), Some(name))
        );
        let body = serde_json::to_vec(object).map_err(|e| ApiError::Decode(e.to_string()))?;
        let request = ApiRequest::with_body(Method::PATCH, path, "application/apply-patch+yaml", body);
        let response = self.send(&request).await?;
        Ok(Written {
            object: response.json()?,
            created: response.status == http::StatusCode::CREATED,
            warnings: warnings(&response.warnings),
        })
    }

    /// Replaces (PUT) the object: every field not in `object` is dropped, whoever owned it.
    pub async fn replace_object(
        &self,
        resource: &ApiResource,
        object: &Value,
        dry_run: bool,
    ) -> Result<Written, ApiError> {
        let name = object_name(object)?;
        let mut path = format!(
            "{}?fieldManager={FIELD_MANAGER}",
            resource.path(self.namespace_of(resource, object), Some(name))
        );
        if dry_run {
            path.push_str("&dryRun=All");
        }
        let body = serde_json::to_vec(object).map_err(|e| ApiError::Decode(e.to_string()))?;
        let request = ApiRequest::with_body(Method::PUT, path, "application/json", body);
        let response = self.send(&request).await?;
        Ok(Written {
            object: response.json()?,
            created: response.status == http::StatusCode::CREATED,
            warnings: warnings(&response.warnings),
        })
    }

    /// Deletes an object; `Ok(false)` when it did not exist.
    pub async fn delete_object(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<bool, ApiError> {
        let mut options =
            json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation.as_str()});
        if dry_run {
            options["dryRun"] = json!(["All"]);
        }
        let mut path = resource.path(namespace, Some(name));
        if dry_run {
            path.push_str("?dryRun=All");
        }
        let body = serde_json::to_vec(&options).map_err(|e| ApiError::Decode(e.to_string()))?;
        let request = ApiRequest::with_body(Method::DELETE, path, "application/json", body);
        match self.send(&request).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}
