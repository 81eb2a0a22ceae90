//! [`ChartClient`], the downloader behind helm-pull, helm-update and on-demand pulls, and
//! [`ChartCache`], the user cache that `skipPrePull: true` releases are pulled into.
//!
//! Input: a [`ChartRef`] and a version; output: the chart verified (digest), unpacked safely and
//! installed in place of what was there (see `store`), or the versions a repository offers.

use super::archive::{UnpackLimits, unpack_chart};
use super::auth::{HelmCredentials, RegistryCredentials};
use super::error::redact_url;
use super::fetch::DownloadLimits;
use super::layout::check_version;
use super::oci::OciSession;
use super::progress::{ProgressFn, PullEventKind, Reporter};
use super::repo::{RepoIndex, download_chart, fetch_index};
use super::store::{install_dir, installed_version, staging_dir};
use super::{ChartRef, HelmError, RepoKind};
use std::collections::HashMap;
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
