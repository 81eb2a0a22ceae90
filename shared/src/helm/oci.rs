//! OCI registries (the distribution API): token handshake, Helm chart manifests, blob downloads
//! checked against their digest, and tag listing.
//!
//! Input: a [`ChartRef`] of kind `Oci` and a version; output: the verified chart layer (`.tgz`)
//! or the list of versions (tags, with `_` turned back into `+` as Helm does).
//!
//! Plain HTTP is used for loopback registries (`localhost`, `127.0.0.0/8`, `::1`) and where
//! `--registry-plain-http` / `KLUCTL_REGISTRY_*_PLAIN_HTTP` says so; everything else is HTTPS.

use super::auth::RegistryAuthEntry;
use super::client::ChartClient;
use super::error::redact_url;
use super::fetch::{client_for, describe, read_body, sha256_hex};
use super::progress::{PullEventKind, Reporter};
use super::{ChartRef, HelmError};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use serde::Deserialize;
use std::sync::Mutex;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json";
const HELM_CONFIG_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_LAYER_TYPES: [&str; 2] = [
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
    "application/tar+gzip",
];

#[derive(Debug, Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
}

#[derive(Debug, Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// A session with one repository of one registry.
pub(crate) struct OciSession<'a> {
    client: &'a ChartClient,
    chart: &'a ChartRef,
    http: reqwest::Client,
    /// `scheme://host[:port]`.
    base: String,
    /// The repository path (`org/charts/app`).
    repository: String,
    auth: Option<&'a RegistryAuthEntry>,
    /// The `Authorization` value that worked, reused for later requests.
    authorization: Mutex<Option<HeaderValue>>,
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host == "::1"
        || host.split('.').next() == Some("127") && host.parse::<std::net::Ipv4Addr>().is_ok()
}

impl<'a> OciSession<'a> {
    pub(crate) fn new(client: &'a ChartClient, chart: &'a ChartRef) -> Result<Self, HelmError> {
        let url = chart.url();
        let host = url.host_str().unwrap_or_default();
        let registry = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let repository = url.path().trim_matches('/').to_string();
        let auth = client.registry_credentials.find(&registry, &repository);
        let plain = auth.is_some_and(|a| a.plain_http) || is_loopback(host);
        let http = client_for(&client.http, auth.map(|a| &a.tls)).map_err(|message| HelmError::Registry {
            repo: redact_url(&chart.repo),
            message,
        })?;
        Ok(OciSession {
            client,
            chart,
            http,
            base: format!("{}://{registry}", if plain { "http" } else { "https" }),
            repository,
            auth,
            authorization: Mutex::new(None),
        })
    }

    fn error(&self, message: impl Into<String>) -> HelmError {
        HelmError::Registry {
            repo: redact_url(&self.chart.repo),
            message: message.into(),
        }
    }

