//! Flux source objects as the agent reads them: `GitRepository`, `OCIRepository` and `Bucket` in
//! `source.toolkit.fluxcd.io` (`v1`, with `v1beta2` as the fallback for older clusters).
//!
//! Input: a source object as a `serde_json::Value`, whatever its version. Output: a
//! [`SourceObject`] with the `status.artifact` as a [`SourceArtifact`] (or none) and the source's
//! own `Ready` condition. Parsing is tolerant: unknown fields are ignored and a malformed artifact
//! is reported as "no artifact" with the reason, never as a failure of the whole watch.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// API group of Flux's source-controller.
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

/// The versions of the source API the agent reads, preferred first.
pub const SOURCE_VERSIONS: [&str; 2] = ["v1", "v1beta2"];

/// The source kinds a `KluctlDeployment` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FluxSourceKind {
    /// `GitRepository`.
    GitRepository,
    /// `OCIRepository` (artifacts of `layerSelector.operation: extract`).
    OCIRepository,
    /// `Bucket`.
    Bucket,
}

impl FluxSourceKind {
    /// Every supported kind.
    pub const ALL: [FluxSourceKind; 3] = [
        FluxSourceKind::GitRepository,
        FluxSourceKind::OCIRepository,
        FluxSourceKind::Bucket,
    ];

    /// The kind for a `sourceRef.kind`, `None` when unsupported.
    pub fn parse(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// The kind name.
    pub fn kind(self) -> &'static str {
        match self {
            FluxSourceKind::GitRepository => "GitRepository",
            FluxSourceKind::OCIRepository => "OCIRepository",
            FluxSourceKind::Bucket => "Bucket",
        }
    }

    /// The plural resource name.
    pub fn plural(self) -> &'static str {
        match self {
            FluxSourceKind::GitRepository => "gitrepositories",
            FluxSourceKind::OCIRepository => "ocirepositories",
            FluxSourceKind::Bucket => "buckets",
        }
    }

    /// The first segment of `status.artifact.path` (the lowercase kind).
    pub fn path_prefix(self) -> &'static str {
        match self {
            FluxSourceKind::GitRepository => "gitrepository",
            FluxSourceKind::OCIRepository => "ocirepository",
            FluxSourceKind::Bucket => "bucket",
        }
    }
}

impl fmt::Display for FluxSourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// `status.artifact` of a source: where source-controller serves the tarball and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceArtifact {
    /// Absolute URL of the tarball.
    pub url: String,
    /// Path relative to source-controller's storage (`<kind>/<namespace>/<name>/<file>`).
    pub path: String,
    /// Upstream identity (`main@sha1:<hex>`), normalised from legacy forms.
    pub revision: String,
    /// `<algo>:<hex>` digest of the compressed bytes; `None` when the producer sent none.
    pub digest: Option<String>,
    /// The legacy v1beta2 `checksum` (bare hex), used only when `digest` is absent.
    pub checksum: Option<String>,
    /// Byte length of the tarball, when declared.
    pub size: Option<u64>,
    /// When the tarball was (re)written (RFC 3339), as written by source-controller.
    pub last_update_time: Option<String>,
    /// OCI manifest annotations and other producer metadata.
    pub metadata: BTreeMap<String, String>,
}

impl SourceArtifact {
    /// The digest to verify: `digest`, else the legacy checksum as `sha256:`/`sha1:` by length.
    pub fn effective_digest(&self) -> Option<String> {
        if let Some(digest) = self.digest.as_ref().filter(|d| !d.is_empty()) {
            return Some(digest.clone());
        }
        let checksum = self.checksum.as_ref().filter(|c| !c.is_empty())?;
        Some(if checksum.contains(':') {
            checksum.clone()
        } else {
            format!("sha256:{checksum}")
        })
    }

    /// The OCI origin revision (`org.opencontainers.image.revision`), when the producer set one.
    pub fn origin_revision(&self) -> Option<&str> {
        self.metadata
            .get("org.opencontainers.image.revision")
            .map(String::as_str)
    }
}

/// A source object, reduced to what the agent needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceObject {
    /// The kind.
    pub kind: FluxSourceKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The artifact, when the source has one.
    pub artifact: Option<SourceArtifact>,
    /// Why `status.artifact` is present but unusable (a missing field), for the status message.
    pub artifact_problem: Option<String>,
    /// The source's `Ready` condition: (status, message).
    pub ready: Option<(String, String)>,
}

