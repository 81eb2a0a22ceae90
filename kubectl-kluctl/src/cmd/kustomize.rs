//! `kubectl kluctl kustomize DIR`: builds a kustomization with the native engine and prints it
//! as `kubectl kustomize DIR` does. Input: a directory; output: the objects (a YAML stream, or a
//! `v1/List` with `-o json`); with `--watch`, again after every save.

use crate::cli::flags::{OutputFlags, WatchFlags, usage_error};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::OutputFormat;
use crate::watch::{Snapshot, WatchOptions, watch};
use anyhow::Context as _;
use clap::{ValueEnum, ValueHint};
use serde_json::Value;
use shared::kustomize::{self, BuildOptions, LoadRestrictor, Reorder};
use std::path::{Component, Path, PathBuf};

const LONG_ABOUT: &str = "\
Build a kustomization directory and print the objects, as `kubectl kustomize DIR` does, with
the same output byte for byte; the engine is the one every deployment item is built with.

Files may be read from anywhere inside the git repository that holds DIR (anywhere at all when
DIR is in none, as kubectl). With --watch the build runs again whenever a file of that
repository is saved (outside a repository: a file below the current directory, or below DIR when
it is not inside the current directory), printing only what changed.";

const EXAMPLES: &str = "\
Examples:
  # Print the objects of an overlay
  kubectl kluctl kustomize overlays/prod

  # The same as a JSON List, e.g. for jq
  kubectl kluctl kustomize overlays/prod -o json

  # Keep building while editing; shows what each save changes
  kubectl kluctl kustomize overlays/prod --watch

  # Allow kustomizations to read files outside their own directory (as Kluctl does)
  kubectl kluctl kustomize overlays/prod --load-restrictor LoadRestrictionsNone";

/// Flags of `kustomize`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Build a kustomization and print it, as kubectl kustomize does",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct Args {
    /// The directory holding the kustomization (default: the current directory)
    #[arg(value_name = "DIR", value_hint = ValueHint::DirPath)]
    dir: Option<PathBuf>,

    /// Which files a kustomization may read
    #[arg(
        long,
        value_enum,
        value_name = "RESTRICTOR",
        default_value = "LoadRestrictionsRootOnly"
    )]
    load_restrictor: Restrictor,

    /// Output order: legacy (kubectl's, by kind) or none (as declared, Kluctl's)
    #[arg(long, value_enum, value_name = "ORDER", default_value = "legacy")]
    reorder: Order,

    #[command(flatten)]
    watch: WatchFlags,

    #[command(flatten)]
    output: OutputFlags,
}

/// `--load-restrictor`, with kubectl's value names.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Restrictor {
    /// Files only in or below the kustomization's own directory
    #[value(name = "LoadRestrictionsRootOnly")]
    RootOnly,
    /// Any file (inside the git repository, when DIR is in one)
    #[value(name = "LoadRestrictionsNone")]
    None,
}

/// `--reorder`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Order {
    /// By kind, as kubectl kustomize (namespaces first)
    Legacy,
    /// As declared
    None,
}

impl Args {
    /// Builds and prints (once, or on every save with `--watch`).
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let formats = [OutputFormat::Yaml, OutputFormat::Json];
        let outputs = self.output.options(&formats)?;
        let given = self.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let dir = std::path::absolute(&given)
            .and_then(|d| d.canonicalize())
            .with_context(|| format!("failed to open {}", given.display()))?;
        let cwd = std::env::current_dir()
            .and_then(|d| d.canonicalize())
            .unwrap_or_default();
        let repository = repository_root(&dir);
        let (root, watched) = match &repository {
            Some(top) => (top.clone(), top.clone()),
            None if dir.starts_with(&cwd) => (filesystem_root(&dir), cwd.clone()),
            None => (filesystem_root(&dir), dir.clone()),
        };
        // Paths in messages: from the working directory inside a repository, else absolute
        // (`../../../tmp/x` helps nobody).
        let display = match repository {
            Some(_) if cwd.starts_with(&root) => relative_path(&cwd, &root),
            _ => root.clone(),
        };
        let mut options = BuildOptions::kubectl(root.clone()).with_display_root(display);
        options.load_restrictor = match self.load_restrictor {
            Restrictor::RootOnly => LoadRestrictor::RootOnly,
            Restrictor::None => LoadRestrictor::None,
        };
        options.reorder = match self.reorder {
            Order::Legacy => Reorder::Legacy,
            Order::None => Reorder::None,
        };

        if !self.watch.watch {
            let objects = build(&dir, &options).await?;
            ctx.console.emit_objects_as(&outputs, &objects, &kustomize::to_yaml)?;
            return Ok(Exit::Success);
        }
        if outputs
            .specs
            .iter()
            .any(|s| s.format != OutputFormat::Yaml || s.path.is_some())
        {
            return Err(usage_error(
                "--watch prints YAML on stdout; it cannot be combined with -o json or -o FORMAT=FILE",
            ));
        }
        watch(&ctx.console, WatchOptions::new(&watched), |_changes| {
            let (dir, options) = (dir.clone(), options.clone());
            async move {
                let objects = build(&dir, &options).await?;
                Ok(Snapshot {
                    full: kustomize::to_yaml(&objects),
                    ..Snapshot::objects(&objects)
                })
            }
        })
        .await
    }
}

/// Builds on a blocking thread: the engine is synchronous and may take a while.
async fn build(dir: &Path, options: &BuildOptions) -> anyhow::Result<Vec<Value>> {
    let (dir, options) = (dir.to_path_buf(), options.clone());
    let objects = tokio::task::spawn_blocking(move || kustomize::build(&dir, &options))
        .await
        .context("the kustomize build stopped")??;
    Ok(objects)
}

/// The top of the git work tree holding `dir` (a `.git` directory or file), if any.
fn repository_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

/// `/` (or the drive on Windows) of an absolute path.
fn filesystem_root(path: &Path) -> PathBuf {
    path.ancestors()
        .last()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// `path` as seen from `base` (both absolute): `../..`, `a/b`, or empty when they are equal.
fn relative_path(base: &Path, path: &Path) -> PathBuf {
    let base: Vec<Component> = base.components().collect();
    let path: Vec<Component> = path.components().collect();
    let common = base.iter().zip(&path).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.iter().collect();
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(&path[common..]);
    relative
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_from_the_working_directory() {
        assert_eq!(
            relative_path(Path::new("/r/a/b"), Path::new("/r")),
            PathBuf::from("../..")
        );
        assert_eq!(relative_path(Path::new("/r"), Path::new("/r/x")), PathBuf::from("x"));
        assert_eq!(relative_path(Path::new("/r"), Path::new("/r")), PathBuf::new());
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/c")),
            PathBuf::from("../../c")
        );
    }
}
