//! One kustomization layer: resources, configuration, components, generators, transformers.

use super::resources::parse_resources;
use super::{Accumulator, Builder};
use crate::kustomize::config;
use crate::kustomize::error::{KustomizeError, Position};
use crate::kustomize::generators::{self, FileSource, GeneratorKind};
use crate::kustomize::goyaml;
use crate::kustomize::kustfile::KustFile;
use crate::kustomize::loader::PathError;
use crate::kustomize::resource::join_clean;
use crate::kustomize::transform::affix::{self, Affix};
use crate::kustomize::transform::patches::{self, Patch, PatchOptions};
use crate::kustomize::transform::{images, metadata, namespace, replacements, replicas, vars};
use crate::kustomize::types::{FieldSpec, Replacement, ReplacementField};
use std::path::PathBuf;

/// Files of one kustomization, for generators.
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
    /// Resolves and reads a file listed by a kustomization; the error is user-facing.
    pub(crate) fn read_file(&self, kust: &KustFile, entry: &str) -> Result<(PathBuf, Vec<u8>), String> {
        let shown = self.loader.display(&kust.dir.join(entry));
        let path = self
            .loader
            .resolve_file(&kust.dir, entry)
            .map_err(|e| e.describe(entry, &shown))?;
        if path.is_dir() {
            return Err(format!("{entry:?} is a directory, not a file"));
        }
        let bytes = self.loader.read(&path).map_err(|e| e.describe(entry, &shown))?;
        Ok((path, bytes))
    }

    fn read_text(&self, kust: &KustFile, field: &str, entry: &str) -> Result<(PathBuf, String), KustomizeError> {
        let (path, bytes) = self.read_file(kust, entry).map_err(|e| kust.error(field, e))?;
        let text = String::from_utf8(bytes).map_err(|_| kust.error(field, format!("{entry:?} is not UTF-8 text")))?;
        Ok((path, text))
    }

    /// Builds one layer into `ra`.
    pub(crate) fn accumulate(&mut self, kust: &KustFile, ra: &mut Accumulator) -> Result<(), KustomizeError> {
        self.accumulate_resources(kust, ra)?;
        self.merge_configurations(kust, ra)?;
        for (i, entry) in kust.kustomization.components.iter().enumerate() {
            let field = format!("components[{i}]");
            let dir = self.resolve_dir(kust, &field, entry)?;
            let component = self.load_nested(kust, &field, entry, &dir)?;
            if !component.is_component() {
                return Err(kust.error(
                    field,
                    format!("{entry:?} is a Kustomization, but components must be of kind Component"),
                ));
            }
            self.chain.push(dir);
            let nested = join_clean(&self.origin_dir, entry);
            let saved = std::mem::replace(&mut self.origin_dir, nested);
            let result = self.accumulate(&component, ra);
            self.origin_dir = saved;
            self.chain.pop();
            result?;
        }
        self.run_generators(kust, ra)?;
        self.run_generator_plugins(kust, ra)?;
        self.run_transformers(kust, ra)?;
        self.run_transformer_plugins(kust, ra)?;
        for var in &kust.kustomization.vars {
            if ra.vars.iter().any(|v| v.name == var.name) {
                return Err(kust.error("vars", format!("var {:?} is declared more than once", var.name)));
            }
            vars::bind(&mut ra.resmap, var).map_err(|e| kust.error("vars", e))?;
            ra.vars.push(var.clone());
        }
        Ok(())
    }

    fn resolve_dir(&self, kust: &KustFile, field: &str, entry: &str) -> Result<PathBuf, KustomizeError> {
        let shown = self.loader.display(&kust.dir.join(entry));
        let path = self
            .loader
            .resolve(&kust.dir, entry)
            .map_err(|e| kust.error(field, e.describe(entry, &shown)))?;
        if !path.is_dir() {
            return Err(kust.error(field, format!("{entry:?} is not a directory")));
        }
        Ok(path)
    }

    fn accumulate_resources(&mut self, kust: &KustFile, ra: &mut Accumulator) -> Result<(), KustomizeError> {
        self.accumulate_entries(kust, "resources", &kust.kustomization.resources, ra)
    }

    /// Reads files and builds directories listed in `field` (resources, or plugin configurations).
    pub(crate) fn accumulate_entries(
        &mut self,
        kust: &KustFile,
        field: &str,
        entries: &[String],
        ra: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        for entry in entries {
            let shown = self.loader.display(&kust.dir.join(entry));
            let path = self
                .loader
                .resolve(&kust.dir, entry)
                .map_err(|e| kust.error(field, e.describe(entry, &shown)))?;
            if path.is_dir() {
                let child = self.load_nested(kust, field, entry, &path)?;
                if child.is_component() {
                    return Err(kust.error(
                        field,
                        format!("{entry:?} is a Component; list it under components, not {field}"),
                    ));
                }
                let mut child_ra = Accumulator::new();
                self.chain.push(path);
                let nested = join_clean(&self.origin_dir, entry);
                let saved = std::mem::replace(&mut self.origin_dir, nested);
                let result = self.accumulate(&child, &mut child_ra);
                self.origin_dir = saved;
                self.chain.pop();
                result?;
                ra.resmap
                    .append_all(child_ra.resmap.resources)
                    .map_err(|e| kust.transform_error(field, format!("{entry:?}: {e}")))?;
                if child_ra.custom_config {
                    ra.config
                        .to_mut()
                        .merge(&child_ra.config)
                        .map_err(|e| kust.error(field, e))?;
                    ra.custom_config = true;
                }
                for var in child_ra.vars {
                    if ra.vars.iter().any(|v| v.name == var.name) {
                        return Err(kust.error(field, format!("var {:?} is declared more than once", var.name)));
                    }
                    ra.vars.push(var);
                }
                continue;
            }
            if self.options.restrict_files_to_kustomization_dir() && !path.starts_with(&kust.dir) {
                return Err(kust.error(field, PathError::OutsideKustomization.describe(entry, &shown)));
            }
            let bytes = self
                .loader
                .read(&path)
                .map_err(|e| kust.error(field, e.describe(entry, &shown)))?;
            let text =
                String::from_utf8(bytes).map_err(|_| kust.error(field, format!("{entry:?} is not UTF-8 text")))?;
            let origin = join_clean(&self.origin_dir, entry);
            let resources = parse_resources(&text, &origin).map_err(|p| KustomizeError::ParseYaml {
                kustomization: kust.display.clone(),
                field: field.to_string(),
                file: self.loader.display(&path),
                position: Position {
                    line: p.line.and_then(|l| u32::try_from(l).ok()),
                    column: p.column.and_then(|c| u32::try_from(c).ok()),
                },
                message: p.message,
            })?;
            ra.resmap
                .append_all(resources)
                .map_err(|e| kust.transform_error(field, format!("{entry:?}: {e}")))?;
        }
        Ok(())
    }

    fn merge_configurations(&self, kust: &KustFile, ra: &mut Accumulator) -> Result<(), KustomizeError> {
        for entry in &kust.kustomization.configurations {
            let (_, text) = self.read_text(kust, "configurations", entry)?;
            let extra = config::parse(&text).map_err(|e| kust.error("configurations", format!("{entry:?}: {e}")))?;
            ra.config
                .to_mut()
                .merge(&extra)
                .map_err(|e| kust.error("configurations", format!("{entry:?}: {e}")))?;
            ra.custom_config = true;
        }
        for entry in &kust.kustomization.crds {
            let (_, text) = self.read_text(kust, "crds", entry)?;
            let value = goyaml::read_single(&text)
                .map_err(|e| kust.error("crds", format!("{entry:?}:{}:{}: {}", e.line, e.column, e.message)))?;
            let extra =
                config::config_from_crd_schemas(&value).map_err(|e| kust.error("crds", format!("{entry:?}: {e}")))?;
            ra.config
                .to_mut()
                .merge(&extra)
                .map_err(|e| kust.error("crds", format!("{entry:?}: {e}")))?;
            ra.custom_config = true;
        }
        Ok(())
    }

    fn run_generators(&self, kust: &KustFile, ra: &mut Accumulator) -> Result<(), KustomizeError> {
        let files = KustFiles { builder: self, kust };
        let configured_in = self.configured_in(kust);
        for (kind, list) in [
            (GeneratorKind::ConfigMap, &kust.kustomization.config_map_generator),
            (GeneratorKind::Secret, &kust.kustomization.secret_generator),
        ] {
            for (i, args) in list.iter().enumerate() {
                let field = format!("{}[{i}]", kind.field());
                let resource = generators::generate(
                    kind,
                    args,
                    kust.kustomization.generator_options.as_ref(),
                    &files,
                    configured_in.clone(),
                )
                .map_err(|e| kust.error(field.clone(), e))?;
                ra.resmap.absorb(resource).map_err(|e| kust.transform_error(field, e))?;
            }
        }
        Ok(())
    }

    fn run_transformers(&self, kust: &KustFile, ra: &mut Accumulator) -> Result<(), KustomizeError> {
        let k = &kust.kustomization;
        let here = self.configured_in(kust);
        for (i, entry) in k.patches_strategic_merge.iter().enumerate() {
            let field = format!("patchesStrategicMerge[{i}]");
            let text = self.patch_text(kust, &field, entry)?;
            let Patch::Strategic(list) = patches::parse(&text).map_err(|e| kust.error(field.clone(), e))? else {
                return Err(kust.error(field, "expected a strategic merge patch, found a JSON patch"));
            };
            for patch in &list {
                let parsed = Patch::Strategic(vec![patch.clone()]);
                patches::apply(&mut ra.resmap, &parsed, None, PatchOptions::default())
                    .map_err(|e| kust.transform_error(field.clone(), e))?;
            }
        }
        if !k.patches_strategic_merge.is_empty() {
            self.record(ra, &here, "PatchStrategicMergeTransformer", None);
        }
        for (i, entry) in k.patches.iter().enumerate() {
            let field = format!("patches[{i}]");
            let text = if entry.path.is_empty() {
                entry.patch.clone()
            } else {
                self.read_text(kust, &field, &entry.path)?.1
            };
            let parsed = patches::parse(&text).map_err(|e| kust.error(field.clone(), e))?;
            let options = PatchOptions {
                allow_name_change: entry.options.get("allowNameChange").copied().unwrap_or(false),
                allow_kind_change: entry.options.get("allowKindChange").copied().unwrap_or(false),
            };
            patches::apply(&mut ra.resmap, &parsed, entry.target.as_ref(), options)
                .map_err(|e| kust.transform_error(field, e))?;
            self.record(ra, &here, "PatchTransformer", None);
        }
        let config = ra.config.clone();
        namespace::apply(&mut ra.resmap, &k.namespace, &config.namespace)
            .map_err(|e| kust.transform_error("namespace", e))?;
        if !k.namespace.is_empty() {
            self.record(ra, &here, "NamespaceTransformer", None);
        }
        // An empty prefix or suffix configures no transformer at all in Kustomize, so the layer
        // leaves no trace in the resources' affix history (which name references compare).
        if !k.name_prefix.is_empty() {
            affix::apply(&mut ra.resmap, Affix::Prefix, &k.name_prefix, &config.name_prefix)
                .map_err(|e| kust.transform_error("namePrefix", e))?;
            self.record(ra, &here, "PrefixTransformer", None);
        }
        if !k.name_suffix.is_empty() {
            affix::apply(&mut ra.resmap, Affix::Suffix, &k.name_suffix, &config.name_suffix)
                .map_err(|e| kust.transform_error("nameSuffix", e))?;
            self.record(ra, &here, "SuffixTransformer", None);
        }
        for (i, label) in k.labels.iter().enumerate() {
            let field = format!("labels[{i}]");
            let mut specs: Vec<FieldSpec> = label.fields.clone();
            if label.include_selectors {
                config::merge_specs(&mut specs, &config.common_labels).map_err(|e| kust.error(field.clone(), e))?;
            } else {
                let metadata_labels = FieldSpec {
                    path: "metadata/labels".into(),
                    create: true,
                    ..FieldSpec::default()
                };
                config::merge_specs(&mut specs, &[metadata_labels]).map_err(|e| kust.error(field.clone(), e))?;
                if label.include_templates {
                    config::merge_specs(&mut specs, &config.template_labels)
                        .map_err(|e| kust.error(field.clone(), e))?;
                }
            }
            metadata::apply(&mut ra.resmap, &label.pairs, &specs).map_err(|e| kust.transform_error(field, e))?;
            self.record(ra, &here, "LabelTransformer", None);
        }
        metadata::apply(&mut ra.resmap, &k.common_labels, &config.common_labels)
            .map_err(|e| kust.transform_error("commonLabels", e))?;
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            self.record(ra, &here, "LabelTransformer", None);
        }
        metadata::apply(&mut ra.resmap, &k.common_annotations, &config.common_annotations)
            .map_err(|e| kust.transform_error("commonAnnotations", e))?;
        if !k.common_annotations.is_empty() {
            self.record(ra, &here, "AnnotationsTransformer", None);
        }
        for (i, entry) in k.patches_json6902.iter().enumerate() {
            let field = format!("patchesJson6902[{i}]");
            let target = entry
                .target
                .as_ref()
                .filter(|t| !t.name.is_empty())
                .ok_or_else(|| kust.error(field.clone(), "a JSON 6902 patch needs a target with a name"))?;
            let text = match (entry.path.is_empty(), entry.patch.is_empty()) {
                (false, true) => self.read_text(kust, &field, &entry.path)?.1,
                (true, false) => entry.patch.clone(),
                (false, false) => return Err(kust.error(field, "give a path or a patch, not both")),
                (true, true) => return Err(kust.error(field, "a JSON 6902 patch needs a path or a patch")),
            };
            let Patch::Json(ops) = patches::parse(&text).map_err(|e| kust.error(field.clone(), e))? else {
                return Err(kust.error(field, "expected a JSON 6902 patch (a list of operations)"));
            };
            patches::apply_json6902(&mut ra.resmap, &ops, target).map_err(|e| kust.transform_error(field, e))?;
            self.record(ra, &here, "PatchJson6902Transformer", None);
        }
        for (i, replica) in k.replicas.iter().enumerate() {
            replicas::apply(&mut ra.resmap, replica, &config.replicas)
                .map_err(|e| kust.transform_error(format!("replicas[{i}]"), e))?;
            self.record(ra, &here, "ReplicaCountTransformer", None);
        }
        for (i, image) in k.images.iter().enumerate() {
            images::apply(&mut ra.resmap, image, &config.images)
                .map_err(|e| kust.transform_error(format!("images[{i}]"), e))?;
            self.record(ra, &here, "ImageTagTransformer", None);
        }
        let replacements = self.load_replacements(kust)?;
        replacements::apply(&mut ra.resmap, &replacements).map_err(|e| kust.transform_error("replacements", e))?;
        if !replacements.is_empty() {
            self.record(ra, &here, "ReplacementTransformer", None);
        }
        Ok(())
    }

    /// A `patchesStrategicMerge` entry is a file, or the patch itself written inline.
    fn patch_text(&self, kust: &KustFile, field: &str, entry: &str) -> Result<String, KustomizeError> {
        let inline = entry.contains('\n') || (entry.contains(':') && !kust.dir.join(entry).exists());
        if inline {
            return Ok(entry.to_string());
        }
        Ok(self.read_text(kust, field, entry)?.1)
    }

    fn load_replacements(&self, kust: &KustFile) -> Result<Vec<Replacement>, KustomizeError> {
        self.expand_replacements(kust, "replacements", &kust.kustomization.replacements)
    }

    /// Inline replacements, and those read from `path` entries.
    pub(crate) fn expand_replacements(
        &self,
        kust: &KustFile,
        list_field: &str,
        list: &[ReplacementField],
    ) -> Result<Vec<Replacement>, KustomizeError> {
        let mut out = Vec::new();
        for (i, field) in list.iter().enumerate() {
            let name = format!("{list_field}[{i}]");
            if field.path.is_empty() {
                out.push(Replacement {
                    source: field.source.clone(),
                    targets: field.targets.clone(),
                });
                continue;
            }
            if field.source.is_some() || !field.targets.is_empty() {
                return Err(kust.error(name, "give a path or an inline replacement, not both"));
            }
            let (_, text) = self.read_text(kust, &name, &field.path)?;
            let mut value = goyaml::read_single(&text).map_err(|e| {
                kust.error(
                    name.clone(),
                    format!("{}:{}:{}: {}", field.path, e.line, e.column, e.message),
                )
            })?;
            crate::kustomize::types_case::canonicalize_replacements(&mut value);
            let list = if value.is_array() {
                value
            } else {
                serde_json::Value::Array(vec![value])
            };
            let parsed: Vec<Replacement> = serde_json::from_value(list)
                .map_err(|e| kust.error(name.clone(), format!("{}: invalid replacement: {e}", field.path)))?;
            out.extend(parsed);
        }
        Ok(out)
    }
}
