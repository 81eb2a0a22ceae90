//! Variables: the context templates see. Part of the project stage: [`crate::project`] calls
//! [`VarsLoader::load_list`] for the `vars:` of every `deployment.yaml`, include and item.
//!
//! Input: the current context (a JSON object: `target`, `args` and every variable loaded so far)
//! and a list of [`VarsSource`]s; output: the context with the new variables merged in, or a
//! [`VarsError`] naming the `deployment.yaml` entry (or the vars file, line and column) that failed.
//!
//! Semantics follow Kluctl: entries load in order and each sees the ones before it; every string
//! of an entry is rendered first; `when` can skip an entry; `targetPath` nests the result;
//! `noOverride` makes existing values win; mappings merge deeply and lists replace.

mod cluster;
mod cluster_sources;
mod error;
mod jsonpath;
mod kube_reader;
mod merge;
mod sources;
mod templater;

pub use cluster::{ClusterReadError, ClusterReader, ListQuery, ObjectQuery};
pub use error::VarsError;
pub use jsonpath::query as json_path_query;
pub use kube_reader::KubeReader;
pub use merge::{deep_merge, merge_maps, nest, parse_simple_path, set_path};
pub use templater::{FileSession, Templater, template_located};

use crate::project::paths::ProjectPaths;
use crate::types::{Located, RefusedVarsSources, SourceLocation, SourceMap, VarsSource, VarsSourceKind};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Loads vars sources for one project (one engine, one source root, optionally one cluster).
pub struct VarsLoader<'a> {
    /// The project's template engine and root.
    pub templater: Templater<'a>,
    /// Root and display rules for paths.
    pub paths: &'a ProjectPaths,
    /// The cluster, when one is reachable (`None` renders offline).
    pub cluster: Option<&'a dyn ClusterReader>,
    /// Source kinds the caller refuses (none for the plugin).
    pub refused: &'a RefusedVarsSources,
}

/// Where a `vars:` list is written, so errors can point at the failing entry.
#[derive(Clone, Copy)]
pub struct VarsOrigin<'a> {
    /// Display path of the `deployment.yaml` holding the list.
    pub file: &'a str,
    /// Positions in that file.
    pub map: &'a SourceMap,
    /// Source-map path of the list (`vars`, `deployments/2/vars`).
    pub path: &'a str,
    /// The include chain leading to that file, innermost first.
    pub chain: &'a [SourceLocation],
}

impl VarsOrigin<'_> {
    /// A located message for entry `index`, at `field` of it (or the entry itself when empty).
    pub(crate) fn at(&self, index: usize, field: &str, message: impl Into<String>) -> Located {
        let mut path = format!("{}/{index}", self.path);
        if !field.is_empty() {
            path = format!("{path}/{field}");
        }
        Located::new(self.map.locate(self.file, &path), message).with_chain(self.chain)
    }
}

/// What one entry produced.
enum Loaded {
    /// Variables to merge.
    Vars(Map<String, Value>),
    /// Nothing to merge (missing and `ignoreMissing`).
    Nothing,
}

impl<'a> VarsLoader<'a> {
    /// Loads `sources` in order into `ctx` (a JSON object), each seeing the ones before it.
    pub async fn load_list(
        &self,
        ctx: &mut Value,
        sources: &[VarsSource],
        search_dirs: &[PathBuf],
        origin: &VarsOrigin<'_>,
    ) -> Result<(), VarsError> {
        for (index, source) in sources.iter().enumerate() {
            self.load_one(ctx, source, index, search_dirs, origin).await?;
        }
        Ok(())
    }

