//! Encoding answers ([`Reply`]: JSON, YAML, Tables, Status errors, `Warning` and `Retry-After`
//! headers, streamed watch bodies) and decoding request bodies (JSON or YAML).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use serde_json::Value;

use crate::apiserver::errors::ApiError;
use crate::apiserver::registry::Registry;

/// Response body type: a full buffer or a stream (watches).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// An empty body.
pub fn empty_body() -> Body {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}

/// A complete answer.
pub struct Reply {
    status: StatusCode,
    body: Body,
    content_type: String,
    warnings: Vec<String>,
    retry_after: Option<u64>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: StatusCode, value: &Value) -> Self {
        // Serialising a serde_json::Value cannot fail.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        Reply::bytes(status, Bytes::from(bytes), "application/json")
    }

    /// Raw bytes with a content type.
    pub fn bytes(status: StatusCode, bytes: Bytes, content_type: &str) -> Self {
        Reply {
            status,
            body: Full::new(bytes).map_err(|never| match never {}).boxed(),
            content_type: content_type.to_string(),
            warnings: Vec::new(),
            retry_after: None,
        }
    }

    /// Plain text (health checks).
    pub fn text(status: StatusCode, text: &str) -> Self {
        Reply::bytes(status, Bytes::from(text.to_string()), "text/plain; charset=utf-8")
    }

    /// A streamed answer.
    pub fn stream(status: StatusCode, body: Body, content_type: &str) -> Self {
        Reply {
            status,
            body,
            content_type: content_type.to_string(),
            warnings: Vec::new(),
            retry_after: None,
        }
    }

    /// A `Status` error.
    pub fn error(err: &ApiError) -> Self {
        let status = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = Reply::json(status, &err.to_status());
        reply.retry_after = err.retry_after;
        reply
    }

    /// An object in the format the client accepts (YAML when it asks only for YAML, else JSON).
    pub fn object(status: StatusCode, value: &Value, accept: &str) -> Self {
        let wants_yaml = accept.contains("application/yaml") && !accept.contains("application/json");
        if wants_yaml {
            let text = shared::yaml::to_yaml_string(value);
            return Reply::bytes(status, Bytes::from(text), "application/yaml");
        }
        Reply::json(status, value)
    }

    /// Replaces the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Adds `Warning` headers.
    pub fn warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// The hyper response.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(self.body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.content_type) {
            headers.insert(http::header::CONTENT_TYPE, value);
        }
        headers.insert("cache-control", HeaderValue::from_static("no-cache, private"));
        for warning in self.warnings {
            let text = format!("299 - {}", serde_json::Value::String(warning));
            if let Ok(value) = HeaderValue::from_str(&text) {
                headers.append(http::header::WARNING, value);
            }
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Decodes a create/update body: JSON, YAML for `application/yaml`, or Kubernetes protobuf.
pub fn decode_object(body: &[u8], content_type: Option<&str>, registry: &Registry) -> Result<Value, ApiError> {
    let media = content_type
        .unwrap_or("application/json")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    let value = match media {
        crate::apiserver::protobuf::PROTOBUF => crate::apiserver::protobuf::decode(body, registry)?,
        "application/json" | "" | "*/*" => {
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding JSON body: {e}")))?
        }
        "application/yaml" | "application/apply-patch+yaml" => {
            let text =
                std::str::from_utf8(body).map_err(|_| ApiError::bad_request("error decoding YAML body: not UTF-8"))?;
            shared::yaml::parse_single(text, "request body")
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML body: {}", e.message)))?
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "error decoding body: the body must be a Kubernetes object (a map)",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_decode_from_json_and_yaml() {
        let registry = Registry::with_builtins();
        let json = decode_object(br#"{"kind":"ConfigMap"}"#, Some("application/json"), &registry).unwrap();
        assert_eq!(json["kind"], "ConfigMap");
        let yaml = decode_object(b"kind: ConfigMap\ndata:\n  a: b\n", Some("application/yaml"), &registry).unwrap();
        assert_eq!(yaml["data"]["a"], "b");
        assert_eq!(decode_object(b"[]", None, &registry).unwrap_err().code, 400);
        assert_eq!(
            decode_object(b"x", Some("text/plain"), &registry).unwrap_err().code,
            415
        );
    }

    #[test]
    fn warnings_and_retry_after_become_headers() {
        let response = Reply::error(&ApiError::too_many_requests(3))
            .warnings(vec!["unknown field \"spec.x\"".into()])
            .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.headers()["warning"], "299 - \"unknown field \\\"spec.x\\\"\"");
    }
}
