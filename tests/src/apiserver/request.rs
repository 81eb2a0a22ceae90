//! Request decoding: the path into a [`RequestInfo`] (verb, group, version, namespace, resource, name,
//! subresource, as kube-apiserver's `RequestInfoFactory` does) and the query into [`Query`] options.

use super::errors::ApiError;

/// What a request addresses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestInfo {
    /// True for `/api/...` and `/apis/...` paths naming a resource.
    pub is_resource: bool,
    /// Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`;
    /// for non-resource paths the lowercase HTTP method.
    pub verb: String,
    /// API group (empty for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub resource: String,
    /// Subresource (`status`, `scale`), empty when none.
    pub subresource: String,
    /// Object name, empty for collections.
    pub name: String,
    /// The raw path.
    pub path: String,
}

/// Subresources of a Namespace reached as `/api/v1/namespaces/<name>/<sub>`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

impl RequestInfo {
    /// Decodes a path and HTTP method; `watch=true` in the query turns a list into a watch.
    pub fn parse(method: &http::Method, path: &str, watch_param: bool) -> RequestInfo {
        let mut info = RequestInfo {
            path: path.to_string(),
            verb: method.as_str().to_lowercase(),
            ..Default::default()
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
        let rest: &[&str] = match parts.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => {
                info.version = version.to_string();
                rest
            }
            ["apis", group, version, rest @ ..] if !rest.is_empty() => {
                info.group = group.to_string();
                info.version = version.to_string();
                rest
            }
            _ => return info,
        };
        info.is_resource = true;
        let mut rest = rest;
        let mut legacy_watch = false;
        if rest[0] == "watch" {
            legacy_watch = true;
            rest = &rest[1..];
            if rest.is_empty() {
                info.is_resource = false;
                return info;
            }
        }
        if rest[0] == "namespaces" && rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            info.namespace = Some(rest[1].to_string());
            rest = &rest[2..];
        }
        info.resource = rest[0].to_string();
        if rest.len() > 1 {
            info.name = rest[1].to_string();
        }
        if rest.len() > 2 {
            info.subresource = rest[2..].join("/");
        }
        info.verb = match *method {
            http::Method::GET | http::Method::HEAD => {
                if info.name.is_empty() {
                    if legacy_watch || watch_param { "watch" } else { "list" }
                } else if legacy_watch || watch_param {
                    "watch"
                } else {
                    "get"
                }
            }
            http::Method::POST => "create",
            http::Method::PUT => "update",
            http::Method::PATCH => "patch",
            http::Method::DELETE => {
                if info.name.is_empty() {
                    "deletecollection"
                } else {
                    "delete"
                }
            }
            _ => "unknown",
        }
        .to_string();
        info
    }
}

/// `dryRun`, `fieldManager`, selectors and the other query options the handlers read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// `labelSelector`
    pub label_selector: Option<String>,
    /// `fieldSelector`
    pub field_selector: Option<String>,
    /// `limit` (0 = no limit)
    pub limit: usize,
    /// `continue`
    pub continue_token: Option<String>,
    /// `resourceVersion`
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`
    pub resource_version_match: Option<String>,
    /// `watch`
    pub watch: bool,
    /// `allowWatchBookmarks`
    pub allow_watch_bookmarks: bool,
    /// `sendInitialEvents`
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`
    pub timeout_seconds: Option<u64>,
    /// `dryRun=All`
    pub dry_run: bool,
    /// `fieldManager`
    pub field_manager: Option<String>,
    /// `force` (server-side apply)
    pub force: bool,
    /// `fieldValidation`: `Strict`, `Warn` or `Ignore` (default `Warn`)
    pub field_validation: FieldValidation,
    /// `propagationPolicy`
    pub propagation_policy: Option<String>,
    /// `orphanDependents` (deprecated form of Orphan propagation)
    pub orphan_dependents: Option<bool>,
    /// `gracePeriodSeconds`
    pub grace_period_seconds: Option<i64>,
    /// `includeObject` for Table output: `None`, `Metadata`, `Object`
    pub include_object: Option<String>,
}

/// How unknown and duplicate fields in a request body are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and say so in `Warning` headers (the server's default).
    #[default]
    Warn,
    /// Fail the request.
    Strict,
}

