//! [`LoadedProject`] and [`DeploymentItem`]: the output of the project stage. Every item carries
//! everything later stages need: its directory, its template context, tags, labels, namespace
//! override, deploy metadata (barrier, waitReadiness, deleteObjects) and where it was declared.

use super::config::Target;
use super::paths::ProjectPaths;
use crate::template::EngineKind;
use crate::types::{
    ConflictResolution, DeploymentItemConfig, FixedImage, IgnoreForDiff, KluctlProjectConfig, ObjectRefItem,
    SourceLocation,
};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// A project, loaded: target selected, args merged, every `deployment.yaml` rendered and the
/// items flattened in deployment order.
#[derive(Clone, Debug)]
pub struct LoadedProject {
    /// Source root and project directory.
    pub paths: ProjectPaths,
    /// The template language of the project.
    pub engine: EngineKind,
    /// `.kluctl.yaml` as written.
    pub config: KluctlProjectConfig,
    /// The selected target, rendered.
    pub target: Target,
    /// Merged args (defaults, target, `-a`, `--args-from-file`).
    pub args: Map<String, Value>,
    /// The discriminator (`--discriminator`, else the target's), `None` when unset or empty.
    pub discriminator: Option<String>,
    /// Fixed images: the target's, then the command line's (searched last first).
    pub fixed_images: Vec<FixedImage>,
    /// Every item in deployment order, including excluded ones (see [`DeploymentItem::included`]).
    pub items: Vec<DeploymentItem>,
    /// Non-fatal problems (ignored targets, tags that are not valid label values).
    pub warnings: Vec<String>,
}

impl LoadedProject {
    /// The items that pass the inclusion filters, in deployment order.
    pub fn included_items(&self) -> impl Iterator<Item = &DeploymentItem> {
        self.items.iter().filter(|i| i.included)
    }
}

/// The directory of a `path` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemDir {
    /// Absolute source directory.
    pub path: PathBuf,
    /// Relative to the source root, `/`-separated: the `kluctl.io/deployment-item-dir` value.
    pub rel_root: String,
    /// Directory inside the render output: `rel_root`, or `rel_root-N` for the N-th reuse.
    pub rendered_rel: String,
    /// As shown to users (relative to the project directory).
    pub display: String,
}

/// Patterns of files copied without templating, relative to `base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateExcludes {
    /// The project directory the patterns are relative to.
    pub base: PathBuf,
    /// Glob patterns (`**` crosses directories).
    pub patterns: Vec<String>,
}

/// One deployment item.
#[derive(Clone, Debug)]
pub struct DeploymentItem {
    /// Position in deployment order.
    pub index: usize,
    /// The directory for `path` items; `None` for barrier-only or `deleteObjects`-only items.
    pub dir: Option<ItemDir>,
    /// The item as written (rendered).
    pub config: DeploymentItemConfig,
    /// The template context of the item's files (`target`, `args`, all vars).
    pub vars: Value,
    /// Template search path: item dir, its project dir, ancestor project dirs.
    pub search_dirs: Vec<PathBuf>,
    /// Tags in Kluctl's order; they become the `kluctl.io/tag-N` labels.
    pub tags: Vec<String>,
    /// `commonLabels` of the project chain (innermost wins).
    pub common_labels: IndexMap<String, String>,
    /// `commonAnnotations` of the project chain (innermost wins).
    pub common_annotations: IndexMap<String, String>,
    /// The nearest `overrideNamespace`.
    pub override_namespace: Option<String>,
    /// `ignoreForDiff` rules of the project chain (innermost first).
    pub ignore_for_diff: Vec<IgnoreForDiff>,
    /// `conflictResolution` rules of the project chain (innermost first).
    pub conflict_resolution: Vec<ConflictResolution>,
    /// Legacy `templateExcludes` of the project chain.
    pub template_excludes: Vec<TemplateExcludes>,
    /// Wait for everything before to be applied before continuing.
    pub barrier: bool,
    /// Text shown at the barrier.
    pub message: Option<String>,
    /// Wait for the item's objects to become ready after applying them.
    pub wait_readiness: bool,
    /// Further objects to wait for.
    pub wait_readiness_objects: Vec<ObjectRefItem>,
    /// Objects to delete when the item is processed.
    pub delete_objects: Vec<ObjectRefItem>,
    /// Render only; neither build nor deploy.
    pub only_render: bool,
    /// Mark objects with `kluctl.io/skip-delete-if-tags`.
    pub skip_delete_if_tags: bool,
    /// Whether the item passes the inclusion filters (always true for barriers, `onlyRender`
    /// and `alwaysDeploy` items).
    pub included: bool,
    /// Where the item is declared, then the includes that led there (innermost first).
    pub chain: Vec<SourceLocation>,
}

impl DeploymentItem {
    /// Where the item is declared.
    pub fn declared_at(&self) -> &SourceLocation {
        &self.chain[0]
    }
}
