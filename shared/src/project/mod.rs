//! Stage 1, project loading: a project directory plus a target selection and args become a
//! [`LoadedProject`], with the target rendered, args merged, every `deployment.yaml` rendered,
//! vars loaded and the items flattened in deployment order with everything later stages need.
//!
//! Input: [`ProjectOptions`] (and optionally a [`ClusterReader`] for cluster vars sources);
//! output: [`LoadedProject`] or a [`ProjectError`] naming the project-relative file, line,
//! column and include chain. This stage only reads; it writes nothing.
//!
//! ```no_run
//! # async fn example() -> Result<(), shared::project::ProjectError> {
//! use shared::project::{ProjectOptions, load};
//! let options = ProjectOptions {
//!     project_dir: "examples/simple".into(),
//!     target: Some("simple".into()),
//!     ..Default::default()
//! };
//! let project = load(&options, None).await?;
//! for item in project.included_items() {
//!     println!("{:?} {:?}", item.dir.as_ref().map(|d| &d.display), item.tags);
//! }
//! # Ok(()) }
//! ```

mod config;
mod error;
mod inclusion;
mod item;
pub mod paths;
mod tree;
mod validate;

pub use config::{ProjectConfigFile, Target};
pub use error::ProjectError;
pub use inclusion::Inclusion;
pub use item::{DeploymentItem, ItemDir, LoadedProject, TemplateExcludes};

use crate::template;
use crate::types::{FixedImage, Located, RefusedVarsSources, SourceLocation};
use crate::vars::{ClusterReader, Templater, VarsLoader};
use paths::ProjectPaths;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// What to load: the project, the target and args, and the inclusion filters.
#[derive(Clone, Debug, Default)]
pub struct ProjectOptions {
    /// The project directory (`--project-dir`, default `.`).
    pub project_dir: PathBuf,
    /// An explicit `.kluctl.yaml` (`-c/--project-config`).
    pub project_config: Option<PathBuf>,
    /// `-t/--target`.
    pub target: Option<String>,
    /// `-T/--target-name-override`.
    pub target_name_override: Option<String>,
    /// `--context`: overrides the target's context.
    pub context: Option<String>,
    /// `--discriminator`: overrides the rendered discriminator.
    pub discriminator: Option<String>,
    /// Args from outside the project: `-a` values and `--args-from-file` files, merged in that
    /// order (see [`crate::args`]); they win over the target's args and the declared defaults.
    pub args: Map<String, Value>,
    /// `-I`, `-E`, `--include-deployment-dir`, `--exclude-deployment-dir`.
    pub inclusion: Inclusion,
    /// `-F/--fixed-image` and `--fixed-images-file`: they win over the target's images.
    pub fixed_images: Vec<FixedImage>,
    /// Vars source kinds that fail the load when an entry uses them (the agent's policy).
    pub refused_vars_sources: RefusedVarsSources,
}

fn project_dir_error(options: &ProjectOptions, e: std::io::Error) -> ProjectError {
    ProjectError::ReadProject(
        Located::new(
            SourceLocation::file(options.project_dir.to_string_lossy()),
            format!("the project directory cannot be opened: {e}"),
        )
        .with_hint("check --project-dir"),
    )
}

/// The first step of loading, on its own: `.kluctl.yaml` read, target selected and rendered,
/// args merged. A command needs the target's context before it can connect to the cluster
/// that [`load`] may read vars from.
pub fn resolve_target(options: &ProjectOptions) -> Result<ResolvedTarget, ProjectError> {
    let paths = ProjectPaths::discover(&options.project_dir).map_err(|e| project_dir_error(options, e))?;
    if !paths.project_dir.is_dir() {
        return Err(project_dir_error(options, std::io::Error::other("not a directory")));
    }
    let file = config::read_project_config(&paths, options.project_config.as_deref())?;
    let engine_kind = file.config.template_engine.unwrap_or_default();
    let engine = template::engine(engine_kind);
    let templater = Templater {
        engine: engine.as_ref(),
        kind: engine_kind,
        paths: &paths,
    };
    let (target_config, target_index, warnings) = config::select_target(&file, options.target.as_deref())?;
    let args = config::merge_args(&file.config.args, target_config.args.as_ref(), &options.args, &file)?;
    let mut target = config::render_target(
        &templater,
        &target_config,
        options.target_name_override.as_deref(),
        file.config.discriminator.as_deref(),
        &args,
        &file,
        target_index,
    )?;
    if let Some(context) = &options.context {
        target.context = Some(context.clone());
    }
    if let Some(discriminator) = &options.discriminator {
        target.discriminator = Some(discriminator.clone());
    }
    Ok(ResolvedTarget {
        paths,
        config: file.config,
        target,
        args,
        warnings,
    })
}

