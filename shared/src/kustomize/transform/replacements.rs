//! `replacements`: copy a field of one object (optionally a delimited part of it) into fields of
//! selected objects, as Kustomize v5 does: sources and targets are selected by current or
//! earlier ids, a target field that does not exist is an error unless `create` is set, and a
//! scalar target keeps its type (an int stays an int).

use crate::kustomize::resid::ResId;
use crate::kustomize::resmap::ResMap;
use crate::kustomize::resource::Resource;
use crate::kustomize::selector::SelectorMatcher;
use crate::kustomize::types::{FieldOptions, Replacement, Selector, SourceSelector, TargetSelector};
use crate::kustomize::yamlpath::{self, Leaf};
use serde_json::Value;

/// Applies replacements in order.
pub fn apply(resmap: &mut ResMap, replacements: &[Replacement]) -> Result<(), String> {
    for (i, replacement) in replacements.iter().enumerate() {
        let source = replacement
            .source
            .as_ref()
            .ok_or_else(|| format!("replacement {i}: a replacement needs a source and at least one target"))?;
        if replacement.targets.is_empty() {
            return Err(format!(
                "replacement {i}: a replacement needs a source and at least one target"
            ));
        }
        let value = source_value(resmap, source).map_err(|e| format!("replacement {i}: {e}"))?;
        for target in &replacement.targets {
            apply_target(resmap, &value, target).map_err(|e| format!("replacement {i}: {e}"))?;
        }
    }
    Ok(())
}

/// Kustomize's `ResId.IsSelectedBy` with exact (not pattern) fields.
fn selected(id: &ResId, group: &str, version: &str, kind: &str, name: &str, namespace: &str) -> bool {
    (name.is_empty() || name == id.name)
        && (namespace.is_empty() || {
            let selector = ResId {
                gvk: id.gvk.clone(),
                name: String::new(),
                namespace: namespace.to_string(),
            };
            selector.same_namespace(id)
        })
        && id.gvk.is_selected_by(group, version, kind)
}

fn all_ids(resource: &Resource) -> Vec<ResId> {
    let mut ids = vec![resource.cur_id()];
    ids.extend(resource.prev_ids());
    ids
}

fn describe(kind: &str, name: &str, namespace: &str) -> String {
    let mut text = if kind.is_empty() {
        "any kind".to_string()
    } else {
        kind.to_string()
    };
    if !name.is_empty() {
        text.push_str(&format!(" {name:?}"));
    }
    if !namespace.is_empty() {
        text.push_str(&format!(" in namespace {namespace:?}"));
    }
    text
}

fn source_value(resmap: &ResMap, source: &SourceSelector) -> Result<Value, String> {
    let wanted = describe(&source.kind, &source.name, &source.namespace);
    let mut matches = resmap.resources.iter().filter(|r| {
        all_ids(r).iter().any(|id| {
            selected(
                id,
                &source.group,
                &source.version,
                &source.kind,
                &source.name,
                &source.namespace,
            )
        })
    });
    let resource = matches
        .next()
        .ok_or_else(|| format!("the source ({wanted}) selects nothing"))?;
    if matches.next().is_some() {
        return Err(format!("the source ({wanted}) selects more than one object"));
    }
    let field_path = if source.field_path.is_empty() {
        "metadata.name"
    } else {
        &source.field_path
    };
    let path = yamlpath::split_dotted(field_path);
    let value = yamlpath::get(&resource.object, &path)?
        .filter(|v| !is_nil_or_empty(v))
        .ok_or_else(|| {
            format!(
                "fieldPath {field_path:?} is missing in the source {}",
                resource.cur_id()
            )
        })?;
    refine(source.options.as_ref(), value)
}

fn is_nil_or_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn refine(options: Option<&FieldOptions>, value: &Value) -> Result<Value, String> {
    let Some(options) = options.filter(|o| !o.delimiter.is_empty()) else {
        return Ok(value.clone());
    };
    let text = scalar_text(value).ok_or("the delimiter option works only on scalar fields")?;
    let parts: Vec<&str> = text.split(options.delimiter.as_str()).collect();
    let index = usize::try_from(options.index)
        .ok()
        .filter(|i| *i < parts.len())
        .ok_or_else(|| format!("options.index {} is out of bounds for the source value", options.index))?;
    Ok(Value::String(parts[index].to_string()))
}

