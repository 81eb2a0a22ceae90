//! `labels`, `commonLabels` and `commonAnnotations`: set key/value pairs in every configured
//! field (metadata, selectors, pod templates) of the kinds each field spec names.

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::FieldSpec;
use std::collections::BTreeMap;

/// Sets every pair at every spec's field of every matching resource (nothing when `pairs` is
/// empty, so no empty maps appear).
pub fn apply(resmap: &mut ResMap, pairs: &BTreeMap<String, String>, specs: &[FieldSpec]) -> Result<(), String> {
    if pairs.is_empty() {
        return Ok(());
    }
    for resource in &mut resmap.resources {
        let gvk = resource.gvk();
        for (key, value) in pairs {
            for spec in specs.iter().filter(|s| spec_selects(s, &gvk)) {
                let mut set = |node: &mut serde_json::Value| fieldspec::set_entry(node, key, value);
                fieldspec::apply(&mut resource.object, spec, Create::Map, &mut set)
                    .map_err(|e| format!("{}: {e}", resource.cur_id()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::config;
    use crate::kustomize::resource::Resource;
    use serde_json::json;

    #[test]
    fn labels_selectors_and_templates() {
        let mut m = ResMap {
            resources: vec![Resource::new(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                "spec": {"template": {"metadata": {"labels": {"x": "y"}}}}}),
            )],
        };
        let pairs = [("app".to_string(), "web".to_string())].into();
        apply(&mut m, &pairs, &config::defaults().common_labels).unwrap();
        let d = &m.resources[0].object;
        assert_eq!(d["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(d["spec"]["selector"]["matchLabels"], json!({"app": "web"}));
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"],
            json!({"x": "y", "app": "web"})
        );
    }
}
