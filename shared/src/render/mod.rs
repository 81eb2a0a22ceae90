//! Stage 3, render: a [`LoadedProject`] becomes a [`RenderedProject`]: the rendered tree (every
//! item's files templated into the render output directory) and the [`ObjectSet`] (every object,
//! per item in deployment order, post-processed as Kluctl does).
//!
//! Per item, in parallel on all cores: template the files; render Helm releases; prepare the
//! kustomization (generate it, `overrideNamespace`); build it with Kustomize; post-process the
//! objects (labels, annotations, `kluctl.io/ignore`, `images.get_image` placeholders). Then, in deployment order: fix namespaces
//! (with discovery), detect duplicates, write `.rendered.yml` per item, and move the tree into
//! place. Any failure leaves nothing outside the temp/staging directory; errors name the original
//! project file, never the render directory.

mod error;
mod files;
mod images;
mod kustomization;
mod kustomize;
mod namespaces;
mod output;
mod postprocess;

pub use error::RenderError;
pub use kustomize::NativeKustomize;
pub use namespaces::{HELM_INSTALL_NAMESPACE, ResourceScopes};
pub use output::{MARKER_FILE, RenderedTree, TempRoot};

use crate::helm::HelmStage;
use crate::objects::{ObjectRef, ObjectSet};
use crate::project::{DeploymentItem, ItemDir, LoadedProject};
use crate::template;
use crate::types::{FixedImage, Located, SourceLocation};
use crate::vars::Templater;
use output::Staging;
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Builds a rendered item directory into objects: the Kustomize step of the pipeline.
pub trait ItemBuilder: Sync {
    /// Builds `dir`, a rendered item directory inside `root` (nothing outside `root` may be
    /// read). Errors name files by `display_dir`, the item directory as the user knows it.
    fn build(&self, dir: &Path, root: &Path, display_dir: &str) -> Result<Vec<Value>, Located>;
}

/// How to render.
#[derive(Clone, Copy)]
pub struct RenderOptions<'a> {
    /// `--render-output-dir`; `None` renders into a temp dir owned by the [`RenderedTree`].
    pub output_dir: Option<&'a Path>,
    /// Discovery for namespace fixing; `None` renders offline (namespaces left as written).
    pub scopes: Option<&'a dyn ResourceScopes>,
    /// The Kustomize implementation; `None` is the native engine, as Kluctl configures it.
    pub builder: Option<&'a dyn ItemBuilder>,
}

impl Default for RenderOptions<'_> {
    /// A temp dir, offline, the native Kustomize engine.
    fn default() -> Self {
        RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        }
    }
}

/// What rendering produced for one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedItem {
    /// Index in `LoadedProject::items`.
    pub index: usize,
    /// The rendered directory (inside the tree), for `path` items.
    pub dir: Option<PathBuf>,
    /// Barrier after this item (the item's field or the kustomization's annotation).
    pub barrier: bool,
    /// Wait for readiness (the item's field or the kustomization's annotation).
    pub wait_readiness: bool,
}

/// A rendered project.
#[derive(Debug)]
pub struct RenderedProject {
    /// The rendered files.
    pub tree: RenderedTree,
    /// Every object, per item in deployment order.
    pub objects: ObjectSet,
    /// Per included item, in deployment order.
    pub items: Vec<RenderedItem>,
    /// Every `images.get_image` resolution, in deployment order (for `list-images` and results).
    pub seen_images: Vec<FixedImage>,
}

/// The result of the per-item work.
struct Built {
    flags: kustomization::KustomizationFlags,
    objects: Vec<Value>,
    seen_images: Vec<FixedImage>,
}

fn item_dir(item: &DeploymentItem) -> &ItemDir {
    item.dir.as_ref().expect("only items with a directory are rendered")
}

/// Renders every included item of `project` (Helm settings from the environment, see
/// [`HelmStage::from_environment`]).
pub fn render(project: &LoadedProject, options: &RenderOptions<'_>) -> Result<RenderedProject, RenderError> {
    render_with_helm(project, options, &HelmStage::from_environment())
}

