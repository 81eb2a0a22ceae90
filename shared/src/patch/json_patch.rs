//! JSON patch (RFC 6902) with the behaviour of the library the API server and kubectl use
//! (evanphx/json-patch v4): negative list indices count from the end, `-` appends, numbers
//! compare as float64 in `test`, `replace` of a missing object key adds it, and a missing parent
//! is an error.

use super::{PatchError, json_equal, type_name};
use serde_json::Value;

/// Applies a JSON patch (a list of `{op, path, value?, from?}` operations) to `original`.
///
/// Operations apply in order to a copy; the first one that does not apply fails the whole patch.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let operations = parse(patch)?;
    let mut doc = original.clone();
    for (index, operation) in operations.iter().enumerate() {
        apply(&mut doc, operation).map_err(|reason| PatchError::ApplyJsonPatch {
            index,
            op: operation.op.to_string(),
            path: operation.path.to_string(),
            reason,
        })?;
    }
    Ok(doc)
}

struct Operation<'a> {
    op: &'a str,
    path: &'a str,
    from: Option<&'a str>,
    value: Option<&'a Value>,
}

fn parse(patch: &Value) -> Result<Vec<Operation<'_>>, PatchError> {
    let parse_error = |reason: String| PatchError::ParseJsonPatch { reason };
    let Value::Array(items) = patch else {
        return Err(parse_error(format!(
            "expected a list of operations, got {}",
            type_name(patch)
        )));
    };
    let mut operations = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(parse_error(format!(
                "operation {index} is {}, not an object",
                type_name(item)
            )));
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str);
        let op = text("op").ok_or_else(|| parse_error(format!("operation {index} has no \"op\"")))?;
        let path = text("path").ok_or_else(|| parse_error(format!("operation {index} ({op}) has no \"path\"")))?;
        let operation = Operation {
            op,
            path,
            from: text("from"),
            value: fields.get("value"),
        };
        match op {
            "add" | "replace" | "test" if operation.value.is_none() => {
                return Err(parse_error(format!("operation {index} ({op} {path}) has no \"value\"")));
            }
            "move" | "copy" if operation.from.is_none() => {
                return Err(parse_error(format!("operation {index} ({op} {path}) has no \"from\"")));
            }
            "add" | "remove" | "replace" | "move" | "copy" | "test" => {}
            other => {
                return Err(parse_error(format!(
                    "operation {index} has unknown op \"{other}\" (expected add, remove, replace, move, copy or test)"
                )));
            }
        }
        operations.push(operation);
    }
    Ok(operations)
}

fn apply(doc: &mut Value, operation: &Operation<'_>) -> Result<(), String> {
    let path = pointer(operation.path)?;
    match operation.op {
        "add" => add(doc, &path, operation.value.cloned().unwrap_or(Value::Null)),
        "remove" => remove(doc, &path).map(drop),
        "replace" => replace(doc, &path, operation.value.cloned().unwrap_or(Value::Null)),
        "move" => {
            let from_text = operation.from.unwrap_or_default();
            let from = pointer(from_text)?;
            if from == path {
                return Ok(());
            }
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return Err(format!("cannot move {from_text} into one of its own children"));
            }
            let value = remove(doc, &from).map_err(|reason| format!("from {from_text}: {reason}"))?;
            add(doc, &path, value)
        }
        "copy" => {
            let from_text = operation.from.unwrap_or_default();
            let from = pointer(from_text)?;
            let value = get(doc, &from)
                .ok_or_else(|| format!("from {from_text}: path not found"))?
                .clone();
            add(doc, &path, value)
        }
        "test" => {
            let expected = operation.value.unwrap_or(&Value::Null);
            match get(doc, &path) {
                Some(actual) if json_equal(actual, expected) => Ok(()),
                None if expected.is_null() => Ok(()),
                Some(_) => Err("test failed: the value differs".to_string()),
                None => Err("test failed: path not found".to_string()),
            }
        }
        other => Err(format!("unknown op \"{other}\"")),
    }
}

/// Splits a JSON pointer into unescaped tokens (`""` is the whole document).
fn pointer(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("invalid path \"{text}\": a JSON pointer starts with \"/\""));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Parses a list index like Go's `strconv.Atoi` (a sign is allowed); negative counts from the end.
fn index(token: &str, len: usize, inserting: bool) -> Result<usize, String> {
    let parsed: i64 = token.parse().map_err(|_| format!("\"{token}\" is not a list index"))?;
    let size = if inserting { len + 1 } else { len } as i64;
    if parsed >= size || parsed < -size {
        return Err(format!("index {token} is out of range (list has {len} items)"));
    }
    Ok(if parsed < 0 { parsed + size } else { parsed } as usize)
}

fn get<'v>(doc: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut current = doc;
    for token in path {
        current = match current {
            Value::Object(map) => map.get(token)?,
            Value::Array(items) => items.get(index(token, items.len(), false).ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

fn parent<'v>(doc: &'v mut Value, path: &[String]) -> Result<&'v mut Value, String> {
    let mut current = doc;
    for token in path {
        current = match current {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => {
                let len = items.len();
                items.get_mut(index(token, len, false)?)
            }
            _ => None,
        }
        .ok_or_else(|| "path not found (a parent is missing)".to_string())?;
    }
    Ok(current)
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, parent_path)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let at = index(last, items.len(), true)?;
                items.insert(at, value);
            }
            Ok(())
        }
        other => Err(format!("cannot add to {}", type_name(other))),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, String> {
    let Some((last, parent_path)) = path.split_last() else {
        return Err("cannot remove the whole document".to_string());
    };
    match parent(doc, parent_path)? {
        Value::Object(map) => map.shift_remove(last).ok_or_else(|| "path not found".to_string()),
        Value::Array(items) => {
            let at = index(last, items.len(), false)?;
            Ok(items.remove(at))
        }
        other => Err(format!("cannot remove from {}", type_name(other))),
    }
}

