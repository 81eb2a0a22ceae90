//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: strategic merge patches (which name
//! their target, or apply to every object a `target` selects) and JSON 6902 patches (which need a
//! `target`), with Kustomize's rules: the target keeps its name, kind and namespace unless the
//! patch allows a change, and a `$patch: delete` removes the object.

use crate::kustomize::goyaml::{self, Resolution};
use crate::kustomize::resid::{Gvk, ResId};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::resource::Resource;
use crate::kustomize::selector::SelectorMatcher;
use crate::kustomize::types::Selector;
use serde_json::Value;

/// A parsed patch.
#[derive(Debug, Clone)]
pub enum Patch {
    /// One or more strategic merge patches (objects with a kind and a name).
    Strategic(Vec<Value>),
    /// A JSON 6902 operation list.
    Json(Value),
}

/// Options of a `patches` entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchOptions {
    /// The patch may rename its target.
    pub allow_name_change: bool,
    /// The patch may change its target's kind.
    pub allow_kind_change: bool,
}

/// Reads patch text as Kustomize does: a YAML/JSON list of operations is a JSON 6902 patch,
/// documents with a kind and a name are strategic merge patches.
pub fn parse(text: &str) -> Result<Patch, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the patch is empty".to_string());
    }
    let documents = goyaml::read_documents(text).map_err(|e| format!("line {}:{}: {}", e.line, e.column, e.message))?;
    if documents.len() == 1 && documents[0].value.is_array() {
        // JSON patches go through sigs.k8s.io/yaml (YAML 1.1): `yes` is true there.
        let ops = goyaml::read_single_with(text, Resolution::V2)
            .map_err(|e| format!("line {}:{}: {}", e.line, e.column, e.message))?;
        if ops.as_array().is_some_and(|a| a.is_empty()) {
            return Err("the JSON patch has no operations".to_string());
        }
        return Ok(Patch::Json(ops));
    }
    let mut patches = Vec::new();
    for document in documents {
        let object = document.value;
        let has = |field: &str| -> bool {
            match field {
                "kind" => object
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| !k.is_empty()),
                _ => object
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .is_some_and(|n| !n.is_null()),
            }
        };
        if !object.is_object() {
            return Err(
                "unable to read the patch as a strategic merge patch (a map) or a JSON patch (a list)".to_string(),
            );
        }
        if !has("kind") || !has("name") {
            return Err("a strategic merge patch needs kind and metadata.name, like the object it patches".to_string());
        }
        patches.push(object);
    }
    Ok(Patch::Strategic(patches))
}

/// Applies a `patches` entry.
pub fn apply(
    resmap: &mut ResMap,
    patch: &Patch,
    target: Option<&Selector>,
    options: PatchOptions,
) -> Result<(), String> {
    match patch {
        Patch::Json(ops) => {
            let target = target.ok_or("a JSON patch needs a target")?;
            let matcher = SelectorMatcher::new(target)?;
            for resource in resmap.resources.iter_mut().filter(|r| matcher.matches(r)) {
                resource.store_previous_id();
                json_patch(resource, ops)?;
            }
            Ok(())
        }
        Patch::Strategic(patches) => match target {
            Some(target) => {
                if patches.len() > 1 {
                    return Err("a patches entry with a target may hold only one strategic merge patch".to_string());
                }
                let matcher = SelectorMatcher::new(target)?;
                let selected: Vec<usize> = (0..resmap.resources.len())
                    .filter(|i| matcher.matches(&resmap.resources[*i]))
                    .collect();
                apply_strategic(resmap, &selected, &patches[0], options)
            }
            None => {
                for patch in patches {
                    let index = unique_target(resmap, patch)?;
                    apply_strategic(resmap, &[index], patch, options)?;
                }
                Ok(())
            }
        },
    }
}

/// Applies a `patchesJson6902` entry.
pub fn apply_json6902(resmap: &mut ResMap, ops: &Value, target: &Selector) -> Result<(), String> {
    let matcher = SelectorMatcher::new(target)?;
    for resource in resmap.resources.iter_mut().filter(|r| matcher.matches(r)) {
        json_patch(resource, ops)?;
    }
    Ok(())
}

