//! One API request: a slot from the [`super::limiter::Limiter`], a deadline, and retries of
//! what is safe to retry.
//!
//! - `429` is always retried (the server did not process the request), after `Retry-After`,
//!   and tells the limiter to slow down.
//! - `500`, `502`, `503`, `504`, dropped connections and deadlines are retried with exponential
//!   backoff and jitter, but only for idempotent requests (every request kluctl sends is, except
//!   a plain create).
//! - Everything else is answered at once, as an [`ApiError`] carrying the server's `Status`.
//! - A connection error before the server has answered anything is not retried either: the
//!   address is wrong or the cluster is down, and the user should hear so at once (as kubectl
//!   says it), with the server, the context and the whole cause.

use super::client::ClusterClient;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::time::Duration;

/// Attempts for an idempotent request before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// Attempts when the request timed out (a slow server gets slower with more load).
const MAX_TIMEOUT_ATTEMPTS: u32 = 3;
/// Longest single wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error `Status`.
    #[error("{message}")]
    Status {
        /// HTTP status code.
        code: u16,
        /// The `Status` reason (`Conflict`, `NotFound`, `Invalid`, ...).
        reason: String,
        /// The server's message.
        message: String,
        /// The whole `Status` object (conflict causes are in `details.causes`).
        status: Value,
    },
    /// The request did not complete before its deadline.
    #[error("the request timed out after {0:?} (raise --request-timeout if the cluster is slow)")]
    Timeout(Duration),
    /// The request could not be sent or the answer not read.
    #[error("{0}")]
    Transport(String),
    /// The answer is not what the API promises.
    #[error("unexpected answer from the API server: {0}")]
    Decode(String),
}

impl ApiError {
    /// The HTTP status code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// `404 Not Found`.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// `409 Conflict` (field-manager conflict or stale resourceVersion).
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }

    /// `403 Forbidden`.
    pub fn is_forbidden(&self) -> bool {
        self.code() == Some(403)
    }

    /// The server does not know the kind (a CRD not yet established) or the resource.
    pub fn is_no_match(&self) -> bool {
        matches!(self, ApiError::Status { code: 404, reason, status, .. }
            if reason == "NotFound" && status.pointer("/details/name").is_none())
    }
}