impl SourceObject {
    /// Parses a source object of `kind` (any served version).
    pub fn from_value(kind: FluxSourceKind, object: &Value) -> Self {
        let meta = |key: &str| {
            object
                .pointer(&format!("/metadata/{key}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (artifact, artifact_problem) = match object.pointer("/status/artifact") {
            None | Some(Value::Null) => (None, None),
            Some(raw) => match parse_artifact(raw) {
                Ok(artifact) => (Some(artifact), None),
                Err(problem) => (None, Some(problem)),
            },
        };
        let ready = object
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|conditions| {
                conditions
                    .iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
            })
            .map(|c| {
                let text = |key: &str| c.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
                (text("status"), text("message"))
            });
        SourceObject {
            kind,
            namespace: meta("namespace"),
            name: meta("name"),
            artifact,
            artifact_problem,
            ready,
        }
    }

    /// The source's Ready message when it is currently failing (`Ready=False`).
    pub fn failing_message(&self) -> Option<&str> {
        match &self.ready {
            Some((status, message)) if status == "False" => Some(message.as_str()),
            _ => None,
        }
    }
}

fn parse_artifact(raw: &Value) -> Result<SourceArtifact, String> {
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
    let url = text("url")
        .filter(|u| !u.is_empty())
        .ok_or("status.artifact has no url")?;
    let path = text("path").unwrap_or_default();
    let revision = normalize_revision(&text("revision").unwrap_or_default());
    let size = match raw.get("size") {
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    let metadata = raw
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(SourceArtifact {
        url,
        path,
        revision,
        digest: text("digest"),
        checksum: text("checksum"),
        size,
        last_update_time: text("lastUpdateTime"),
        metadata,
    })
}

/// Maps source-controller's legacy revision forms to RFC-0005 ones, as Flux's
/// `TransformLegacyRevision` does: `main/<sha1>` → `main@sha1:<sha1>`, `HEAD/<sha1>` →
/// `sha1:<sha1>`, bare hex → `sha1:`/`sha256:` by length. Everything else is kept, so a
/// format-only change of a source never looks like a new revision.
pub fn normalize_revision(revision: &str) -> String {
    if revision.is_empty() || revision.contains(':') {
        return revision.to_string();
    }
    if let Some((name, sha)) = revision.rsplit_once('/')
        && let Some(algo) = sha_algorithm(sha)
    {
        return if name == "HEAD" {
            format!("{algo}:{sha}")
        } else {
            format!("{name}@{algo}:{sha}")
        };
    }
    match sha_algorithm(revision) {
        Some(algo) => format!("{algo}:{revision}"),
        None => revision.to_string(),
    }
}

fn sha_algorithm(hex: &str) -> Option<&'static str> {
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        40 => Some("sha1"),
        64 => Some("sha256"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn legacy_revisions_normalise_to_rfc0005() {
        assert_eq!(normalize_revision(&format!("main/{SHA1}")), format!("main@sha1:{SHA1}"));
        assert_eq!(
            normalize_revision(&format!("feature/x/{SHA1}")),
            format!("feature/x@sha1:{SHA1}")
        );
        assert_eq!(normalize_revision(&format!("HEAD/{SHA1}")), format!("sha1:{SHA1}"));
        assert_eq!(normalize_revision(SHA1), format!("sha1:{SHA1}"));
        let current = format!("main@sha1:{SHA1}");
        assert_eq!(normalize_revision(&current), current);
        assert_eq!(normalize_revision("6.0.3"), "6.0.3");
    }

    #[test]
    fn v1_and_v1beta2_artifacts_parse() {
        let v1 = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "team"},
            "status": {
                "artifact": {"url": "http://sc/gitrepository/team/app/x.tar.gz", "path": "gitrepository/team/app/x.tar.gz",
                    "revision": format!("main@sha1:{SHA1}"), "digest": "sha256:abc", "size": 123,
                    "lastUpdateTime": "2024-01-01T00:00:00Z", "unknownField": true},
                "conditions": [{"type": "Ready", "status": "False", "message": "auth failed"}]
            }
        });
        let source = SourceObject::from_value(FluxSourceKind::GitRepository, &v1);
        let artifact = source.artifact.clone().unwrap();
        assert_eq!(artifact.size, Some(123));
        assert_eq!(artifact.effective_digest().as_deref(), Some("sha256:abc"));
        assert_eq!(source.failing_message(), Some("auth failed"));
        assert_eq!((source.namespace.as_str(), source.name.as_str()), ("team", "app"));

        let v1beta2 = json!({"metadata": {"name": "b"}, "status": {"artifact": {
            "url": "http://sc/bucket/x.tar.gz", "revision": format!("main/{SHA1}"), "checksum": "ff"}}});
        let artifact = SourceObject::from_value(FluxSourceKind::Bucket, &v1beta2)
            .artifact
            .unwrap();
        assert_eq!(artifact.revision, format!("main@sha1:{SHA1}"));
        assert_eq!(artifact.effective_digest().as_deref(), Some("sha256:ff"));
    }

    #[test]
    fn missing_or_broken_artifacts_are_not_errors() {
        let none = SourceObject::from_value(FluxSourceKind::OCIRepository, &json!({"metadata": {"name": "o"}}));
        assert!(none.artifact.is_none() && none.artifact_problem.is_none());
        let broken = SourceObject::from_value(
            FluxSourceKind::OCIRepository,
            &json!({"metadata": {"name": "o"}, "status": {"artifact": {"revision": 5}}}),
        );
        assert!(broken.artifact.is_none());
        assert_eq!(broken.artifact_problem.as_deref(), Some("status.artifact has no url"));
        assert_eq!(FluxSourceKind::parse("HelmChart"), None);
        assert_eq!(FluxSourceKind::parse("Bucket").unwrap().plural(), "buckets");
    }
}
