//! `replicas`: sets `spec.replicas` of the named workloads (matched by current or earlier name).

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::{FieldSpec, Replica};
use serde_json::Value;

/// Applies one `replicas` entry; an entry that matches nothing is an error, as in Kustomize.
pub fn apply(resmap: &mut ResMap, replica: &Replica, specs: &[FieldSpec]) -> Result<(), String> {
    let mut found = false;
    for spec in specs {
        for resource in &mut resmap.resources {
            let matches = resource.any_id_matches(|id| {
                id.name == replica.name && id.gvk.is_selected_by(&spec.group, &spec.version, &spec.kind)
            });
            if !matches || !spec_selects(spec, &resource.gvk()) {
                continue;
            }
            found = true;
            let mut set = |node: &mut Value| {
                *node = Value::from(replica.count);
                Ok(())
            };
            fieldspec::apply(&mut resource.object, spec, Create::Scalar, &mut set)?;
        }
    }
    if !found {
        let kinds: Vec<&str> = specs.iter().map(|s| s.kind.as_str()).collect();
        return Err(format!(
            "no resource named {:?} of a kind with replicas ({})",
            replica.name,
            kinds.join(", ")
        ));
    }
    Ok(())
}
