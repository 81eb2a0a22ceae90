//! `helm-pull`: every chart a project uses, pulled into `.helm-charts/` in Kluctl's layout; plus
//! [`ChartCache`], the on-demand pull behind `skipPrePull: true`.
//!
//! Input: a project directory (its `helm-chart.y(a)ml` files read without templating, as Kluctl
//! does) and a [`ChartClient`]; output: a [`PullReport`]. Each version is downloaded, checked
//! against its digest, unpacked into a staging directory inside `.helm-charts`, and swapped in
//! (see `store`); versions no longer referenced are removed only after every pull of that chart
//! succeeded.

use super::archive::{UnpackLimits, unpack_chart};
use super::auth::{HelmCredentials, RegistryCredentials};
use super::error::redact_url;
use super::fetch::DownloadLimits;
use super::layout::{HELM_CHARTS_DIR, check_version};
use super::oci::OciSession;
use super::progress::{ProgressFn, PullEventKind, Reporter};
use super::repo::{RepoIndex, download_chart, fetch_index};
use super::store::{install_dir, installed_version, remove_stale_leftovers, staging_dir, unreferenced_versions};
use super::{ChartRef, HelmError, RepoKind};
use crate::types::helm_chart::{HelmChartConfig, HelmChartFile};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};

/// Repository indexes by repository URL, each fetched at most once.
type IndexCache = Arc<Mutex<HashMap<String, Arc<OnceCell<Arc<RepoIndex>>>>>>;

/// Downloads charts: HTTP client, credentials, limits, an optional progress callback and an
/// optional archive cache. Repository indexes are fetched once per client, so create one client
/// per command (or per reconcile), not one per process.
#[derive(Clone)]
pub struct ChartClient {
    pub(crate) http: reqwest::Client,
    pub(crate) helm_credentials: HelmCredentials,
    pub(crate) registry_credentials: RegistryCredentials,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) limits: DownloadLimits,
    pub(crate) unpack_limits: UnpackLimits,
    /// Repository indexes fetched during this client's lifetime, one fetch per repository URL.
    indexes: IndexCache,
    /// Verified chart archives by SHA-256 (`<dir>/sha256/<hex>.tgz`).
    archive_cache: Option<PathBuf>,
}

impl Default for ChartClient {
    fn default() -> Self {
        Self::new(HelmCredentials::default(), RegistryCredentials::default())
    }
}

impl ChartClient {
    /// A client with these credentials and the default limits.
    pub fn new(helm_credentials: HelmCredentials, registry_credentials: RegistryCredentials) -> Self {
        let http = crate::http::client_builder()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        ChartClient {
            http,
            helm_credentials,
            registry_credentials,
            progress: None,
            limits: DownloadLimits::default(),
            unpack_limits: UnpackLimits::default(),
            indexes: Default::default(),
            archive_cache: None,
        }
    }

