//! JSON merge patch (RFC 7386), as the API server applies `application/merge-patch+json`:
//! objects merge recursively, `null` deletes, anything else (lists included) replaces, and nulls
//! inside newly added objects are dropped.

use super::{PatchError, type_name};
use serde_json::{Map, Value};

/// Applies a JSON merge patch to `original`. The patch must be a JSON object (it patches an
/// object); `original` may be anything, a non-object is replaced.
pub fn merge_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(patch) = patch else {
        return Err(PatchError::ApplyMergePatch {
            reason: format!("expected the patch to be an object, got {}", type_name(patch)),
        });
    };
    let mut result = original.clone();
    merge_into(&mut result, patch);
    Ok(result)
}

fn merge_into(target: &mut Value, patch: &Map<String, Value>) {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.shift_remove(key);
            }
            Value::Object(inner) => merge_into(target.entry(key.clone()).or_insert(Value::Null), inner),
            other => {
                target.insert(key.clone(), without_nulls(other));
            }
        }
    }
}

/// A value as it is added: nulls in objects mean "absent" (list items stay as written).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_the_rfc_7386_examples() {
        // The table of examples in RFC 7386, appendix A (object-valued patches).
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (original, patch, expected) in cases {
            assert_eq!(
                merge_patch(&original, &patch).unwrap(),
                expected,
                "{original} + {patch}"
            );
        }
    }

    #[test]
    fn patches_kubernetes_objects_and_keeps_key_order() {
        let deployment = json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
                                "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a"}]}}}});
        let patch = json!({"metadata": {"labels": {"tier": null, "team": "x"}},
                           "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "b"}]}}}});
        let result = merge_patch(&deployment, &patch).unwrap();
        assert_eq!(
            result,
            json!({"metadata": {"name": "web", "labels": {"app": "web", "team": "x"}},
                   "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "b"}]}}}})
        );
        let keys: Vec<_> = result["metadata"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "labels"]);
    }

    #[test]
    fn the_patch_must_be_an_object() {
        let err = merge_patch(&json!({}), &json!(["a"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to apply merge patch: expected the patch to be an object, got a list"
        );
    }
}
