//! Name references: after prefixes, suffixes, namespaces and hash suffixes changed names, fix
//! every field that refers to another object by name (a Deployment's ConfigMap volume, a
//! RoleBinding's subjects, an HPA's target, ...), following Kustomize's `nameReference`
//! configuration and its rules for picking the referred object among candidates.

use crate::kustomize::config::NameReference;
use crate::kustomize::fieldspec::{self, Create};
use crate::kustomize::resid::{Gvk, ResId};
use crate::kustomize::resmap::ResMap;
use crate::kustomize::resource::{Resource, same_ending};
use crate::kustomize::types::FieldSpec;
use serde_json::{Map, Value};

/// What the filter needs to know about each possible referral.
struct Candidate {
    cur: ResId,
    /// `cur`'s effective namespace (`None` when cluster-scoped), computed once: the namespace
    /// comparisons below run for every pair of referrer and candidate.
    cur_namespace: Option<String>,
    org: ResId,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    kind: String,
}

impl Candidate {
    fn of(resource: &Resource) -> Self {
        let cur = resource.cur_id();
        let cur_namespace = (!cur.is_cluster_scoped()).then(|| cur.effective_namespace().to_string());
        Candidate {
            cur_namespace,
            cur,
            org: resource.org_id(),
            prev: resource.prev_ids(),
            prefixes: resource.prefixes.clone(),
            suffixes: resource.suffixes.clone(),
            kind: resource.kind().to_string(),
        }
    }
}

/// Fixes all name references in `resmap`.
pub fn apply(resmap: &mut ResMap, references: &[NameReference]) -> Result<(), String> {
    let candidates: Vec<Candidate> = resmap.resources.iter().map(Candidate::of).collect();
    for (index, referrer) in resmap.resources.iter_mut().enumerate() {
        let org_gvk = candidates[index].org.gvk.clone();
        let role_ref = role_ref_gvk(&referrer.object);
        let mut subset: Option<Vec<usize>> = None;
        for reference in references {
            let target = Gvk {
                group: reference.group.clone(),
                version: reference.version.clone(),
                kind: reference.kind.clone(),
            };
            for spec in &reference.field_specs {
                if !org_gvk.is_selected_by(&spec.group, &spec.version, &spec.kind) {
                    continue;
                }
                if subset.is_none() {
                    subset = Some(could_be_referenced_by(
                        &referrer.object,
                        &candidates[index].cur,
                        &candidates,
                    )?);
                }
                let context = Context {
                    referrer: &candidates[index],
                    referrer_object_role_ref: role_ref.clone(),
                    spec,
                    target: &target,
                    candidates: &candidates,
                    subset: subset.as_deref().unwrap_or_default(),
                };
                let mut set = |node: &mut Value| context.set(node);
                fieldspec::apply(&mut referrer.object, spec, Create::Nothing, &mut set)?;
            }
        }
    }
    Ok(())
}

/// Kustomize's `SubsetThatCouldBeReferencedByResource`.
fn could_be_referenced_by(object: &Value, referrer: &ResId, candidates: &[Candidate]) -> Result<Vec<usize>, String> {
    if referrer.is_cluster_scoped() {
        return Ok((0..candidates.len()).collect());
    }
    let mut binding_namespaces = Vec::new();
    if referrer.gvk.kind == "RoleBinding"
        && let Some(subjects) = object.get("subjects").and_then(Value::as_array)
    {
        for subject in subjects {
            if let (Some(namespace), Some("ServiceAccount")) =
                (subject.get("namespace"), subject.get("kind").and_then(Value::as_str))
            {
                match namespace.as_str() {
                    Some(ns) => binding_namespaces.push(ns.to_string()),
                    None => {
                        return Err(format!(
                            "a ServiceAccount subject of {referrer} has a non-string namespace"
                        ));
                    }
                }
            }
        }
    }
    let referrer_namespace = referrer.effective_namespace();
    Ok(candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| match &c.cur_namespace {
            None => true,
            Some(ns) => ns == referrer_namespace || binding_namespaces.contains(&c.cur.namespace),
        })
        .map(|(i, _)| i)
        .collect())
}

fn role_ref_gvk(object: &Value) -> Option<Gvk> {
    let role_ref = object.get("roleRef")?;
    Some(Gvk {
        group: role_ref.get("apiGroup")?.as_str()?.to_string(),
        version: String::new(),
        kind: role_ref.get("kind")?.as_str()?.to_string(),
    })
}

struct Context<'a> {
    referrer: &'a Candidate,
    referrer_object_role_ref: Option<Gvk>,
    spec: &'a FieldSpec,
    target: &'a Gvk,
    candidates: &'a [Candidate],
    subset: &'a [usize],
}

