//! From a project on disk to a [`Target`] the cluster commands work on: load the project
//! (cluster vars read through the command's own connection), render every item (namespaces
//! fixed with the same discovery), and turn each rendered item into a [`DeployItem`] with its
//! barrier, waits, deletions, `ignoreForDiff` and `conflictResolution` rules.
//!
//! Everything is rendered before anything is written: a render error returns here, and no
//! command has touched the cluster yet (reads aside).

use super::Target;
use crate::cluster::{ClusterClient, ClusterError, DeployItem, ObjectSelector};
use crate::deploy::RuleError;
use crate::deploy::conflicts::{ConflictResolutionRule, ConflictResolver};
use crate::deploy::inclusion::Inclusion;
use crate::diff::{IgnoreFlags, IgnoreForDiffRule, Normalizer};
use crate::project::{LoadedProject, ProjectError, ProjectOptions};
use crate::render::{RenderError, RenderOptions, RenderedProject};
use crate::types::ObjectRefItem;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a target could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Loading the project failed.
    #[error(transparent)]
    LoadProject(#[from] ProjectError),
    /// Rendering failed (nothing was applied).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The cluster could not be reached or discovered.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An `ignoreForDiff` or `conflictResolution` rule of an item does not compile.
    #[error("failed to compile the rules of deployment item {item}: {message}")]
    CompileRules {
        /// The item, as the user knows it.
        item: String,
        /// What is wrong.
        message: String,
    },
    /// The render task panicked or was cancelled.
    #[error("failed to render: {0}")]
    Join(String),
}

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct RenderRequest {
    /// The project, target, args, inclusion and images.
    pub project: ProjectOptions,
    /// `--render-output-dir`; `None` renders into a temporary directory.
    pub render_output_dir: Option<PathBuf>,
    /// The `--ignore-*` diff flags.
    pub ignore: IgnoreFlags,
}

/// A rendered target, with the project and the rendered tree it came from.
#[derive(Debug)]
pub struct RenderedTarget {
    /// What the commands work on.
    pub target: Target,
    /// The loaded project (target, args, items).
    pub project: LoadedProject,
    /// The rendered tree and objects (the tree is removed when this is dropped, unless it was
    /// rendered into `--render-output-dir`).
    pub rendered: RenderedProject,
}

/// Loads and renders the project for `client`'s cluster (see the module docs).
pub async fn render_target(client: &ClusterClient, request: &RenderRequest) -> Result<RenderedTarget, PipelineError> {
    let discovery = client.discovery().await?;
    let mut options = request.project.clone();
    options.context = Some(client.context().to_string());
    let project = crate::project::load(&options, Some(client)).await?;
    let (project, rendered) = {
        let output_dir = request.render_output_dir.clone();
        let discovery = Arc::clone(&discovery);
        tokio::task::spawn_blocking(move || {
            let render_options = RenderOptions {
                output_dir: output_dir.as_deref(),
                scopes: Some(&*discovery),
                builder: None,
            };
            let rendered = crate::render::render(&project, &render_options);
            (project, rendered)
        })
        .await
        .map_err(|e| PipelineError::Join(e.to_string()))?
    };
    let rendered = rendered?;
    let inclusion = inclusion_of(&request.project.inclusion)?;
    let target = to_target(&project, &rendered, &inclusion, request.ignore)?;
    Ok(RenderedTarget {
        target,
        project,
        rendered,
    })
}

/// The context the selected target names, read before connecting (Kluctl picks the context
/// from the rendered target: `--context` wins over it, and it over the current context).
pub fn target_context(options: &ProjectOptions) -> Result<Option<String>, ProjectError> {
    let resolved = crate::project::resolve_target(options)?;
    Ok(resolved.target.context.filter(|c| !c.is_empty()))
}

/// The project's inclusion filters as the orphan rules read them.
pub fn inclusion_of(filters: &crate::project::Inclusion) -> Result<Inclusion, PipelineError> {
    Inclusion::new(
        &filters.include_tags,
        &filters.exclude_tags,
        &filters.include_dirs,
        &filters.exclude_dirs,
    )
    .map_err(|e| PipelineError::CompileRules {
        item: "the command line".to_string(),
        message: e.to_string(),
    })
}

fn selector(item: &ObjectRefItem) -> ObjectSelector {
    ObjectSelector {
        group: item.group.clone(),
        kind: item.kind.clone(),
        name: item.name.clone(),
        namespace: item.namespace.clone(),
    }
}

/// Converts serde types of `deployment.yaml` into the engine's rule types (same fields).
fn convert<T: serde::Serialize, U: serde::de::DeserializeOwned>(rules: &[T]) -> Result<Vec<U>, String> {
    rules
        .iter()
        .map(|r| serde_json::to_value(r).and_then(serde_json::from_value))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// The rendered items of a project as deploy items, in deployment order.
pub fn to_target(
    project: &LoadedProject,
    rendered: &RenderedProject,
    inclusion: &Inclusion,
    ignore: IgnoreFlags,
) -> Result<Target, PipelineError> {
    let mut objects: std::collections::HashMap<usize, &Vec<Value>> =
        rendered.objects.items().iter().map(|i| (i.item, &i.objects)).collect();
    let mut items = Vec::new();
    for rendered_item in &rendered.items {
        let Some(item) = project.items.iter().find(|i| i.index == rendered_item.index) else {
            continue;
        };
        let name = match &item.dir {
            Some(dir) => dir.display.clone(),
            None => {
                let at = item.declared_at();
                match at.line {
                    Some(line) => format!("{}:{line}", at.file),
                    None => at.file.clone(),
                }
            }
        };
        let fail = |message: String| PipelineError::CompileRules {
            item: name.clone(),
            message,
        };
        let ignore_rules: Vec<IgnoreForDiffRule> = convert(&item.ignore_for_diff).map_err(fail)?;
        let normalizer = Normalizer::new(&ignore_rules, ignore).map_err(|e| fail(e.to_string()))?;
        // The project lists the rules innermost first; the resolver wants ancestors first
        // (the last matching rule wins).
        let mut conflict_rules: Vec<ConflictResolutionRule> = convert(&item.conflict_resolution).map_err(fail)?;
        conflict_rules.reverse();
        let resolver = ConflictResolver::new(&conflict_rules).map_err(|e: RuleError| fail(e.to_string()))?;
        items.push(DeployItem {
            name,
            objects: objects.remove(&item.index).cloned().unwrap_or_default(),
            barrier: rendered_item.barrier,
            message: item.message.clone(),
            wait_readiness: rendered_item.wait_readiness,
            wait_readiness_objects: item.wait_readiness_objects.iter().map(selector).collect(),
            delete_objects: item.delete_objects.iter().map(selector).collect(),
            normalizer: Arc::new(normalizer),
            resolver: Arc::new(resolver),
        });
    }
    Ok(Target {
        name: Some(project.target.name.clone()).filter(|n| !n.is_empty()),
        discriminator: project.discriminator.clone(),
        inclusion: inclusion.clone(),
        items,
    })
}
