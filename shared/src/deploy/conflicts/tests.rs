use super::*;
use serde_json::json;

/// A ConfigMap whose `data.<name>` fields have `value` and are owned by `manager`.
fn config_map(fields: &[(&str, &str, &str)]) -> Value {
    let mut data = serde_json::Map::new();
    let mut by_manager: Vec<(String, serde_json::Map<String, Value>)> = Vec::new();
    for (name, value, manager) in fields {
        data.insert(name.to_string(), json!(value));
        match by_manager.iter_mut().find(|(m, _)| m == manager) {
            Some((_, owned)) => {
                owned.insert(format!("f:{name}"), json!({}));
            }
            None => {
                let mut owned = serde_json::Map::new();
                owned.insert(format!("f:{name}"), json!({}));
                by_manager.push((manager.to_string(), owned));
            }
        }
    }
    let managed: Vec<Value> = by_manager
        .into_iter()
        .map(|(m, owned)| json!({"manager": m, "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": owned}}))
        .collect();
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "name", "namespace": "namespace", "managedFields": managed}, "data": data})
}

fn local(fields: &[&str], annotations: &[(&str, &str)]) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "name", "namespace": "namespace"}, "data": {}});
    for f in fields {
        o["data"][*f] = json!("x");
    }
    if !annotations.is_empty() {
        o["metadata"]["annotations"] = annotations.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    }
    o
}

fn causes(fields: &[&str]) -> Vec<ConflictCause> {
    fields
        .iter()
        .map(|f| ConflictCause {
            field: format!(".data.{f}"),
            message: String::new(),
        })
        .collect()
}

fn remote3() -> Value {
    config_map(&[("d1", "v1", "c1"), ("d2", "v2", "m1"), ("d3", "v3", "c1")])
}

