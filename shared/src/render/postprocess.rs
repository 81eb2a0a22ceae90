//! Kluctl's post-processing of an item's objects after Kustomize: drop `kluctl.io/ignore`
//! objects, then set the common labels and annotations, the discriminator, the tag labels and
//! the `kluctl.io/deployment-item-dir` annotation (also on the items of `*List` objects).

use super::kustomization::parse_bool;
use crate::project::{DeploymentItem, ItemDir};
use serde_json::{Map, Value};

/// Labels and annotations Kluctl puts on every object of one item.
pub(crate) struct ItemMetadata {
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
}

impl ItemMetadata {
    /// Common labels (project chain), then the discriminator, then `kluctl.io/tag-N`; common
    /// annotations, then `kluctl.io/deployment-item-dir` (and `skip-delete-if-tags`).
    pub fn new(item: &DeploymentItem, dir: &ItemDir, discriminator: Option<&str>) -> Self {
        let mut labels: Vec<(String, String)> =
            item.common_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some(d) = discriminator {
            labels.push(("kluctl.io/discriminator".to_string(), d.to_string()));
        }
        for (i, tag) in item.tags.iter().enumerate() {
            labels.push((format!("kluctl.io/tag-{i}"), tag.clone()));
        }
        let mut annotations: Vec<(String, String)> = item
            .common_annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        annotations.push(("kluctl.io/deployment-item-dir".to_string(), dir.rel_root.clone()));
        if item.skip_delete_if_tags {
            annotations.push(("kluctl.io/skip-delete-if-tags".to_string(), "true".to_string()));
        }
        ItemMetadata { labels, annotations }
    }
}

fn is_ignored(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations/kluctl.io~1ignore")
        .is_some_and(parse_bool)
}

fn set_all(object: &mut Map<String, Value>, field: &str, entries: &[(String, String)]) {
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    let map = metadata
        .as_object_mut()
        .expect("just made a mapping")
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !map.is_object() {
        *map = Value::Object(Map::new());
    }
    let map = map.as_object_mut().expect("just made a mapping");
    for (k, v) in entries {
        map.insert(k.clone(), Value::String(v.clone()));
    }
}

fn decorate(object: &mut Value, meta: &ItemMetadata) {
    let Some(map) = object.as_object_mut() else { return };
    set_all(map, "labels", &meta.labels);
    set_all(map, "annotations", &meta.annotations);
}

/// Applies the post-processing to the objects of one item.
pub(crate) fn postprocess(objects: Vec<Value>, meta: &ItemMetadata) -> Vec<Value> {
    let mut out = Vec::with_capacity(objects.len());
    for mut object in objects {
        if is_ignored(&object) {
            continue;
        }
        let is_list = object["kind"].as_str().is_some_and(|k| k.ends_with("List")) && object["items"].is_array();
        if is_list {
            if let Some(items) = object.get_mut("items").and_then(Value::as_array_mut) {
                items.retain(|i| !is_ignored(i));
                for inner in items.iter_mut() {
                    decorate(inner, meta);
                }
            }
        } else {
            decorate(&mut object, meta);
        }
        out.push(object);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::json;

    fn item() -> (DeploymentItem, ItemDir) {
        let dir = ItemDir {
            path: "/p/apps/web".into(),
            rel_root: "apps/web".into(),
            rendered_rel: "apps/web".into(),
            display: "apps/web".into(),
        };
        let item = DeploymentItem {
            index: 0,
            dir: Some(dir.clone()),
            config: Default::default(),
            vars: json!({}),
            search_dirs: vec![],
            tags: vec!["apps".into(), "web".into()],
            common_labels: IndexMap::from([("team".to_string(), "a".to_string())]),
            common_annotations: IndexMap::from([("note".to_string(), "n".to_string())]),
            override_namespace: None,
            ignore_for_diff: vec![],
            conflict_resolution: vec![],
            template_excludes: vec![],
            barrier: false,
            message: None,
            wait_readiness: false,
            wait_readiness_objects: vec![],
            delete_objects: vec![],
            only_render: false,
            skip_delete_if_tags: true,
            included: true,
            chain: vec![],
        };
        (item, dir)
    }

    #[test]
    fn sets_kluctl_labels_and_annotations_and_drops_ignored_objects() {
        let (item, dir) = item();
        let meta = ItemMetadata::new(&item, &dir, Some("disc"));
        let objects = vec![
            json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "old", "x": "y"}}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "b", "annotations": {"kluctl.io/ignore": "true"}}}),
            json!({"kind": "ConfigMapList", "items": [{"kind": "ConfigMap", "metadata": {"name": "c"}}]}),
        ];
        let out = postprocess(objects, &meta);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0]["metadata"]["labels"],
            json!({"team": "a", "x": "y", "kluctl.io/discriminator": "disc", "kluctl.io/tag-0": "apps", "kluctl.io/tag-1": "web"})
        );
        assert_eq!(
            out[0]["metadata"]["annotations"],
            json!({"note": "n", "kluctl.io/deployment-item-dir": "apps/web", "kluctl.io/skip-delete-if-tags": "true"})
        );
        assert_eq!(out[1]["items"][0]["metadata"]["labels"]["kluctl.io/tag-1"], "web");
        assert!(out[1]["metadata"].is_null(), "the list itself is not decorated");
    }
}
