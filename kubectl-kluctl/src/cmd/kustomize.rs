//! `kubectl kluctl kustomize DIR`: builds a kustomization with the native engine and prints it
//! as `kubectl kustomize DIR` does. Input: a directory; output: the YAML stream on stdout.

use crate::cmd::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use shared::kustomize::{self, BuildOptions, ExternalKustomize, LoadRestrictor, Reorder};
use std::io::Write;
use std::path::{Path, PathBuf};

const LONG: &str = "\
Build a kustomization directory with the native Kustomize engine (no kustomize binary needed) and
print the objects exactly as `kubectl kustomize DIR` prints them: same objects, same order, same
formatting. Nothing outside the project root is read (--root; by default the git repository
containing DIR, else the current directory); remote bases are refused. A field the engine does not build is an error naming it,
unless a `kustomize` binary is on PATH, which then builds the directory (a warning says so).";

const EXAMPLES: &str = "\
Examples:
  # Print what kubectl kustomize would print
  kubectl kluctl kustomize overlays/prod

  # Compare with the reference
  diff <(kubectl kustomize overlays/prod) <(kubectl kluctl kustomize overlays/prod)

  # Build as Kluctl does: declaration order, any file under the project root, and a generated
  # kustomization for a directory without one
  kubectl kluctl kustomize --kluctl deployment/apps/web";

/// Flags of `kustomize`.
#[derive(clap::Args, Debug)]
#[command(about = "Build a kustomization directory like kubectl kustomize", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    /// The kustomization directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Nothing outside this directory is read (default: the git repository containing DIR, else the
    /// current directory if it contains DIR, else DIR).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Output order: legacy (kind order, kubectl's default) or none (declaration order).
    #[arg(long, value_parser = ["legacy", "none"])]
    reorder: Option<String>,
    /// LoadRestrictionsRootOnly (kubectl's default: files only in their kustomization's directory)
    /// or LoadRestrictionsNone.
    #[arg(long, value_parser = ["LoadRestrictionsRootOnly", "LoadRestrictionsNone"])]
    load_restrictor: Option<String>,
    /// Build as Kluctl does (order none, no load restriction, generated kustomization).
    #[arg(long)]
    kluctl: bool,
    /// Never fall back to a kustomize binary for unsupported fields.
    #[arg(long)]
    no_external: bool,
}

/// The git repository containing `dir`; else the current directory when it contains `dir`;
/// else `dir` itself.
fn default_root(dir: &Path, cwd: Option<&Path>) -> PathBuf {
    if let Some(repo) = dir.ancestors().find(|a| a.join(".git").exists()) {
        return repo.to_path_buf();
    }
    match cwd {
        Some(cwd) if dir.starts_with(cwd) => cwd.to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

impl Args {
    /// Builds and prints.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let dir = self
            .dir
            .canonicalize()
            .with_context(|| format!("failed to read directory {}", self.dir.display()))?;
        let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
        let root = match &self.root {
            Some(root) => root
                .canonicalize()
                .with_context(|| format!("failed to read --root {}", root.display()))?,
            None => default_root(&dir, cwd.as_deref()),
        };
        let display_root = cwd
            .as_deref()
            .and_then(|c| root.strip_prefix(c).ok())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.clone());
        let mut options = if self.kluctl {
            BuildOptions::kluctl(root)
        } else {
            BuildOptions::kubectl(root)
        }
        .with_display_root(display_root);
        if let Some(reorder) = self.reorder.as_deref() {
            options.reorder = if reorder == "none" {
                Reorder::None
            } else {
                Reorder::Legacy
            };
        }
        if let Some(restrictor) = self.load_restrictor.as_deref() {
            options.load_restrictor = if restrictor == "LoadRestrictionsNone" {
                LoadRestrictor::None
            } else {
                LoadRestrictor::RootOnly
            };
        }
        if self.no_external {
            options.external = ExternalKustomize::Disabled;
        }
        let objects = match kustomize::build(&dir, &options) {
            Ok(objects) => objects,
            Err(err) => {
                if err.to_string().contains("leaves the project root") && self.root.is_none() {
                    ctx.console.warn(&format!(
                        "the project root is {}; pass --root to allow bases above it",
                        options.root.display()
                    ))?;
                }
                return Err(err.into());
            }
        };
        let mut out = ctx.console.stdout();
        out.write_all(kustomize::to_yaml(&objects).as_bytes())?;
        out.flush()?;
        Ok(Exit::Success)
    }
}

#[cfg(test)]
mod tests {
    use crate::io::{Env, Io};
    use std::path::Path;

    fn corpus_case(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/tests/kustomize-corpus")
            .join(name)
    }

    #[test]
    fn prints_what_kubectl_kustomize_prints() {
        let case = corpus_case("nameref-multilayer-generated");
        let input = case.join("input");
        let expected = std::fs::read_to_string(case.join("expected.yaml")).unwrap();
        let (io, out) = Io::captured(Env::empty(), "");
        let argv = [
            "kubectl-kluctl".to_string(),
            "kustomize".to_string(),
            "--root".to_string(),
            input.display().to_string(),
            input.join("overlay").display().to_string(),
        ];
        let code = crate::run(argv, io).unwrap();
        assert_eq!(code, std::process::ExitCode::SUCCESS);
        assert_eq!(out.stdout(), expected);
    }

    #[test]
    fn fails_naming_the_kustomization_and_field() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kustomization.yaml"), "resources:\n- missing.yaml\n").unwrap();
        let (io, out) = Io::captured(Env::empty(), "");
        let argv = [
            "kubectl-kluctl".to_string(),
            "kustomize".to_string(),
            "--no-external".to_string(),
            dir.path().display().to_string(),
        ];
        let err = crate::run(argv, io).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("kustomization.yaml:1:1: resources: \"missing.yaml\" does not exist"),
            "{text}"
        );
        assert!(out.stdout().is_empty());
    }
}
