//! The download: one GET (no redirects) streamed into a private temp file while hashing, with
//! retries on connection errors, 429 and 5xx (not 501), exponential backoff honouring
//! `Retry-After`, no retry on 404 or other 4xx, a byte cap that ignores `Content-Length`, and the
//! reconcile's deadline over everything. The digest is compared here, before extraction.

use super::digest::ExpectedDigest;
use super::{ArtifactError, FetchConfig, too_large_download};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use url::Url;

/// A verified download.
pub(super) struct Downloaded {
    pub file: tempfile::NamedTempFile,
    pub bytes: u64,
    pub attempts: u32,
}

enum Attempt {
    Done(tempfile::NamedTempFile, u64),
    /// Worth another try, after `Retry-After` if the server sent one.
    Retry(ArtifactError, Option<Duration>),
    Fail(ArtifactError),
}

pub(super) async fn download(
    client: &reqwest::Client,
    url: &Url,
    expected: &ExpectedDigest,
    config: &FetchConfig,
    deadline: Instant,
    dir: &Path,
) -> Result<Downloaded, ArtifactError> {
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    );
    let started = Instant::now();
    let timeout = |last: Option<&ArtifactError>| ArtifactError::Timeout {
        host: host.clone(),
        elapsed: started.elapsed(),
        last: last.map(|e| format!("; last error: {e}")).unwrap_or_default(),
    };
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let attempt = tokio::time::timeout_at(
            deadline.into(),
            attempt(client, url, expected, config, dir, &host, attempts),
        )
        .await;
        let (error, retry_after) = match attempt {
            Err(_) => return Err(timeout(None)),
            Ok(Attempt::Done(file, bytes)) => return Ok(Downloaded { file, bytes, attempts }),
            Ok(Attempt::Fail(error)) => return Err(error),
            Ok(Attempt::Retry(error, retry_after)) => (error, retry_after),
        };
        if attempts > config.retries {
            return Err(error);
        }
        let backoff = config
            .backoff_min
            .saturating_mul(1u32 << (attempts - 1).min(16))
            .min(config.backoff_max);
        let wait = retry_after.map(|r| r.min(config.backoff_max)).unwrap_or(backoff);
        if Instant::now() + wait >= deadline {
            return Err(timeout(Some(&error)));
        }
        tracing::debug!(%host, attempt = attempts, wait_ms = wait.as_millis() as u64, error = %error, "retrying artifact download");
        tokio::time::sleep(wait).await;
    }
}

async fn attempt(
    client: &reqwest::Client,
    url: &Url,
    expected: &ExpectedDigest,
    config: &FetchConfig,
    dir: &Path,
    host: &str,
    attempts: u32,
) -> Attempt {
    let network = |cause: String| ArtifactError::Network {
        host: host.to_string(),
        attempts,
        cause,
    };
    let response = match client.get(url.clone()).send().await {
        Ok(response) => response,
        // Connection refused, reset, DNS: all worth retrying.
        Err(e) => return Attempt::Retry(network(describe(&e)), None),
    };
    let status = response.status().as_u16();
    match status {
        200 => {}
        404 => return Attempt::Fail(ArtifactError::NotFound { host: host.to_string() }),
        429 | 500 | 502..=599 => {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Attempt::Retry(
                ArtifactError::HttpStatus {
                    host: host.to_string(),
                    status,
                    attempts,
                },
                retry_after,
            );
        }
        _ => {
            return Attempt::Fail(ArtifactError::HttpStatus {
                host: host.to_string(),
                status,
                attempts,
            });
        }
    }
    if let Some(length) = response.content_length()
        && length > config.max_artifact_bytes
    {
        return Attempt::Fail(too_large_download(length, config.max_artifact_bytes, "sends"));
    }
    let file = match tempfile::Builder::new().prefix("download-").tempfile_in(dir) {
        Ok(file) => file,
        Err(e) => return Attempt::Fail(io("create the download file", &e)),
    };
    let mut writer = match file.as_file().try_clone() {
        Ok(handle) => tokio::fs::File::from_std(handle),
        Err(e) => return Attempt::Fail(io("open the download file", &e)),
    };
    let mut hasher = expected.hasher();
    let mut bytes = 0u64;
    let mut response = response;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // A transfer cut mid-body is a network error like any other.
            Err(e) => return Attempt::Retry(network(describe(&e)), None),
        };
        bytes += chunk.len() as u64;
        if bytes > config.max_artifact_bytes {
            return Attempt::Fail(ArtifactError::TooLarge {
                what: "artifact".into(),
                detail: format!(
                    "more than {} bytes received (raise --max-artifact-bytes)",
                    config.max_artifact_bytes
                ),
            });
        }
        hasher.update(&chunk);
        if let Err(e) = writer.write_all(&chunk).await {
            return Attempt::Fail(io("write the download file", &e));
        }
    }
    if let Err(e) = writer.flush().await {
        return Attempt::Fail(io("write the download file", &e));
    }
    let got = hasher.finish();
    if got != expected.to_string() {
        // The file is deleted when `file` drops here.
        return Attempt::Fail(ArtifactError::DigestMismatch {
            expected: expected.to_string(),
            got,
        });
    }
    Attempt::Done(file, bytes)
}

fn io(step: &str, e: &std::io::Error) -> ArtifactError {
    ArtifactError::Io {
        step: step.to_string(),
        kind: e.kind().to_string(),
    }
}

/// reqwest's errors print the URL; ours name the host already, so keep only the cause chain.
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_connect() {
        "connection failed".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_body() || e.is_decode() {
        "the transfer was interrupted".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
