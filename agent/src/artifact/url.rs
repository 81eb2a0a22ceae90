//! Artifact URL checks, made before any network call: scheme, no credentials, host and port on
//! the allow-list, and a path that is exactly `/<artifact.path>` inside the referenced source's
//! own storage folder (`<kind>/<namespace>/<name>/`). The optional host override (for running
//! the agent outside the cluster with a port-forward) is applied only after these checks.

use super::ArtifactError;
use shared::crd::FluxSourceKind;
use std::fmt;
use url::Url;

/// One allowed `host:port` (host lowercase, without a trailing dot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl AllowedHost {
    /// Parses `host:port` or `host` (port 80), as given to `--artifact-host-allowlist`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (host, port) = match text.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || text.starts_with('[') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("invalid port in {text:?}: expected host:port"))?;
                (host, port)
            }
            _ => (text, 80),
        };
        let host = normalize_host(host.trim_start_matches('[').trim_end_matches(']'));
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(format!("invalid host {text:?}: expected host:port"));
        }
        Ok(AllowedHost { host, port })
    }
}

/// source-controller's address in a default Flux installation (with and without the trailing
/// dot Flux advertises, which `normalize_host` folds together).
pub fn default_allowed_hosts() -> Vec<AllowedHost> {
    vec![AllowedHost {
        host: "source-controller.flux-system.svc.cluster.local".to_string(),
        port: 80,
    }]
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Checks an artifact URL against the allow-list and the source it must belong to, and returns
/// the URL to download (with the host override applied, if any).
pub fn validate(
    raw_url: &str,
    artifact_path: &str,
    kind: FluxSourceKind,
    namespace: &str,
    name: &str,
    allowed: &[AllowedHost],
    host_override: Option<&str>,
) -> Result<Url, ArtifactError> {
    let invalid = |check: &str| ArtifactError::InvalidUrl {
        url: shorten(raw_url),
        check: check.to_string(),
    };
    let url = Url::parse(raw_url).map_err(|e| invalid(&format!("it does not parse ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo what could be a credential.
        return Err(ArtifactError::InvalidUrl {
            url: "<redacted: URL with user info>".to_string(),
            check: "URLs with user info are refused".to_string(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    let host = normalize_host(url.host_str().unwrap_or_default());
    let port = url.port_or_known_default().unwrap_or(0);
    if !allowed.iter().any(|a| a.host == host && a.port == port) {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Err(ArtifactError::HostNotAllowed {
            host: format!("{host}:{port}"),
            allowed: list.join(", "),
        });
    }
    let prefix = format!("{}/{namespace}/{name}/", kind.path_prefix());
    if !artifact_path.starts_with(&prefix) {
        return Err(invalid(&format!(
            "artifact path {:?} is not inside {prefix:?}, the storage of the referenced source",
            shorten(artifact_path)
        )));
    }
    if artifact_path
        .split('/')
        .any(|segment| segment == ".." || segment == "." || segment.is_empty())
        || artifact_path.contains('\\')
    {
        return Err(invalid("the artifact path has empty, '.' or '..' segments"));
    }
    if url.path() != format!("/{artifact_path}") {
        return Err(invalid("the URL path is not \"/\" + status.artifact.path"));
    }
    let mut url = url;
    if let Some(override_host) = host_override {
        let target = AllowedHost::parse(override_host).map_err(|e| invalid(&e))?;
        url.set_host(Some(&target.host))
            .map_err(|e| invalid(&format!("host override: {e}")))?;
        url.set_port(Some(target.port))
            .map_err(|()| invalid("host override: cannot set port"))?;
    }
    Ok(url)
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 200 {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(200).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "gitrepository/team/app/0123.tar.gz";

    fn check(url: &str, path: &str) -> Result<Url, ArtifactError> {
        validate(
            url,
            path,
            FluxSourceKind::GitRepository,
            "team",
            "app",
            &default_allowed_hosts(),
            None,
        )
    }

    #[test]
    fn source_controller_urls_pass_with_or_without_the_trailing_dot() {
        for url in [
            format!("http://source-controller.flux-system.svc.cluster.local./{PATH}"),
            format!("http://source-controller.flux-system.svc.cluster.local/{PATH}"),
            format!("http://Source-Controller.flux-system.svc.cluster.local:80/{PATH}"),
        ] {
            assert!(check(&url, PATH).is_ok(), "{url}");
        }
    }

    #[test]
    fn every_check_refuses_what_it_should() {
        let base = "http://source-controller.flux-system.svc.cluster.local.";
        let cases = [
            (format!("file:///{PATH}"), PATH, "invalid_url"),
            (
                format!("ftp://source-controller.flux-system.svc.cluster.local./{PATH}"),
                PATH,
                "invalid_url",
            ),
            (
                format!("http://user:pw@source-controller.flux-system.svc.cluster.local./{PATH}"),
                PATH,
                "invalid_url",
            ),
            (format!("http://evil.example.com/{PATH}"), PATH, "host_rejected"),
            (
                format!("http://source-controller.flux-system.svc.cluster.local:9090/{PATH}"),
                PATH,
                "host_rejected",
            ),
            (format!("http://169.254.169.254/{PATH}"), PATH, "host_rejected"),
            (format!("{base}/{PATH}?x=1"), PATH, "invalid_url"),
            (
                format!("{base}/gitrepository/other/app/0123.tar.gz"),
                "gitrepository/other/app/0123.tar.gz",
                "invalid_url",
            ),
            (
                format!("{base}/bucket/team/app/0123.tar.gz"),
                "bucket/team/app/0123.tar.gz",
                "invalid_url",
            ),
            (
                format!("{base}/gitrepository/team/app/../x/a.tar.gz"),
                "gitrepository/team/app/../x/a.tar.gz",
                "invalid_url",
            ),
            (
                format!("{base}/gitrepository/team/app/other.tar.gz"),
                PATH,
                "invalid_url",
            ),
        ];
        for (url, path, label) in cases {
            let err = check(&url, path).unwrap_err();
            assert_eq!(err.metric_label(), label, "{url}: {err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[test]
    fn the_override_applies_after_the_checks() {
        let url = validate(
            &format!("http://source-controller.flux-system.svc.cluster.local./{PATH}"),
            PATH,
            FluxSourceKind::GitRepository,
            "team",
            "app",
            &default_allowed_hosts(),
            Some("127.0.0.1:9090"),
        )
        .unwrap();
        assert_eq!(url.as_str(), format!("http://127.0.0.1:9090/{PATH}"));
        assert_eq!(AllowedHost::parse("localhost").unwrap().port, 80);
        assert!(AllowedHost::parse("host:notaport").is_err());
    }
}
