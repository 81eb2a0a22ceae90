//! Rendering the Helm releases of one deployment item (see the module docs of [`super`]).
//!
//! Input: the rendered item directory and a [`HelmRenderContext`]; output: one output file per
//! `helm-chart.y(a)ml`, described by a [`HelmRelease`].

use super::binary::{TemplateArgs, TemplateFailure};
use super::layout::{HELM_CHARTS_DIR, find_charts_dir};
use super::namespace::mark_install_namespace;
use super::pull::read_chart_config;
use super::store::installed_version;
use super::{ChartCache, ChartRef, HelmBinary, HelmError};
use crate::types::helm_chart::HelmChartConfig;
use crate::yaml::parse_documents_lenient;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What the cluster tells Helm through `.Capabilities`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The Kubernetes version (`v1.32.4`), passed as `--kube-version`.
    pub kube_version: Option<String>,
    /// `group/version` and `group/version/Kind` entries from discovery, passed as `--api-versions`.
    pub api_versions: Vec<String>,
}

impl ClusterInfo {
    /// Builds the capabilities from discovery as Kluctl does: every `group/version` and every
    /// `group/version/Kind` (core group: `v1`, `v1/Pod`), sorted and without duplicates.
    pub fn from_api_resources<'r>(
        kube_version: Option<String>,
        resources: impl IntoIterator<Item = (&'r str, &'r str, &'r str)>,
    ) -> Self {
        let mut set = std::collections::BTreeSet::new();
        for (group, version, kind) in resources {
            let group_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            set.insert(format!("{group_version}/{kind}"));
            set.insert(group_version);
        }
        ClusterInfo {
            kube_version,
            api_versions: set.into_iter().collect(),
        }
    }
}

/// Everything the renderer needs besides the rendered item directory.
#[derive(Clone, Copy)]
pub struct HelmRenderContext<'a> {
    /// The source root (git repository root): `.helm-charts` is searched up to here and local
    /// charts must stay inside it.
    pub source_root: &'a Path,
    /// The item's directory in the sources; the rendered item directory mirrors it.
    pub source_item_dir: &'a Path,
    /// The item as errors name it (project-relative, `/`-separated).
    pub display_dir: &'a str,
    /// The helm binary.
    pub helm: &'a HelmBinary,
    /// Cluster capabilities, when a cluster is reachable (or `--kubernetes-version` was given).
    pub cluster: Option<&'a ClusterInfo>,
    /// Where `skipPrePull: true` charts are pulled to.
    pub cache: &'a ChartCache,
}

/// One rendered release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmRelease {
    /// The `helm-chart.yaml` as the user knows it (`third-party/redis/helm-chart.yml`).
    pub config_file: String,
    /// The release name.
    pub release_name: String,
    /// The release namespace (`default` when not set).
    pub namespace: String,
    /// Chart name.
    pub chart: String,
    /// Chart version (the local chart's own version for `path:` charts).
    pub version: String,
    /// The written output file (absolute, in the rendered tree).
    pub output_file: PathBuf,
    /// The output file name relative to the item (what a kustomization lists).
    pub output_name: String,
    /// Number of objects written.
    pub object_count: usize,
    /// Warnings (a deprecated chart).
    pub warnings: Vec<String>,
}

/// Renders every `helm-chart.y(a)ml` below `rendered_item_dir` (in parallel) and writes each
/// release's output next to it. Results are in path order.
pub fn render_item_releases(
    rendered_item_dir: &Path,
    ctx: &HelmRenderContext<'_>,
) -> Result<Vec<HelmRelease>, HelmError> {
    let configs = find_chart_configs(rendered_item_dir).map_err(|message| HelmError::ScanProject {
        dir: ctx.display_dir.to_string(),
        message,
    })?;
    configs
        .par_iter()
        .map(|relative| render_release(rendered_item_dir, relative, ctx))
        .collect()
}

/// `helm-chart.y(a)ml` files below `dir`, relative to it, sorted.
pub(crate) fn find_chart_configs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && (name == "helm-chart.yaml" || name == "helm-chart.yml") {
            found.push(entry.path().strip_prefix(dir).unwrap_or(entry.path()).to_path_buf());
        }
    }
    Ok(found)
}

fn join_display(dir: &str, relative: &Path) -> String {
    let rel = relative.to_string_lossy().replace('\\', "/");
    if rel.is_empty() {
        dir.to_string()
    } else if dir.is_empty() || dir == "." {
        rel
    } else {
        format!("{}/{rel}", dir.trim_end_matches('/'))
    }
}