/// A request as the cluster code builds it.
#[derive(Clone, Debug)]
pub(crate) struct ApiRequest {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/namespaces/x/configmaps/y?dryRun=All`.
    pub path: String,
    pub content_type: Option<&'static str>,
    pub accept: Option<&'static str>,
    pub body: Bytes,
    /// Safe to send twice.
    pub idempotent: bool,
}

impl ApiRequest {
    pub fn get(path: String) -> Self {
        ApiRequest {
            method: Method::GET,
            path,
            content_type: None,
            accept: None,
            body: Bytes::new(),
            idempotent: true,
        }
    }

    pub fn with_body(method: Method, path: String, content_type: &'static str, body: Vec<u8>) -> Self {
        ApiRequest {
            method,
            path,
            content_type: Some(content_type),
            accept: None,
            body: Bytes::from(body),
            idempotent: true,
        }
    }
}

/// An answer with a success status.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Bytes,
    /// `Warning` headers.
    pub warnings: Vec<String>,
}

impl ApiResponse {
    pub fn json(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Decode(format!("invalid JSON: {e}")))
    }
}

enum Attempt {
    Done(Result<ApiResponse, ApiError>),
    Throttled(Option<Duration>, ApiError),
    Transient(ApiError),
}

fn status_error(code: StatusCode, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Value>(body) {
        Ok(status) if status.get("kind").and_then(Value::as_str) == Some("Status") => ApiError::Status {
            code: code.as_u16(),
            reason: status
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            message: status
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            status,
        },
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(300).collect();
            ApiError::Status {
                code: code.as_u16(),
                reason: code.canonical_reason().unwrap_or_default().to_string(),
                message: if text.is_empty() {
                    format!("the server answered {code}")
                } else {
                    format!("the server answered {code}: {text}")
                },
                status: Value::Null,
            }
        }
    }
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let text = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// An error with its causes, as `outer: cause: root cause` (kube's own text stops at
/// "client error (Connect)", which hides "connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(100) * 2u32.saturating_pow(attempt.min(6));
    let jitter = rand::random::<f64>() * 0.5 + 0.75;
    base.mul_f64(jitter).min(MAX_BACKOFF)
}

impl ClusterClient {
    async fn attempt(&self, request: &ApiRequest) -> Attempt {
        let mut builder = Request::builder().method(request.method.clone()).uri(&request.path);
        if let Some(ct) = request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        builder = builder.header(http::header::ACCEPT, request.accept.unwrap_or("application/json"));
        let http_request = match builder.body(kube::client::Body::from(request.body.clone())) {
            Ok(r) => r,
            Err(e) => return Attempt::Done(Err(ApiError::Transport(format!("invalid request: {e}")))),
        };
        let inner = &self.inner;
        let permit = inner.limiter.acquire().await;
        let exchange = async {
            let response = inner.client.send(http_request).await.map_err(|e| error_chain(&e))?;
            inner.answered.store(true, std::sync::atomic::Ordering::Relaxed);
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| error_chain(&e))?.to_bytes();
            Ok::<_, String>((parts, body))
        };
        let outcome = match inner.request_timeout {
            Some(deadline) => match tokio::time::timeout(deadline, exchange).await {
                Ok(r) => r,
                Err(_) => {
                    drop(permit);
                    return Attempt::Transient(ApiError::Timeout(deadline));
                }
            },
            None => exchange.await,
        };
        drop(permit);
        let (parts, body) = match outcome {
            Ok(ok) => ok,
            Err(message) => return Attempt::Transient(ApiError::Transport(message)),
        };
        let code = parts.status;
        if code == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&parts.headers);
            inner.limiter.on_throttled(wait);
            return Attempt::Throttled(wait, status_error(code, &body));
        }
        inner.limiter.on_success();
        if code.is_success() {
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let warnings = parts
                .headers
                .get_all(http::header::WARNING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect();
            return Attempt::Done(Ok(ApiResponse {
                status: code,
                content_type,
                body,
                warnings,
            }));
        }
        let error = status_error(code, &body);
        match code.as_u16() {
            500 | 502 | 503 | 504 => Attempt::Transient(error),
            _ => Attempt::Done(Err(error)),
        }
    }

    /// Sends a request with the retry policy of the module docs.
    pub(crate) async fn send(&self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let mut attempt = 0;
        let mut timeouts = 0;
        loop {
            attempt += 1;
            match self.attempt(request).await {
                Attempt::Done(result) => return result,
                Attempt::Throttled(wait, error) => {
                    if attempt >= MAX_ATTEMPTS * 2 {
                        return Err(error);
                    }
                    tokio::time::sleep(wait.unwrap_or_else(|| backoff(attempt))).await;
                }
                Attempt::Transient(error) => {
                    if matches!(error, ApiError::Timeout(_)) {
                        timeouts += 1;
                    }
                    if let ApiError::Transport(cause) = &error
                        && !self.inner.answered.load(std::sync::atomic::Ordering::Relaxed)
                    {
                        return Err(ApiError::Transport(format!(
                            "failed to reach the API server {} (context {}): {cause}",
                            self.inner.server, self.inner.context
                        )));
                    }
                    if !request.idempotent || attempt >= MAX_ATTEMPTS || timeouts >= MAX_TIMEOUT_ATTEMPTS {
                        return Err(error);
                    }
                    tracing::debug!(method = %request.method, path = %request.path, %error, attempt, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    /// GET and parse JSON.
    pub(crate) async fn get_json(&self, path: String) -> Result<Value, ApiError> {
        self.send(&ApiRequest::get(path)).await?.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_bodies_and_plain_text_errors() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404}"#;
        let e = status_error(StatusCode::NOT_FOUND, body);
        assert!(e.is_not_found() && !e.is_no_match());
        assert_eq!(e.to_string(), "configmaps \"x\" not found");
        let e = status_error(StatusCode::BAD_GATEWAY, b"upstream down");
        assert_eq!(e.to_string(), "the server answered 502 Bad Gateway: upstream down");
        let no_match = status_error(
            StatusCode::NOT_FOUND,
            br#"{"kind":"Status","reason":"NotFound","message":"the server could not find the requested resource","code":404}"#,
        );
        assert!(no_match.is_no_match());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) < Duration::from_millis(400));
        assert!(backoff(10) <= MAX_BACKOFF);
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
    }
}
