//! The `generators` and `transformers` fields with Kustomize's built-in plugins
//! (`apiVersion: builtin`): the same transformations as the kustomization fields, configured
//! explicitly, field specs included. Entries are files or kustomization directories whose built
//! objects are the plugin configurations, read like `resources`. Other plugins (exec, KRM
//! functions, Helm) are not built natively.

use super::{Accumulator, Builder};
use crate::kustomize::error::KustomizeError;
use crate::kustomize::generators::{self, FileSource, GeneratorKind};
use crate::kustomize::kustfile::KustFile;
use crate::kustomize::transform::affix::{self, Affix};
use crate::kustomize::transform::patches::{self, Patch, PatchOptions};
use crate::kustomize::transform::{images, metadata, namespace, replacements, replicas};
use crate::kustomize::types::{FieldSpec, GeneratorArgs, Image, Replacement, ReplacementField, Replica, Selector};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

/// Plugin configurations read non-strictly, with scalars accepted where strings are expected
/// (kyaml decodes `area: 51` into a string field).
fn config<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(stringify_maps(value.clone())).map_err(|e| format!("invalid plugin configuration: {e}"))
}

/// Numbers and booleans in maps of strings (labels, annotations) become their text.
fn stringify_maps(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("labels" | "annotations", Value::Object(pairs)) => Value::Object(
                            pairs
                                .into_iter()
                                .map(|(pk, pv)| {
                                    let text = match pv {
                                        Value::String(s) => Value::String(s),
                                        Value::Null => Value::String(String::new()),
                                        other => Value::String(other.to_string()),
                                    };
                                    (pk, text)
                                })
                                .collect(),
                        ),
                        (_, other) => stringify_maps(other),
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(stringify_maps).collect()),
        other => other,
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MapConfig {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AffixConfig {
    prefix: String,
    suffix: String,
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct NamespaceConfig {
    field_specs: Vec<FieldSpec>,
    unset_only: bool,
    set_role_binding_subjects: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ImageConfig {
    image_tag: Image,
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplicaConfig {
    replica: Replica,
    #[serde(default)]
    field_specs: Vec<FieldSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PatchConfig {
    path: String,
    patch: String,
    target: Option<Selector>,
    options: BTreeMap<String, bool>,
    paths: Vec<String>,
    patches: String,
    json_op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ReplacementConfig {
    replacements: Vec<ReplacementField>,
}

fn plugin_name(plugin: &Value) -> Option<String> {
    plugin
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

struct KustFiles<'a> {
    builder: &'a Builder<'a>,
    kust: &'a KustFile,
}

impl FileSource for KustFiles<'_> {
    fn read(&self, entry: &str) -> Result<Vec<u8>, String> {
        self.builder.read_file(self.kust, entry).map(|(_, bytes)| bytes)
    }
}

impl Builder<'_> {
    /// The plugin configurations listed in `field` (`generators` or `transformers`), each with
    /// the file it was read from as Kustomize names it (the kustomization file for inline ones).
    fn plugin_configs(
        &mut self,
        kust: &KustFile,
        field: &str,
        entries: &[String],
    ) -> Result<Vec<(Value, String)>, KustomizeError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut configs = Accumulator::new();
        // An entry that reads as objects is an inline configuration; anything else is a path.
        let mut paths = Vec::new();
        for entry in entries {
            match super::resources::parse_resources(entry, &kust.display) {
                Ok(mut inline) if !inline.is_empty() => {
                    for config in &mut inline {
                        config.origin = None;
                    }
                    configs.resmap.append_all(inline).map_err(|e| kust.error(field, e))?;
                }
                _ => paths.push(entry.clone()),
            }
        }
        self.accumulate_entries(kust, field, &paths, &mut configs)?;
        let mut out = Vec::new();
        for resource in configs.resmap.resources {
            let api_version = resource
                .object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if api_version != "builtin" {
                return Err(KustomizeError::Unsupported {
                    kustomization: kust.display.clone(),
                    field: format!("{field} (plugin {api_version}/{})", resource.kind()),
                });
            }
            let configured_in = match &resource.origin {
                Some(crate::kustomize::resource::Origin::File { path }) => path.clone(),
                _ => self.configured_in(kust),
            };
            out.push((resource.object, configured_in));
        }
        Ok(out)
    }

    /// Runs the built-in generators listed in `generators`.
    pub(crate) fn run_generator_plugins(
        &mut self,
        kust: &KustFile,
        ra: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        let configs = self.plugin_configs(kust, "generators", &kust.kustomization.generators)?;
        for (i, (plugin, configured_in)) in configs.iter().enumerate() {
            let field = format!("generators[{i}]");
            let kind = match plugin.get("kind").and_then(Value::as_str) {
                Some("ConfigMapGenerator") => GeneratorKind::ConfigMap,
                Some("SecretGenerator") => GeneratorKind::Secret,
                other => {
                    return Err(KustomizeError::Unsupported {
                        kustomization: kust.display.clone(),
                        field: format!("generators (builtin {})", other.unwrap_or("plugin without kind")),
                    });
                }
            };
            let mut fields = plugin.clone();
            if let Some(map) = fields.as_object_mut() {
                let meta = map.remove("metadata").unwrap_or(Value::Null);
                for key in ["name", "namespace"] {
                    if !map.contains_key(key)
                        && let Some(v) = meta.get(key)
                    {
                        map.insert(key.to_string(), v.clone());
                    }
                }
                map.remove("apiVersion");
                map.remove("kind");
            }
            let args: GeneratorArgs = config(&fields).map_err(|e| kust.error(field.clone(), e))?;
            let files = KustFiles { builder: self, kust };
            let mut resource = generators::generate(kind, &args, None, &files, configured_in.clone())
                .map_err(|e| kust.error(field.clone(), e))?;
            if let Some(crate::kustomize::resource::Origin::Configured { name, .. }) = &mut resource.origin {
                *name = plugin_name(plugin);
            }
            ra.resmap.absorb(resource).map_err(|e| kust.transform_error(field, e))?;
        }
        Ok(())
    }

    /// Runs the built-in transformers listed in `transformers`, in order.
    pub(crate) fn run_transformer_plugins(
        &mut self,
        kust: &KustFile,
        ra: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        let configs = self.plugin_configs(kust, "transformers", &kust.kustomization.transformers)?;
        for (i, (plugin, configured_in)) in configs.iter().enumerate() {
            let field = format!("transformers[{i}]");
            let kind = plugin
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let fail = |e: String| kust.transform_error(format!("{field} ({kind})"), e);
            let bad = |e: String| kust.error(format!("{field} ({kind})"), e);
            match kind.as_str() {
                "LabelTransformer" => {
                    let c: MapConfig = config(plugin).map_err(bad)?;
                    metadata::apply(&mut ra.resmap, &c.labels, &c.field_specs).map_err(fail)?;
                }
                "AnnotationsTransformer" => {
                    let c: MapConfig = config(plugin).map_err(bad)?;
                    metadata::apply(&mut ra.resmap, &c.annotations, &c.field_specs).map_err(fail)?;
                }
                "NamespaceTransformer" => {
                    let c: NamespaceConfig = config(plugin).map_err(bad)?;
                    if c.unset_only || !matches!(c.set_role_binding_subjects.as_str(), "" | "defaultOnly") {
                        return Err(KustomizeError::Unsupported {
                            kustomization: kust.display.clone(),
                            field: format!("{field} (NamespaceTransformer unsetOnly/setRoleBindingSubjects)"),
                        });
                    }
                    let ns = plugin
                        .get("metadata")
                        .and_then(|m| m.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    namespace::apply(&mut ra.resmap, ns, &c.field_specs).map_err(fail)?;
                }
                "PrefixTransformer" | "SuffixTransformer" | "PrefixSuffixTransformer" => {
                    let c: AffixConfig = config(plugin).map_err(bad)?;
                    if kind != "SuffixTransformer" {
                        affix::apply(&mut ra.resmap, Affix::Prefix, &c.prefix, &c.field_specs).map_err(fail)?;
                    }
                    if kind != "PrefixTransformer" {
                        affix::apply(&mut ra.resmap, Affix::Suffix, &c.suffix, &c.field_specs).map_err(fail)?;
                    }
                }
                "ImageTagTransformer" => {
                    let c: ImageConfig = config(plugin).map_err(bad)?;
                    images::apply(&mut ra.resmap, &c.image_tag, &c.field_specs).map_err(fail)?;
                }
                "ReplicaCountTransformer" => {
                    let c: ReplicaConfig = config(plugin).map_err(bad)?;
                    replicas::apply(&mut ra.resmap, &c.replica, &c.field_specs).map_err(fail)?;
                }
                "PatchTransformer" => {
                    let c: PatchConfig = config(plugin).map_err(bad)?;
                    let text = match (c.path.is_empty(), c.patch.trim().is_empty()) {
                        (false, true) => self.read_file_text(kust, &field, &c.path)?,
                        (true, false) => c.patch.clone(),
                        _ => return Err(bad("give exactly one of path and patch".to_string())),
                    };
                    let parsed = patches::parse(&text).map_err(bad)?;
                    let options = PatchOptions {
                        allow_name_change: c.options.get("allowNameChange").copied().unwrap_or(false),
                        allow_kind_change: c.options.get("allowKindChange").copied().unwrap_or(false),
                    };
                    patches::apply(&mut ra.resmap, &parsed, c.target.as_ref(), options).map_err(fail)?;
                }
                "PatchStrategicMergeTransformer" => {
                    let c: PatchConfig = config(plugin).map_err(bad)?;
                    let mut texts: Vec<String> = Vec::new();
                    for path in &c.paths {
                        texts.push(self.read_file_text(kust, &field, path)?);
                    }
                    if !c.patches.trim().is_empty() {
                        texts.push(c.patches.clone());
                    }
                    for text in texts {
                        let Patch::Strategic(list) = patches::parse(&text).map_err(bad)? else {
                            return Err(bad("expected strategic merge patches".to_string()));
                        };
                        for patch in list {
                            patches::apply(
                                &mut ra.resmap,
                                &Patch::Strategic(vec![patch]),
                                None,
                                PatchOptions::default(),
                            )
                            .map_err(fail)?;
                        }
                    }
                }
                "PatchJson6902Transformer" => {
                    let c: PatchConfig = config(plugin).map_err(bad)?;
                    let target = c
                        .target
                        .clone()
                        .ok_or_else(|| bad("a target is required".to_string()))?;
                    let text = if c.path.is_empty() {
                        c.json_op.clone()
                    } else {
                        self.read_file_text(kust, &field, &c.path)?
                    };
                    let Patch::Json(ops) = patches::parse(&text).map_err(bad)? else {
                        return Err(bad("expected a JSON 6902 patch".to_string()));
                    };
                    patches::apply_json6902(&mut ra.resmap, &ops, &target).map_err(fail)?;
                }
                "ReplacementTransformer" => {
                    let c: ReplacementConfig = config(plugin).map_err(bad)?;
                    let list: Vec<Replacement> = self.expand_replacements(kust, &field, &c.replacements)?;
                    replacements::apply(&mut ra.resmap, &list).map_err(fail)?;
                }
                other => {
                    return Err(KustomizeError::Unsupported {
                        kustomization: kust.display.clone(),
                        field: format!("transformers (builtin {other})"),
                    });
                }
            }
            self.record(ra, configured_in, &kind, plugin_name(plugin).as_deref());
        }
        Ok(())
    }

    fn read_file_text(&self, kust: &KustFile, field: &str, entry: &str) -> Result<String, KustomizeError> {
        let (_, bytes) = self.read_file(kust, entry).map_err(|e| kust.error(field, e))?;
        String::from_utf8(bytes).map_err(|_| kust.error(field, format!("{entry:?} is not UTF-8 text")))
    }
}
