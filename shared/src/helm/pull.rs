//! `helm-pull`: every chart a project uses, pulled into `.helm-charts/` in Kluctl's layout.
//!
//! Input: a project directory (its `helm-chart.y(a)ml` files read without templating, as Kluctl
//! does) and a [`ChartClient`]; output: a [`PullReport`]. Each version is downloaded, checked
//! against its digest, unpacked into a staging directory inside `.helm-charts`, and swapped in
//! (see `store`); versions no longer referenced are removed only after every pull of that chart
//! succeeded.

use super::error::redact_url;
use super::layout::HELM_CHARTS_DIR;
use super::store::{installed_version, remove_stale_leftovers, unreferenced_versions};
use super::{ChartClient, ChartRef, HelmError};
use crate::types::helm_chart::{HelmChartConfig, HelmChartFile};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A `helm-chart.yaml` found in a project, read without templating.
#[derive(Clone, Debug)]
pub struct ProjectRelease {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// Project-relative, `/`-separated, for messages.
    pub display: String,
    /// Its content.
    pub config: HelmChartConfig,
    /// The chart, for repository charts.
    pub chart: Option<ChartRef>,
}

/// True when `dir` holds a Kluctl project root marker.
fn is_project_root(dir: &Path) -> bool {
    [
        ".kluctl.yaml",
        ".kluctl.yml",
        ".kluctl-library.yaml",
        ".kluctl-library.yml",
    ]
    .iter()
    .any(|name| dir.join(name).is_file())
}

pub(crate) fn check_project(project_dir: &Path) -> Result<(), HelmError> {
    if is_project_root(project_dir) {
        Ok(())
    } else {
        Err(HelmError::FindProject {
            dir: project_dir.display().to_string(),
        })
    }
}

/// Finds and reads every `helm-chart.y(a)ml` below `project_dir` (skipping `.helm-charts` and
/// `.git`), in path order. Files are read as written: Kluctl does not template them here.
pub fn scan_project(project_dir: &Path) -> Result<Vec<ProjectRelease>, HelmError> {
    let mut releases = Vec::new();
    let walker = walkdir::WalkDir::new(project_dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.file_type().is_dir() && (name == HELM_CHARTS_DIR || name == ".git"))
        });
    for entry in walker {
        let entry = entry.map_err(|e| HelmError::ScanProject {
            dir: project_dir.display().to_string(),
            message: e.to_string(),
        })?;
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || (name != "helm-chart.yaml" && name != "helm-chart.yml") {
            continue;
        }
        let path = entry.path().to_path_buf();
        let display = path
            .strip_prefix(project_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let config = read_chart_config(&path, &display, true)?;
        let chart = ChartRef::from_config(&config).map_err(|message| HelmError::ReadChartConfig {
            location: display.clone(),
            message,
        })?;
        releases.push(ProjectRelease {
            path,
            display,
            config,
            chart,
        });
    }
    Ok(releases)
}

/// Reads and validates one `helm-chart.yaml`. `untemplated`: the file is read as written, so a
/// parse error may come from Jinja2 syntax, which the message then explains.
pub(crate) fn read_chart_config(path: &Path, display: &str, untemplated: bool) -> Result<HelmChartConfig, HelmError> {
    let text = std::fs::read_to_string(path).map_err(|e| HelmError::ReadChartConfig {
        location: display.to_string(),
        message: e.to_string(),
    })?;
    let file: HelmChartFile = crate::yaml::parse_typed(&text, display).map_err(|e| {
        let location = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{display}:{l}:{c}"),
            (Some(l), None) => format!("{display}:{l}"),
            _ => display.to_string(),
        };
        let hint = if untemplated && text.contains("{{") {
            " (helm-pull and helm-update read helm-chart.yaml without templating, as Kluctl does; \
             only fields such as namespace may use templates, and only where the YAML stays valid)"
        } else {
            ""
        };
        HelmError::ReadChartConfig {
            location,
            message: format!("{}{hint}", e.message),
        }
    })?;
    file.helm_chart
        .validate()
        .map_err(|message| HelmError::ReadChartConfig {
            location: display.to_string(),
            message,
        })?;
    Ok(file.helm_chart)
}

/// How `helm-pull` behaves.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// Pull versions that are already present again (Kluctl's `helm-pull` does); when false only
    /// missing versions are pulled (what `helm-update --upgrade` uses).
    pub force: bool,
    /// Downloads in flight at once.
    pub concurrency: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            force: true,
            concurrency: 4,
        }
    }
}

/// One chart version in `.helm-charts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledVersion {
    /// Chart name.
    pub chart: String,
    /// Version.
    pub version: String,
    /// Repository URL (no credentials).
    pub repo: String,
    /// Project-relative directory.
    pub dir: String,
}

