use super::*;
use crate::schema::{self, TypeSchema};
use serde_json::json;

const RECORDED: &str = include_str!("../testdata/strategic-cases.json");

fn apply(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    strategic_merge_patch(original, patch, schema::builtin_for(original))
}

/// Every case recorded with `kubectl patch --local --type strategic` (see
/// `scripts/record-patch-cases`) gives the same object, or fails where kubectl fails.
#[test]
fn matches_kubectl_patch_on_every_recorded_case() {
    let recorded: Value = serde_json::from_str(RECORDED).unwrap();
    let cases = recorded["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let result = apply(&case["original"], &case["patch"]);
        match (case.get("expected"), result) {
            (Some(expected), Ok(actual)) if &actual == expected => {}
            (Some(expected), Ok(actual)) => failures.push(format!(
                "{name}:\n  expected {}\n  actual   {}",
                serde_json::to_string(expected).unwrap(),
                serde_json::to_string(&actual).unwrap()
            )),
            (Some(_), Err(err)) => failures.push(format!("{name}: unexpected error {err}")),
            (None, Ok(actual)) => failures.push(format!("{name}: expected an error, got {actual}")),
            (None, Err(_)) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_name_the_json_path_of_the_offending_patch_item() {
    let original = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a"}]}}}});
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"image": "nameless"}]}}}});
    let err = apply(&original, &patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to apply strategic merge patch at /spec/template/spec/containers/1: \
         a list item has no merge key \"name\""
    );
    let patch = json!({"metadata": {"labels": {"$patch": "explode"}}});
    let err = apply(&json!({"metadata": {"labels": {"a": "b"}}}), &patch).unwrap_err();
    assert!(
        matches!(&err, PatchError::ApplyStrategicMerge { path, .. } if path == "/metadata/labels"),
        "{err}"
    );
    let err = apply(&original, &json!(["not", "an", "object"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to apply strategic merge patch at /: expected the patch to be an object, got a list"
    );
}

#[test]
fn types_without_schema_merge_maps_and_replace_lists() {
    let original = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 1}], "list": [1, 2],
                 "settings": {"keep": true, "drop": 1}}});
    let patch = json!({"spec": {"items": [{"name": "c", "v": 2}], "list": [3],
                                "settings": {"drop": null, "add": "x"}}});
    let result = strategic_merge_patch(&original, &patch, None).unwrap();
    assert_eq!(
        result["spec"],
        json!({"items": [{"name": "c", "v": 2}], "list": [3], "settings": {"keep": true, "add": "x"}})
    );
}

#[test]
fn custom_resources_merge_by_their_schema_list_types() {
    let crd_schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name",
                  "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}},
        "hosts": {"type": "array", "items": {"type": "string"}}}}}});
    let schema = TypeSchema::from_openapi_v3(&crd_schema).unwrap();
    let original = json!({"metadata": {"name": "w", "finalizers": ["a"]},
        "spec": {"items": [{"name": "a", "v": 1}], "hosts": ["x"]}});
    let patch = json!({"metadata": {"finalizers": ["b"]},
        "spec": {"items": [{"name": "a", "v": 2}, {"name": "b", "v": 1}], "hosts": ["y"]}});
    let result = strategic_merge_patch(&original, &patch, Some(&schema)).unwrap();
    assert_eq!(
        result["spec"]["items"],
        json!([{"name": "a", "v": 2}, {"name": "b", "v": 1}])
    );
    assert_eq!(result["spec"]["hosts"], json!(["y"]));
    // metadata comes from the built-in ObjectMeta: finalizers merge.
    assert_eq!(result["metadata"]["finalizers"], json!(["b", "a"]));
}

#[test]
fn the_original_is_not_modified_and_null_originals_are_empty_objects() {
    let original = json!({"metadata": {"labels": {"a": "1"}}});
    let before = original.clone();
    let result = strategic_merge_patch(&original, &json!({"metadata": {"labels": {"a": null}}}), None).unwrap();
    assert_eq!(original, before);
    assert_eq!(result, json!({"metadata": {"labels": {}}}));
    let created = strategic_merge_patch(&Value::Null, &json!({"a": {"b": null, "c": 1}}), None).unwrap();
    assert_eq!(created, json!({"a": {"c": 1}}));
}
