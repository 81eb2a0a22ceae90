use super::*;

#[test]
fn create_records_an_update_entry_marking_added_maps_and_items() {
    let created = update_at(None, nginx(Some(3), "nginx:1.14"), "kubectl-create", T1);
    assert_eq!(managers(&created), ["kubectl-create/Update"]);
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["time"], T1);
    assert_eq!(
        entry["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    ".": {},
                    "f:metadata": {".": {}, "f:labels": {".": {}, "f:app": {}}},
                    // Kubernetes' typed zero value has `containers: null` (no "." here); ours
                    // starts from `{}`, so the list itself counts as added.
                    "f:spec": {".": {}, "f:containers": {".": {}, "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
                }
            }
        })
    );
}

#[test]
fn an_update_takes_ownership_of_what_it_changes_from_appliers() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    let stored = update_at(Some(&live), scaled, "kube-controller-manager", T2);
    assert_eq!(owners(&stored, &["spec", "replicas"]), ["kube-controller-manager"]);
    assert_eq!(
        fields_of(&stored, "kube-controller-manager", Operation::Update),
        json!({"f:spec": {"f:replicas": {}}})
    );
    // Re-applying the old value now conflicts with the updater.
    let err = apply_at(Some(&stored), &nginx(Some(3), "nginx:1.14"), "kubectl", false, T3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn an_update_that_changes_nothing_records_nothing() {
    let live = update_at(None, nginx(Some(3), "nginx:1.14"), "creator", T1);
    let same = update_at(Some(&live), live.clone(), "someone-else", T2);
    assert_eq!(managers(&same), ["creator/Update"]);
    assert_eq!(same["metadata"]["managedFields"][0]["time"], T1);
}

#[test]
fn removed_fields_leave_every_entry() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut edited = live.clone();
    edited["spec"].as_object_mut().unwrap().remove("replicas");
    let stored = update_at(Some(&live), edited, "kubectl-edit", T2);
    assert!(owners(&stored, &["spec", "replicas"]).is_empty());
    assert_eq!(
        managers(&stored),
        ["kubectl/Apply"],
        "the editor changed nothing it could own"
    );
}

#[test]
fn updates_by_the_same_manager_accumulate_in_one_entry_per_api_version() {
    let live = update_at(None, nginx(Some(1), "nginx:1"), "editor", T1);
    let mut second = live.clone();
    second["spec"]["paused"] = json!(true);
    let stored = update_at(Some(&live), second, "editor", T2);
    assert_eq!(managers(&stored), ["editor/Update"]);
    assert_eq!(stored["metadata"]["managedFields"][0]["time"], T2);
    assert!(owners(&stored, &["spec", "paused"]).contains(&"editor".to_string()));
    assert!(owners(&stored, &["spec", "replicas"]).contains(&"editor".to_string()));
}

#[test]
fn managed_fields_left_out_of_a_write_are_kept() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut replaced = nginx(Some(3), "nginx:1.14");
    replaced["metadata"]["labels"]["extra"] = json!("x");
    let stored = update_at(Some(&live), replaced, "kubectl-replace", T2);
    assert_eq!(managers(&stored), ["kubectl/Apply", "kubectl-replace/Update"]);
}

#[test]
fn a_single_empty_entry_clears_managed_fields() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut reset = live.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let stored = update_at(Some(&live), reset, "kubectl-patch", T2);
    assert!(stored["metadata"].get("managedFields").is_none());
}

#[test]
fn managed_fields_sent_with_a_write_replace_the_stored_ones() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut rewritten = live.clone();
    rewritten["metadata"]["managedFields"][0]["manager"] = json!("renamed");
    let stored = update_at(Some(&live), rewritten, "kubectl-patch", T2);
    assert_eq!(managers(&stored), ["renamed/Apply"]);
}

#[test]
fn status_updates_are_recorded_for_the_subresource() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14"), "kubectl", false, T1).unwrap();
    let mut with_status = live.clone();
    with_status["status"] = json!({"replicas": 3});
    let options = UpdateOptions {
        manager: "kube-controller-manager",
        subresource: Some("status"),
        scope: None,
        now: Some(T2),
    };
    record_update_with(Some(&live), &mut with_status, &options, Some(deployment_schema())).unwrap();
    let entry = with_status["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "kube-controller-manager")
        .unwrap()
        .clone();
    assert_eq!(entry["subresource"], "status");
    assert_eq!(entry["fieldsV1"], json!({"f:status": {".": {}, "f:replicas": {}}}));
}

#[test]
fn record_update_refuses_the_apply_operation_and_bad_managed_fields() {
    let mut object = nginx(Some(1), "nginx");
    let err = record_update(
        None,
        &mut object,
        "x",
        Operation::Apply,
        None,
        Some(deployment_schema()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("use apply"), "{err}");
    let mut broken = nginx(Some(1), "nginx");
    broken["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Sideways"}]);
    let mut new = broken.clone();
    new["metadata"].as_object_mut().unwrap().remove("managedFields");
    let err = record_update(
        Some(&broken),
        &mut new,
        "x",
        Operation::Update,
        None,
        Some(deployment_schema()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to decode managed fields: entry 0: unknown operation \"Sideways\""
    );
    assert_eq!(err.code(), 500);
}

#[test]
fn objects_without_schema_are_tracked_as_untyped_data() {
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"list": [1, 2], "nested": {"a": 1}}});
    let mut created = widget.clone();
    record_update(None, &mut created, "creator", Operation::Update, None, None).unwrap();
    let fields = fields_of(&created, "creator", Operation::Update);
    assert_eq!(fields["f:spec"]["f:list"], json!({}), "untyped lists are atomic");
    assert_eq!(fields["f:spec"]["f:nested"], json!({".": {}, "f:a": {}}));
}