fn matches_selectors(resource: &Resource, selector: &Selector) -> Result<bool, String> {
    let labels_only = Selector {
        label_selector: selector.label_selector.clone(),
        annotation_selector: selector.annotation_selector.clone(),
        ..Selector::default()
    };
    Ok(SelectorMatcher::new(&labels_only)?.matches_current(resource))
}

fn apply_target(resmap: &mut ResMap, value: &Value, target: &TargetSelector) -> Result<(), String> {
    let select = target
        .select
        .as_ref()
        .ok_or("a target needs select to choose the objects")?;
    let default_paths = vec!["metadata.name".to_string()];
    let field_paths = if target.field_paths.is_empty() {
        &default_paths
    } else {
        &target.field_paths
    };
    for resource in &mut resmap.resources {
        if !matches_selectors(resource, select)? {
            continue;
        }
        let mut rejected_by_labels = false;
        for reject in &target.reject {
            if (!reject.label_selector.is_empty() || !reject.annotation_selector.is_empty())
                && matches_selectors(resource, reject)?
            {
                rejected_by_labels = true;
            }
        }
        if rejected_by_labels {
            continue;
        }
        let ids = all_ids(resource);
        let hit = ids.iter().any(|id| {
            selected(
                id,
                &select.group,
                &select.version,
                &select.kind,
                &select.name,
                &select.namespace,
            ) && !target.reject.iter().any(|r| {
                let empty = r.group.is_empty()
                    && r.version.is_empty()
                    && r.kind.is_empty()
                    && r.name.is_empty()
                    && r.namespace.is_empty();
                !empty && selected(id, &r.group, &r.version, &r.kind, &r.name, &r.namespace)
            })
        });
        if !hit {
            continue;
        }
        for field_path in field_paths {
            copy_to(&mut resource.object, value, field_path, target.options.as_ref())
                .map_err(|e| format!("target {}: {e}", resource.cur_id()))?;
        }
    }
    Ok(())
}

fn copy_to(object: &mut Value, value: &Value, field_path: &str, options: Option<&FieldOptions>) -> Result<(), String> {
    let path = yamlpath::split_dotted(field_path);
    let create = options.is_some_and(|o| o.create);
    let leaf = match (create, value) {
        (false, _) => Leaf::None,
        (true, Value::Object(_)) => Leaf::Map,
        (true, Value::Array(_)) => Leaf::List,
        (true, _) => Leaf::Scalar,
    };
    if create && path.iter().any(|p| p == "*") {
        return Err("the create option cannot be used with a wildcard".to_string());
    }
    let pointers = yamlpath::find(object, &path, leaf)?;
    if pointers.is_empty() {
        return Err(format!(
            "unable to find field {field_path:?} (set options.create to add it)"
        ));
    }
    for pointer in pointers {
        let Some(field) = yamlpath::at_mut(object, &pointer) else {
            continue;
        };
        let mut value = value.clone();
        if let Some(options) = options.filter(|o| !o.delimiter.is_empty()) {
            let current = scalar_text(field).ok_or("the delimiter option works only on scalar fields")?;
            let mut parts: Vec<String> = current.split(options.delimiter.as_str()).map(str::to_string).collect();
            let new = scalar_text(&value).unwrap_or_default();
            match usize::try_from(options.index) {
                Err(_) => parts.insert(0, new),
                Ok(i) if i >= parts.len() => parts.push(new),
                Ok(i) => parts[i] = new,
            }
            value = Value::String(parts.join(&options.delimiter));
        }
        set_keeping_type(field, value);
    }
    Ok(())
}

/// A scalar target keeps its type and takes the source's text; anything else is replaced.
fn set_keeping_type(field: &mut Value, value: Value) {
    let text = match scalar_text(&value) {
        Some(text) if !value.is_null() => text,
        _ => {
            *field = value;
            return;
        }
    };
    *field = match field {
        Value::String(_) => Value::String(text),
        Value::Number(_) => crate::kustomize::goyaml::resolve_text(&text)
            .filter(Value::is_number)
            .unwrap_or(Value::String(text)),
        Value::Bool(_) => match text.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text),
        },
        // A field made by `create` has no type yet: it reads the text as YAML would.
        Value::Null => crate::kustomize::goyaml::resolve_text(&text).unwrap_or(Value::String(text)),
        _ => value,
    };
}
