//! [`ChartRef`]: which chart a `helm-chart.yaml` names, and where Kluctl keeps it in `.helm-charts/`.
//!
//! Input: a [`HelmChartConfig`]; output: the chart's identity and its directories. The layout is
//! Kluctl's, so projects with committed `.helm-charts` work unchanged:
//!
//! - classic repository: `<scheme>[_<port>]_<host>/<url path, lowercased>/<chartName>/<version>/`,
//!   e.g. `https_charts.bitnami.com/bitnami/redis/17.4.0/`;
//! - OCI: `oci[_<port>]_<host>/<path, lowercased>/<version>/` (the chart name is the last segment).
//!
//! Every name that becomes a path component (host, path segments, chart name, version) is checked
//! first, so a crafted chart name such as `..` can never point outside `.helm-charts`.

use crate::types::helm_chart::HelmChartConfig;
use std::path::{Path, PathBuf};
use url::Url;

/// Name of the pre-pulled charts directory.
pub const HELM_CHARTS_DIR: &str = ".helm-charts";

/// Kind of chart repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoKind {
    /// A classic repository with an `index.yaml`.
    Classic,
    /// An OCI registry.
    Oci,
}

/// A chart in a remote repository (local and git charts have no `ChartRef`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChartRef {
    /// Classic or OCI.
    pub kind: RepoKind,
    /// The repository URL as written (`https://...` or `oci://...`), credentials removed.
    pub repo: String,
    /// The chart name (`chartName`, or the last path segment of an OCI URL).
    pub chart: String,
    url: Url,
}