impl Context<'_> {
    fn set(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::String(_) => self.set_scalar(node),
            Value::Object(map) => self.set_mapping(map),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Null => {}
                        Value::String(_) => self.set_scalar(item)?,
                        Value::Object(map) => self.set_mapping(map)?,
                        _ => return Err("expected names or maps with a name in the list".to_string()),
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), String> {
        let Some(old) = node.as_str() else {
            return Ok(());
        };
        if let Some(referral) = self.select(old, self.subset, false)? {
            let name = &self.candidates[referral].cur.name;
            if name != old {
                *node = Value::String(name.clone());
            }
        }
        Ok(())
    }

    fn set_mapping(&self, map: &mut Map<String, Value>) -> Result<(), String> {
        let old = match map.get("name") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Ok(()),
            None => return Err("path config error: no 'name' field in the referring map".to_string()),
        };
        let in_namespace: Vec<usize>;
        let candidates: &[usize] = match map.get("namespace").and_then(Value::as_str) {
            None => self.subset,
            Some(namespace) => {
                let by = |original: bool| -> Vec<usize> {
                    self.subset
                        .iter()
                        .copied()
                        .filter(|i| {
                            let c = &self.candidates[*i];
                            let id = if original { &c.org } else { &c.cur };
                            !id.is_cluster_scoped() && id.effective_namespace() == namespace
                        })
                        .collect()
                };
                let original = by(true);
                in_namespace = if original.is_empty() { by(false) } else { original };
                &in_namespace
            }
        };
        let Some(referral) = self.select(&old, candidates, true)? else {
            return Ok(());
        };
        let referral = &self.candidates[referral].cur;
        if referral.name == old && referral.namespace.is_empty() {
            return Ok(());
        }
        map.insert("name".to_string(), Value::String(referral.name.clone()));
        if !referral.namespace.is_empty() {
            map.insert("namespace".to_string(), Value::String(referral.namespace.clone()));
        }
        Ok(())
    }

    /// Kustomize's `selectReferral`.
    fn select(&self, old: &str, from: &[usize], with_namespace: bool) -> Result<Option<usize>, String> {
        let target = self.target;
        let mut picked: Vec<usize> = from
            .iter()
            .copied()
            .filter(|i| {
                let c = &self.candidates[*i];
                c.prev.iter().any(|id| id.name == old)
                    && c.prev
                        .iter()
                        .any(|id| id.gvk.is_selected_by(&target.group, &target.version, &target.kind))
            })
            .collect();
        if self.spec.path.ends_with("roleRef/name")
            && let Some(role_ref) = &self.referrer_object_role_ref
        {
            picked.retain(|i| {
                self.candidates[*i].prev.iter().any(|id| {
                    id.gvk
                        .is_selected_by(&role_ref.group, &role_ref.version, &role_ref.kind)
                })
            });
        }
        if let Some(referrer_namespace) = &self.referrer.cur_namespace {
            picked.retain(|i| {
                let c = &self.candidates[*i];
                c.kind == "ServiceAccount" || c.cur_namespace.as_ref().is_none_or(|ns| ns == referrer_namespace)
            });
        }
        if picked.len() == 1 {
            return Ok(picked.first().copied());
        }
        picked.retain(|i| {
            let c = &self.candidates[*i];
            same_ending(&c.prefixes, &self.referrer.prefixes) && same_ending(&c.suffixes, &self.referrer.suffixes)
        });
        match picked.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [first, rest @ ..] => {
                let a = &self.candidates[*first].cur;
                let identical = rest.iter().all(|i| {
                    let b = &self.candidates[*i].cur;
                    a.name == b.name && (!with_namespace || a.namespace == b.namespace)
                });
                if identical {
                    return Ok(Some(*first));
                }
                let ids: Vec<String> = picked.iter().map(|i| self.candidates[*i].cur.to_string()).collect();
                Err(format!(
                    "{} refers to {old:?}, which matches several objects: {} (give them distinct names)",
                    self.referrer.cur,
                    ids.join(", ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kustomize::config;
    use crate::kustomize::transform::affix::{self, Affix};
    use serde_json::json;

    #[test]
    fn follows_renamed_config_maps_and_service_accounts() {
        let mut m = ResMap {
            resources: vec![
                Resource::new(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})),
                Resource::new(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}})),
                Resource::new(
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                    "spec": {"template": {"spec": {"serviceAccountName": "sa",
                        "volumes": [{"name": "v", "configMap": {"name": "cfg"}}, {"name": "w", "configMap": {"name": "other"}}]}}}}),
                ),
                Resource::new(
                    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
                    "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}),
                ),
            ],
        };
        affix::apply(&mut m, Affix::Prefix, "p-", &config::defaults().name_prefix).unwrap();
        apply(&mut m, &config::defaults().name_reference).unwrap();
        let d = &m.resources[2].object["spec"]["template"]["spec"];
        assert_eq!(d["serviceAccountName"], json!("p-sa"));
        assert_eq!(d["volumes"][0]["configMap"]["name"], json!("p-cfg"));
        assert_eq!(d["volumes"][1]["configMap"]["name"], json!("other"));
        assert_eq!(m.resources[3].object["subjects"][0]["name"], json!("p-sa"));
    }
}
