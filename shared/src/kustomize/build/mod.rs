//! The build of one kustomization tree (Kustomize's `KustTarget`): accumulate resources depth
//! first (files, then bases, each base built on its own), merge transformer configuration, add
//! components, run generators and this layer's transformers; at the top, append hash suffixes,
//! fix name references, resolve vars, drop local-config objects, sort and finish.

mod finish;
mod layer;
mod plugins;
mod resources;

use super::BuildOptions;
use super::config::{self, TransformerConfig};
use super::error::KustomizeError;
use super::kustfile::{self, KustFile};
use super::loader::Loader;
use super::resmap::ResMap;
use super::types::Var;
use serde_json::Value;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// What a kustomization layer hands to the one that includes it.
pub(crate) struct Accumulator {
    pub resmap: ResMap,
    /// Borrowed from the built-in configuration until a layer adds to it.
    pub config: Cow<'static, TransformerConfig>,
    /// Whether `config` differs from the built-in one (so merging it is worth the time).
    pub custom_config: bool,
    pub vars: Vec<Var>,
}

impl Accumulator {
    fn new() -> Self {
        Accumulator {
            resmap: ResMap::default(),
            config: Cow::Borrowed(config::defaults()),
            custom_config: false,
            vars: Vec::new(),
        }
    }
}

/// One build.
pub(crate) struct Builder<'a> {
    pub options: &'a BuildOptions,
    pub loader: Loader,
    /// Directories of the kustomizations being built, outermost first (to find cycles).
    pub chain: Vec<PathBuf>,
    /// The current kustomization's directory as the chain of entries names it from the top
    /// (`../base`), which is how Kustomize writes origins.
    pub origin_dir: String,
    /// Whether transformers record themselves on the resources (`transformerAnnotations`).
    pub track_transformers: bool,
}

/// Builds the kustomization in `dir` (canonical, inside the loader's root).
pub(crate) fn build(options: &BuildOptions, loader: Loader, dir: &Path) -> Result<Vec<Value>, KustomizeError> {
    let mut builder = Builder {
        options,
        loader,
        chain: vec![dir.to_path_buf()],
        origin_dir: String::new(),
        track_transformers: false,
    };
    let kust = builder.load_top(dir)?;
    builder.track_transformers = kust
        .kustomization
        .build_metadata
        .iter()
        .any(|m| m == "transformerAnnotations");
    let mut accumulator = Accumulator::new();
    builder.accumulate(&kust, &mut accumulator)?;
    finish::finish(&builder, &kust, accumulator)
}

impl Builder<'_> {
    /// The kustomization file as Kustomize names it in origins.
    pub(crate) fn configured_in(&self, kust: &KustFile) -> String {
        let name = kust
            .file
            .as_ref()
            .and_then(|f| f.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "kustomization.yaml".to_string());
        crate::kustomize::resource::join_clean(&self.origin_dir, &name)
    }

    /// Records a configured transformer on every resource so far, with `transformerAnnotations`.
    pub(crate) fn record(&self, ra: &mut Accumulator, configured_in: &str, kind: &str, name: Option<&str>) {
        if !self.track_transformers {
            return;
        }
        let origin = crate::kustomize::resource::Origin::Configured {
            configured_in: configured_in.to_string(),
            kind: kind.to_string(),
            name: name.map(str::to_string),
        };
        for resource in &mut ra.resmap.resources {
            resource.transformations.push(origin.clone());
        }
    }

    /// The top kustomization, generated when the directory has none and the options allow it.
    fn load_top(&self, dir: &Path) -> Result<KustFile, KustomizeError> {
        match kustfile::find_file(&self.loader, dir)? {
            Some(path) => kustfile::load(&self.loader, dir, &path),
            None if self.options.auto_kustomization => {
                let resources = super::autogen::resources_for_directory(dir)
                    .map_err(|e| KustomizeError::load(&self.loader.display(dir), "resources", e))?;
                let display = format!("{} (generated kustomization)", self.loader.display(dir));
                kustfile::from_value(
                    dir.to_path_buf(),
                    display,
                    serde_json::json!({ "resources": resources }),
                )
            }
            None => Err(KustomizeError::load(
                &self.loader.display(dir),
                "kustomization",
                format!(
                    "no kustomization file in this directory (expected one of {})",
                    kustfile::KUSTOMIZATION_FILE_NAMES.join(", ")
                ),
            )),
        }
    }

    /// Loads the kustomization of a base or component directory, refusing cycles.
    fn load_nested(&self, parent: &KustFile, field: &str, entry: &str, dir: &Path) -> Result<KustFile, KustomizeError> {
        if let Some(visited) = self.chain.iter().find(|visited| visited.starts_with(dir)) {
            return Err(parent.error(
                field,
                format!(
                    "{entry:?} ({}) contains a kustomization that is already being built ({}): the \
                     kustomizations form a cycle",
                    self.loader.display(dir),
                    self.loader.display(visited)
                ),
            ));
        }
        match kustfile::find_file(&self.loader, dir)? {
            Some(path) => kustfile::load(&self.loader, dir, &path),
            None => Err(parent.error(
                field,
                format!(
                    "{entry:?} is a directory without a kustomization file (expected one of {})",
                    kustfile::KUSTOMIZATION_FILE_NAMES.join(", ")
                ),
            )),
        }
    }
}