/// The target of a project, selected and rendered (see [`resolve_target`]).
#[derive(Clone, Debug)]
pub struct ResolvedTarget {
    /// Source root and project directory.
    pub paths: ProjectPaths,
    /// `.kluctl.yaml` as written.
    pub config: crate::types::KluctlProjectConfig,
    /// The selected target, rendered, with `--context` and `--discriminator` applied.
    pub target: Target,
    /// Merged args.
    pub args: Map<String, Value>,
    /// Ignored targets and similar notes.
    pub warnings: Vec<String>,
}

/// Loads a project: `.kluctl.yaml`, target, args, the `deployment.yaml` tree and all vars.
/// `cluster` serves `clusterConfigMap`, `clusterSecret` and `clusterObject` sources; without it
/// those sources fail with a clear error (offline rendering).
pub async fn load(
    options: &ProjectOptions,
    cluster: Option<&dyn ClusterReader>,
) -> Result<LoadedProject, ProjectError> {
    let ResolvedTarget {
        paths,
        config,
        target,
        args,
        mut warnings,
    } = resolve_target(options)?;
    let engine_kind = config.template_engine.unwrap_or_default();
    let engine = template::engine(engine_kind);
    let templater = Templater {
        engine: engine.as_ref(),
        kind: engine_kind,
        paths: &paths,
    };
    let discriminator = target.discriminator.clone().filter(|d| !d.is_empty());

    let vars = serde_json::json!({
        "target": serde_json::to_value(&target).expect("targets serialise"),
        "args": Value::Object(args.clone()),
    });
    let loader = VarsLoader {
        templater,
        paths: &paths,
        cluster,
        refused: &options.refused_vars_sources,
    };
    let mut walker = tree::Walker::new(loader, templater, &paths);
    let root = tree::Inherited {
        vars,
        is_root: true,
        ..Default::default()
    };
    walker.load_project(paths.project_dir.clone(), root).await?;
    warnings.append(&mut walker.warnings);
    let mut items = walker.items;
    for item in &mut items {
        item.included = item.barrier
            || item.only_render
            || item.config.always_deploy
            || match &item.dir {
                Some(dir) => options
                    .inclusion
                    .is_included(&item.tags, &[dir.rel_root.as_str(), dir.display.as_str()]),
                None => options.inclusion.is_included(&item.tags, &[]),
            };
    }

    let mut fixed_images = target.images.clone();
    fixed_images.extend(options.fixed_images.iter().cloned());
    Ok(LoadedProject {
        fixed_images,
        engine: engine_kind,
        config,
        target,
        args,
        discriminator,
        items,
        warnings,
        paths,
    })
}

/// The targets of a project, rendered (with the declared defaults and each target's own args),
/// sorted by name. Targets that cannot be rendered are reported in the warnings and left out,
/// as Kluctl does.
pub fn list_targets(
    project_dir: &std::path::Path,
    project_config: Option<&std::path::Path>,
) -> Result<(Vec<Target>, Vec<String>), ProjectError> {
    let paths = ProjectPaths::discover(project_dir).map_err(|e| {
        project_dir_error(
            &ProjectOptions {
                project_dir: project_dir.to_path_buf(),
                ..Default::default()
            },
            e,
        )
    })?;
    let file = config::read_project_config(&paths, project_config)?;
    let engine_kind = file.config.template_engine.unwrap_or_default();
    let engine = template::engine(engine_kind);
    let templater = Templater {
        engine: engine.as_ref(),
        kind: engine_kind,
        paths: &paths,
    };
    let mut warnings = Vec::new();
    let mut targets = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, t) in file.config.targets.iter().enumerate() {
        let Some(name) = t.name.as_deref().filter(|n| !n.is_empty()) else {
            warnings.push(format!(
                "{}: target without a name is ignored",
                file.map.locate(&file.display, &format!("targets/{i}"))
            ));
            continue;
        };
        if !seen.insert(name.to_string()) {
            warnings.push(format!(
                "{}: duplicate target {name:?} is ignored",
                file.map.locate(&file.display, &format!("targets/{i}/name"))
            ));
            continue;
        }
        let rendered = config::defaults(&file.config.args, &file).and_then(|mut args| {
            crate::vars::merge_maps(&mut args, t.args.clone().unwrap_or_default());
            config::render_target(
                &templater,
                t,
                None,
                file.config.discriminator.as_deref(),
                &args,
                &file,
                Some(i),
            )
        });
        match rendered {
            Ok(target) => targets.push(target),
            Err(e) => warnings.push(format!("target {name:?} is ignored: {e}")),
        }
    }
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((targets, warnings))
}
