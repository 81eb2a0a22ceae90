use super::*;

fn pod(containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn names(object: &Value) -> Vec<String> {
    object["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_map_items_from_different_managers_merge_by_key() {
    let live = apply_at(
        None,
        &pod(json!([{"name": "app", "image": "app:1"}])),
        "app-team",
        false,
        T1,
    )
    .unwrap();
    let result = apply_at(
        Some(&live),
        &pod(json!([{"name": "sidecar", "image": "proxy:1"}])),
        "mesh",
        false,
        T2,
    )
    .unwrap();
    assert_eq!(names(&result), ["app", "sidecar"]);
    assert_eq!(
        fields_of(&result, "mesh", Operation::Apply)["f:spec"]["f:containers"],
        json!({"k:{\"name\":\"sidecar\"}": {".": {}, "f:image": {}, "f:name": {}}})
    );
    // The first manager re-applies without the sidecar: the sidecar is not its to remove.
    let again = apply_at(
        Some(&result),
        &pod(json!([{"name": "app", "image": "app:2"}])),
        "app-team",
        false,
        T3,
    )
    .unwrap();
    assert_eq!(names(&again), ["app", "sidecar"]);
}

#[test]
fn a_list_map_item_no_longer_applied_is_removed() {
    let both = pod(json!([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]));
    let live = apply_at(None, &both, "kubectl", false, T1).unwrap();
    let result = apply_at(
        Some(&live),
        &pod(json!([{"name": "a", "image": "a"}])),
        "kubectl",
        false,
        T2,
    )
    .unwrap();
    assert_eq!(names(&result), ["a"]);
}

#[test]
fn shared_items_follow_the_applied_order_and_live_only_items_keep_their_place() {
    let live = update_at(
        None,
        pod(json!([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}, {"name": "c", "image": "c"}])),
        "creator",
        T1,
    );
    let applied = pod(json!([{"name": "c", "image": "c"}, {"name": "a", "image": "a"}]));
    let result = apply_at(Some(&live), &applied, "kubectl", false, T2).unwrap();
    assert_eq!(names(&result), ["b", "c", "a"]);
    let appended = apply_at(
        Some(&live),
        &pod(json!([{"name": "d", "image": "d"}])),
        "kubectl",
        false,
        T2,
    )
    .unwrap();
    assert_eq!(names(&appended), ["a", "b", "c", "d"]);
}

#[test]
fn container_ports_are_keyed_by_port_and_defaulted_protocol() {
    let applied = pod(json!([{"name": "app", "image": "app", "ports": [{"containerPort": 80, "name": "http"}]}]));
    let result = apply_at(None, &applied, "kubectl", false, T1).unwrap();
    let ports =
        &fields_of(&result, "kubectl", Operation::Apply)["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:ports"];
    assert_eq!(
        ports,
        &json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}}})
    );
    // A UDP port with the same number is another item.
    let udp = pod(json!([{"name": "app", "image": "app",
        "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 80, "protocol": "UDP", "name": "quic"}]}]));
    let both = apply_at(Some(&result), &udp, "kubectl", false, T2).unwrap();
    assert_eq!(both["spec"]["containers"][0]["ports"].as_array().unwrap().len(), 2);
}

#[test]
fn atomic_lists_are_replaced_and_owned_whole() {
    let live = apply_at(
        None,
        &pod(json!([{"name": "app", "image": "app", "args": ["--a", "--b"]}])),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let container_fields =
        &fields_of(&live, "kubectl", Operation::Apply)["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert_eq!(container_fields["f:args"], json!({}));
    let err = apply_at(
        Some(&live),
        &pod(json!([{"name": "app", "args": ["--c"]}])),
        "other",
        false,
        T2,
    )
    .unwrap_err();
    assert!(
        err.to_string().ends_with(".spec.containers[name=\"app\"].args"),
        "{err}"
    );
    let forced = apply_at(
        Some(&live),
        &pod(json!([{"name": "app", "args": ["--c"]}])),
        "other",
        true,
        T2,
    )
    .unwrap();
    assert_eq!(forced["spec"]["containers"][0]["args"], json!(["--c"]));
}

#[test]
fn sets_are_unioned_and_each_manager_owns_its_items() {
    let cm = |finalizers: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": finalizers}});
    let live = apply_at(None, &cm(json!(["a.example.com/one"])), "one", false, T1).unwrap();
    let result = apply_at(Some(&live), &cm(json!(["b.example.com/two"])), "two", false, T2).unwrap();
    assert_eq!(
        result["metadata"]["finalizers"],
        json!(["a.example.com/one", "b.example.com/two"])
    );
    assert_eq!(
        fields_of(&result, "two", Operation::Apply),
        json!({"f:metadata": {"f:finalizers": {"v:\"b.example.com/two\"": {}}}})
    );
    let dropped = apply_at(Some(&result), &cm(json!([])), "two", false, T3).unwrap();
    assert_eq!(dropped["metadata"]["finalizers"], json!(["a.example.com/one"]));
}

#[test]
fn granular_maps_merge_per_key_and_atomic_maps_replace() {
    let live = apply_at(
        None,
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "c"}]}}),
        "one",
        false,
        T1,
    )
    .unwrap();
    let result = apply_at(
        Some(&live),
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"b": "2"}},
        "spec": {"nodeSelector": {"zone": "x"}}}),
        "two",
        true,
        T2,
    )
    .unwrap();
    assert_eq!(result["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        result["spec"]["nodeSelector"],
        json!({"zone": "x"}),
        "nodeSelector is an atomic map"
    );
    assert_eq!(owners(&result, &["spec", "nodeSelector"]), ["two"]);
    assert_eq!(owners(&result, &["metadata", "labels", "a"]), ["one"]);
}