fn replace(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let slot = match parent(doc, parent_path)? {
        Value::Object(map) => {
            // json-patch v4 reads a missing key as null and replaces it: the key is added.
            map.insert(last.clone(), value);
            return Ok(());
        }
        Value::Array(items) => {
            let at = index(last, items.len(), false)?;
            &mut items[at]
        }
        other => return Err(format!("cannot replace in {}", type_name(other))),
    };
    *slot = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(doc: Value, patch: Value) -> Value {
        json_patch(&doc, &patch).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn applies_the_rfc_operations_in_order() {
        let doc = json!({"spec": {"replicas": 1, "args": ["a", "b"]}, "metadata": {"labels": {"app": "x"}}});
        let result = patched(
            doc,
            json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/args/1", "value": "inserted"},
                {"op": "add", "path": "/spec/args/-", "value": "last"},
                {"op": "remove", "path": "/metadata/labels/app"},
                {"op": "add", "path": "/metadata/labels/example.com~1team", "value": "web"},
                {"op": "copy", "from": "/spec/replicas", "path": "/spec/minReady"},
                {"op": "move", "from": "/spec/minReady", "path": "/metadata/replicasCopy"},
                {"op": "test", "path": "/spec/replicas", "value": 3.0}
            ]),
        );
        assert_eq!(
            result,
            json!({"spec": {"replicas": 3, "args": ["a", "inserted", "b", "last"]},
                   "metadata": {"labels": {"example.com/team": "web"}, "replicasCopy": 3}})
        );
    }

    #[test]
    fn negative_indices_count_from_the_end_as_in_kubernetes() {
        let doc = json!({"items": [1, 2, 3]});
        assert_eq!(
            patched(doc.clone(), json!([{"op": "remove", "path": "/items/-1"}])),
            json!({"items": [1, 2]})
        );
        assert_eq!(
            patched(doc, json!([{"op": "replace", "path": "/items/-3", "value": 0}])),
            json!({"items": [0, 2, 3]})
        );
    }

    #[test]
    fn missing_paths_and_failed_tests_are_errors_naming_the_operation() {
        let doc = json!({"spec": {"replicas": 1}, "data": {"password": "hunter2"}});
        let err = json_patch(&doc, &json!([{"op": "remove", "path": "/spec/missing"}])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to apply json patch operation 0 (remove /spec/missing): path not found"
        );
        let err = json_patch(&doc, &json!([{"op": "add", "path": "/status/phase", "value": "x"}])).unwrap_err();
        assert!(err.to_string().contains("a parent is missing"), "{err}");
        let err = json_patch(&doc, &json!([{"op": "replace", "path": "/spec/x/y", "value": 1}])).unwrap_err();
        assert!(matches!(err, PatchError::ApplyJsonPatch { index: 0, .. }));
        let err = json_patch(
            &doc,
            &json!([{"op": "test", "path": "/spec/replicas", "value": 1},
                    {"op": "test", "path": "/data/password", "value": "guess"}]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to apply json patch operation 1 (test /data/password): test failed: the value differs"
        );
        assert!(!err.to_string().contains("hunter2"));
        let err = json_patch(&doc, &json!([{"op": "add", "path": "/spec/list/9", "value": 1}])).unwrap_err();
        assert!(err.to_string().contains("path not found"), "{err}");
    }

    /// Cases recorded with `kubectl patch --local --type json|merge` (scripts/record-patch-cases).
    #[test]
    fn matches_kubectl_patch_on_recorded_json_and_merge_patches() {
        let recorded: Value = serde_json::from_str(include_str!("testdata/json-merge-cases.json")).unwrap();
        let cases = recorded["cases"].as_array().unwrap();
        assert!(cases.len() >= 14);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let result = match case["type"].as_str().unwrap() {
                "json" => json_patch(&case["original"], &case["patch"]),
                _ => crate::patch::merge_patch(&case["original"], &case["patch"]),
            };
            match (case.get("expected"), result) {
                (Some(expected), Ok(actual)) => assert_eq!(&actual, expected, "{name}"),
                (None, Err(_)) => {}
                (expected, actual) => panic!("{name}: expected {expected:?}, got {actual:?}"),
            }
        }
    }

    #[test]
    fn malformed_patches_say_what_is_wrong() {
        let doc = json!({});
        let err = json_patch(&doc, &json!({"op": "add"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse json patch: expected a list of operations, got an object"
        );
        let err = json_patch(&doc, &json!([{"op": "frobnicate", "path": "/a"}])).unwrap_err();
        assert!(err.to_string().contains("unknown op \"frobnicate\""), "{err}");
        let err = json_patch(&doc, &json!([{"op": "add", "path": "/a"}])).unwrap_err();
        assert!(err.to_string().contains("has no \"value\""), "{err}");
        let err = json_patch(&doc, &json!([{"op": "add", "path": "a", "value": 1}])).unwrap_err();
        assert!(err.to_string().contains("starts with \"/\""), "{err}");
    }

    #[test]
    fn a_failing_patch_leaves_the_original_untouched_and_moves_check_ancestry() {
        let doc = json!({"a": {"b": 1}});
        let err = json_patch(&doc, &json!([{"op": "move", "from": "/a", "path": "/a/b/c"}])).unwrap_err();
        assert!(err.to_string().contains("own children"), "{err}");
        assert_eq!(doc, json!({"a": {"b": 1}}));
        assert_eq!(
            patched(doc, json!([{"op": "add", "path": "", "value": {"whole": true}}])),
            json!({"whole": true})
        );
    }
}
