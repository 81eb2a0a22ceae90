//! Stage `render` (Kustomize part): the native Kustomize engine. Input: a kustomization directory
//! and [`BuildOptions`]; output: the built objects (`Vec<serde_json::Value>`) or a
//! [`KustomizeError`] naming the kustomization file, the field and what is wrong.
//!
//! [`build`] behaves like `kubectl kustomize` (Kustomize v5.5) for the fields it supports:
//! resources, components, generators with content-hash names, namespace, prefixes and suffixes
//! with name-reference fixing, labels and annotations, images, replicas, patches (strategic merge
//! and JSON 6902), replacements, vars, configurations, crds, sortOptions and buildMetadata.
//! [`to_yaml`] prints objects exactly as `kubectl kustomize` does. Everything read stays inside
//! [`BuildOptions::root`]; remote bases are refused. A field the engine does not implement is an
//! error naming it, unless an external `kustomize` binary is available to build it.
//!
//! ```no_run
//! use shared::kustomize::{BuildOptions, build, to_yaml};
//! use std::path::Path;
//! let objects = build(Path::new("project/app"), &BuildOptions::kubectl("project".into()))?;
//! print!("{}", to_yaml(&objects));
//! # Ok::<(), shared::kustomize::KustomizeError>(())
//! ```

mod autogen;
mod build;
mod config;
mod error;
mod external;
mod fieldspec;
mod generators;
/// Go-compatible YAML, now engine-wide; kept under this name for the Kustomize code.
pub use crate::yaml::go as goyaml;
mod kustfile;
mod loader;
mod resid;
mod resmap;
mod resource;
mod selector;
mod transform;
mod types;
mod types_case;
mod yamlpath;

pub use autogen::{DEFAULT_HELM_OUTPUT, generated_kustomization_yaml, helm_output_name, resources_for_directory};
pub use error::{KustomizeError, Position};
pub use kustfile::KUSTOMIZATION_FILE_NAMES;

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The order of the built objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reorder {
    /// Kustomize's legacy kind order (Namespaces first, webhooks last): what `kubectl kustomize`
    /// prints by default.
    #[default]
    Legacy,
    /// Declaration order, depth first: what Kluctl deploys in.
    None,
}

/// Which files a kustomization may read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadRestrictor {
    /// Files only in or below the kustomization's own directory (bases may be anywhere under
    /// the root): `kubectl kustomize`'s default.
    #[default]
    RootOnly,
    /// Any file under [`BuildOptions::root`] (what Kluctl allows).
    None,
}

/// Whether an external `kustomize` binary may build what the native engine does not support.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ExternalKustomize {
    /// Use `kustomize` from `PATH` when there is one.
    #[default]
    SearchPath,
    /// Use this binary.
    Binary(PathBuf),
    /// Never; unsupported fields are errors.
    Disabled,
}

/// Changes a file's bytes as the build reads them (Kluctl decrypts SOPS files this way). It gets
/// the file's absolute path; its error becomes part of the build error, so it must not contain
/// secret values.
#[derive(Clone)]
pub struct ReadHook(pub Arc<ReadFn>);

/// The function behind a [`ReadHook`]: path and bytes in, bytes (or a message) out.
pub type ReadFn = dyn Fn(&Path, Vec<u8>) -> Result<Vec<u8>, String> + Send + Sync;

impl fmt::Debug for ReadHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadHook")
    }
}

/// How to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Nothing outside this directory is read (after following symlinks).
    pub root: PathBuf,
    /// Output order.
    pub reorder: Reorder,
    /// How [`BuildOptions::root`] is shown in messages (empty: paths relative to the root).
    pub display_root: PathBuf,
    /// Which files a kustomization may read.
    pub load_restrictor: LoadRestrictor,
    /// Build a directory without a kustomization file as Kluctl does (every YAML file in it).
    pub auto_kustomization: bool,
    /// Fallback for unsupported fields.
    pub external: ExternalKustomize,
    /// Applied to every file the build reads (kustomizations, resources, patches, generator
    /// sources), e.g. to decrypt them.
    pub read_hook: Option<ReadHook>,
}

impl BuildOptions {
    /// `kubectl kustomize`'s behaviour: legacy order, files restricted to their
    /// kustomization's directory, a kustomization file required.
    pub fn kubectl(root: PathBuf) -> Self {
        BuildOptions {
            root,
            reorder: Reorder::Legacy,
            display_root: PathBuf::new(),
            load_restrictor: LoadRestrictor::RootOnly,
            auto_kustomization: false,
            external: ExternalKustomize::SearchPath,
            read_hook: None,
        }
    }

    /// Kluctl's behaviour: declaration order, any file under the root, and a generated
    /// kustomization for directories without one.
    pub fn kluctl(root: PathBuf) -> Self {
        BuildOptions {
            root,
            reorder: Reorder::None,
            display_root: PathBuf::new(),
            load_restrictor: LoadRestrictor::None,
            auto_kustomization: true,
            external: ExternalKustomize::SearchPath,
            read_hook: None,
        }
    }

    /// The same options, showing the root as `display_root` in messages.
    pub fn with_display_root(mut self, display_root: impl Into<PathBuf>) -> Self {
        self.display_root = display_root.into();
        self
    }

    pub(crate) fn restrict_files_to_kustomization_dir(&self) -> bool {
        self.load_restrictor == LoadRestrictor::RootOnly
    }
}

/// Builds the kustomization in `dir` (which must be inside `options.root`).
pub fn build(dir: &Path, options: &BuildOptions) -> Result<Vec<Value>, KustomizeError> {
    let shown = || dir.to_string_lossy().to_string();
    let loader = loader::Loader::new(
        &options.root,
        &options.display_root,
        options.restrict_files_to_kustomization_dir(),
    )
    .map_err(|e| {
        KustomizeError::load(
            &options.display_root.to_string_lossy(),
            "root",
            format!("the project root cannot be read: {e}"),
        )
    })?
    .with_read_hook(options.read_hook.clone());
    let dir = dir
        .canonicalize()
        .map_err(|e| KustomizeError::load(&shown(), "directory", format!("the directory cannot be read: {e}")))?;
    if !dir.starts_with(loader.root()) {
        return Err(KustomizeError::load(
            &shown(),
            "directory",
            "the directory is outside the project root",
        ));
    }
    if !dir.is_dir() {
        return Err(KustomizeError::load(
            &loader.display(&dir),
            "directory",
            "not a directory",
        ));
    }
    match build::build(options, loader.clone(), &dir) {
        Err(KustomizeError::Unsupported { kustomization, field }) => match external::find_binary(&options.external) {
            Some(binary) => {
                let objects = external::build(&binary, &dir, options, &kustomization, &field)?;
                tracing::warn!(
                    kustomization = %kustomization,
                    field = %field,
                    "built {} with external kustomize ({}): field {field} is not supported by the native engine",
                    loader.display(&dir),
                    binary.display()
                );
                Ok(objects)
            }
            None => Err(KustomizeError::Unsupported { kustomization, field }),
        },
        other => other,
    }
}

/// Formats objects as `kubectl kustomize` prints them (documents separated by `---`).
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        goyaml::write_document(&mut out, object);
    }
    out
}
