//! [`ApiError`]: a failed request as the API server answers it, a `Status` object with the HTTP code,
//! reason, message and details worded like kube-apiserver's, so clients parse and print it unchanged.

use serde_json::{Value, json};

use super::registry::ResourceInfo;

/// One field-level cause of an `Invalid` (422) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueForbidden`, ...
    pub reason: &'static str,
    /// The field path, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// What is wrong, e.g. `Required value` or `Invalid value: "x": must be ...`.
    pub message: String,
}

impl FieldCause {
    /// `field: Required value`.
    pub fn required(field: impl Into<String>) -> Self {
        FieldCause {
            reason: "FieldValueRequired",
            field: field.into(),
            message: "Required value".into(),
        }
    }

    /// `field: Required value: detail`.
    pub fn required_detail(field: impl Into<String>, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueRequired",
            field: field.into(),
            message: format!("Required value: {detail}"),
        }
    }

    /// `field: Invalid value: <value>: detail`, the value printed as Go's `%#v` would for simple values.
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {}: {detail}", go_value(value)),
        }
    }

    /// `field: Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        FieldCause {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                list.join(", ")
            ),
        }
    }

    /// `field: Forbidden: detail`.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    /// `field: Duplicate value: <value>`.
    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        FieldCause {
            reason: "FieldValueDuplicate",
            field: field.into(),
            message: format!("Duplicate value: {}", go_value(value)),
        }
    }

    /// `field: Invalid value: <value>: field is immutable`.
    pub fn immutable(field: impl Into<String>, value: &Value) -> Self {
        FieldCause::invalid(field, value, "field is immutable")
    }

    fn rendered(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

/// Renders a JSON value roughly as Go's `%#v` prints the decoded value in validation messages.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A request that failed; rendered as a `Status` object with [`ApiError::to_status`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    pub reason: &'static str,
    /// Human-readable message, worded like kube-apiserver's.
    pub message: String,
    /// `details` of the Status, when the real server sends them (boxed: errors travel in `Result`s).
    pub details: Option<Box<Value>>,
    /// Seconds for the `Retry-After` header (429 and some 500s).
    pub retry_after: Option<u64>,
}

