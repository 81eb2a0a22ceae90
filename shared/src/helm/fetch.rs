//! HTTP plumbing shared by the repository and registry clients: TLS settings per credentials
//! entry, bounded streaming downloads with progress, and SHA-256 digests.
//!
//! Input: a request; output: the body bytes (never more than the limit) or a message that names
//! no secret.

use super::auth::TlsFiles;
use super::progress::{PullEventKind, Reporter};
use sha2::{Digest, Sha256};

/// Size limits for downloads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DownloadLimits {
    /// A repository's `index.yaml` (large public repositories have indexes of tens of MiB).
    pub max_index_bytes: u64,
    /// One chart archive.
    pub max_chart_bytes: u64,
    /// An OCI manifest or tag list.
    pub max_metadata_bytes: u64,
}

impl Default for DownloadLimits {
    fn default() -> Self {
        DownloadLimits {
            max_index_bytes: 256 << 20,
            max_chart_bytes: 64 << 20,
            max_metadata_bytes: 4 << 20,
        }
    }
}

/// A client with the TLS settings of a credentials entry, or `default` when there are none.
pub(crate) fn client_for(default: &reqwest::Client, tls: Option<&TlsFiles>) -> Result<reqwest::Client, String> {
    let Some(tls) = tls.filter(|t| t.ca.is_some() || t.cert.is_some() || t.insecure_skip_verify) else {
        return Ok(default.clone());
    };
    let mut builder = crate::http::client_builder();
    if let Some(ca) = &tls.ca {
        for cert in reqwest::Certificate::from_pem_bundle(ca).map_err(|e| format!("invalid CA file: {e}"))? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(cert) = &tls.cert {
        let mut pem = cert.clone();
        if let Some(key) = &tls.key {
            pem.push(b'\n');
            pem.extend_from_slice(key.0.as_bytes());
        }
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|_| "invalid client certificate or key file".to_string())?;
        builder = builder.identity(identity);
    }
    if tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| format!("could not configure TLS: {e}"))
}

/// Describes a reqwest error without the URL (callers print a redacted one themselves).
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "the request timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_redirect() {
        "too many redirects"
    } else if err.is_body() || err.is_decode() {
        "reading the response failed"
    } else {
        "the request failed"
    }
    .to_string();
    let mut source = std::error::Error::source(err);
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

/// Reads a response body up to `limit` bytes, reporting progress when a reporter is given.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: u64,
    reporter: Option<&Reporter>,
) -> Result<Vec<u8>, String> {
    let total = response.content_length();
    if let Some(total) = total
        && total > limit
    {
        return Err(format!(
            "the server announced {total} bytes, more than the limit of {limit} bytes"
        ));
    }
    if let Some(r) = reporter {
        r.send(PullEventKind::Started { total });
    }
    let mut body = Vec::with_capacity(total.unwrap_or(0).min(limit) as usize);
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| format!("the connection failed after {} bytes: {}", body.len(), describe(&e)))?;
        let Some(chunk) = chunk else { break };
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!("the download is larger than the limit of {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
        if let Some(r) = reporter {
            r.send(PullEventKind::Progress {
                downloaded: body.len() as u64,
                total,
            });
        }
    }
    if let Some(total) = total
        && body.len() as u64 != total
    {
        return Err(format!("the download ended after {} of {total} bytes", body.len()));
    }
    Ok(body)
}

/// Hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