/// Kluctl's own test table (`managed_fields_test.go`), plus what the result must hold.
#[test]
fn kluctls_resolution_table() {
    struct Case {
        name: &'static str,
        remote: Value,
        conflicts: &'static [&'static str],
        annotations: &'static [(&'static str, &'static str)],
        kept: &'static [&'static str],
        lost: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "overwrite-kubectl",
            remote: config_map(&[("d1", "v1", "kubectl")]),
            conflicts: &["d1"],
            annotations: &[],
            kept: &["d1"],
            lost: &[],
        },
        Case {
            name: "lost-field",
            remote: config_map(&[("d1", "v1", "c1"), ("d2", "v2", "m1")]),
            conflicts: &["d1"],
            annotations: &[("kluctl.io/force-apply-field", "data.d3")],
            kept: &["d2"],
            lost: &["d1"],
        },
        Case {
            name: "force-apply-object",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/force-apply", "true")],
            kept: &["d1", "d2", "d3"],
            lost: &[],
        },
        Case {
            name: "force-apply-field",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/force-apply-field", "data.d1")],
            kept: &["d1", "d2"],
            lost: &["d3"],
        },
        Case {
            name: "force-apply-field-xxx",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/force-apply-field-123", "data.d3")],
            kept: &["d2", "d3"],
            lost: &["d1"],
        },
        Case {
            name: "ignore-conflicts",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/ignore-conflicts", "true")],
            kept: &["d2"],
            lost: &[],
        },
        Case {
            name: "ignore-conflicts-field",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/ignore-conflicts-field", "data.d1")],
            kept: &["d2"],
            lost: &["d3"],
        },
        Case {
            name: "ignore-conflicts-field-xxx",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[("kluctl.io/ignore-conflicts-field-123", "data.d3")],
            kept: &["d2"],
            lost: &["d1"],
        },
        Case {
            name: "force-apply-object-ignore-conflicts",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[
                ("kluctl.io/force-apply", "true"),
                ("kluctl.io/ignore-conflicts", "true"),
            ],
            kept: &["d2"],
            lost: &[],
        },
        Case {
            name: "force-apply-object-ignore-conflicts-field",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[
                ("kluctl.io/force-apply", "true"),
                ("kluctl.io/ignore-conflicts-field", "data.d1"),
            ],
            kept: &["d2", "d3"],
            lost: &[],
        },
        Case {
            name: "force-apply-field-ignore-conflicts",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[
                ("kluctl.io/force-apply-field", "data.d1"),
                ("kluctl.io/ignore-conflicts", "true"),
            ],
            kept: &["d2"],
            lost: &[],
        },
        Case {
            name: "force-apply-field-ignore-conflicts-field",
            remote: remote3(),
            conflicts: &["d1", "d3"],
            annotations: &[
                ("kluctl.io/force-apply-field", "data.d1"),
                ("kluctl.io/ignore-conflicts-field", "data.d3"),
            ],
            kept: &["d1", "d2"],
            lost: &[],
        },
    ];
    let resolver = ConflictResolver::new(&[]).unwrap();
    for case in cases {
        let fields: Vec<&str> = case.remote["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let applied = local(&fields, case.annotations);
        let r = resolver
            .resolve(&applied, &case.remote, &causes(case.conflicts))
            .unwrap();
        let kept: Vec<&str> = r.object["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(kept, case.kept, "{}", case.name);
        let lost: Vec<String> = r.lost.iter().map(|l| l.field.clone()).collect();
        let expected: Vec<String> = case.lost.iter().map(|f| format!(".data.{f}")).collect();
        assert_eq!(lost, expected, "{}", case.name);
        assert_eq!(
            r.object["metadata"], applied["metadata"],
            "{}: metadata must be untouched",
            case.name
        );
    }
}

#[test]
fn warnings_name_the_manager_and_equal_values_are_silent() {
    let remote = config_map(&[("d1", "x", "c1"), ("d2", "v2", "c1")]);
    let r = ConflictResolver::new(&[])
        .unwrap()
        .resolve(&local(&["d1", "d2"], &[]), &remote, &causes(&["d1", "d2"]))
        .unwrap();
    // d1 has the same value on both sides: dropping it changes nothing, so no warning.
    assert_eq!(r.dropped_silently, vec![".data.d1"]);
    assert_eq!(r.lost.len(), 1);
    assert_eq!(
        r.lost[0].warning(),
        "conflict with \"c1\". Not updating field '.data.d2' as we lost field ownership"
    );
    let with_message = LostOwnership {
        field: ".metadata.labels.app.kubernetes.io/instance".into(),
        message: "conflict with \"helm\" using networking.k8s.io/v1".into(),
        managers: vec!["helm".into()],
    };
    assert_eq!(
        with_message.warning(),
        "conflict with \"helm\" using networking.k8s.io/v1. Not updating field '.metadata.labels.app.kubernetes.io/instance' as we lost field ownership"
    );
}

#[test]
fn project_rules_by_path_regex_and_manager_with_selectors() {
    let remote = remote3();
    let applied = local(&["d1", "d2", "d3"], &[]);
    let rule = |field_path: &[&str], regex: &[&str], manager: &[&str], action| ConflictResolutionRule {
        field_path: field_path.iter().map(|s| s.to_string()).collect(),
        field_path_regex: regex.iter().map(|s| s.to_string()).collect(),
        manager: manager.iter().map(|s| s.to_string()).collect(),
        action,
        group: None,
        kind: Some("ConfigMap".into()),
        namespace: None,
        name: None,
    };
    let resolve = |rules: &[ConflictResolutionRule]| {
        ConflictResolver::new(rules)
            .unwrap()
            .resolve(&applied, &remote, &causes(&["d1", "d3"]))
            .unwrap()
    };

    let r = resolve(&[rule(&["data.d1"], &[], &[], ConflictAction::ForceApply)]);
    assert_eq!(r.overwritten, vec![".data.d1"]);
    let r = resolve(&[rule(&[], &[r"data\.d[13]"], &[], ConflictAction::Ignore)]);
    assert_eq!((r.lost.len(), r.dropped_silently.len()), (0, 2));
    let r = resolve(&[rule(&[], &[], &["^c1$"], ConflictAction::ForceApply)]);
    assert_eq!(r.overwritten, vec![".data.d1", ".data.d3"]);
    // Later rules win; a rule for another kind does not apply.
    let r = resolve(&[
        rule(&[], &[], &["c1"], ConflictAction::ForceApply),
        rule(&["data.d3"], &[], &[], ConflictAction::Ignore),
    ]);
    assert_eq!(
        (r.overwritten.clone(), r.dropped_silently.clone()),
        (vec![".data.d1".to_string()], vec![".data.d3".to_string()])
    );
    let other_kind = ConflictResolutionRule {
        kind: Some("Secret".into()),
        ..rule(&["data.d1"], &[], &[], ConflictAction::ForceApply)
    };
    assert!(resolve(&[other_kind]).overwritten.is_empty());
}

#[test]
fn hpa_owned_replicas_are_dropped_without_a_warning() {
    let remote = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod",
        "managedFields": [
            {"manager": "kluctl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:template": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ]},
        "spec": {"replicas": 7, "template": {}}});
    let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"replicas": 2, "template": {}}});
    let cause = vec![ConflictCause {
        field: ".spec.replicas".into(),
        message: "conflict with \"kube-controller-manager\" with subresource \"scale\" using apps/v1".into(),
    }];
    let r = ConflictResolver::new(&[])
        .unwrap()
        .resolve(&applied, &remote, &cause)
        .unwrap();
    assert!(r.lost.is_empty());
    assert_eq!(r.dropped_silently, vec![".spec.replicas"]);
    assert!(
        r.object["spec"].get("replicas").is_none(),
        "replicas must not be re-applied"
    );
}

