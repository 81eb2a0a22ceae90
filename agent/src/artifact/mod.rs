//! Step 2 of a reconcile: artifact acquisition. Input: a [`SourceObject`]'s artifact (URL, path,
//! revision, digest, size). Output: a [`FetchedArtifact`], a private temporary directory holding
//! the extracted tree, removed when dropped.
//!
//! The order of checks follows the agent spec (section B): the URL and host are validated before
//! any network call ([`url`]); a digest is required and parsed strictly ([`digest`]); the declared
//! size is checked before downloading; the download streams into a 0600 temp file while hashing,
//! with retries on connection errors, 429 and 5xx, no retry on 404, no redirects, and a hard
//! deadline ([`download`]); the digest is verified before a single byte is extracted; extraction
//! refuses anything but regular files and directories inside the root ([`extract`]).

pub mod digest;
mod download;
pub mod extract;
pub mod url;

use self::digest::ExpectedDigest;
use self::extract::{ExtractLimits, ExtractStats};
use self::url::AllowedHost;
use shared::crd::{FluxSourceKind, SourceArtifact};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why an artifact could not be fetched. Messages name the failed check and never include
/// artifact content, credentials or temporary paths.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The source has no artifact yet.
    #[error("failed to find the source artifact: {detail}")]
    NoArtifact {
        /// Why (no `status.artifact`, or a malformed one).
        detail: String,
    },
    /// The URL fails a check.
    #[error("failed to validate artifact URL {url}: {check}")]
    InvalidUrl {
        /// The URL (without user info).
        url: String,
        /// The failed check.
        check: String,
    },
    /// The host is not on the allow-list.
    #[error(
        "failed to validate artifact URL: host {host} is not on the artifact host allow-list ({allowed}); add it with --artifact-host-allowlist"
    )]
    HostNotAllowed {
        /// `host:port` of the URL.
        host: String,
        /// The allow-list.
        allowed: String,
    },
    /// The artifact has no digest.
    #[error(
        "failed to verify the artifact: the source declares no digest, and the agent never deploys unverified artifacts"
    )]
    MissingDigest,
    /// The digest does not parse.
    #[error("failed to parse artifact digest {digest:?}: {reason}")]
    InvalidDigest {
        /// The digest as declared.
        digest: String,
        /// What is wrong.
        reason: String,
    },
    /// A size limit was exceeded.
    #[error("failed to fetch the artifact: {what} is too large: {detail}")]
    TooLarge {
        /// What was measured.
        what: String,
        /// The sizes and the flag that raises the limit.
        detail: String,
    },
    /// HTTP 404.
    #[error("failed to fetch the artifact from {host}: not found (source-controller may be rebuilding its storage)")]
    NotFound {
        /// `host:port`.
        host: String,
    },
    /// Another HTTP status (after retries, for retryable ones).
    #[error("failed to fetch the artifact from {host}: HTTP {status} after {attempts} attempt(s)")]
    HttpStatus {
        /// `host:port`.
        host: String,
        /// The status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Connection or transfer errors (after retries).
    #[error("failed to fetch the artifact from {host} after {attempts} attempt(s): {cause}")]
    Network {
        /// `host:port`.
        host: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        cause: String,
    },
    /// The deadline passed.
    #[error("failed to fetch the artifact from {host}: timed out after {elapsed:?}{last}")]
    Timeout {
        /// `host:port`.
        host: String,
        /// Time spent.
        elapsed: Duration,
        /// The last error before the deadline, if any (`; last error: ...`).
        last: String,
    },
    /// The bytes do not match the digest.
    #[error("failed to verify the artifact: digest mismatch: expected {expected}, got {got}")]
    DigestMismatch {
        /// The declared digest.
        expected: String,
        /// The computed one.
        got: String,
    },
    /// The archive holds something the agent refuses, or is corrupt.
    #[error("failed to extract the artifact: {}{reason}", if entry.is_empty() { String::new() } else { format!("entry {entry}: ") })]
    Extract {
        /// The entry name (quoted), empty when not about one entry.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    /// Local file system errors.
    #[error("failed to {step}: {kind}")]
    Io {
        /// What the agent was doing.
        step: String,
        /// The error kind (never a path).
        kind: String,
    },
    /// `spec.path` does not exist in the artifact.
    #[error("failed to find spec.path {path:?} in the artifact: no such directory")]
    PathNotFound {
        /// The path.
        path: String,
    },
}

impl ArtifactError {
    /// The outcome label of the `kluctl_agent_artifact_fetches_total` metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ArtifactError::NoArtifact { .. } => "no_artifact",
            ArtifactError::InvalidUrl { .. } => "invalid_url",
            ArtifactError::HostNotAllowed { .. } => "host_rejected",
            ArtifactError::MissingDigest | ArtifactError::InvalidDigest { .. } => "invalid_digest",
            ArtifactError::TooLarge { .. } => "too_large",
            ArtifactError::NotFound { .. } => "not_found",
            ArtifactError::HttpStatus { .. } => "http_error",
            ArtifactError::Network { .. } => "network_error",
            ArtifactError::Timeout { .. } => "timeout",
            ArtifactError::DigestMismatch { .. } => "digest_mismatch",
            ArtifactError::Extract { .. } => "extract_failed",
            ArtifactError::Io { .. } => "io_error",
            ArtifactError::PathNotFound { .. } => "path_not_found",
        }
    }

    /// Errors that a re-read of the source may fix soon (Flux requeues these after 30s instead
    /// of `retryInterval`): a missing artifact, a 404, a digest that no longer matches.
    pub fn source_not_ready(&self) -> bool {
        matches!(
            self,
            ArtifactError::NoArtifact { .. } | ArtifactError::NotFound { .. } | ArtifactError::DigestMismatch { .. }
        )
    }
}

