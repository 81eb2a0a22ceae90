//! Classic Helm repositories: `index.yaml`, version lookup, and chart archive downloads verified
//! against the index's digest.
//!
//! Input: a [`ChartRef`] of kind `Classic` and a version; output: the verified `.tgz` bytes, or
//! the list of versions the index offers.

use super::auth::HelmAuthEntry;
use super::client::ChartClient;
use super::error::redact_url;
use super::fetch::{client_for, describe, read_body, sha256_hex};
use super::progress::{PullEventKind, Reporter};
use super::{ChartRef, HelmError};
use serde::Deserialize;
use std::collections::HashMap;
use url::Url;

/// The parts of `index.yaml` we use.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RepoIndex {
    #[serde(default)]
    entries: HashMap<String, Vec<IndexEntry>>,
}

#[derive(Debug, Deserialize)]
struct IndexEntry {
    #[serde(deserialize_with = "text")]
    version: String,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    digest: Option<String>,
}

fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        S(String),
        N(serde_yaml::Number),
    }
    Ok(match Text::deserialize(d)? {
        Text::S(s) => s,
        Text::N(n) => n.to_string(),
    })
}

impl RepoIndex {
    /// Every version of `chart` in the index, as written.
    pub(crate) fn versions(&self, chart: &str) -> Vec<String> {
        self.entries
            .get(chart)
            .map(|list| list.iter().map(|e| e.version.clone()).collect())
            .unwrap_or_default()
    }
}