/// A version directory removed because no `helm-chart.yaml` refers to it any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedVersion {
    /// Chart name.
    pub chart: String,
    /// Version.
    pub version: String,
    /// Project-relative directory.
    pub dir: String,
}

/// What `helm-pull` did.
#[derive(Debug, Default)]
pub struct PullReport {
    /// Versions downloaded and installed.
    pub pulled: Vec<PulledVersion>,
    /// Versions already present and left alone (only without `force`).
    pub up_to_date: Vec<PulledVersion>,
    /// Versions removed.
    pub removed: Vec<RemovedVersion>,
    /// Releases not pulled because of `skipPrePull: true` (their files).
    pub skipped: Vec<String>,
    /// Failures; the rest of the project was still pulled.
    pub errors: Vec<HelmError>,
}

impl PullReport {
    /// True when nothing failed.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty()
    }
}

fn relative(project_dir: &Path, path: &Path) -> String {
    path.strip_prefix(project_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Pulls every chart of the project at `project_dir` into its `.helm-charts`.
pub async fn pull_project(
    project_dir: &Path,
    client: &ChartClient,
    options: &PullOptions,
) -> Result<PullReport, HelmError> {
    check_project(project_dir)?;
    let releases = scan_project(project_dir)?;
    let base = project_dir.join(HELM_CHARTS_DIR);
    remove_stale_leftovers(&base);

    let mut report = PullReport::default();
    // Versions to keep per chart; a chart whose releases all skip pre-pulling keeps none.
    let mut wanted: BTreeMap<ChartRef, (Option<String>, BTreeSet<String>)> = BTreeMap::new();
    for release in &releases {
        if release.config.git.is_some() {
            report.errors.push(HelmError::ResolveChart {
                file: release.display.clone(),
                message: "git charts are not supported yet; vendor the chart into the project and use path:".into(),
            });
            continue;
        }
        let Some(chart) = &release.chart else { continue };
        let slot = wanted
            .entry(chart.clone())
            .or_insert_with(|| (release.config.credentials_id.clone(), BTreeSet::new()));
        if release.config.skip_pre_pull {
            report.skipped.push(release.display.clone());
            continue;
        }
        if let Some(version) = &release.config.chart_version {
            slot.1.insert(version.clone());
        }
    }

    let mut jobs = Vec::new();
    for (chart, (credentials_id, versions)) in &wanted {
        for version in versions {
            let target = match chart.version_dir(&base, version) {
                Ok(t) => t,
                Err(message) => {
                    report.errors.push(HelmError::ChartVersionNotFound {
                        chart: chart.chart.clone(),
                        version: version.clone(),
                        repo: redact_url(&chart.repo),
                        message,
                    });
                    continue;
                }
            };
            let entry = PulledVersion {
                chart: chart.chart.clone(),
                version: version.clone(),
                repo: redact_url(&chart.repo),
                dir: relative(project_dir, &target),
            };
            if !options.force && installed_version(&target).as_deref() == Some(version.as_str()) {
                report.up_to_date.push(entry);
                continue;
            }
            jobs.push((chart, credentials_id.as_deref(), version, target, entry));
        }
    }

    // NB: the futures are built in a loop rather than in a `.map` closure over the stream, which
    // would make the whole future only `Send` for one lifetime (a rustc limitation with closures
    // returning borrowing futures) and unusable from `tokio::spawn`.
    let mut downloads = Vec::with_capacity(jobs.len());
    for (chart, credentials_id, version, target, entry) in jobs {
        let base = &base;
        downloads.push(async move {
            let result = client.fetch_into(chart, credentials_id, version, &target, base).await;
            (chart, entry, result)
        });
    }
    let results: Vec<_> = futures::stream::iter(downloads)
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;

    let mut failed_charts = BTreeSet::new();
    for (chart, entry, result) in results {
        match result {
            Ok(()) => report.pulled.push(entry),
            Err(err) => {
                failed_charts.insert(chart.clone());
                report.errors.push(err);
            }
        }
    }
    report.pulled.sort_by(|a, b| a.dir.cmp(&b.dir));

    for (chart, (_, versions)) in &wanted {
        if failed_charts.contains(chart) {
            continue;
        }
        let chart_dir = chart.chart_dir(&base);
        for version in unreferenced_versions(&chart_dir, versions) {
            let dir = chart_dir.join(&version);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => report.removed.push(RemovedVersion {
                    chart: chart.chart.clone(),
                    version,
                    dir: relative(project_dir, &dir),
                }),
                Err(e) => report.errors.push(HelmError::WriteCharts {
                    path: relative(project_dir, &dir),
                    message: format!("could not remove the unused version: {e}"),
                }),
            }
        }
    }
    Ok(report)
}
