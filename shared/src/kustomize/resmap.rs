//! [`ResMap`]: the ordered resources of a build, unique by id, with Kustomize's rules for adding
//! resources and for merging generated ConfigMaps and Secrets into existing ones.

use super::resid::ResId;
use super::resource::{Behavior, Resource};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The resources of a kustomization, in declaration order.
#[derive(Clone, Debug, Default)]
pub struct ResMap {
    pub resources: Vec<Resource>,
}

/// The comparison key of an id (GVK, name, effective namespace).
fn key(id: &ResId) -> (String, String, String, String, String) {
    (
        id.gvk.group.clone(),
        id.gvk.version.clone(),
        id.gvk.kind.clone(),
        id.name.clone(),
        id.effective_namespace().to_string(),
    )
}

impl ResMap {
    /// Adds resources, refusing one whose id is already present.
    pub fn append_all(&mut self, resources: Vec<Resource>) -> Result<(), String> {
        let mut seen: HashSet<_> = self.resources.iter().map(|r| key(&r.cur_id())).collect();
        for resource in resources {
            let id = resource.cur_id();
            if !seen.insert(key(&id)) {
                return Err(format!("may not add resource with an already registered id: {id}"));
            }
            self.resources.push(resource);
        }
        Ok(())
    }

    /// Indices of resources whose current or previous ids satisfy `matches`.
    pub fn matching_any_id(&self, matches: impl Fn(&ResId) -> bool) -> Vec<usize> {
        self.resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.any_id_matches(&matches))
            .map(|(i, _)| i)
            .collect()
    }

    /// Kustomize's `appendReplaceOrMerge`: adds a generated resource, or merges it into (or
    /// replaces) the resource it names, as its behaviour says.
    pub fn absorb(&mut self, mut resource: Resource) -> Result<(), String> {
        let id = resource.cur_id();
        let matches = self.matching_any_id(|other| other.same_as(&id));
        match matches.as_slice() {
            [] => match resource.behavior {
                Behavior::Merge | Behavior::Replace => Err(format!(
                    "{} {:?} does not exist in the resources so far; behavior merge or replace needs one to change",
                    id.gvk.kind, id.name
                )),
                _ => self.append_all(vec![resource]),
            },
            [index] => {
                let old = &self.resources[*index];
                match resource.behavior {
                    Behavior::Replace => copy_metadata_from(&mut resource, old),
                    Behavior::Merge => {
                        let origin = old.origin.clone();
                        copy_metadata_from(&mut resource, old);
                        merge_map_field(&mut resource.object, &old.object, "data");
                        merge_map_field(&mut resource.object, &old.object, "binaryData");
                        if origin.is_some() {
                            resource.origin = origin;
                        }
                    }
                    _ => {
                        return Err(format!(
                            "{} {:?} already exists; set behavior: merge or replace to change it",
                            id.gvk.kind, id.name
                        ));
                    }
                }
                self.resources[*index] = resource;
                Ok(())
            }
            _ => Err(format!("found several resources that could accept the merge of {id}")),
        }
    }
}

/// Kustomize's `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (the new resource
/// wins), name and namespace and all build bookkeeping taken from the old one.
fn copy_metadata_from(resource: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged: Map<String, Value> = old
            .object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(new) = resource
            .object
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
        {
            for (k, v) in new {
                merged.insert(k.clone(), v.clone());
            }
        }
        let metadata = resource.metadata_mut();
        if merged.is_empty() {
            metadata.remove(field);
        } else {
            metadata.insert(field.to_string(), Value::Object(merged));
        }
    }
    let name = old.name().to_string();
    let namespace = old.namespace().to_string();
    resource.set_name(&name);
    resource.set_namespace(&namespace);
    resource.previous = old.previous.clone();
    resource.prefixes = old.prefixes.clone();
    resource.suffixes = old.suffixes.clone();
    resource.behavior = old.behavior;
    resource.needs_hash = old.needs_hash;
    resource.referenced_vars = old.referenced_vars.clone();
}

/// `data` of the new object laid over the old one's.
fn merge_map_field(object: &mut Value, old: &Value, field: &str) {
    let Some(old_map) = old.get(field).and_then(Value::as_object) else {
        return;
    };
    let mut merged = old_map.clone();
    if let Some(new_map) = object.get(field).and_then(Value::as_object) {
        for (k, v) in new_map {
            merged.insert(k.clone(), v.clone());
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.insert(field.to_string(), Value::Object(merged));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, data: Value, behavior: Behavior) -> Resource {
        let mut r =
            Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}));
        r.behavior = behavior;
        r
    }

    #[test]
    fn refuses_duplicate_ids() {
        let mut m = ResMap::default();
        m.append_all(vec![cm("a", json!({}), Behavior::Create)]).unwrap();
        let err = m.append_all(vec![cm("a", json!({}), Behavior::Create)]).unwrap_err();
        assert!(
            err.contains("already registered id: ConfigMap.v1.[noGrp]/a.[noNs]"),
            "{err}"
        );
    }

    #[test]
    fn merges_and_replaces_generated_data() {
        let mut m = ResMap::default();
        m.append_all(vec![cm("a", json!({"x": "1", "y": "1"}), Behavior::Create)])
            .unwrap();
        m.absorb(cm("a", json!({"y": "2", "z": "2"}), Behavior::Merge)).unwrap();
        assert_eq!(m.resources[0].object["data"], json!({"x": "1", "y": "2", "z": "2"}));
        m.absorb(cm("a", json!({"only": "3"}), Behavior::Replace)).unwrap();
        assert_eq!(m.resources[0].object["data"], json!({"only": "3"}));
        assert!(m.absorb(cm("a", json!({}), Behavior::Create)).is_err());
        assert!(m.absorb(cm("b", json!({}), Behavior::Merge)).is_err());
    }
}