/// The URL of `index.yaml` for a repository URL.
fn index_url(repo: &Url) -> Url {
    let mut url = repo.clone();
    let path = format!("{}/index.yaml", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

/// Resolves a chart URL from the index against the repository URL, as Helm does: relative URLs
/// are relative to the repository (with a trailing slash) and inherit its query string.
fn chart_url(repo: &Url, entry_url: &str) -> Result<Url, String> {
    if let Ok(absolute) = Url::parse(entry_url) {
        return Ok(absolute);
    }
    let mut base = repo.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let mut resolved = base
        .join(entry_url)
        .map_err(|e| format!("invalid chart URL {entry_url:?} in the index: {e}"))?;
    if resolved.query().is_none() {
        resolved.set_query(repo.query());
    }
    Ok(resolved)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn with_auth(request: reqwest::RequestBuilder, auth: Option<&HelmAuthEntry>) -> reqwest::RequestBuilder {
    match auth {
        Some(a) if a.username.is_some() || a.password.is_some() => request.basic_auth(
            a.username.clone().unwrap_or_default(),
            a.password.as_ref().map(|p| p.0.clone()),
        ),
        _ => request,
    }
}

/// Downloads and parses the repository index.
pub(crate) async fn fetch_index(
    client: &ChartClient,
    chart: &ChartRef,
    credentials_id: Option<&str>,
) -> Result<RepoIndex, HelmError> {
    let repo = redact_url(&chart.repo);
    let fail = |message: String| HelmError::FetchIndex {
        repo: repo.clone(),
        message,
    };
    let auth = client.helm_credentials.find(chart.url(), credentials_id);
    let http = client_for(&client.http, auth.map(|a| &a.tls)).map_err(&fail)?;
    let url = index_url(chart.url());
    let response = with_auth(http.get(url.clone()), auth)
        .send()
        .await
        .map_err(|e| fail(describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 | 403 => " (check the credentials given with --helm-creds or KLUCTL_HELM_* variables)",
            404 => " (is this a Helm repository? the URL should be the one used with 'helm repo add')",
            _ => "",
        };
        return Err(fail(format!(
            "the server answered {status} for {}{hint}",
            redact_url(url.as_str())
        )));
    }
    let body = read_body(response, client.limits.max_index_bytes, None)
        .await
        .map_err(&fail)?;
    serde_yaml::from_slice::<RepoIndex>(&body).map_err(|e| fail(format!("invalid index.yaml: {e}")))
}

/// Downloads one chart version found in `index` and checks it against the index's digest.
pub(crate) async fn download_chart(
    client: &ChartClient,
    chart: &ChartRef,
    credentials_id: Option<&str>,
    index: &RepoIndex,
    version: &str,
    reporter: &Reporter,
) -> Result<Vec<u8>, HelmError> {
    let repo = redact_url(&chart.repo);
    let entries = index.entries.get(&chart.chart);
    let Some(entry) = entries.and_then(|list| list.iter().find(|e| e.version == version)) else {
        let message = match entries {
            None => "the repository has no chart of that name (check chartName)".to_string(),
            Some(list) => {
                let mut versions: Vec<&str> = list.iter().map(|e| e.version.as_str()).collect();
                versions.sort_by(|a, b| match (super::parse_version(a), super::parse_version(b)) {
                    (Some(a), Some(b)) => b.cmp(&a),
                    _ => b.cmp(a),
                });
                let newest: Vec<&str> = versions.into_iter().take(5).collect();
                format!(
                    "no such version (newest available: {}; check chartVersion)",
                    newest.join(", ")
                )
            }
        };
        return Err(HelmError::ChartVersionNotFound {
            chart: chart.chart.clone(),
            version: version.to_string(),
            repo,
            message,
        });
    };
    let download_error = |url: &str, message: String| HelmError::DownloadChart {
        chart: chart.chart.clone(),
        version: version.to_string(),
        url: redact_url(url),
        message,
    };
    let Some(raw_url) = entry.urls.first() else {
        return Err(download_error(
            &chart.repo,
            "the index lists no URL for this version".to_string(),
        ));
    };
    let url = chart_url(chart.url(), raw_url).map_err(|m| download_error(raw_url, m))?;
    let expected = entry
        .digest
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start_matches("sha256:").to_ascii_lowercase());
    if let Some(cached) = expected.as_deref().and_then(|d| client.cached_archive(d)) {
        reporter.send(PullEventKind::Started {
            total: Some(cached.len() as u64),
        });
        return Ok(cached);
    }
    let auth = client.helm_credentials.find(chart.url(), credentials_id);
    // Helm only sends repository credentials to other hosts when told to (passCredentialsAll).
    let send_auth = auth.filter(|a| a.pass_credentials_all || same_origin(chart.url(), &url));
    let http = client_for(&client.http, auth.map(|a| &a.tls)).map_err(|m| download_error(url.as_str(), m))?;
    let response = with_auth(http.get(url.clone()), send_auth)
        .send()
        .await
        .map_err(|e| download_error(url.as_str(), describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(download_error(url.as_str(), format!("the server answered {status}")));
    }
    let body = read_body(response, client.limits.max_chart_bytes, Some(reporter))
        .await
        .map_err(|m| download_error(url.as_str(), m))?;
    if let Some(expected) = expected {
        let actual = sha256_hex(&body);
        if actual != expected {
            return Err(HelmError::VerifyChart {
                chart: chart.display(version),
                url: redact_url(url.as_str()),
                actual: format!("sha256:{actual}"),
                expected: format!("sha256:{expected}"),
                authority: "repository index",
            });
        }
        client.store_archive(&expected, &body);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_chart_urls_like_helm() {
        let repo = Url::parse("https://example.com/charts?token=1").unwrap();
        assert_eq!(
            chart_url(&repo, "app-1.0.0.tgz").unwrap().as_str(),
            "https://example.com/charts/app-1.0.0.tgz?token=1"
        );
        assert_eq!(
            chart_url(&repo, "https://cdn.example.com/app-1.0.0.tgz")
                .unwrap()
                .as_str(),
            "https://cdn.example.com/app-1.0.0.tgz"
        );
        assert_eq!(
            index_url(&Url::parse("https://x.io/a/").unwrap()).as_str(),
            "https://x.io/a/index.yaml"
        );
        assert_eq!(
            index_url(&Url::parse("https://x.io").unwrap()).as_str(),
            "https://x.io/index.yaml"
        );
    }

    #[test]
    fn reads_index_entries_with_unquoted_versions() {
        let index: RepoIndex = serde_yaml::from_str(
            "apiVersion: v1\nentries:\n  app:\n  - version: 3\n    urls: [app-3.tgz]\n    digest: abc\n    \
             name: app\n  - version: 2.0.0\n    urls: []\n",
        )
        .unwrap();
        assert_eq!(index.versions("app"), vec!["3", "2.0.0"]);
        assert!(index.versions("other").is_empty());
    }
}