/// [`render`] with explicit Helm settings (credentials from flags, cluster capabilities).
pub fn render_with_helm(
    project: &LoadedProject,
    options: &RenderOptions<'_>,
    helm: &HelmStage,
) -> Result<RenderedProject, RenderError> {
    let staging = Staging::new(options.output_dir)?;
    let engine = template::engine(project.engine);
    let templater = Templater {
        engine: engine.as_ref(),
        kind: project.engine,
        paths: &project.paths,
    };
    let work: Vec<&DeploymentItem> = project.included_items().filter(|i| i.dir.is_some()).collect();
    let out_dir = |item: &DeploymentItem| staging.dir.join(&item_dir(item).rendered_rel);
    let native = NativeKustomize {
        display_root: PathBuf::from(crate::project::paths::relative_path(
            &project.paths.project_dir,
            &project.paths.root,
        )),
    };
    let builder: &dyn ItemBuilder = options.builder.unwrap_or(&native);

    // Phase 1: every item's files, so that Kustomize bases rendered by other items
    // (`onlyRender`) exist before any build starts.
    let helm_outputs: Vec<Result<Vec<String>, RenderError>> = work
        .par_iter()
        .map(|item| {
            let out = out_dir(item);
            std::fs::create_dir_all(&out).map_err(|e| {
                RenderError::WriteOutput(
                    Located::new(
                        SourceLocation::file(&item_dir(item).display),
                        format!("cannot create its rendered copy: {e}"),
                    )
                    .with_chain(&item.chain),
                )
            })?;
            files::render_item_files(&project.paths, &templater, item, item_dir(item), &out)?;
            render_helm_releases(helm, &project.paths.root, item, &out)
        })
        .collect();
    let helm_outputs = collect(helm_outputs)?;

    // Phase 2: kustomization, Kustomize and post-processing per item.
    let built: Vec<Result<Option<Built>, RenderError>> = work
        .par_iter()
        .zip(helm_outputs.par_iter())
        .map(|(item, outputs)| {
            if item.only_render {
                return Ok(None);
            }
            let dir = item_dir(item);
            let out = out_dir(item);
            let flags = kustomization::prepare(item, dir, &out, outputs)?;
            let objects = builder.build(&out, &staging.dir, &dir.display).map_err(|mut located| {
                located.chain.extend(item.chain.iter().cloned());
                RenderError::BuildKustomize(located)
            })?;
            let meta = postprocess::ItemMetadata::new(item, dir, project.discriminator.as_deref());
            let mut objects = postprocess::postprocess(objects, &meta);
            let postprocess_error = |message: String| {
                RenderError::PostProcess(
                    Located::new(item.declared_at().clone(), message)
                        .with_hint("add the image to the target's images, --fixed-image, or the `images` variable")
                        .with_chain(&item.chain[1..]),
                )
            };
            let resolver = images::ImageResolver {
                fixed: &project.fixed_images,
                from_vars: images::ImageResolver::images_from_vars(&item.vars).map_err(postprocess_error)?,
                deployment_dir: &dir.rel_root,
                tags: &item.tags,
            };
            let mut seen_images = Vec::new();
            for object in &mut objects {
                let is_list = object["kind"].as_str().is_some_and(|k| k.ends_with("List"));
                match object.get_mut("items").and_then(Value::as_array_mut) {
                    Some(inner) if is_list => {
                        for o in inner {
                            resolver.resolve(o, &mut seen_images).map_err(postprocess_error)?;
                        }
                    }
                    _ => resolver.resolve(object, &mut seen_images).map_err(postprocess_error)?,
                }
            }
            Ok(Some(Built {
                flags,
                objects,
                seen_images,
            }))
        })
        .collect();
    let mut built = collect(built)?;

    // Phase 3, in deployment order: namespaces, duplicates, .rendered.yml.
    let crds = namespaces::crd_scopes(built.iter().flatten().flat_map(|b| b.objects.iter()));
    for b in built.iter_mut().flatten() {
        for object in &mut b.objects {
            namespaces::fix_namespace(object, options.scopes, &crds);
        }
    }
    let mut objects = ObjectSet::new();
    let mut items = Vec::new();
    let mut seen_images = Vec::new();
    let mut rendered = work.iter().zip(built);
    for item in project.included_items() {
        let Some(dir) = &item.dir else {
            items.push(RenderedItem {
                index: item.index,
                dir: None,
                barrier: item.barrier,
                wait_readiness: item.wait_readiness,
            });
            continue;
        };
        let (_, built) = rendered.next().expect("one result per item with a directory");
        let out = staging.dir.join(&dir.rendered_rel);
        let mut rendered_item = RenderedItem {
            index: item.index,
            // Relative for now; made absolute once the tree is in its final place.
            dir: Some(PathBuf::from(&dir.rendered_rel)),
            barrier: item.barrier,
            wait_readiness: item.wait_readiness,
        };
        if let Some(mut built) = built {
            seen_images.append(&mut built.seen_images);
            rendered_item.barrier |= built.flags.barrier;
            rendered_item.wait_readiness |= built.flags.wait_readiness;
            std::fs::write(out.join(".rendered.yml"), crate::yaml::to_yaml_stream(&built.objects)).map_err(|e| {
                RenderError::WriteOutput(
                    Located::new(
                        SourceLocation::file(&dir.display),
                        format!("cannot write .rendered.yml: {e}"),
                    )
                    .with_chain(&item.chain),
                )
            })?;
            objects
                .push_item(item.index, built.objects)
                .map_err(|dup| duplicate_error(project, &dup.object, dup.first_item, dup.second_item))?;
        }
        items.push(rendered_item);
    }

    let tree = staging.finish()?;
    for item in &mut items {
        item.dir = item.dir.take().map(|rel| tree.root().join(rel));
    }
    Ok(RenderedProject {
        tree,
        objects,
        items,
        seen_images,
    })
}