/// The one resource whose current or earlier id is the patch's id.
pub fn unique_target(resmap: &ResMap, patch: &Value) -> Result<usize, String> {
    let id = ResId::of(patch);
    let matches = resmap.matching_any_id(|other| other.same_as(&id));
    match matches.as_slice() {
        [index] => Ok(*index),
        [] => Err(format!("the strategic merge patch for {id} matches no resource")),
        _ => Err(format!("the strategic merge patch for {id} matches several resources")),
    }
}

/// JSON 6902 with the evanphx/json-patch behaviour Kustomize uses (negative indices, `-`).
fn json_patch(resource: &mut Resource, ops: &Value) -> Result<(), String> {
    resource.object =
        crate::patch::json_patch(&resource.object, ops).map_err(|e| format!("{e} of {}", resource.cur_id()))?;
    Ok(())
}

/// Applies a strategic merge patch to the selected resources, dropping those it deletes.
fn apply_strategic(
    resmap: &mut ResMap,
    selected: &[usize],
    patch: &Value,
    options: PatchOptions,
) -> Result<(), String> {
    let mut deleted = Vec::new();
    for &index in selected {
        let resource = &mut resmap.resources[index];
        let (name, namespace, kind) = (
            resource.name().to_string(),
            resource.namespace().to_string(),
            resource.kind().to_string(),
        );
        if options.allow_name_change || options.allow_kind_change {
            resource.store_previous_id();
        }
        // The patch takes the target's group and version, keeping its own kind.
        let mut patch = patch.clone();
        if let Some(map) = patch.as_object_mut() {
            let api_version = Gvk::of(&resource.object).api_version();
            if api_version.is_empty() {
                map.shift_remove("apiVersion");
            } else {
                map.insert("apiVersion".to_string(), Value::String(api_version));
            }
        }
        let patched = strategic_merge(&resource.object, &patch)?;
        if patched.as_object().is_none_or(|m| m.is_empty()) {
            deleted.push(index);
            continue;
        }
        resource.object = patched;
        if !options.allow_kind_change
            && let Some(map) = resource.object.as_object_mut()
        {
            map.insert("kind".to_string(), Value::String(kind));
        }
        if !options.allow_name_change {
            resource.set_name(&name);
        }
        resource.set_namespace(&namespace);
    }
    deleted.sort_unstable();
    for index in deleted.into_iter().rev() {
        resmap.resources.remove(index);
    }
    Ok(())
}

/// Kustomize's strategic merge (kyaml merge2 rules) with the built-in type's merge keys and
/// strategies; an empty result means the patch deleted the object. Messages name paths, never
/// values.
fn strategic_merge(target: &Value, patch: &Value) -> Result<Value, String> {
    let schema = crate::schema::builtin_for(target);
    crate::patch::kustomize_strategic_merge(target, patch, schema)
        .map(|merged| merged.unwrap_or(Value::Null))
        .map_err(|e| format!("{} of {}", e, ResId::of(target)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tells_json_patches_from_strategic_ones() {
        assert!(
            matches!(parse("- op: add\n  path: /x\n  value: yes\n").unwrap(), Patch::Json(ops) if ops[0]["value"] == json!(true))
        );
        assert!(matches!(
            parse("[{\"op\": \"remove\", \"path\": \"/x\"}]").unwrap(),
            Patch::Json(_)
        ));
        assert!(
            matches!(parse("kind: Deployment\nmetadata:\n  name: d\n").unwrap(), Patch::Strategic(p) if p.len() == 1)
        );
        assert!(parse("kind: Deployment\nspec: {}\n").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn applies_json_patches_to_selected_resources() {
        let mut m = ResMap {
            resources: vec![
                Resource::new(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"args": ["x"]}}),
                ),
                Resource::new(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "b"}, "spec": {"args": []}}),
                ),
            ],
        };
        let patch = parse("- op: add\n  path: /spec/args/-\n  value: --flag\n").unwrap();
        let target = Selector {
            kind: "Deployment".into(),
            name: "(a|b)".into(),
            ..Selector::default()
        };
        apply(&mut m, &patch, Some(&target), PatchOptions::default()).unwrap();
        assert_eq!(m.resources[0].object["spec"]["args"], json!(["x", "--flag"]));
        assert_eq!(m.resources[1].object["spec"]["args"], json!(["--flag"]));
        let bad = parse("- op: remove\n  path: /nope\n").unwrap();
        assert!(apply(&mut m, &bad, Some(&target), PatchOptions::default()).is_err());
    }
}