fn render_release(
    rendered_item_dir: &Path,
    relative: &Path,
    ctx: &HelmRenderContext<'_>,
) -> Result<HelmRelease, HelmError> {
    let config_path = rendered_item_dir.join(relative);
    let display = join_display(ctx.display_dir, relative);
    let config = read_chart_config(&config_path, &display, false)?;
    let rendered_dir = config_path.parent().unwrap_or(rendered_item_dir);
    let relative_dir = relative.parent().unwrap_or(Path::new(""));
    let source_dir = ctx.source_item_dir.join(relative_dir);

    let (chart_dir, chart_name, version) = locate_chart(&config, &source_dir, &display, ctx)?;
    let mut warnings = Vec::new();
    if chart_is_deprecated(&chart_dir) {
        warnings.push(format!(
            "helm chart {chart_name} {version} used by {display} is deprecated"
        ));
    }

    let values = ["helm-values.yml", "helm-values.yaml"]
        .iter()
        .map(|name| rendered_dir.join(name))
        .find(|p| p.is_file());
    let values_display = values
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|name| join_display(ctx.display_dir, &relative_dir.join(name)));
    let namespace = config.namespace_or_default().to_string();
    let empty = Vec::new();
    let args = TemplateArgs {
        release: &config.release_name,
        chart_dir: &chart_dir,
        namespace: &namespace,
        values: values.as_deref(),
        include_crds: !config.skip_crds,
        kube_version: ctx.cluster.and_then(|c| c.kube_version.as_deref()),
        api_versions: ctx.cluster.map(|c| &c.api_versions).unwrap_or(&empty),
    };
    let manifests = ctx.helm.template(&args).map_err(|failure| match failure {
        TemplateFailure::Run(err) => *err,
        TemplateFailure::Helm(stderr) => HelmError::HelmTemplate {
            chart: format!("{chart_name} {version}"),
            release: config.release_name.clone(),
            files: match &values_display {
                Some(values) => format!("{display}, values {values}"),
                None => display.clone(),
            },
            message: clean_helm_message(&stderr, rendered_dir, relative_dir, &chart_dir, ctx),
        },
    })?;

    let mut objects = parse_documents_lenient(&manifests, &display).map_err(|e| HelmError::ParseHelmOutput {
        file: display.clone(),
        message: e.to_string(),
    })?;
    for object in &mut objects {
        if !object.is_object() {
            return Err(HelmError::ParseHelmOutput {
                file: display.clone(),
                message: "a document is not a mapping".to_string(),
            });
        }
        if let Some(ns) = &config.namespace {
            mark_install_namespace(object, ns);
        }
    }
    let output_name = config.output_name().to_string();
    let output_file = rendered_dir.join(&output_name);
    std::fs::write(&output_file, crate::yaml::to_yaml_stream(&objects)).map_err(|e| HelmError::WriteOutput {
        file: join_display(ctx.display_dir, &relative_dir.join(&output_name)),
        message: e.to_string(),
    })?;
    Ok(HelmRelease {
        config_file: display,
        release_name: config.release_name.clone(),
        namespace,
        chart: chart_name,
        version,
        output_file,
        output_name: relative_dir.join(&output_name).to_string_lossy().replace('\\', "/"),
        object_count: objects.len(),
        warnings,
    })
}

