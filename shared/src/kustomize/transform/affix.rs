//! `namePrefix` and `nameSuffix`: prepend or append to names (and any configured name fields)
//! of every resource except CustomResourceDefinitions, APIServices and Namespaces, and record
//! the affix of this kustomization layer for name-reference matching.

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::FieldSpec;
use serde_json::Value;

/// Prefix or suffix.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Affix {
    Prefix,
    Suffix,
}

fn skipped(kind: &str, group: &str) -> bool {
    kind == "CustomResourceDefinition"
        || kind == "Namespace"
        || (kind == "APIService" && group == "apiregistration.k8s.io")
}

/// Applies one layer's prefix or suffix (possibly empty: the layer is still recorded).
pub fn apply(resmap: &mut ResMap, affix: Affix, text: &str, specs: &[FieldSpec]) -> Result<(), String> {
    for resource in &mut resmap.resources {
        let original = resource.org_id();
        if skipped(&original.gvk.kind, &original.gvk.group) {
            continue;
        }
        for spec in specs {
            if !spec_selects(spec, &original.gvk) {
                continue;
            }
            if spec.path == "metadata/name" {
                match affix {
                    Affix::Prefix => resource.prefixes.push(text.to_string()),
                    Affix::Suffix => resource.suffixes.push(text.to_string()),
                }
                if !text.is_empty() {
                    resource.store_previous_id();
                }
            }
            if text.is_empty() {
                continue;
            }
            let mut set = |node: &mut Value| -> Result<(), String> {
                let current = match node {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err("name fields must be scalars".to_string()),
                };
                *node = Value::String(match affix {
                    Affix::Prefix => format!("{text}{current}"),
                    Affix::Suffix => format!("{current}{text}"),
                });
                Ok(())
            };
            fieldspec::apply(&mut resource.object, spec, Create::Scalar, &mut set)?;
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
    fn prefixes_names_except_namespaces_and_crds() {
        let mut m = ResMap {
            resources: vec![
                Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})),
                Resource::new(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})),
            ],
        };
        apply(&mut m, Affix::Prefix, "p-", &config::defaults().name_prefix).unwrap();
        apply(&mut m, Affix::Suffix, "", &config::defaults().name_suffix).unwrap();
        assert_eq!(m.resources[0].name(), "p-a");
        assert_eq!(m.resources[0].prefixes, vec!["p-"]);
        assert_eq!(m.resources[0].suffixes, vec![""]);
        assert_eq!(m.resources[0].org_id().name, "a");
        assert_eq!(m.resources[1].name(), "ns");
        assert!(m.resources[1].prefixes.is_empty());
    }
}