    async fn load_one(
        &self,
        ctx: &mut Value,
        source: &VarsSource,
        index: usize,
        search_dirs: &[PathBuf],
        origin: &VarsOrigin<'_>,
    ) -> Result<(), VarsError> {
        let kinds = source.kinds();
        let kind = match kinds.as_slice() {
            [kind] => *kind,
            [] => {
                return Err(VarsError::Invalid(
                    origin
                        .at(index, "", "the entry names no source")
                        .with_hint("use one of values, file, systemEnvVars, clusterConfigMap, clusterSecret, clusterObject or http"),
                ));
            }
            several => {
                let names: Vec<&str> = several.iter().map(|k| k.field()).collect();
                return Err(VarsError::Invalid(
                    origin
                        .at(
                            index,
                            "",
                            format!("the entry names several sources ({})", names.join(", ")),
                        )
                        .with_hint("split it into one entry per source"),
                ));
            }
        };

        // Every string of the entry is a template over the variables loaded so far.
        let mut raw = serde_json::to_value(source).expect("vars sources serialise");
        self.templater
            .render_strings(origin.file, &mut raw, ctx, search_dirs)
            .map_err(|e| VarsError::RenderSource(origin.at(index, kind.field(), e.message)))?;
        let source: VarsSource = serde_json::from_value(raw).expect("rendering keeps the shape of a vars source");

        let when = self
            .templater
            .check_when(origin.file, source.when.as_deref(), ctx, search_dirs)
            .map_err(|e| {
                VarsError::RenderSource(origin.at(index, "when", format!("invalid condition: {}", e.message)))
            })?;
        if !when {
            return Ok(());
        }
        if self.refused.kinds.contains(&kind) {
            return Err(VarsError::Refused(
                origin
                    .at(
                        index,
                        kind.field(),
                        format!("`{}` vars sources are not allowed here", kind.field()),
                    )
                    .with_hint(self.refused.hint.clone()),
            ));
        }

        let ignore_missing = source.ignore_missing.unwrap_or(false);
        let target_path = source
            .target_path
            .as_deref()
            .or(source
                .cluster_config_map
                .as_ref()
                .and_then(|c| c.target_path.as_deref()))
            .or(source.cluster_secret.as_ref().and_then(|c| c.target_path.as_deref()))
            .filter(|p| !p.is_empty())
            .map(|p| parse_simple_path(p).map_err(|e| VarsError::Invalid(origin.at(index, "targetPath", e))))
            .transpose()?;

        let value = match kind {
            VarsSourceKind::Values => Some(Value::Object(source.values.clone().unwrap_or_default())),
            VarsSourceKind::File => sources::load_file(self, &source, index, ignore_missing, ctx, search_dirs, origin)?,
            VarsSourceKind::SystemEnvVars => sources::load_env(&source, index, ignore_missing, origin)?,
            VarsSourceKind::Http => sources::load_http(&source, index, ignore_missing, origin).await?,
            VarsSourceKind::ClusterConfigMap | VarsSourceKind::ClusterSecret => {
                cluster_sources::load_config_map_or_secret(self, &source, kind, index, ignore_missing, ctx, origin)
                    .await?
            }
            VarsSourceKind::ClusterObject => {
                cluster_sources::load_object(self, &source, index, ignore_missing, ctx, origin).await?
            }
            VarsSourceKind::Git
            | VarsSourceKind::GitFiles
            | VarsSourceKind::AwsSecretsManager
            | VarsSourceKind::GcpSecretManager
            | VarsSourceKind::Vault
            | VarsSourceKind::AzureKeyVault => {
                return Err(VarsError::Unsupported(
                    origin
                        .at(
                            index,
                            kind.field(),
                            format!("`{}` vars sources are not supported yet", kind.field()),
                        )
                        .with_hint("load the values with a file, http, clusterSecret or systemEnvVars source instead"),
                ));
            }
        };

        let loaded = match (value, target_path) {
            (None, _) => Loaded::Nothing,
            (Some(value), Some(keys)) => match nest(&keys, value) {
                Value::Object(map) => Loaded::Vars(map),
                _ => unreachable!("nest with keys gives a mapping"),
            },
            (Some(Value::Object(map)), None) => Loaded::Vars(map),
            (Some(Value::Null), None) => Loaded::Vars(Map::new()),
            (Some(other), None) => {
                return Err(VarsError::Invalid(
                    origin
                        .at(
                            index,
                            kind.field(),
                            format!("the source gives a {}, not a mapping", type_name(&other)),
                        )
                        .with_hint("set targetPath to choose where the value goes"),
                ));
            }
        };

        if let Loaded::Vars(new) = loaded {
            if source.no_override.unwrap_or(false) {
                let mut merged = Value::Object(new);
                deep_merge(&mut merged, std::mem::take(ctx));
                *ctx = merged;
            } else {
                deep_merge(ctx, Value::Object(new));
            }
        }
        Ok(())
    }
}

/// A YAML-ish name of a value's type for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}
