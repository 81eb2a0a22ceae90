//! [`HelmStage`]: the Helm step as the render pipeline holds it for a whole project: the helm
//! binary (found on first use, so projects without charts never need helm), the chart cache for
//! `skipPrePull`, and the cluster's capabilities.
//!
//! Input: one rendered item directory at a time; output: its [`HelmRelease`]s (see
//! [`render_item_releases`]).

use super::render::find_chart_configs;
use super::{
    ChartCache, ChartClient, ClusterInfo, HelmBinary, HelmCredentials, HelmError, HelmRelease, HelmRenderContext,
    RegistryCredentials, render_item_releases,
};
use std::path::Path;
use std::sync::OnceLock;

/// The Helm step of a render.
pub struct HelmStage {
    helm: OnceLock<Result<HelmBinary, HelmError>>,
    cache: ChartCache,
    cluster: Option<ClusterInfo>,
}

impl HelmStage {
    /// A stage with an explicit binary (or `None`: found on first use), cache and capabilities.
    pub fn new(helm: Option<HelmBinary>, cache: ChartCache, cluster: Option<ClusterInfo>) -> Self {
        let cell = OnceLock::new();
        if let Some(helm) = helm {
            let _ = cell.set(Ok(helm));
        }
        HelmStage {
            helm: cell,
            cache,
            cluster,
        }
    }

    /// What a render without explicit settings uses: helm from `KLUCTL_HELM_BINARY` or `PATH`,
    /// the user's chart cache with credentials from the `KLUCTL_HELM_*` / `KLUCTL_REGISTRY_*`
    /// variables and config files, and no cluster capabilities (Helm's defaults).
    pub fn from_environment() -> Self {
        // A malformed credentials variable only matters for skipPrePull charts, which then fail
        // to download with the repository's own answer; rendering pre-pulled charts goes on.
        let helm_credentials = HelmCredentials::load(&Default::default()).unwrap_or_default();
        let registry_credentials = RegistryCredentials::load(&Default::default()).unwrap_or_default();
        let client = ChartClient::new(helm_credentials, registry_credentials)
            .with_archive_cache(ChartClient::user_archive_cache_dir());
        Self::new(None, ChartCache::user_default(client), None)
    }

    /// Uses these cluster capabilities (`--kube-version` and `--api-versions` for every chart).
    pub fn with_cluster(mut self, cluster: Option<ClusterInfo>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Renders the releases of one item; an item without `helm-chart.y(a)ml` needs no helm binary.
    pub fn render_item(
        &self,
        rendered_item_dir: &Path,
        source_root: &Path,
        source_item_dir: &Path,
        display_dir: &str,
    ) -> Result<Vec<HelmRelease>, HelmError> {
        let has_charts = find_chart_configs(rendered_item_dir)
            .map(|found| !found.is_empty())
            .unwrap_or(true);
        if !has_charts {
            return Ok(Vec::new());
        }
        let helm = self
            .helm
            .get_or_init(HelmBinary::resolve)
            .as_ref()
            .map_err(Clone::clone)?;
        let ctx = HelmRenderContext {
            source_root,
            source_item_dir,
            display_dir,
            helm,
            cluster: self.cluster.as_ref(),
            cache: &self.cache,
        };
        render_item_releases(rendered_item_dir, &ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_without_charts_need_no_helm_binary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deployment.yaml"), "kind: Deployment\n").unwrap();
        let cache = ChartCache::new(dir.path().join("cache"), ChartClient::default());
        let stage = HelmStage::new(None, cache, None);
        // Even with no helm anywhere, an item without charts renders nothing and fails nothing.
        let releases = stage.render_item(dir.path(), dir.path(), dir.path(), "item").unwrap();
        assert!(releases.is_empty());
        assert!(stage.helm.get().is_none(), "helm is not looked up");
    }
}
