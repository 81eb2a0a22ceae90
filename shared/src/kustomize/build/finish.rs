//! The steps Kustomize runs once, for the top kustomization: hash suffixes, name references,
//! vars, dropping local-config objects, ordering, build metadata and the final clean-up of
//! annotations (Kustomize rewrites every object's annotations as strings, dropping empty maps).

use super::{Accumulator, Builder};
use crate::kustomize::Reorder;
use crate::kustomize::error::KustomizeError;
use crate::kustomize::generators::content_hash;
use crate::kustomize::kustfile::KustFile;
use crate::kustomize::resource::Resource;
use crate::kustomize::transform::{nameref, sort, vars};
use serde_json::{Map, Value};

/// The label `buildMetadata: [managedByLabel]` adds, and the value kubectl's Kustomize gives it.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kustomize-(devel)");
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";
const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";

pub(super) fn finish(builder: &Builder, kust: &KustFile, ra: Accumulator) -> Result<Vec<Value>, KustomizeError> {
    let Accumulator {
        mut resmap,
        config,
        vars: var_list,
        ..
    } = ra;
    for resource in &mut resmap.resources {
        if resource.needs_hash {
            resource.store_previous_id();
            let name = format!("{}-{}", resource.name(), content_hash(&resource.object));
            resource.set_name(&name);
        }
    }
    nameref::apply(&mut resmap, &config.name_reference).map_err(|e| kust.transform_error("nameReference", e))?;
    vars::resolve(&mut resmap, &var_list, &config.var_reference).map_err(|e| kust.transform_error("vars", e))?;
    resmap
        .resources
        .retain(|r| r.annotation(LOCAL_CONFIG_ANNOTATION).is_none());
    let k = &kust.kustomization;
    match (&k.sort_options, builder.options.reorder) {
        (Some(options), _) if options.order == "legacy" => {
            let (mut first, mut last) = sort::default_lists();
            if let Some(custom) = &options.legacy_sort_options {
                first = custom.order_first.clone();
                last = custom.order_last.clone();
            }
            sort::legacy_sort(&mut resmap.resources, &first, &last);
        }
        (Some(_), _) => {}
        (None, Reorder::Legacy) => {
            let (first, last) = sort::default_lists();
            sort::legacy_sort(&mut resmap.resources, &first, &last);
        }
        (None, Reorder::None) => {}
    }
    let metadata = &k.build_metadata;
    let origins = metadata.iter().any(|m| m == "originAnnotations");
    let transformations = metadata.iter().any(|m| m == "transformerAnnotations");
    let managed_by = metadata.iter().any(|m| m == "managedByLabel");
    Ok(resmap
        .resources
        .into_iter()
        .map(|mut resource| {
            if managed_by {
                let labels = resource
                    .metadata_mut()
                    .entry("labels")
                    .or_insert_with(|| Value::Object(Map::new()));
                if !labels.is_object() {
                    *labels = Value::Object(Map::new());
                }
                if let Some(labels) = labels.as_object_mut() {
                    labels.insert(MANAGED_BY.0.to_string(), Value::String(MANAGED_BY.1.to_string()));
                }
            }
            finish_annotations(&mut resource, origins, transformations);
            normalize_numbers(&mut resource.object);
            resource.object
        })
        .collect())
}

/// Whole floats become integers, as they do in Kustomize's JSON round trip (`2.0` prints and
/// reads back as `2`).
fn normalize_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(integer) = crate::kustomize::goyaml::integral(n) {
                *value = Value::Number(integer);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(map) => map.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

/// Rewrites annotations as Kustomize leaves them: string values, the origin when asked for,
/// no empty map.
fn finish_annotations(resource: &mut Resource, origins: bool, transformations: bool) {
    let origin = origins
        .then(|| resource.origin.as_ref().map(|o| o.to_yaml("")))
        .flatten();
    let transformed = (transformations && !resource.transformations.is_empty()).then(|| {
        resource
            .transformations
            .iter()
            .map(|t| {
                let text = t.to_yaml("  ");
                format!("- {}", &text[2..])
            })
            .collect::<String>()
    });
    let metadata = resource.metadata_mut();
    let mut annotations: Map<String, Value> = match metadata.get("annotations") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    // kyaml reads a map or list annotation value as empty text.
                    Value::Object(_) | Value::Array(_) => String::new(),
                };
                (k.clone(), Value::String(text))
            })
            .collect(),
        _ => Map::new(),
    };
    if let Some(origin) = origin {
        annotations.insert(ORIGIN_ANNOTATION.to_string(), Value::String(origin));
    }
    if let Some(transformed) = transformed {
        annotations.insert(TRANSFORMATIONS_ANNOTATION.to_string(), Value::String(transformed));
    }
    if annotations.is_empty() {
        metadata.shift_remove("annotations");
    } else {
        metadata.insert("annotations".to_string(), Value::Object(annotations));
    }
}