/// `deployments.apps` or `configmaps`: how the server names a resource in messages.
pub fn qualified_resource(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// `Deployment.apps` or `ConfigMap`: how the server names a kind in `Invalid` messages.
pub fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 404: `deployments.apps "web" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", qualified_resource(group, plural)),
        )
        .with_details(resource_details(group, plural, name))
    }

    /// 404 for a path that names no resource.
    pub fn path_not_found() -> Self {
        ApiError::new(404, "NotFound", "the server could not find the requested resource").with_details(json!({}))
    }

    /// 409: `deployments.apps "web" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", qualified_resource(group, plural)),
        )
        .with_details(resource_details(group, plural, name))
    }

    /// 409: the optimistic-concurrency failure of an update with a stale resourceVersion.
    pub fn conflict_modified(group: &str, plural: &str, name: &str) -> Self {
        ApiError::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409: `Operation cannot be fulfilled on <resource> "<name>": <detail>`.
    pub fn conflict(group: &str, plural: &str, name: &str, detail: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {detail}",
                qualified_resource(group, plural)
            ),
        )
        .with_details(resource_details(group, plural, name))
    }

    /// 409 with a free-form message and field causes (server-side apply conflicts).
    pub fn conflict_with_causes(message: String, group: &str, plural: &str, name: &str, causes: Vec<Value>) -> Self {
        let mut details = resource_details(group, plural, name);
        details["causes"] = Value::Array(causes);
        ApiError::new(409, "Conflict", message).with_details(details)
    }

    /// 422: `Deployment.apps "web" is invalid: <causes>`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let rendered: Vec<String> = causes.iter().map(FieldCause::rendered).collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let mut details = json!({"name": name, "group": group, "kind": kind});
        if group.is_empty() {
            details.as_object_mut().map(|d| d.shift_remove("group"));
        }
        details["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
        );
        ApiError::new(
            422,
            "Invalid",
            format!("{} {name:?} is invalid: {summary}", qualified_kind(group, kind)),
        )
        .with_details(details)
    }

    /// 422 for an object of `info`'s kind.
    pub fn invalid_object(info: &ResourceInfo, name: &str, causes: Vec<FieldCause>) -> Self {
        ApiError::invalid(&info.group, &info.kind, name, causes)
    }

    /// 400 with the given message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 401: no or an unknown bearer token.
    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 with a message that already names the resource and the reason.
    pub fn forbidden_message(message: impl Into<String>, details: Option<Value>) -> Self {
        let mut err = ApiError::new(403, "Forbidden", message);
        err.details = details.map(Box::new);
        err
    }

    /// 403: `<resource> "<name>" is forbidden: <detail>`.
    pub fn forbidden(group: &str, plural: &str, name: &str, detail: &str) -> Self {
        let subject = if name.is_empty() {
            qualified_resource(group, plural)
        } else {
            format!("{} {name:?}", qualified_resource(group, plural))
        };
        ApiError::new(403, "Forbidden", format!("{subject} is forbidden: {detail}"))
            .with_details(resource_details(group, plural, name))
    }

    /// 405: the verb is not supported on this resource.
    pub fn method_not_allowed(verb: &str, group: &str, plural: &str) -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "the server does not allow this method on the requested resource ({verb} {})",
                qualified_resource(group, plural)
            ),
        )
        .with_details(json!({"group": group, "kind": plural}))
    }

    /// 415: an unsupported request Content-Type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"
            ),
        )
    }

    /// 406: no acceptable response media type.
    pub fn not_acceptable(accept: &str) -> Self {
        ApiError::new(
            406,
            "NotAcceptable",
            format!("only the following media types are accepted: application/json, application/yaml (got {accept:?})"),
        )
    }

    /// 410: `too old resource version: <asked> (<oldest>)`.
    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    /// 500 with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalError", message)
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut err = ApiError::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        err.retry_after = Some(retry_after);
        err.details = Some(Box::new(json!({"retryAfterSeconds": retry_after})));
        err
    }

    /// 504: the server waited too long for something (e.g. a too large resourceVersion).
    pub fn timeout(message: impl Into<String>) -> Self {
        ApiError::new(504, "Timeout", message)
    }

    /// The Kubernetes `Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let Some(details) = &self.details {
            status["details"] = (**details).clone();
        }
        status["code"] = json!(self.code);
        status
    }
}

/// `details` naming a resource instance: `{"name": .., "group": .., "kind": <plural>}`.
fn resource_details(group: &str, plural: &str, name: &str) -> Value {
    let mut details = serde_json::Map::new();
    if !name.is_empty() {
        details.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        details.insert("group".into(), json!(group));
    }
    details.insert("kind".into(), json!(plural));
    Value::Object(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_worded_like_kube_apiserver() {
        let err = ApiError::not_found("apps", "deployments", "web");
        let status = err.to_status();
        assert_eq!(status["message"], "deployments.apps \"web\" not found");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["code"], 404);
        assert_eq!(
            status["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
        let core = ApiError::not_found("", "configmaps", "cfg").to_status();
        assert_eq!(core["message"], "configmaps \"cfg\" not found");
        assert_eq!(core["details"], json!({"name": "cfg", "kind": "configmaps"}));
    }

    #[test]
    fn invalid_lists_every_cause_with_its_field() {
        let err = ApiError::invalid(
            "apps",
            "Deployment",
            "web",
            vec![
                FieldCause::required("spec.template.spec.containers[0].image"),
                FieldCause::invalid("metadata.name", &json!("Bad"), "must be lowercase"),
            ],
        );
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "Deployment.apps \"web\" is invalid: [spec.template.spec.containers[0].image: Required value, \
             metadata.name: Invalid value: \"Bad\": must be lowercase]"
        );
        let causes = &err.to_status()["details"]["causes"];
        assert_eq!(causes[0]["reason"], "FieldValueRequired");
        assert_eq!(causes[1]["field"], "metadata.name");
    }
}