/// Finds the chart directory: local `path:`, `.helm-charts`, or the cache for `skipPrePull`.
fn locate_chart(
    config: &HelmChartConfig,
    source_dir: &Path,
    display: &str,
    ctx: &HelmRenderContext<'_>,
) -> Result<(PathBuf, String, String), HelmError> {
    let resolve_error = |message: String| HelmError::ResolveChart {
        file: display.to_string(),
        message,
    };
    if config.git.is_some() {
        return Err(resolve_error(
            "git charts are not supported yet; vendor the chart into the project and use path:".into(),
        ));
    }
    if let Some(path) = config.path.as_deref().filter(|p| !p.is_empty()) {
        if Path::new(path).is_absolute() {
            return Err(resolve_error("absolute paths are not allowed in path:".into()));
        }
        let root = ctx
            .source_root
            .canonicalize()
            .map_err(|e| resolve_error(format!("the source root is not readable: {e}")))?;
        let dir = source_dir
            .join(path)
            .canonicalize()
            .map_err(|_| resolve_error(format!("the local chart {path} does not exist")))?;
        if !dir.starts_with(&root) {
            return Err(resolve_error(format!("the local chart {path} is outside the project")));
        }
        let text = std::fs::read_to_string(dir.join("Chart.yaml"))
            .map_err(|_| resolve_error(format!("the local chart {path} has no Chart.yaml")))?;
        let metadata = crate::yaml::parse_single(&text, &format!("{path}/Chart.yaml"))
            .map_err(|e| resolve_error(e.to_string()))?;
        let field = |k: &str| metadata.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        return Ok((dir, field("name"), field("version")));
    }

    let chart = ChartRef::from_config(config)
        .map_err(resolve_error)?
        .ok_or_else(|| resolve_error("one of repo, path or git must be specified".into()))?;
    let version = config.chart_version.clone().unwrap_or_default();
    if config.skip_pre_pull {
        let dir = ctx.cache.ensure(&chart, config.credentials_id.as_deref(), &version)?;
        return Ok((dir, chart.chart, version));
    }
    let not_pulled = |reason: String| HelmError::ChartNotPulled {
        chart: chart.chart.clone(),
        version: version.clone(),
        file: display.to_string(),
        reason,
    };
    let Some(base) = find_charts_dir(source_dir, ctx.source_root) else {
        return Err(not_pulled(format!("the project has no {HELM_CHARTS_DIR} directory")));
    };
    let dir = chart.version_dir(&base, &version).map_err(resolve_error)?;
    match installed_version(&dir) {
        Some(found) if found == version => Ok((dir, chart.chart, version)),
        Some(found) => Err(not_pulled(format!(
            "{} holds version {found}",
            relative_to(&dir, ctx.source_root)
        ))),
        None => {
            let others = super::store::unreferenced_versions(&chart.chart_dir(&base), &Default::default());
            Err(not_pulled(if others.is_empty() {
                format!("{} does not exist", relative_to(&dir, ctx.source_root))
            } else {
                format!("only version {} is pre-pulled", others.join(", "))
            }))
        }
    }
}

/// `path` relative to `root` (also when one of them went through `canonicalize`).
fn relative_to(path: &Path, root: &Path) -> String {
    let canonical_root = root.canonicalize().ok();
    let relative = path
        .strip_prefix(root)
        .ok()
        .or_else(|| canonical_root.as_deref().and_then(|r| path.strip_prefix(r).ok()))
        .unwrap_or(path);
    relative.to_string_lossy().replace('\\', "/")
}

fn chart_is_deprecated(chart_dir: &Path) -> bool {
    std::fs::read_to_string(chart_dir.join("Chart.yaml"))
        .ok()
        .and_then(|text| crate::yaml::parse_single(&text, "Chart.yaml").ok())
        .and_then(|m| m.get("deprecated").and_then(|d| d.as_bool()))
        .unwrap_or(false)
}

/// Helm's message with temporary and absolute paths replaced by the names the user knows.
fn clean_helm_message(
    stderr: &str,
    rendered_dir: &Path,
    relative_dir: &Path,
    chart_dir: &Path,
    ctx: &HelmRenderContext<'_>,
) -> String {
    let mut message = stderr.trim().trim_start_matches("Error: ").to_string();
    let item_display = join_display(ctx.display_dir, relative_dir);
    let replacements = [
        (rendered_dir.to_string_lossy().to_string(), item_display),
        (
            chart_dir.to_string_lossy().to_string(),
            relative_to(chart_dir, ctx.source_root),
        ),
    ];
    for (from, to) in replacements {
        if !from.is_empty() {
            message = message.replace(&from, &to);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_list_group_versions_and_kinds_like_kluctl() {
        let info = ClusterInfo::from_api_resources(
            Some("v1.32.0".into()),
            [
                ("", "v1", "Pod"),
                ("apps", "v1", "Deployment"),
                ("apps", "v1", "StatefulSet"),
            ],
        );
        assert_eq!(
            info.api_versions,
            vec!["apps/v1", "apps/v1/Deployment", "apps/v1/StatefulSet", "v1", "v1/Pod"]
        );
    }

    #[test]
    fn display_paths_join_without_doubled_slashes() {
        assert_eq!(join_display("apps/app", Path::new("")), "apps/app");
        assert_eq!(
            join_display("apps/app", Path::new("sub/helm-chart.yaml")),
            "apps/app/sub/helm-chart.yaml"
        );
        assert_eq!(join_display("", Path::new("helm-chart.yaml")), "helm-chart.yaml");
    }
}
