use super::*;

#[test]
fn apply_creates_the_object_with_one_apply_entry() {
    let applied = nginx(Some(3), "nginx:1.14");
    let created = apply_at(None, &applied, "kubectl", false, T1).unwrap();
    assert_eq!(created["spec"]["replicas"], 3);
    assert_eq!(managers(&created), ["kubectl/Apply"]);
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["time"], T1);
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(
        entry["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                }
            }
        })
    );
    // Identity and type fields are never owned.
    assert!(entry["fieldsV1"]["f:metadata"].get("f:name").is_none());
    assert!(entry["fieldsV1"].get("f:apiVersion").is_none());
}

#[test]
fn reapplying_the_same_configuration_changes_nothing() {
    let applied = nginx(Some(3), "nginx:1.14");
    let first = apply_at(None, &applied, "kubectl", false, T1).unwrap();
    let second = apply_at(Some(&first), &applied, "kubectl", false, T2).unwrap();
    assert_eq!(second, first, "a no-op apply keeps the object and the entry's time");
}

#[test]
fn a_changed_value_updates_the_object_and_the_entry_time() {
    let first = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let second = apply_at(Some(&first), &nginx(Some(3), "nginx:1.16"), "kubectl", false, T2).unwrap();
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.16"
    );
    assert_eq!(second["metadata"]["managedFields"][0]["time"], T2);
}

#[test]
fn fields_of_the_live_object_that_are_not_applied_are_kept() {
    let mut live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    live["metadata"]["uid"] = json!("1234");
    live["metadata"]["resourceVersion"] = json!("7");
    live["status"] = json!({"replicas": 3});
    let result = apply_at(Some(&live), &nginx(Some(3), "nginx:1.16"), "kubectl", false, T2).unwrap();
    assert_eq!(result["metadata"]["uid"], "1234");
    assert_eq!(result["status"], json!({"replicas": 3}));
}

#[test]
fn another_manager_changing_an_owned_field_conflicts() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let err = apply_at(Some(&live), &nginx(Some(5), "nginx:1.14"), "other", false, T2).unwrap_err();
    let SsaError::Conflicts(conflicts) = &err else {
        panic!("expected conflicts, got {err}");
    };
    assert_eq!(conflicts.conflicts.len(), 1);
    assert_eq!(conflicts.conflicts[0].path.to_string(), ".spec.replicas");
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"
    );
    assert_eq!(err.code(), 409);
}

#[test]
fn the_same_value_is_shared_ownership_not_a_conflict() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let shared = apply_at(Some(&live), &nginx(Some(3), "nginx:1.14"), "other", false, T2).unwrap();
    assert_eq!(owners(&shared, &["spec", "replicas"]), ["kubectl", "other"]);
    // Nothing changed, so the new entry has no time.
    let other = shared["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "other")
        .unwrap();
    assert!(other.get("time").is_none());
}

#[test]
fn force_moves_ownership_and_drops_the_emptied_entry() {
    let live = apply_at(
        None,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm"}, "data": {"a": "1"}}),
        "first",
        false,
        T1,
    )
    .unwrap();
    let forced = apply_at(
        Some(&live),
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm"}, "data": {"a": "2"}}),
        "second",
        true,
        T2,
    )
    .unwrap();
    assert_eq!(forced["data"]["a"], "2");
    assert_eq!(
        managers(&forced),
        ["second/Apply"],
        "first owned nothing else, so its entry is gone"
    );
}

#[test]
fn force_keeps_the_other_managers_remaining_fields() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut scale = nginx(Some(5), "nginx:1.14");
    scale["spec"] = json!({"replicas": 5});
    let forced = apply_at(Some(&live), &scale, "autoscaler", true, T2).unwrap();
    assert_eq!(forced["spec"]["replicas"], 5);
    assert_eq!(owners(&forced, &["spec", "replicas"]), ["autoscaler"]);
    assert!(
        fields_of(&forced, "kubectl", Operation::Apply)["f:spec"]
            .get("f:replicas")
            .is_none()
    );
    assert!(
        fields_of(&forced, "kubectl", Operation::Apply)["f:spec"]
            .get("f:template")
            .is_some()
    );
}

#[test]
fn fields_no_longer_applied_are_removed_when_nobody_else_owns_them() {
    let mut with_label = nginx(Some(3), "nginx:1.14");
    with_label["metadata"]["labels"]["tier"] = json!("web");
    let live = apply_at(None, &with_label, "kubectl", false, T1).unwrap();
    let result = apply_at(Some(&live), &nginx(None, "nginx:1.14"), "kubectl", false, T2).unwrap();
    assert!(result["metadata"]["labels"].get("tier").is_none());
    assert!(result["spec"].get("replicas").is_none());
    assert!(
        fields_of(&result, "kubectl", Operation::Apply)["f:spec"]
            .get("f:replicas")
            .is_none()
    );
}

#[test]
fn fields_no_longer_applied_stay_when_another_manager_owns_them() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let shared = apply_at(
        Some(&live),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx"}, "spec": {"replicas": 3}}),
        "helper",
        false,
        T2,
    )
    .unwrap();
    let result = apply_at(Some(&shared), &nginx(None, "nginx:1.14"), "kubectl", false, T3).unwrap();
    assert_eq!(result["spec"]["replicas"], 3);
    assert_eq!(owners(&result, &["spec", "replicas"]), ["helper"]);
}

