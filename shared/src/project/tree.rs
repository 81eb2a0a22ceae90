//! The `deployment.yaml` tree: render each file as a template with the variables of its parent,
//! load its vars, then walk its items depth-first, combining vars, tags, labels, namespaces and
//! diff rules the way Kluctl does (see `kluctl-features.md` 3.3).

use super::config::{ProjectConfigFile, check_required, defaults};
use super::error::ProjectError;
use super::item::{DeploymentItem, ItemDir, TemplateExcludes};
use super::paths::ProjectPaths;
use super::validate;
use crate::types::{
    ConflictResolution, DeploymentItemConfig, DeploymentProjectConfig, IgnoreForDiff, KluctlLibraryConfig, Located,
    SourceLocation, SourceMap,
};
use crate::vars::{Templater, VarsLoader, VarsOrigin, deep_merge, template_located};
use crate::yaml;
use futures::future::BoxFuture;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What a project inherits from the project (and include item) above it.
#[derive(Clone, Default)]
pub(crate) struct Inherited {
    pub vars: Value,
    /// Tags of the include item and of every ancestor, in Kluctl's order.
    pub tags: Vec<String>,
    pub labels: IndexMap<String, String>,
    pub annotations: IndexMap<String, String>,
    pub override_namespace: Option<String>,
    pub ignore_for_diff: Vec<IgnoreForDiff>,
    pub conflict_resolution: Vec<ConflictResolution>,
    pub template_excludes: Vec<TemplateExcludes>,
    /// Ancestor project directories, nearest first.
    pub search_dirs: Vec<PathBuf>,
    /// Include declarations that led here, innermost first.
    pub chain: Vec<SourceLocation>,
    /// Directories of the projects being loaded, to detect include cycles.
    pub stack: Vec<PathBuf>,
    pub is_root: bool,
}

/// Walks the tree and collects the items.
pub(crate) struct Walker<'a> {
    pub loader: VarsLoader<'a>,
    pub templater: Templater<'a>,
    pub paths: &'a ProjectPaths,
    pub items: Vec<DeploymentItem>,
    pub warnings: Vec<String>,
    /// How often each item directory was used, for `dir-1`, `dir-2` render directories.
    dir_uses: HashMap<PathBuf, usize>,
}

fn add_unique(target: &mut Vec<String>, values: impl IntoIterator<Item = String>) {
    for v in values {
        if !target.contains(&v) {
            target.push(v);
        }
    }
}

fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.yaml"), format!("{stem}.yml")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

impl<'a> Walker<'a> {
    pub fn new(loader: VarsLoader<'a>, templater: Templater<'a>, paths: &'a ProjectPaths) -> Self {
        Walker {
            loader,
            templater,
            paths,
            items: Vec::new(),
            warnings: Vec::new(),
            dir_uses: HashMap::new(),
        }
    }