#[test]
fn list_item_conflicts_resolve_by_key() {
    let remote = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod",
        "managedFields": [{"manager": "istio-injector", "operation": "Update",
            "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}}}]},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "s"}, {"name": "app", "image": "patched"}]}}}});
    let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "mine", "ports": [{"containerPort": 80}]}]}}}});
    let cause = vec![ConflictCause {
        field: ".spec.template.spec.containers[name=\"app\"].image".into(),
        message: "conflict with \"istio-injector\"".into(),
    }];
    let r = ConflictResolver::new(&[])
        .unwrap()
        .resolve(&applied, &remote, &cause)
        .unwrap();
    assert_eq!(r.lost.len(), 1);
    assert_eq!(
        r.object["spec"]["template"]["spec"]["containers"][0],
        json!({"name": "app", "ports": [{"containerPort": 80}]})
    );
}

#[test]
fn parses_409_statuses_and_reports_unusable_ones() {
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
        "message": "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.key",
        "details": {"name": "cfg", "kind": "configmaps", "causes": [
            {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-client-side-apply\" using v1", "field": ".data.key"}]}});
    assert_eq!(
        conflict_causes(&status).unwrap(),
        vec![ConflictCause {
            field: ".data.key".into(),
            message: "conflict with \"kubectl-client-side-apply\" using v1".into()
        }]
    );
    // `type` is read too, when `reason` is absent.
    let typed = json!({"details": {"causes": [{"type": "FieldManagerConflict", "field": ".data.key"}]}});
    assert_eq!(conflict_causes(&typed).unwrap()[0].field, ".data.key");
    assert!(conflict_causes(&json!({"kind": "Status"})).is_err());
    let other = json!({"details": {"causes": [{"type": "FieldValueInvalid", "field": "x"}]}});
    assert!(
        conflict_causes(&other)
            .unwrap_err()
            .to_string()
            .contains("unknown cause type 'FieldValueInvalid'")
    );

    let err = ConflictResolver::new(&[])
        .unwrap()
        .resolve(&local(&["d1"], &[]), &remote3(), &causes(&["nope"]))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("failed to resolve the conflict on field '.data.nope'"),
        "{err}"
    );
}

#[test]
fn rules_are_validated_and_deserialized() {
    let rules: Vec<ConflictResolutionRule> = crate::yaml::parse_typed(
        "- kind: ValidatingWebhookConfiguration\n  fieldPath: webhooks.*.*\n  action: ignore\n- manager: cert-manager-cainjector\n  action: force-apply\n",
        "deployment.yaml",
    )
    .unwrap();
    assert_eq!(rules[0].action, ConflictAction::Ignore);
    assert_eq!(rules[1].manager, vec!["cert-manager-cainjector"]);
    assert!(ConflictResolver::new(&rules).is_ok());
    let empty = ConflictResolutionRule {
        manager: vec![],
        ..rules[1].clone()
    };
    assert!(
        ConflictResolver::new(&[empty])
            .unwrap_err()
            .to_string()
            .contains("one of fieldPath, fieldPathRegex or manager")
    );
    let bad = ConflictResolutionRule {
        manager: vec!["(".into()],
        ..rules[1].clone()
    };
    assert!(ConflictResolver::new(&[bad]).is_err());
    assert!(
        crate::yaml::parse_typed::<Vec<ConflictResolutionRule>>("- manager: x\n  action: overwrite\n", "d.yaml")
            .is_err()
    );
    let bad_annotation = local(&["d1"], &[("kluctl.io/force-apply-field", "data.[")]);
    assert!(
        ConflictResolver::new(&[])
            .unwrap()
            .resolve(&bad_annotation, &remote3(), &causes(&["d1"]))
            .is_err()
    );
}