/// How artifacts are fetched: allow-list, limits, retries and where temporary files go.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// Hosts the agent downloads from.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Replaces `host:port` of validated URLs (running outside the cluster).
    pub host_override: Option<String>,
    /// Largest compressed artifact.
    pub max_artifact_bytes: u64,
    /// Extraction limits.
    pub extract: ExtractLimits,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff; doubles per retry.
    pub backoff_min: Duration,
    /// Longest backoff (also caps `Retry-After`).
    pub backoff_max: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Parent directory of the temporary directories.
    pub work_dir: PathBuf,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            allowed_hosts: url::default_allowed_hosts(),
            host_override: None,
            max_artifact_bytes: 256 * 1024 * 1024,
            extract: ExtractLimits::default(),
            retries: 9,
            backoff_min: Duration::from_secs(5),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            work_dir: std::env::temp_dir(),
        }
    }
}

/// What to fetch: the artifact and the source it must belong to.
#[derive(Clone, Debug)]
pub struct ArtifactRequest<'a> {
    /// Source kind.
    pub kind: FluxSourceKind,
    /// Source namespace.
    pub namespace: &'a str,
    /// Source name.
    pub name: &'a str,
    /// The artifact.
    pub artifact: &'a SourceArtifact,
}

/// An extracted artifact in a private temporary directory (removed on drop).
#[derive(Debug)]
pub struct FetchedArtifact {
    dir: tempfile::TempDir,
    /// The verified digest.
    pub digest: String,
    /// Compressed bytes downloaded.
    pub downloaded_bytes: u64,
    /// HTTP attempts made.
    pub attempts: u32,
    /// What extraction produced.
    pub stats: ExtractStats,
}

impl FetchedArtifact {
    /// The extracted tree.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("tree")
    }

    /// The project directory: `spec.path` (already split into normal components) under the root.
    pub fn project_dir(&self, path: &[String]) -> Result<PathBuf, ArtifactError> {
        let dir = path.iter().fold(self.root(), |p, c| p.join(c));
        // The tree holds no symlinks (extraction never creates them), so this cannot leave it.
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(ArtifactError::PathNotFound { path: path.join("/") })
        }
    }
}

/// Fetches, verifies and extracts artifacts.
#[derive(Clone, Debug)]
pub struct Fetcher {
    config: FetchConfig,
    client: reqwest::Client,
}

impl Fetcher {
    /// A fetcher with its HTTP client (no redirects, no proxies, bounded connects).
    pub fn new(config: FetchConfig) -> Result<Self, ArtifactError> {
        let client = shared::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(config.connect_timeout)
            // A stalled transfer is retried instead of waiting for the reconcile deadline.
            .read_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ArtifactError::Io {
                step: "build the HTTP client".into(),
                kind: e.to_string(),
            })?;
        Ok(Fetcher { config, client })
    }

    /// The configuration.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Validates, downloads, verifies and extracts an artifact, all before `deadline`.
    pub async fn fetch(
        &self,
        request: &ArtifactRequest<'_>,
        deadline: Instant,
    ) -> Result<FetchedArtifact, ArtifactError> {
        let artifact = request.artifact;
        let url = url::validate(
            &artifact.url,
            &artifact.path,
            request.kind,
            request.namespace,
            request.name,
            &self.config.allowed_hosts,
            self.config.host_override.as_deref(),
        )?;
        let expected = ExpectedDigest::parse(&artifact.effective_digest().ok_or(ArtifactError::MissingDigest)?)?;
        if let Some(size) = artifact.size
            && size > self.config.max_artifact_bytes
        {
            return Err(too_large_download(size, self.config.max_artifact_bytes, "declares"));
        }
        std::fs::create_dir_all(&self.config.work_dir).map_err(|e| ArtifactError::Io {
            step: "create the work directory".into(),
            kind: e.kind().to_string(),
        })?;
        let dir = tempfile::Builder::new()
            .prefix("artifact-")
            .tempdir_in(&self.config.work_dir)
            .map_err(|e| ArtifactError::Io {
                step: "create a temporary directory".into(),
                kind: e.kind().to_string(),
            })?;
        let downloaded = download::download(&self.client, &url, &expected, &self.config, deadline, dir.path()).await?;
        let tree = dir.path().join("tree");
        let limits = self.config.extract.clone();
        let archive = downloaded.file;
        let stats = tokio::task::spawn_blocking(move || {
            std::fs::create_dir(&tree).map_err(|e| ArtifactError::Io {
                step: "create the extraction directory".into(),
                kind: e.kind().to_string(),
            })?;
            let result = extract::extract(archive.path(), &tree, &limits);
            // The tarball is not needed once extracted (or refused).
            drop(archive);
            result
        })
        .await
        .map_err(|e| ArtifactError::Io {
            step: "run the extraction".into(),
            kind: e.to_string(),
        })??;
        Ok(FetchedArtifact {
            dir,
            digest: expected.to_string(),
            downloaded_bytes: downloaded.bytes,
            attempts: downloaded.attempts,
            stats,
        })
    }
}

fn too_large_download(size: u64, limit: u64, verb: &str) -> ArtifactError {
    ArtifactError::TooLarge {
        what: "artifact".into(),
        detail: format!("the source {verb} {size} bytes; the limit is {limit} bytes (raise --max-artifact-bytes)"),
    }
}

/// Where downloads and extractions go by default: `$TMPDIR/kluctl-agent`.
pub fn default_work_dir() -> PathBuf {
    Path::new(&std::env::temp_dir()).join("kluctl-agent")
}

#[cfg(test)]
mod tests;