impl ChartRef {
    /// The chart a config refers to; `Ok(None)` for local (`path:`) and git charts.
    pub fn from_config(config: &HelmChartConfig) -> Result<Option<Self>, String> {
        let Some(repo) = config.repo.as_deref().filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        let url = Url::parse(repo).map_err(|e| format!("repo {repo:?} is not a valid URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "repo {} must not contain credentials; pass them with --helm-creds or KLUCTL_HELM_* variables",
                super::error::redact_url(repo)
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("repo {repo:?} has no host"))?
            .to_ascii_lowercase();
        check_component(&host, "repository host")?;
        let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
        for segment in &segments {
            check_component(segment, "repository path segment")?;
        }
        let (kind, chart) = match url.scheme() {
            "oci" => {
                let chart = segments
                    .last()
                    .ok_or_else(|| format!("oci repo {repo:?} must end in the chart name (oci://host/path/chart)"))?
                    .to_string();
                (RepoKind::Oci, chart)
            }
            "http" | "https" => {
                let chart = config
                    .chart_name
                    .clone()
                    .ok_or_else(|| "chartName must be specified when repo is a classic Helm repository".to_string())?;
                (RepoKind::Classic, chart)
            }
            other => {
                return Err(format!(
                    "repo {repo:?} has the unsupported scheme {other:?} (use https://, http:// or oci://)"
                ));
            }
        };
        check_component(&chart, "chart name")?;
        Ok(Some(ChartRef {
            kind,
            repo: repo.trim_end_matches('/').to_string(),
            chart,
            url,
        }))
    }

    /// The parsed repository URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The directory holding every pulled version of this chart, below `base` (a `.helm-charts`).
    pub fn chart_dir(&self, base: &Path) -> PathBuf {
        let url = &self.url;
        let scheme = url.scheme();
        let default_port = match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        let mut prefix = scheme.to_string();
        if let Some(port) = url.port().filter(|p| Some(*p) != default_port) {
            prefix.push_str(&format!("_{port}"));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let mut dir = base.join(format!("{prefix}_{host}"));
        for segment in url.path().split('/').filter(|s| !s.is_empty()) {
            dir.push(segment.to_lowercase());
        }
        if self.kind == RepoKind::Classic {
            dir.push(&self.chart);
        }
        dir
    }

    /// The directory of one version (refused when the version is not a safe directory name).
    pub fn version_dir(&self, base: &Path, version: &str) -> Result<PathBuf, String> {
        check_version(version)?;
        Ok(self.chart_dir(base).join(version))
    }

    /// `chart version` for messages.
    pub fn display(&self, version: &str) -> String {
        format!("{} {version}", self.chart)
    }
}

/// Refuses versions that cannot be a directory name.
pub fn check_version(version: &str) -> Result<(), String> {
    if version.is_empty()
        || version.len() > 128
        || version == "."
        || version == ".."
        || !version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
    {
        return Err(format!(
            "chart version {version:?} is not a valid version (letters, digits, '.', '-', '+', '_')"
        ));
    }
    Ok(())
}

fn check_component(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty()
        || value == "."
        || value == ".."
        || value.chars().any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(format!("{what} {value:?} can not be used as a directory name"));
    }
    Ok(())
}

/// Finds the `.helm-charts` directory for an item: the first one found walking up from
/// `item_dir` to `source_root` (both in the sources, not the rendered tree), as Kluctl does.
pub fn find_charts_dir(item_dir: &Path, source_root: &Path) -> Option<PathBuf> {
    let mut dir = Some(item_dir);
    while let Some(current) = dir {
        let candidate = current.join(HELM_CHARTS_DIR);
        if candidate.is_dir() {
            return Some(candidate);
        }
        if current == source_root || !current.starts_with(source_root) {
            break;
        }
        dir = current.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(repo: &str, chart: Option<&str>) -> HelmChartConfig {
        HelmChartConfig {
            repo: Some(repo.into()),
            chart_name: chart.map(Into::into),
            chart_version: Some("1.0.0".into()),
            release_name: "r".into(),
            ..Default::default()
        }
    }

    #[test]
    fn classic_layout_matches_kluctl() {
        let r = ChartRef::from_config(&config("https://charts.bitnami.com/bitnami", Some("redis")))
            .unwrap()
            .unwrap();
        assert_eq!(
            r.version_dir(Path::new(".helm-charts"), "17.4.0").unwrap(),
            Path::new(".helm-charts/https_charts.bitnami.com/bitnami/redis/17.4.0")
        );
        let local = ChartRef::from_config(&config("http://127.0.0.1:8080/Charts/", Some("app")))
            .unwrap()
            .unwrap();
        assert_eq!(
            local.chart_dir(Path::new("b")),
            Path::new("b/http_8080_127.0.0.1/charts/app")
        );
        let default_port = ChartRef::from_config(&config("https://Example.COM:443", Some("a")))
            .unwrap()
            .unwrap();
        assert_eq!(
            default_port.chart_dir(Path::new("b")),
            Path::new("b/https_example.com/a")
        );
    }

    #[test]
    fn oci_layout_uses_the_last_segment_as_chart_name() {
        let r = ChartRef::from_config(&config("oci://ghcr.io/stefanprodan/charts/podinfo", None))
            .unwrap()
            .unwrap();
        assert_eq!(r.kind, RepoKind::Oci);
        assert_eq!(r.chart, "podinfo");
        assert_eq!(
            r.version_dir(Path::new("b"), "6.3.5").unwrap(),
            Path::new("b/oci_ghcr.io/stefanprodan/charts/podinfo/6.3.5")
        );
        let port = ChartRef::from_config(&config("oci://127.0.0.1:5000/x/app", None))
            .unwrap()
            .unwrap();
        assert_eq!(port.chart_dir(Path::new("b")), Path::new("b/oci_5000_127.0.0.1/x/app"));
    }

    #[test]
    fn refuses_names_that_would_escape_the_charts_dir() {
        assert!(ChartRef::from_config(&config("https://x.io/r", Some(".."))).is_err());
        assert!(ChartRef::from_config(&config("https://x.io/r", Some("a/b"))).is_err());
        let r = ChartRef::from_config(&config("https://x.io/r", Some("a")))
            .unwrap()
            .unwrap();
        assert!(r.version_dir(Path::new("b"), "..").is_err());
        assert!(r.version_dir(Path::new("b"), "1.0.0/../../x").is_err());
        let creds = ChartRef::from_config(&config("https://u:secret@x.io/r", Some("a"))).unwrap_err();
        assert!(!creds.contains("secret"), "{creds}");
        assert!(ChartRef::from_config(&config("ftp://x.io/r", Some("a"))).is_err());
    }

    #[test]
    fn finds_the_nearest_charts_dir_up_to_the_source_root() {
        let root = tempfile::tempdir().unwrap();
        let item = root.path().join("a/b");
        std::fs::create_dir_all(&item).unwrap();
        assert_eq!(find_charts_dir(&item, root.path()), None);
        std::fs::create_dir_all(root.path().join(HELM_CHARTS_DIR)).unwrap();
        assert_eq!(
            find_charts_dir(&item, root.path()),
            Some(root.path().join(HELM_CHARTS_DIR))
        );
        std::fs::create_dir_all(root.path().join("a").join(HELM_CHARTS_DIR)).unwrap();
        assert_eq!(
            find_charts_dir(&item, root.path()),
            Some(root.path().join("a").join(HELM_CHARTS_DIR))
        );
    }
}