/// The call site of the Helm stage: renders the Helm releases of this item into its rendered
/// directory and returns their output file names (for the generated kustomization).
fn render_helm_releases(
    helm: &HelmStage,
    source_root: &Path,
    item: &DeploymentItem,
    out: &Path,
) -> Result<Vec<String>, RenderError> {
    let dir = item_dir(item);
    let releases = helm
        .render_item(out, source_root, &dir.path, &dir.display)
        .map_err(|e| {
            let file = e.config_file().unwrap_or(&dir.display).to_string();
            RenderError::RenderHelm(Located::new(SourceLocation::file(file), e.to_string()).with_chain(&item.chain))
        })?;
    Ok(releases.into_iter().map(|r| r.output_name).collect())
}

fn duplicate_error(project: &LoadedProject, object: &ObjectRef, first: usize, second: usize) -> RenderError {
    let name = |i: usize| {
        project.items[i]
            .dir
            .as_ref()
            .map(|d| d.display.clone())
            .unwrap_or_else(|| project.items[i].declared_at().to_string())
    };
    let message = if first == second {
        format!("{object} is rendered twice by item {}", name(second))
    } else {
        format!(
            "{object} is rendered by item {} (declared at {}) and again by item {}",
            name(first),
            project.items[first].declared_at(),
            name(second)
        )
    };
    let item = &project.items[second];
    let chain = item.chain[1..].to_vec();
    RenderError::DuplicateObject(
        Located::new(item.declared_at().clone(), message)
            .with_hint("each object may come from one item only: remove one, or change its name or namespace")
            .with_chain(&chain),
    )
}

/// All results, or every error.
fn collect<T>(results: Vec<Result<T, RenderError>>) -> Result<Vec<T>, RenderError> {
    let mut ok = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(RenderError::Several(mut list)) => errors.append(&mut list),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(RenderError::from_list(errors))
    }
}