    /// Sends a GET, answering one authentication challenge if the registry asks for it.
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<reqwest::Response, HelmError> {
        let build = |authorization: Option<HeaderValue>| {
            let mut request = self.http.get(url);
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some(value) = authorization {
                request = request.header(AUTHORIZATION, value);
            }
            request
        };
        let cached = self.authorization.lock().ok().and_then(|g| g.clone());
        let initial = cached.or_else(|| self.static_authorization());
        let response = build(initial)
            .send()
            .await
            .map_err(|e| self.error(format!("could not reach the registry: {}", describe(&e))))?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let authorization = self.answer_challenge(&challenge).await?;
        let response = build(Some(authorization.clone()))
            .send()
            .await
            .map_err(|e| self.error(format!("could not reach the registry: {}", describe(&e))))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(self.error(self.denied_message()));
        }
        if let Ok(mut guard) = self.authorization.lock() {
            *guard = Some(authorization);
        }
        Ok(response)
    }

    fn denied_message(&self) -> String {
        match self.auth {
            Some(_) => "the registry refused the configured credentials".to_string(),
            None => "the registry requires credentials (pass --registry-creds or set KLUCTL_REGISTRY_* variables)"
                .to_string(),
        }
    }

    /// A registry token or basic credentials usable without a handshake.
    fn static_authorization(&self) -> Option<HeaderValue> {
        let auth = self.auth?;
        if let Some(token) = &auth.token {
            return HeaderValue::from_str(&format!("Bearer {}", token.0)).ok();
        }
        None
    }

    fn basic(&self) -> Option<HeaderValue> {
        use base64::Engine as _;
        let auth = self.auth?;
        let user = auth.username.as_deref()?;
        let pass = auth.password.as_ref().map(|p| p.0.as_str()).unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    async fn answer_challenge(&self, challenge: &str) -> Result<HeaderValue, HelmError> {
        let (scheme, params) = parse_challenge(challenge);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => self.basic().ok_or_else(|| self.error(self.denied_message())),
            "bearer" => {
                let realm = params
                    .iter()
                    .find(|(k, _)| k == "realm")
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.error("the registry's bearer challenge names no token realm"))?;
                let mut url = url::Url::parse(&realm)
                    .map_err(|e| self.error(format!("the registry's token realm is not a URL: {e}")))?;
                {
                    let mut query = url.query_pairs_mut();
                    if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                        query.append_pair("service", service);
                    }
                    let scope = params
                        .iter()
                        .find(|(k, _)| k == "scope")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
                    query.append_pair("scope", &scope);
                }
                let request = match self.auth.and_then(|a| a.identity_token.as_ref()) {
                    // An identity token is an OAuth2 refresh token exchanged by POST.
                    Some(refresh) => {
                        let mut form = url::form_urlencoded::Serializer::new(String::new());
                        form.append_pair("grant_type", "refresh_token")
                            .append_pair("refresh_token", &refresh.0)
                            .append_pair("client_id", "kubectl-kluctl");
                        for (k, v) in url.query_pairs() {
                            form.append_pair(&k, &v);
                        }
                        let body = form.finish();
                        let mut endpoint = url.clone();
                        endpoint.set_query(None);
                        self.http
                            .post(endpoint)
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body(body)
                    }
                    None => {
                        let mut request = self.http.get(url.clone());
                        if let Some(basic) = self.basic() {
                            request = request.header(AUTHORIZATION, basic);
                        }
                        request
                    }
                };
                let response = request
                    .send()
                    .await
                    .map_err(|e| self.error(format!("could not get a registry token: {}", describe(&e))))?;
                if !response.status().is_success() {
                    return Err(self.error(format!(
                        "the token service answered {} ({})",
                        response.status(),
                        self.denied_message()
                    )));
                }
                let body = read_body(response, self.client.limits.max_metadata_bytes, None)
                    .await
                    .map_err(|m| self.error(m))?;
                let token: TokenResponse =
                    serde_json::from_slice(&body).map_err(|e| self.error(format!("invalid token response: {e}")))?;
                let token = token
                    .token
                    .or(token.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| self.error("the token service returned no token"))?;
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| self.error("the token service returned an invalid token"))?;
                value.set_sensitive(true);
                Ok(value)
            }
            _ => Err(self.error(self.denied_message())),
        }
    }

    /// Every version the registry has (tags, `_` read back as `+`).
    pub(crate) async fn list_versions(&self) -> Result<Vec<String>, HelmError> {
        let mut url = format!("{}/v2/{}/tags/list", self.base, self.repository);
        let mut versions = Vec::new();
        // Registries page the list; follow `Link: <...>; rel="next"` (bounded, against loops).
        for _ in 0..100 {
            let response = self.get(&url, None).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(self.error(format!("listing tags answered {status}")));
            }
            let next = response
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_next_link);
            let body = read_body(response, self.client.limits.max_metadata_bytes, None)
                .await
                .map_err(|m| self.error(m))?;
            let list: TagList =
                serde_json::from_slice(&body).map_err(|e| self.error(format!("invalid tag list: {e}")))?;
            versions.extend(list.tags.unwrap_or_default().into_iter().map(|t| t.replace('_', "+")));
            match next {
                Some(next) if next.starts_with('/') => url = format!("{}{next}", self.base),
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(versions)
    }

    /// Downloads the chart layer of `version` and checks manifest and layer digests.
    pub(crate) async fn pull(&self, version: &str, reporter: &Reporter) -> Result<Vec<u8>, HelmError> {
        let tag = version.replace('+', "_");
        let manifest_url = format!("{}/v2/{}/manifests/{tag}", self.base, self.repository);
        let response = self.get(&manifest_url, Some(MANIFEST_TYPES)).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(HelmError::ChartVersionNotFound {
                chart: self.chart.chart.clone(),
                version: version.to_string(),
                repo: redact_url(&self.chart.repo),
                message: "the registry has no such tag (check chartVersion, or run helm-update to list versions)"
                    .to_string(),
            });
        }
        if !status.is_success() {
            return Err(self.error(format!("fetching the manifest of {tag} answered {status}")));
        }
        let announced = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_body(response, self.client.limits.max_metadata_bytes, None)
            .await
            .map_err(|m| self.error(m))?;
        if let Some(announced) = announced.filter(|d| d.starts_with("sha256:")) {
            let actual = format!("sha256:{}", sha256_hex(&body));
            if actual != announced {
                return Err(self.verify_error(version, &manifest_url, actual, announced, "registry"));
            }
        }
        let manifest: Manifest =
            serde_json::from_slice(&body).map_err(|e| self.error(format!("invalid manifest for {tag}: {e}")))?;
        if manifest.config.media_type != HELM_CONFIG_TYPE {
            return Err(self.error(format!(
                "{tag} is not a Helm chart (its config has media type {})",
                manifest.config.media_type
            )));
        }
        let layer = manifest
            .layers
            .iter()
            .find(|l| HELM_LAYER_TYPES.contains(&l.media_type.as_str()))
            .ok_or_else(|| self.error(format!("the manifest of {tag} has no Helm chart layer")))?;
        if layer.size > self.client.limits.max_chart_bytes {
            return Err(self.error(format!(
                "the chart layer is {} bytes, more than the limit of {} bytes",
                layer.size, self.client.limits.max_chart_bytes
            )));
        }
        let expected = layer
            .digest
            .strip_prefix("sha256:")
            .ok_or_else(|| self.error(format!("unsupported layer digest {}", layer.digest)))?
            .to_ascii_lowercase();
        if let Some(cached) = self.client.cached_archive(&expected) {
            reporter.send(PullEventKind::Started {
                total: Some(cached.len() as u64),
            });
            return Ok(cached);
        }
        let blob_url = format!("{}/v2/{}/blobs/{}", self.base, self.repository, layer.digest);
        let response = self.get(&blob_url, None).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(HelmError::DownloadChart {
                chart: self.chart.chart.clone(),
                version: version.to_string(),
                url: redact_url(&blob_url),
                message: format!("the registry answered {status}"),
            });
        }
        let blob = read_body(response, self.client.limits.max_chart_bytes, Some(reporter))
            .await
            .map_err(|message| HelmError::DownloadChart {
                chart: self.chart.chart.clone(),
                version: version.to_string(),
                url: redact_url(&blob_url),
                message,
            })?;
        let actual = sha256_hex(&blob);
        if actual != expected {
            return Err(self.verify_error(
                version,
                &blob_url,
                format!("sha256:{actual}"),
                format!("sha256:{expected}"),
                "registry manifest",
            ));
        }
        self.client.store_archive(&expected, &blob);
        Ok(blob)
    }

    fn verify_error(
        &self,
        version: &str,
        url: &str,
        actual: String,
        expected: String,
        authority: &'static str,
    ) -> HelmError {
        HelmError::VerifyChart {
            chart: self.chart.display(version),
            url: redact_url(url),
            actual,
            expected,
            authority,
        }
    }
}

/// Splits `Bearer realm="x",service="y"` into the scheme and its parameters.
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((key, value.to_string()));
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_string(), params)
}

/// The target of `rel="next"` in a `Link` header.
fn parse_next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, attrs) = part.split_once(';')?;
        attrs
            .contains("rel=\"next\"")
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params,
            vec![
                ("realm".to_string(), "https://auth.example.com/token".to_string()),
                ("service".to_string(), "registry.example.com".to_string()),
                ("scope".to_string(), "repository:a/b:pull".to_string()),
            ]
        );
        assert_eq!(parse_challenge(r#"Basic realm="x""#).0, "Basic");
    }

    #[test]
    fn follows_link_headers_and_detects_loopback() {
        assert_eq!(
            parse_next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(parse_next_link(r#"</x>; rel="prev""#), None);
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("[::1]"));
        assert!(!is_loopback("ghcr.io") && !is_loopback("127.example.com"));
    }
}