    /// Keeps verified archives in `dir`, keyed by their SHA-256: a version whose digest is already
    /// there is unpacked from it instead of downloaded again (the index or manifest is still
    /// fetched, so a changed upstream digest is noticed).
    pub fn with_archive_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archive_cache = Some(dir.into());
        self
    }

    /// The user's archive cache: `$XDG_CACHE_HOME/kluctl/helm-archives` or
    /// `~/.cache/kluctl/helm-archives`.
    pub fn user_archive_cache_dir() -> PathBuf {
        user_cache_base().join("kluctl").join("helm-archives")
    }

    fn archive_path(&self, digest_hex: &str) -> Option<PathBuf> {
        let dir = self.archive_cache.as_ref()?;
        let valid = digest_hex.len() == 64 && digest_hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| dir.join("sha256").join(format!("{digest_hex}.tgz")))
    }

    /// A cached archive with this digest, re-checked (a damaged cache entry is ignored).
    pub(crate) fn cached_archive(&self, digest_hex: &str) -> Option<Vec<u8>> {
        let data = std::fs::read(self.archive_path(digest_hex)?).ok()?;
        (super::fetch::sha256_hex(&data) == digest_hex).then_some(data)
    }

    /// Stores a verified archive; failures only cost a later download.
    pub(crate) fn store_archive(&self, digest_hex: &str, data: &[u8]) {
        let Some(path) = self.archive_path(digest_hex) else {
            return;
        };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut temp) = tempfile::NamedTempFile::new_in(dir)
            && std::io::Write::write_all(&mut temp, data).is_ok()
        {
            let _ = temp.persist(&path);
        }
    }

    /// Reports download progress to `callback`.
    pub fn with_progress(mut self, callback: ProgressFn) -> Self {
        self.progress = Some(callback);
        self
    }

    /// The same client with a new connection pool (for use on another runtime).
    fn with_fresh_connections(&self) -> Self {
        let mut client = self.clone();
        if let Ok(http) = crate::http::client_builder().build() {
            client.http = http;
        }
        client
    }

    async fn index(&self, chart: &ChartRef, credentials_id: Option<&str>) -> Result<Arc<RepoIndex>, HelmError> {
        let cell = {
            let mut indexes = self.indexes.lock().await;
            indexes.entry(chart.repo.clone()).or_default().clone()
        };
        cell.get_or_try_init(|| async { fetch_index(self, chart, credentials_id).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Every version the repository or registry offers for `chart`.
    pub async fn list_versions(
        &self,
        chart: &ChartRef,
        credentials_id: Option<&str>,
    ) -> Result<Vec<String>, HelmError> {
        match chart.kind {
            RepoKind::Classic => {
                let index = self.index(chart, credentials_id).await?;
                let versions = index.versions(&chart.chart);
                if versions.is_empty() {
                    return Err(HelmError::ChartVersionNotFound {
                        chart: chart.chart.clone(),
                        version: "(any)".to_string(),
                        repo: redact_url(&chart.repo),
                        message: "the repository has no chart of that name (check chartName)".to_string(),
                    });
                }
                Ok(versions)
            }
            RepoKind::Oci => OciSession::new(self, chart)?.list_versions().await,
        }
    }

    /// Downloads, verifies and unpacks `version` of `chart`, then installs it at `target`
    /// (staging below `staging_base`, which must be on the same filesystem).
    pub(crate) async fn fetch_into(
        &self,
        chart: &ChartRef,
        credentials_id: Option<&str>,
        version: &str,
        target: &Path,
        staging_base: &Path,
    ) -> Result<(), HelmError> {
        let reporter = Reporter::new(self.progress.clone(), &chart.chart, version);
        let result = self
            .fetch_into_inner(chart, credentials_id, version, target, staging_base, &reporter)
            .await;
        reporter.send(if result.is_ok() {
            PullEventKind::Finished
        } else {
            PullEventKind::Failed
        });
        result
    }

    async fn fetch_into_inner(
        &self,
        chart: &ChartRef,
        credentials_id: Option<&str>,
        version: &str,
        target: &Path,
        staging_base: &Path,
        reporter: &Reporter,
    ) -> Result<(), HelmError> {
        check_version(version).map_err(|message| HelmError::ChartVersionNotFound {
            chart: chart.chart.clone(),
            version: version.to_string(),
            repo: redact_url(&chart.repo),
            message,
        })?;
        let archive = match chart.kind {
            RepoKind::Classic => {
                let index = self.index(chart, credentials_id).await?;
                download_chart(self, chart, credentials_id, &index, version, reporter).await?
            }
            RepoKind::Oci => OciSession::new(self, chart)?.pull(version, reporter).await?,
        };
        let unpack_error = |message: String| HelmError::UnpackChart {
            chart: chart.chart.clone(),
            version: version.to_string(),
            url: redact_url(&chart.repo),
            message,
        };
        let write_error = |path: &Path, e: std::io::Error| HelmError::WriteCharts {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let staging = staging_dir(staging_base).map_err(|e| write_error(staging_base, e))?;
        let staged = staging.path().join("chart");
        let limits = self.unpack_limits;
        let unpacked = {
            let staged = staged.clone();
            tokio::task::spawn_blocking(move || unpack_chart(&archive, &staged, limits))
                .await
                .map_err(|e| unpack_error(format!("unpacking stopped: {e}")))?
                .map_err(unpack_error)?
        };
        if unpacked.chart_name != chart.chart {
            return Err(unpack_error(format!(
                "the archive holds chart {:?}, not {:?}",
                unpacked.chart_name, chart.chart
            )));
        }
        if unpacked.chart_version != version {
            return Err(unpack_error(format!(
                "the archive holds version {:?}, not {version:?}",
                unpacked.chart_version
            )));
        }
        install_dir(&staged, target).map_err(|e| write_error(target, e))?;
        Ok(())
    }
}

/// The on-demand chart cache for `skipPrePull: true` releases (Kluctl's
/// `$XDG_CACHE_HOME/kluctl/helm-charts`, same layout as `.helm-charts`).
#[derive(Clone)]
pub struct ChartCache {
    dir: PathBuf,
    client: ChartClient,
    /// One lock per version directory, so parallel items never pull (and swap) the same chart
    /// while another item's helm is reading it.
    locks: Arc<std::sync::Mutex<HashMap<PathBuf, Arc<std::sync::Mutex<()>>>>>,
}

impl ChartCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>, client: ChartClient) -> Self {
        ChartCache {
            dir: dir.into(),
            client,
            locks: Default::default(),
        }
    }

    /// The user's cache: `$XDG_CACHE_HOME/kluctl/helm-charts` or `~/.cache/kluctl/helm-charts`.
    pub fn user_default(client: ChartClient) -> Self {
        Self::new(user_cache_base().join("kluctl").join("helm-charts"), client)
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of `version` of `chart`, pulling it first when it is not cached. Blocking:
    /// the download runs on its own thread and runtime, so this works from sync and async callers.
    pub fn ensure(&self, chart: &ChartRef, credentials_id: Option<&str>, version: &str) -> Result<PathBuf, HelmError> {
        let target = chart
            .version_dir(&self.dir, version)
            .map_err(|message| HelmError::ChartVersionNotFound {
                chart: chart.chart.clone(),
                version: version.to_string(),
                repo: redact_url(&chart.repo),
                message,
            })?;
        if installed_version(&target).as_deref() == Some(version) {
            return Ok(target);
        }
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            locks.entry(target.clone()).or_default().clone()
        };
        let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if installed_version(&target).as_deref() == Some(version) {
            return Ok(target);
        }
        // Pooled connections belong to the runtime that opened them; this download gets its own.
        let client = self.client.with_fresh_connections();
        let runtime_error = |e: std::io::Error| HelmError::WriteCharts {
            path: self.dir.display().to_string(),
            message: format!("could not start the download: {e}"),
        };
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(runtime_error)?;
                    runtime.block_on(client.fetch_into(chart, credentials_id, version, &target, &self.dir))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(HelmError::WriteCharts {
                        path: self.dir.display().to_string(),
                        message: "the download thread panicked".to_string(),
                    })
                })
        })?;
        Ok(target)
    }
}

/// `$XDG_CACHE_HOME`, or `~/.cache`, or the temp dir.
fn user_cache_base() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
}

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