#[test]
fn applied_managed_fields_are_rejected() {
    let mut applied = nginx(Some(1), "nginx");
    applied["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Apply"}]);
    let err = apply_at(None, &applied, "kubectl", false, T1).unwrap_err();
    assert_eq!(err.to_string(), "metadata.managedFields must be nil");
    assert_eq!(err.code(), 400);
    assert_eq!(err.status()["reason"], "BadRequest");
}

#[test]
fn an_apply_with_another_api_version_is_recorded_with_it() {
    let live = apply_at(
        None,
        &json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"}, "spec": {"maxReplicas": 3}}),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let v2 = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"}, "spec": {"maxReplicas": 4}});
    let result = apply_at(Some(&live), &v2, "kubectl", false, T2).unwrap();
    let entries = result["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "Apply entries are per manager, whatever the version");
    assert_eq!(entries[0]["apiVersion"], "autoscaling/v2");
}

#[test]
fn an_update_manager_is_named_with_its_api_version_in_conflicts() {
    let created = update_at(None, nginx(Some(3), "nginx:1.14"), "kubectl-client-side-apply", T1);
    let err = apply_at(Some(&created), &nginx(Some(4), "nginx:1.14"), "ci", false, T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let status = err.status();
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas",
            "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"kubectl-client-side-apply\" using apps/v1", "field": ".spec.replicas"}]},
            "code": 409
        })
    );
}

#[test]
fn several_conflicts_are_listed_per_manager() {
    let created = update_at(None, nginx(Some(3), "nginx:1.14"), "creator", T1);
    let err = apply_at(Some(&created), &nginx(Some(4), "nginx:2"), "ci", false, T2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 2 conflicts: conflicts with \"creator\" using apps/v1:\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
    let causes = err.status()["details"]["causes"].as_array().unwrap().len();
    assert_eq!(causes, 2);
}

#[test]
fn objects_without_managed_fields_belong_to_before_first_apply() {
    let legacy = nginx(Some(3), "nginx:1.14");
    let err = apply_at(Some(&legacy), &nginx(Some(4), "nginx:1.14"), "ci", false, T1).unwrap_err();
    assert!(
        err.to_string()
            .contains("conflict with \"before-first-apply\" using apps/v1: .spec.replicas"),
        "{err}"
    );
    let ok = apply_at(Some(&legacy), &nginx(Some(3), "nginx:1.14"), "ci", false, T1).unwrap();
    assert_eq!(managers(&ok), ["ci/Apply", "before-first-apply/Update"]);
}

#[test]
fn values_that_do_not_fit_the_schema_are_reported_like_the_api_server() {
    let mut bad = nginx(Some(1), "nginx");
    bad["spec"]["template"]["spec"]["containers"] = json!([{"image": "nameless"}]);
    let err = apply_at(None, &bad, "kubectl", false, T1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to create typed patch object (apps/v1, Kind=Deployment): .spec.template.spec.containers: \
         element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)"
    );
    assert_eq!(err.code(), 500);
    let mut duplicated = nginx(Some(1), "nginx");
    duplicated["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]);
    let err = apply_at(None, &duplicated, "kubectl", false, T1).unwrap_err();
    assert!(
        err.to_string().ends_with("duplicate entries for key [name=\"a\"]"),
        "{err}"
    );
    let mut wrong_type = nginx(Some(1), "nginx");
    wrong_type["spec"]["replicas"] = json!({"three": 3});
    let err = apply_at(None, &wrong_type, "kubectl", false, T1).unwrap_err();
    assert!(
        err.to_string().ends_with(".spec.replicas: expected a scalar, got map"),
        "{err}"
    );
}

#[test]
fn status_subresource_applies_own_only_status() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let status = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"replicas": 9}, "status": {"replicas": 3, "readyReplicas": 2}});
    let options = ApplyOptions {
        subresource: Some("status"),
        now: Some(T2),
        ..ApplyOptions::new("controller")
    };
    let result = apply_with(Some(&live), &status, &options, Some(deployment_schema())).unwrap();
    let entry = result["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "controller")
        .unwrap()
        .clone();
    assert_eq!(entry["subresource"], "status");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:status": {"f:readyReplicas": {}, "f:replicas": {}}})
    );
}

#[test]
fn the_main_resource_of_a_kind_with_status_does_not_own_status() {
    let options = ApplyOptions {
        scope: Some(FieldScope::AllButStatus),
        now: Some(T1),
        ..ApplyOptions::new("kubectl")
    };
    let mut applied = nginx(Some(1), "nginx");
    applied["status"] = json!({"replicas": 1});
    let result = apply_with(None, &applied, &options, Some(deployment_schema())).unwrap();
    assert!(
        fields_of(&result, "kubectl", Operation::Apply)
            .get("f:status")
            .is_none()
    );
}

#[test]
fn explicit_nulls_do_not_reach_the_stored_object() {
    let live = apply_at(None, &nginx(Some(3), "nginx"), "kubectl", false, T1).unwrap();
    let mut applied = nginx(None, "nginx");
    applied["spec"]["paused"] = Value::Null;
    let result = apply_at(Some(&live), &applied, "kubectl", false, T2).unwrap();
    assert!(result["spec"].get("paused").is_none());
}

#[test]
fn a_reapply_cleans_nulls_a_previous_write_stored() {
    let live = apply_at(None, &nginx(Some(3), "nginx"), "kubectl", false, T1).unwrap();
    let mut with_null = live.clone();
    with_null["spec"]["paused"] = Value::Null;
    let stored = update_at(Some(&live), with_null, "editor", T2);
    let result = apply_at(Some(&stored), &nginx(Some(3), "nginx"), "kubectl", false, T3).unwrap();
    assert!(result["spec"].get("paused").is_none());
}
