//! Walks a field spec path (`spec/template/spec/containers[]/image`) through an object, as
//! Kustomize's `fieldspec.Filter` does: sequences on the way are entered element by element,
//! missing maps are created only when the spec says `create` and the transformer can create,
//! a null field becomes the kind the path expects, and `\/` escapes a slash in a key.

use super::resid::Gvk;
use super::types::FieldSpec;
use serde_json::{Map, Value};

/// What a transformer creates at the end of a path when the field is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Never create (name references, images).
    Nothing,
    /// A string (namespace, replicas).
    Scalar,
    /// A map (labels, annotations).
    Map,
}

/// Splits a field spec path on `/`, keeping `\/` as a literal slash.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for (i, piece) in path.split('/').enumerate() {
        match parts.last_mut() {
            Some(last) if i > 0 && last.ends_with('\\') => {
                last.pop();
                last.push('/');
                last.push_str(piece);
            }
            _ => parts.push(piece.to_string()),
        }
    }
    parts
}

/// Whether a spec applies to a GVK (empty fields match anything).
pub fn spec_selects(spec: &FieldSpec, gvk: &Gvk) -> bool {
    gvk.is_selected_by(&spec.group, &spec.version, &spec.kind)
}

/// Calls `set` on every node the spec's path reaches in `object`, creating fields on the way
/// when `spec.create` and `create` allow it.
pub fn apply(
    object: &mut Value,
    spec: &FieldSpec,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let segments = split_path(&spec.path);
    let create = if spec.create { create } else { Create::Nothing };
    walk(object, &segments, create, set).map_err(|e| format!("field {}: {e}", spec.path))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Sequence,
    Scalar,
}

fn empty(kind: Kind) -> Value {
    match kind {
        Kind::Map => Value::Object(Map::new()),
        Kind::Sequence => Value::Array(Vec::new()),
        Kind::Scalar => Value::String(String::new()),
    }
}

fn walk(
    node: &mut Value,
    segments: &[String],
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some(segment) = segments.first() else {
        return set(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, segments, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_sequence) = match segment.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (segment.as_str(), false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".to_string());
            }
            let kind = if create == Create::Nothing || is_sequence {
                is_sequence.then_some(Kind::Sequence)
            } else if segments.len() == 1 {
                Some(if create == Create::Map { Kind::Map } else { Kind::Scalar })
            } else {
                Some(Kind::Map)
            };
            let creates = create != Create::Nothing && !is_sequence;
            if !map.contains_key(name) {
                if !creates {
                    return Ok(());
                }
                map.insert(name.to_string(), Value::Null);
            }
            let field = map.get_mut(name).expect("the field exists now");
            if field.is_null()
                && let Some(kind) = kind
            {
                *field = empty(kind);
            }
            walk(field, &segments[1..], create, set)
        }
        _ => Err(format!("expected a map or a list at {segment:?}, found a scalar")),
    }
}

/// Sets `key: value` in a map node, refusing other node kinds.
pub fn set_entry(node: &mut Value, key: &str, value: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            map.insert(key.to_string(), Value::String(value.to_string()));
            Ok(())
        }
        _ => Err(format!("expected a map to set {key:?} in, found {}", kind_name(node))),
    }
}

/// A value's node kind, for messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) | Value::Number(_) | Value::String(_) => "a scalar",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            path: path.to_string(),
            create,
            ..FieldSpec::default()
        }
    }

    #[test]
    fn splits_paths_with_escaped_slashes() {
        assert_eq!(
            split_path("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
            vec!["metadata", "annotations", "nginx.ingress.kubernetes.io/auth-secret"]
        );
    }

    #[test]
    fn creates_maps_only_when_asked() {
        let mut o = json!({"spec": {}});
        let mut set = |n: &mut Value| set_entry(n, "a", "b");
        apply(&mut o, &spec("spec/selector/matchLabels", true), Create::Map, &mut set).unwrap();
        assert_eq!(o, json!({"spec": {"selector": {"matchLabels": {"a": "b"}}}}));
        let mut o = json!({"spec": {}});
        apply(&mut o, &spec("spec/selector/matchLabels", false), Create::Map, &mut set).unwrap();
        assert_eq!(o, json!({"spec": {}}));
    }

    #[test]
    fn enters_sequences_and_turns_hinted_nulls_into_lists() {
        let mut o = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}], "initContainers": null}});
        let mut seen = Vec::new();
        let mut set = |n: &mut Value| {
            seen.push(n.as_str().unwrap_or_default().to_string());
            Ok(())
        };
        apply(
            &mut o,
            &spec("spec/containers[]/image", true),
            Create::Nothing,
            &mut set,
        )
        .unwrap();
        apply(
            &mut o,
            &spec("spec/initContainers[]/image", true),
            Create::Nothing,
            &mut set,
        )
        .unwrap();
        assert_eq!(seen, vec!["a", "b"]);
        assert_eq!(o["spec"]["initContainers"], json!([]));
    }

    #[test]
    fn refuses_to_walk_through_scalars() {
        let mut o = json!({"spec": {"selector": "x"}});
        let mut set = |n: &mut Value| set_entry(n, "a", "b");
        let err = apply(&mut o, &spec("spec/selector/matchLabels", true), Create::Map, &mut set).unwrap_err();
        assert!(err.contains("spec/selector/matchLabels"), "{err}");
    }
}