#[test]
fn atomic_structs_such_as_label_selectors_are_single_leaves() {
    let live = apply_at(None, &nginx(Some(1), "nginx"), "kubectl", false, T1).unwrap();
    assert_eq!(
        fields_of(&live, "kubectl", Operation::Apply)["f:spec"]["f:selector"],
        json!({})
    );
    let mut changed = nginx(Some(1), "nginx");
    changed["spec"]["selector"] = json!({"matchLabels": {"app": "nginx", "tier": "web"}});
    let err = apply_at(Some(&live), &changed, "other", false, T2).unwrap_err();
    assert!(err.to_string().ends_with(": .spec.selector"), "{err}");
}

#[test]
fn custom_resources_follow_their_crd_list_types() {
    let crd_schema = TypeSchema::from_openapi_v3(&json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "routes": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["path"],
                   "items": {"type": "object", "properties": {"path": {"type": "string"}, "backend": {"type": "string"}}}},
        "hosts": {"type": "array", "items": {"type": "string"}},
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}))
    .unwrap();
    let widget = |spec: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
    let apply_crd = |live: Option<&Value>, applied: &Value, manager: &str| {
        let options = ApplyOptions {
            now: Some(T1),
            ..ApplyOptions::new(manager)
        };
        apply_with(live, applied, &options, Some(&crd_schema))
    };
    let live = apply_crd(
        None,
        &widget(json!({"routes": [{"path": "/a", "backend": "a"}], "hosts": ["x"],
        "extra": {"deep": {"k": "v"}, "list": [1]}})),
        "one",
    )
    .unwrap();
    let result = apply_crd(
        Some(&live),
        &widget(json!({"routes": [{"path": "/b", "backend": "b"}],
        "extra": {"deep": {"k2": "v2"}}})),
        "two",
    )
    .unwrap();
    assert_eq!(result["spec"]["routes"].as_array().unwrap().len(), 2);
    assert_eq!(
        result["spec"]["extra"]["deep"],
        json!({"k": "v", "k2": "v2"}),
        "untyped maps are granular"
    );
    let err = apply_crd(Some(&result), &widget(json!({"hosts": ["y"]})), "two").unwrap_err();
    assert!(
        err.to_string().ends_with("conflict with \"one\": .spec.hosts"),
        "hosts is atomic: {err}"
    );
    let fields = fields_of(&result, "two", Operation::Apply);
    // Keys of untyped maps are not declared fields, so they are members themselves (".").
    assert_eq!(fields["f:spec"]["f:extra"], json!({"f:deep": {".": {}, "f:k2": {}}}));
}