    /// Loads the project in `dir` and everything below it.
    pub fn load_project(&mut self, dir: PathBuf, inherited: Inherited) -> BoxFuture<'_, Result<(), ProjectError>> {
        Box::pin(async move {
            let (config, display, map) = self.read_deployment(&dir, &inherited)?;
            let mut search_dirs = vec![dir.clone()];
            search_dirs.extend(inherited.search_dirs.iter().cloned());

            if inherited.is_root && config.when.is_some() {
                return Err(ProjectError::InvalidItem(
                    Located::new(
                        map.locate(&display, "when"),
                        "the root deployment project can not have `when`",
                    )
                    .with_hint("move the condition to the items, or to the include of a sub-project"),
                ));
            }

            let mut vars = inherited.vars.clone();
            let origin = VarsOrigin {
                file: &display,
                map: &map,
                path: "vars",
                chain: &inherited.chain,
            };
            self.loader
                .load_list(&mut vars, &config.vars, &search_dirs, &origin)
                .await?;

            let when = self
                .templater
                .check_when(&display, config.when.as_deref(), &vars, &search_dirs)
                .map_err(|e| validate::condition_error(&map, &display, "when", &e.message, &inherited.chain))?;
            if !when {
                return Ok(());
            }

            let at = |path: &str| map.locate(&display, path);
            validate::check_rules(&config, &display, &map, &inherited.chain)?;

            let mut tags = config.tags.clone();
            add_unique(&mut tags, inherited.tags.iter().cloned());
            let mut labels = inherited.labels.clone();
            labels.extend(config.common_labels.clone());
            let mut annotations = inherited.annotations.clone();
            annotations.extend(config.common_annotations.clone());
            let override_namespace = config
                .override_namespace
                .clone()
                .or_else(|| inherited.override_namespace.clone());
            let mut ignore_for_diff = config.ignore_for_diff.clone();
            ignore_for_diff.extend(inherited.ignore_for_diff.iter().cloned());
            let mut conflict_resolution = config.conflict_resolution.clone();
            conflict_resolution.extend(inherited.conflict_resolution.iter().cloned());
            let mut template_excludes = inherited.template_excludes.clone();
            if !config.template_excludes.is_empty() {
                template_excludes.push(TemplateExcludes {
                    base: dir.clone(),
                    patterns: config.template_excludes.clone(),
                });
            }

            for (i, item) in config.deployments.iter().enumerate() {
                let item_path = format!("deployments/{i}");
                let declared = at(&item_path);
                let mut chain = vec![declared.clone()];
                chain.extend(inherited.chain.iter().cloned());
                validate::validate_item(item, &map, &display, &item_path, &inherited.chain)?;

                let when = self
                    .templater
                    .check_when(&display, item.when.as_deref(), &vars, &search_dirs)
                    .map_err(|e| {
                        validate::condition_error(
                            &map,
                            &display,
                            &format!("{item_path}/when"),
                            &e.message,
                            &inherited.chain,
                        )
                    })?;
                if !when {
                    continue;
                }

                let mut item_tags = item.tags.clone();
                if item_tags.is_empty() {
                    item_tags.extend(validate::default_tag(item));
                }
                for tag in &item_tags {
                    if !validate::is_label_value(tag) {
                        self.warnings.push(format!(
                            "{declared}: tag {tag:?} is not a valid label value; applying its kluctl.io/tag label will fail"
                        ));
                    }
                }

                if item.git.is_some() || item.oci.is_some() {
                    let field = if item.git.is_some() { "git" } else { "oci" };
                    return Err(ProjectError::Unsupported(
                        Located::new(
                            at(&format!("{item_path}/{field}")),
                            format!("{field} includes are not supported yet"),
                        )
                        .with_hint("check the project out locally and use `include` with a relative path")
                        .with_chain(&inherited.chain),
                    ));
                }

                if let Some(include) = &item.include {
                    let child_dir = self.resolve_dir(
                        &dir,
                        include,
                        &map,
                        &display,
                        &format!("{item_path}/include"),
                        &inherited.chain,
                    )?;
                    if inherited.stack.contains(&child_dir) || child_dir == dir {
                        let mut cycle: Vec<String> = inherited.stack.iter().map(|d| self.paths.display(d)).collect();
                        cycle.push(self.paths.display(&dir));
                        cycle.push(self.paths.display(&child_dir));
                        return Err(ProjectError::ResolveItem(
                            Located::new(
                                at(&format!("{item_path}/include")),
                                format!("include cycle: {}", cycle.join(" -> ")),
                            )
                            .with_hint("a project may not include itself, directly or through other includes")
                            .with_chain(&inherited.chain),
                        ));
                    }
                    let mut child_vars =
                        self.include_vars(&child_dir, item, &vars, &map, &display, &item_path, &chain)?;
                    let origin = VarsOrigin {
                        file: &display,
                        map: &map,
                        path: &format!("{item_path}/vars"),
                        chain: &inherited.chain,
                    };
                    self.loader
                        .load_list(&mut child_vars, &item.vars, &search_dirs, &origin)
                        .await?;
                    let mut child_tags = item_tags.clone();
                    add_unique(&mut child_tags, tags.iter().cloned());
                    let mut stack = inherited.stack.clone();
                    stack.push(dir.clone());
                    let child = Inherited {
                        vars: child_vars,
                        tags: child_tags,
                        labels: labels.clone(),
                        annotations: annotations.clone(),
                        override_namespace: override_namespace.clone(),
                        ignore_for_diff: ignore_for_diff.clone(),
                        conflict_resolution: conflict_resolution.clone(),
                        template_excludes: template_excludes.clone(),
                        search_dirs: search_dirs.clone(),
                        chain: chain.clone(),
                        stack,
                        is_root: false,
                    };
                    self.load_project(child_dir, child).await?;
                    if item.barrier {
                        // Kluctl puts a barrier after everything the include produced.
                        let mut barrier = self.base_item(item, &vars, &search_dirs, chain.clone());
                        barrier.config = DeploymentItemConfig {
                            barrier: true,
                            message: item.message.clone(),
                            ..Default::default()
                        };
                        barrier.tags = tags.clone();
                        barrier.delete_objects.clear();
                        barrier.wait_readiness_objects.clear();
                        self.items.push(barrier);
                    }
                    continue;
                }

                let mut item_vars = vars.clone();
                let origin = VarsOrigin {
                    file: &display,
                    map: &map,
                    path: &format!("{item_path}/vars"),
                    chain: &inherited.chain,
                };
                self.loader
                    .load_list(&mut item_vars, &item.vars, &search_dirs, &origin)
                    .await?;

                let mut all_tags = tags.clone();
                add_unique(&mut all_tags, item_tags);

                let mut built = self.base_item(item, &item_vars, &search_dirs, chain);
                built.tags = all_tags;
                built.common_labels = labels.clone();
                built.common_annotations = annotations.clone();
                built.override_namespace = override_namespace.clone();
                built.ignore_for_diff = ignore_for_diff.clone();
                built.conflict_resolution = conflict_resolution.clone();
                built.template_excludes = template_excludes.clone();

                if let Some(path) = &item.path {
                    let item_dir = self.resolve_dir(
                        &dir,
                        path,
                        &map,
                        &display,
                        &format!("{item_path}/path"),
                        &inherited.chain,
                    )?;
                    let uses = self.dir_uses.entry(item_dir.clone()).or_insert(0);
                    let rel_root = self.paths.relative_to_root(&item_dir);
                    let rendered_rel = if *uses == 0 {
                        rel_root.clone()
                    } else {
                        format!("{rel_root}-{uses}")
                    };
                    *uses += 1;
                    built.search_dirs.insert(0, item_dir.clone());
                    built.dir = Some(ItemDir {
                        display: self.paths.display(&item_dir),
                        path: item_dir,
                        rel_root,
                        rendered_rel,
                    });
                }
                self.items.push(built);
            }
            Ok(())
        })
    }

    fn base_item(
        &self,
        item: &DeploymentItemConfig,
        vars: &Value,
        search_dirs: &[PathBuf],
        chain: Vec<SourceLocation>,
    ) -> DeploymentItem {
        DeploymentItem {
            index: self.items.len(),
            dir: None,
            config: item.clone(),
            vars: vars.clone(),
            search_dirs: search_dirs.to_vec(),
            tags: Vec::new(),
            common_labels: IndexMap::new(),
            common_annotations: IndexMap::new(),
            override_namespace: None,
            ignore_for_diff: Vec::new(),
            conflict_resolution: Vec::new(),
            template_excludes: Vec::new(),
            barrier: item.barrier,
            message: item.message.clone(),
            wait_readiness: item.wait_readiness,
            wait_readiness_objects: item.wait_readiness_objects.clone(),
            delete_objects: item.delete_objects.clone(),
            only_render: item.only_render,
            skip_delete_if_tags: item.skip_delete_if_tags,
            included: true,
            chain,
        }
    }

    /// Reads and renders the `deployment.yaml` of `dir` (the root may have none: it is then one
    /// item `path: .`).
    fn read_deployment(
        &self,
        dir: &Path,
        inherited: &Inherited,
    ) -> Result<(DeploymentProjectConfig, String, SourceMap), ProjectError> {
        let Some(file) = find_file(dir, "deployment") else {
            let display = format!("{}/deployment.yaml", self.paths.display(dir))
                .trim_start_matches("./")
                .to_string();
            if inherited.is_root {
                let config = DeploymentProjectConfig {
                    deployments: vec![DeploymentItemConfig {
                        path: Some(".".to_string()),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                return Ok((config, display, SourceMap::default()));
            }
            let hint = if find_file(dir, "kustomization").is_some() {
                "the directory holds a kustomization: reference it with `path:` instead of `include:`"
            } else {
                "create a deployment.yaml in it, or fix the include path"
            };
            let location = inherited
                .chain
                .first()
                .cloned()
                .unwrap_or_else(|| SourceLocation::file(&display));
            return Err(ProjectError::ReadDeployment(
                Located::new(location, format!("{display} not found"))
                    .with_hint(hint)
                    .with_chain(inherited.chain.get(1..).unwrap_or_default()),
            ));
        };
        let display = self.paths.display(&file);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ProjectError::ReadDeployment(
                Located::new(SourceLocation::file(&display), format!("cannot read: {e}")).with_chain(&inherited.chain),
            )
        })?;
        let mut search_dirs = vec![dir.to_path_buf()];
        search_dirs.extend(inherited.search_dirs.iter().cloned());
        let rendered = self
            .templater
            .render_file(&file, &text, &inherited.vars, &search_dirs)
            .map_err(|e| {
                let mut located = template_located(&e);
                located.chain.extend(inherited.chain.iter().cloned());
                ProjectError::RenderDeployment(located)
            })?;
        let config: Option<DeploymentProjectConfig> = yaml::parse_typed(&rendered, &display).map_err(|e| {
            let mut located = Located::new(
                SourceLocation {
                    file: e.file,
                    line: e.line,
                    column: e.column,
                },
                e.message,
            )
            .with_chain(&inherited.chain);
            if rendered.lines().count() != text.lines().count() {
                located = located.with_hint("line numbers refer to the file after template rendering");
            }
            ProjectError::ParseDeployment(located)
        })?;
        Ok((config.unwrap_or_default(), display, SourceMap::parse(&rendered)))
    }

    /// Resolves a `path` or `include` of the project in `base`: it must stay inside the source
    /// root and be an existing directory.
    fn resolve_dir(
        &self,
        base: &Path,
        rel: &str,
        map: &SourceMap,
        display: &str,
        field: &str,
        chain: &[SourceLocation],
    ) -> Result<PathBuf, ProjectError> {
        let at = map.locate(display, field);
        let path = self.paths.resolve(base, rel).map_err(|_| {
            ProjectError::ResolveItem(
                Located::new(at.clone(), format!("{rel:?} leaves the project root"))
                    .with_hint("items and includes must be inside the project (or its git repository)")
                    .with_chain(chain),
            )
        })?;
        if !path.exists() {
            return Err(ProjectError::ResolveItem(
                Located::new(at, format!("directory {rel:?} does not exist"))
                    .with_hint("create it or fix the path")
                    .with_chain(chain),
            ));
        }
        if !path.is_dir() {
            return Err(ProjectError::ResolveItem(
                Located::new(at, format!("{rel:?} is not a directory"))
                    .with_hint("items and includes name directories")
                    .with_chain(chain),
            ));
        }
        Ok(path)
    }

    /// The starting variables of an included project: a copy of the parent's, or for a library
    /// (`.kluctl-library.yaml`) only its args (plus the parent's vars with `passVars`).
    #[allow(clippy::too_many_arguments)]
    fn include_vars(
        &self,
        child_dir: &Path,
        item: &DeploymentItemConfig,
        vars: &Value,
        map: &SourceMap,
        display: &str,
        item_path: &str,
        chain: &[SourceLocation],
    ) -> Result<Value, ProjectError> {
        let Some(library_file) = find_file(child_dir, ".kluctl-library") else {
            return Ok(vars.clone());
        };
        let library_display = self.paths.display(&library_file);
        let text = std::fs::read_to_string(&library_file).map_err(|e| {
            ProjectError::ReadProject(
                Located::new(SourceLocation::file(&library_display), format!("cannot read: {e}")).with_chain(chain),
            )
        })?;
        let library: Option<KluctlLibraryConfig> = yaml::parse_typed(&text, &library_display).map_err(|e| {
            ProjectError::ParseProjectConfig(
                Located::new(
                    SourceLocation {
                        file: e.file,
                        line: e.line,
                        column: e.column,
                    },
                    e.message,
                )
                .with_chain(chain),
            )
        })?;
        let library = library.unwrap_or_default();
        let file = ProjectConfigFile {
            config: Default::default(),
            display: library_display,
            map: SourceMap::parse(&text),
        };
        let mut ctx = if item.pass_vars {
            let mut copy = vars.clone();
            if let Some(map) = copy.as_object_mut() {
                map.remove("args");
            }
            copy
        } else {
            Value::Object(Map::new())
        };
        let mut args = Value::Object(defaults(&library.args, &file)?);
        deep_merge(&mut args, Value::Object(item.args.clone().unwrap_or_default()));
        let Value::Object(args) = args else {
            unreachable!("mappings merge into mappings")
        };
        check_required(
            &library.args,
            &args,
            &file,
            "args",
            "pass it in the `args` of the include",
        )
        .map_err(|e| {
            let mut located = e.located().clone();
            located.chain = vec![map.locate(display, &format!("{item_path}/include"))];
            located.chain.extend(chain.get(1..).unwrap_or_default().iter().cloned());
            ProjectError::ResolveArgs(located)
        })?;
        ctx.as_object_mut()
            .expect("a vars context is a mapping")
            .insert("args".to_string(), Value::Object(args));
        Ok(ctx)
    }
}