impl Query {
    /// Decodes a query string; values the server rejects become 400 answers worded like kube-apiserver's.
    pub fn parse(query: Option<&str>) -> Result<Query, ApiError> {
        let mut q = Query::default();
        let Some(query) = query else {
            return Ok(q);
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "labelSelector" => q.label_selector = Some(value),
                "fieldSelector" => q.field_selector = Some(value),
                "limit" => {
                    q.limit = value
                        .parse()
                        .map_err(|_| ApiError::bad_request(format!("invalid limit {value:?}")))?
                }
                "continue" => q.continue_token = Some(value).filter(|v| !v.is_empty()),
                "resourceVersion" => q.resource_version = Some(value).filter(|v| !v.is_empty()),
                "resourceVersionMatch" => q.resource_version_match = Some(value).filter(|v| !v.is_empty()),
                "watch" => q.watch = parse_bool(&value),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = parse_bool(&value),
                "sendInitialEvents" => q.send_initial_events = Some(parse_bool(&value)),
                "timeoutSeconds" => q.timeout_seconds = value.parse().ok(),
                "dryRun" => match value.as_str() {
                    "All" => q.dry_run = true,
                    "" => {}
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dry run value: {other:?}: supported values: \"All\""
                        )));
                    }
                },
                "fieldManager" => q.field_manager = Some(value),
                "force" => q.force = parse_bool(&value),
                "fieldValidation" => {
                    q.field_validation = match value.as_str() {
                        "Strict" => FieldValidation::Strict,
                        "Warn" | "" => FieldValidation::Warn,
                        "Ignore" => FieldValidation::Ignore,
                        other => {
                            return Err(ApiError::bad_request(format!(
                                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
                            )));
                        }
                    }
                }
                "propagationPolicy" => q.propagation_policy = Some(value),
                "orphanDependents" => q.orphan_dependents = Some(parse_bool(&value)),
                "gracePeriodSeconds" => q.grace_period_seconds = value.parse().ok(),
                "includeObject" => q.include_object = Some(value),
                _ => {}
            }
        }
        Ok(q)
    }
}

fn parse_bool(value: &str) -> bool {
    matches!(value, "true" | "1" | "True" | "TRUE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn paths_decode_like_kube_apiserver() {
        let i = RequestInfo::parse(&Method::GET, "/apis/apps/v1/namespaces/prod/deployments/web", false);
        assert_eq!(
            (
                i.verb.as_str(),
                i.group.as_str(),
                i.namespace.as_deref(),
                i.resource.as_str(),
                i.name.as_str()
            ),
            ("get", "apps", Some("prod"), "deployments", "web")
        );
        let i = RequestInfo::parse(&Method::GET, "/api/v1/namespaces/prod/pods", true);
        assert_eq!(i.verb, "watch");
        let i = RequestInfo::parse(&Method::PUT, "/apis/apps/v1/namespaces/p/deployments/web/status", false);
        assert_eq!((i.verb.as_str(), i.subresource.as_str()), ("update", "status"));
        let i = RequestInfo::parse(&Method::DELETE, "/api/v1/namespaces/prod", false);
        assert_eq!(
            (i.resource.as_str(), i.name.as_str(), i.namespace),
            ("namespaces", "prod", None)
        );
        let i = RequestInfo::parse(&Method::PUT, "/api/v1/namespaces/prod/finalize", false);
        assert_eq!((i.name.as_str(), i.subresource.as_str()), ("prod", "finalize"));
        let i = RequestInfo::parse(&Method::DELETE, "/api/v1/namespaces/prod/configmaps", false);
        assert_eq!(i.verb, "deletecollection");
        let i = RequestInfo::parse(&Method::GET, "/api/v1/watch/namespaces/prod/configmaps", false);
        assert_eq!(i.verb, "watch");
        assert!(!RequestInfo::parse(&Method::GET, "/apis/apps/v1", false).is_resource);
        assert!(!RequestInfo::parse(&Method::GET, "/version", false).is_resource);
    }

    #[test]
    fn query_options_are_decoded_and_bad_values_rejected() {
        let q = Query::parse(Some(
            "dryRun=All&fieldManager=kubectl&force=true&labelSelector=a%3Db&limit=5",
        ))
        .unwrap();
        assert!(q.dry_run && q.force);
        assert_eq!(q.field_manager.as_deref(), Some("kubectl"));
        assert_eq!(q.label_selector.as_deref(), Some("a=b"));
        assert_eq!(q.limit, 5);
        assert!(Query::parse(Some("dryRun=Some")).is_err());
        assert_eq!(
            Query::parse(Some("fieldValidation=Strict")).unwrap().field_validation,
            FieldValidation::Strict
        );
    }
}
