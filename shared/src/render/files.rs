//! Templating the files of one deployment item into its rendered directory. Every file is a
//! template except those matched by `.templateignore` (gitignore syntax, read from the source
//! root down), legacy `templateExcludes`, files inside a local Helm chart (a directory with
//! `Chart.yaml`), and files without `{`; those are copied unchanged. `.git` and `.helm-charts`
//! are not copied at all: neither Kustomize nor Helm reads them from the rendered tree.

use super::error::RenderError;
use crate::project::paths::ProjectPaths;
use crate::project::{DeploymentItem, ItemDir};
use crate::types::{Located, SourceLocation};
use crate::vars::{Templater, template_located};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Decides which files are copied without templating.
struct TemplateIgnore<'a> {
    paths: &'a ProjectPaths,
    /// `.templateignore` matchers per directory (None: the directory has none).
    per_dir: HashMap<PathBuf, Option<Gitignore>>,
    /// Legacy `templateExcludes`, each with the directory its patterns are relative to.
    excludes: Vec<(PathBuf, GlobSet)>,
}

impl<'a> TemplateIgnore<'a> {
    fn new(paths: &'a ProjectPaths, item: &DeploymentItem) -> Result<Self, RenderError> {
        let mut excludes = Vec::new();
        for set in &item.template_excludes {
            let mut builder = GlobSetBuilder::new();
            for pattern in &set.patterns {
                let glob = GlobBuilder::new(pattern.trim_start_matches("./"))
                    .literal_separator(true)
                    .build()
                    .map_err(|e| {
                        RenderError::PrepareKustomization(
                            Located::new(
                                SourceLocation::file(paths.display(&set.base.join("deployment.yaml"))),
                                format!("invalid templateExcludes pattern {pattern:?}: {e}"),
                            )
                            .with_chain(&item.chain),
                        )
                    })?;
                builder.add(glob);
            }
            excludes.push((
                set.base.clone(),
                builder.build().expect("globs were checked one by one"),
            ));
        }
        Ok(TemplateIgnore {
            paths,
            per_dir: HashMap::new(),
            excludes,
        })
    }

    fn matcher(&mut self, dir: &Path) -> Option<&Gitignore> {
        self.per_dir
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let file = dir.join(".templateignore");
                if !file.is_file() {
                    return None;
                }
                let mut builder = GitignoreBuilder::new(dir);
                builder.add(&file);
                builder.build().ok()
            })
            .as_ref()
    }

    /// True when `file` must not be templated.
    fn is_ignored(&mut self, file: &Path) -> bool {
        for (base, set) in &self.excludes {
            if let Ok(rel) = file.strip_prefix(base)
                && set.is_match(rel)
            {
                return true;
            }
        }
        // Deeper .templateignore files override shallower ones, as in git.
        let root = self.paths.root.clone();
        let dirs: Vec<PathBuf> = file
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&root))
            .map(Path::to_path_buf)
            .collect();
        for dir in dirs {
            if let Some(matcher) = self.matcher(&dir) {
                let m = matcher.matched_path_or_any_parents(file, false);
                if m.is_ignore() {
                    return true;
                }
                if m.is_whitelist() {
                    return false;
                }
            }
        }
        false
    }
}

/// Renders the files of `item` (whose directory is `dir`) into `out`. All template errors of
/// the item are returned, not just the first.
pub(crate) fn render_item_files(
    paths: &ProjectPaths,
    templater: &Templater<'_>,
    item: &DeploymentItem,
    dir: &ItemDir,
    out: &Path,
) -> Result<(), RenderError> {
    let read_error = |path: &Path, message: String| {
        RenderError::ReadItem(Located::new(SourceLocation::file(paths.display(path)), message).with_chain(&item.chain))
    };
    let write_error = |path: &Path, e: std::io::Error| {
        RenderError::WriteOutput(
            Located::new(
                SourceLocation::file(paths.display(path)),
                format!("cannot write its rendered copy: {e}"),
            )
            .with_chain(&item.chain),
        )
    };
    let mut ignore = TemplateIgnore::new(paths, item)?;
    let session = templater.file_session(&item.vars, &item.search_dirs);
    let mut errors = Vec::new();
    let mut chart_dirs: Vec<PathBuf> = Vec::new();
    let walker = walkdir::WalkDir::new(&dir.path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && matches!(e.file_name().to_str(), Some(".git" | ".helm-charts"))));
    for entry in walker {
        let entry = entry.map_err(|e| read_error(e.path().unwrap_or(&dir.path), format!("cannot read: {e}")))?;
        let path = entry.path();
        let rel = path.strip_prefix(&dir.path).expect("walkdir stays below its root");
        let target = out.join(rel);
        if entry.path_is_symlink() {
            // Links are followed, but only inside the project.
            let real = path
                .canonicalize()
                .map_err(|e| read_error(path, format!("broken link: {e}")))?;
            if !real.starts_with(&paths.root) {
                return Err(RenderError::ReadItem(
                    Located::new(
                        SourceLocation::file(paths.display(path)),
                        "the symlink points outside the project",
                    )
                    .with_hint("copy the file into the project instead")
                    .with_chain(&item.chain),
                ));
            }
        }
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| write_error(path, e))?;
            if path.join("Chart.yaml").is_file() {
                chart_dirs.push(path.to_path_buf());
            }
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| read_error(path, format!("cannot read: {e}")))?;
        let verbatim =
            chart_dirs.iter().any(|c| path.starts_with(c)) || !bytes.contains(&b'{') || ignore.is_ignored(path);
        let text = if verbatim {
            None
        } else {
            std::str::from_utf8(&bytes).ok()
        };
        let output = match text {
            None => bytes,
            Some(text) => match session.render_file(path, text) {
                Ok(rendered) => rendered.into_bytes(),
                Err(e) => {
                    let mut located = template_located(&e);
                    located.chain.extend(item.chain.iter().cloned());
                    errors.push(RenderError::RenderTemplate(located));
                    continue;
                }
            },
        };
        std::fs::write(&target, output).map_err(|e| write_error(path, e))?;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RenderError::from_list(errors))
    }
}
