//! Legacy `vars`: `$(NAME)` references in the configured fields (`varReference`: container
//! commands, args, env values, ...) are replaced by a field of a named object, after all names
//! are final. `$$` escapes a `$`; a reference to an unknown var stays as written.

use crate::kustomize::fieldspec::{self, Create, spec_selects};
use crate::kustomize::resid::Gvk;
use crate::kustomize::resmap::ResMap;
use crate::kustomize::types::{FieldSpec, Var};
use crate::kustomize::yamlpath::split_dotted;
use serde_json::Value;
use std::collections::HashMap;

/// The GVK a var's `objref` names (`apiVersion` wins over `group`/`version`).
pub fn objref_gvk(var: &Var) -> Gvk {
    let target = &var.objref;
    let mut gvk = Gvk {
        group: target.group.clone(),
        version: target.version.clone(),
        kind: target.kind.clone(),
    };
    if !target.api_version.is_empty() {
        match target.api_version.split_once('/') {
            Some((group, version)) => {
                gvk.group = group.to_string();
                gvk.version = version.to_string();
            }
            None => gvk.version = target.api_version.clone(),
        }
    }
    gvk
}

/// Records on the resource a var names that it is that var's source (Kustomize's `MergeVars`).
pub fn bind(resmap: &mut ResMap, var: &Var) -> Result<(), String> {
    let gvk = objref_gvk(var);
    let namespace = &var.objref.namespace;
    let exact_namespace = !namespace.is_empty() || gvk.is_cluster_scoped();
    let wanted = crate::kustomize::resid::ResId {
        gvk: gvk.clone(),
        name: var.objref.name.clone(),
        namespace: namespace.clone(),
    };
    let matches = resmap.matching_any_id(|id| {
        id.name == wanted.name && id.gvk == wanted.gvk && (!exact_namespace || id.same_namespace(&wanted))
    });
    if matches.len() > 1 {
        return Err(format!(
            "var {:?} names {} objects ({} {:?}); add a namespace to its objref",
            var.name,
            matches.len(),
            gvk.kind,
            var.objref.name
        ));
    }
    if let Some(index) = matches.first() {
        resmap.resources[*index].referenced_vars.push(var.name.clone());
    }
    Ok(())
}

/// Resolves every var and replaces its references in the configured fields.
pub fn resolve(resmap: &mut ResMap, vars: &[Var], specs: &[FieldSpec]) -> Result<(), String> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    for var in vars {
        let source = resmap
            .resources
            .iter()
            .find(|r| r.referenced_vars.contains(&var.name))
            .ok_or_else(|| {
                format!(
                    "var {:?} names {} {:?}, which is not among the resources",
                    var.name,
                    objref_gvk(var).kind,
                    var.objref.name
                )
            })?;
        let path = if var.fieldref.field_path.is_empty() {
            "metadata.name"
        } else {
            &var.fieldref.field_path
        };
        let value = lookup(&source.object, path)
            .filter(|v| !v.is_object() && !v.is_array())
            .ok_or_else(|| format!("var {:?}: field {path:?} not found in {}", var.name, source.cur_id()))?;
        values.insert(var.name.clone(), value.clone());
    }
    for resource in &mut resmap.resources {
        let gvk = resource.gvk();
        for spec in specs.iter().filter(|s| spec_selects(s, &gvk)) {
            let mut set = |node: &mut Value| expand_node(node, &values);
            fieldspec::apply(&mut resource.object, spec, Create::Nothing, &mut set)?;
        }
    }
    Ok(())
}

/// `ports[0]` reads as `ports`, `0` (kyaml's `convertSliceIndex`).
fn slice_indexes(parts: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for part in parts {
        if let Some(open) = part.rfind('[')
            && part.ends_with(']')
            && part[open + 1..part.len() - 1].bytes().all(|b| b.is_ascii_digit())
            && part.len() > open + 2
        {
            if open > 0 {
                out.push(part[..open].to_string());
            }
            out.push(part[open + 1..part.len() - 1].to_string());
        } else {
            out.push(part);
        }
    }
    out
}

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = object;
    for part in slice_indexes(split_dotted(path)) {
        node = match node {
            Value::Object(map) => map.get(&part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn expand_node(node: &mut Value, values: &HashMap<String, Value>) -> Result<(), String> {
    match node {
        Value::String(s) => {
            *node = expand(s, values);
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => *item = expand(s, values),
                    _ => return Err("var references in lists must be strings".to_string()),
                }
            }
            Ok(())
        }
        Value::Object(map) => {
            for value in map.values_mut() {
                if let Value::String(s) = value {
                    *value = expand(s, values);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Kubernetes' `$(VAR)` expansion; a string that is exactly one reference takes the value's type.
fn expand(input: &str, values: &HashMap<String, Value>) -> Value {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let (read, is_var, advance) = match rest.as_bytes()[0] {
                b'$' => ("$".to_string(), false, 1),
                b'(' => match rest[1..].find(')') {
                    Some(end) => (rest[1..1 + end].to_string(), true, end + 2),
                    None => ("$(".to_string(), false, 1),
                },
                _ => {
                    let c = rest.chars().next().unwrap_or_default();
                    (format!("${c}"), false, c.len_utf8())
                }
            };
            if is_var {
                match values.get(&read) {
                    Some(value) if input == format!("$({read})") => return value.clone(),
                    Some(value) => out.push_str(&display(value)),
                    None => out.push_str(&format!("$({read})")),
                }
            } else {
                out.push_str(&read);
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    Value::String(out)
}

/// Go's `%v` of a decoded value.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_slice_indexes_in_field_paths() {
        let object = json!({"spec": {"ports": [{"port": 80}, {"port": 443}]}});
        assert_eq!(lookup(&object, "spec.ports[1].port"), Some(&json!(443)));
        assert_eq!(lookup(&object, "spec.ports.0.port"), Some(&json!(80)));
    }

    #[test]
    fn expands_like_kubernetes() {
        let values: HashMap<String, Value> = [("A".to_string(), json!("x")), ("N".to_string(), json!(5))].into();
        assert_eq!(expand("$(A)-$(B)-$$(A)-$x", &values), json!("x-$(B)-$(A)-$x"));
        assert_eq!(expand("$(N)", &values), json!(5));
        assert_eq!(expand("p$(N)", &values), json!("p5"));
        assert_eq!(expand("$(A", &values), json!("$(A"));
        assert_eq!(expand("trailing$", &values), json!("trailing$"));
    }
}