#[test]
fn reapplying_items_in_another_order_reorders_them() {
    let live = apply_at(
        None,
        &pod(json!([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let reordered = pod(json!([{"name": "b", "image": "b"}, {"name": "a", "image": "a"}]));
    let result = apply_at(Some(&live), &reordered, "kubectl", false, T2).unwrap();
    assert_eq!(names(&result), ["b", "a"]);
    assert_eq!(
        result["metadata"]["managedFields"][0]["time"], T2,
        "the order is part of the object"
    );
}

/// structured-merge-diff's `multiple_appliers_test.go` scenarios on a list of keyed items that
/// each hold a set.
mod nested_sets {
    use super::*;

    fn schema() -> TypeSchema {
        TypeSchema::from_openapi_v3(&json!({"type": "object", "properties": {"listOfLists": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}}}}}))
        .unwrap()
    }

    fn object(items: Value) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Lists", "metadata": {"name": "x"}, "listOfLists": items})
    }

    fn apply(schema: &TypeSchema, live: Option<&Value>, items: Value, manager: &str) -> Value {
        let options = ApplyOptions {
            now: Some(T1),
            ..ApplyOptions::new(manager)
        };
        apply_with(live, &object(items), &options, Some(schema)).unwrap()
    }

    fn update(schema: &TypeSchema, live: &Value, items: Value, manager: &str) -> Value {
        let mut new = live.clone();
        new["listOfLists"] = items;
        let options = UpdateOptions {
            manager,
            subresource: None,
            scope: None,
            now: Some(T2),
        };
        record_update_with(Some(live), &mut new, &options, Some(schema)).unwrap();
        new
    }

    #[test]
    fn a_dangling_sub_item_owned_by_a_controller_survives() {
        let schema = schema();
        let live = apply(
            &schema,
            None,
            json!([{"name": "a"}, {"name": "b", "value": ["c"]}]),
            "apply-one",
        );
        let live = apply(
            &schema,
            Some(&live),
            json!([{"name": "b", "value": ["d"]}]),
            "apply-two",
        );
        let live = update(
            &schema,
            &live,
            json!([{"name": "a"}, {"name": "b", "value": ["c", "d", "e"]}]),
            "controller",
        );
        let result = apply(&schema, Some(&live), json!([{"name": "a"}]), "apply-one");
        assert_eq!(
            result["listOfLists"],
            json!([{"name": "a"}, {"name": "b", "value": ["d", "e"]}])
        );
        assert_eq!(
            fields_of(&result, "controller", Operation::Update),
            json!({"f:listOfLists": {"k:{\"name\":\"b\"}": {"f:value": {"v:\"e\"": {}}}}})
        );
    }

    #[test]
    fn an_item_nobody_else_keys_goes_with_its_controller_owned_sub_items() {
        let schema = schema();
        let live = apply(
            &schema,
            None,
            json!([{"name": "a"}, {"name": "b", "value": ["c"]}]),
            "apply-one",
        );
        let live = apply(
            &schema,
            Some(&live),
            json!([{"name": "a", "value": ["b"]}]),
            "apply-two",
        );
        let live = update(
            &schema,
            &live,
            json!([{"name": "a", "value": ["b"]}, {"name": "b", "value": ["c", "d"]}]),
            "controller",
        );
        let result = apply(&schema, Some(&live), json!([{"name": "a"}]), "apply-one");
        assert_eq!(result["listOfLists"], json!([{"name": "a", "value": ["b"]}]));
    }
}
