use super::*;
use serde_json::json;

fn object(extra: Value) -> Value {
    let mut o = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "test", "namespace": "ns"}});
    merge(&mut o, extra);
    o
}

fn result(extra: Value) -> Value {
    let mut o = object(json!({"metadata": {"labels": {}, "annotations": {}}}));
    merge(&mut o, extra);
    o
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn normalize(remote: Value, local: Value, rules: &[IgnoreForDiffRule]) -> Value {
    Normalizer::new(rules, IgnoreFlags::default())
        .unwrap()
        .normalize(&remote, &local)
        .unwrap()
}

fn rule(paths: &[&str], regexes: &[&str]) -> IgnoreForDiffRule {
    IgnoreForDiffRule {
        field_path: paths.iter().map(|s| s.to_string()).collect(),
        field_path_regex: regexes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn removes_server_metadata_and_status() {
    let remote = object(json!({
        "metadata": {"managedFields": [{"manager": "kluctl"}], "creationTimestamp": "2024-01-01T00:00:00Z",
            "generation": 4, "resourceVersion": "123", "selfLink": "x", "uid": "u-1", "good": "keep",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "me"}},
        "status": {"replicas": 1}
    }));
    let n = normalize(remote, object(json!({})), &[]);
    assert_eq!(
        n,
        result(json!({"metadata": {"good": "keep", "annotations": {"keep": "me"}}}))
    );
    let nulls = normalize(
        object(json!({"metadata": {"labels": null, "annotations": null}})),
        object(json!({})),
        &[],
    );
    assert_eq!(nulls, result(json!({})));
}

#[test]
fn removes_job_controller_labels_and_turns_integral_floats_into_ints() {
    let remote = object(json!({
        "spec": {"replicas": 3.0, "ratio": 0.5,
            "template": {"metadata": {"labels": {"controller-uid": "1", "batch.kubernetes.io/controller-uid": "1", "good": "keep"}}},
            "selector": {"matchLabels": {"controller-uid": "1", "app": "x"}}}
    }));
    let n = normalize(remote, object(json!({})), &[]);
    assert_eq!(n["spec"]["replicas"], json!(3));
    assert!(n["spec"]["replicas"].is_i64());
    assert_eq!(n["spec"]["ratio"], json!(0.5));
    assert_eq!(n["spec"]["template"]["metadata"]["labels"], json!({"good": "keep"}));
    assert_eq!(n["spec"]["selector"]["matchLabels"], json!({"app": "x"}));
}

#[test]
fn workload_env_becomes_maps_keyed_by_name() {
    let remote = object(json!({"spec": {"template": {"spec": {"containers": [{
        "name": "c",
        "env": [{"name": "A", "value": "x"}, {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        "envFrom": [{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "sec"}}, {"prefix": "X_"}]
    }]}}}}));
    let n = normalize(remote, object(json!({})), &[]);
    let c = &n["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["env"]["A"], json!({"name": "A", "value": "x"}));
    assert_eq!(c["env"]["B"]["valueFrom"]["secretKeyRef"]["key"], json!("k"));
    assert_eq!(c["envFrom"]["configMapRef/cm"], json!({"configMapRef": {"name": "cm"}}));
    assert_eq!(c["envFrom"]["secretRef/sec"], json!({"secretRef": {"name": "sec"}}));
    assert_eq!(c["envFrom"]["unknown"], json!([{"prefix": "X_"}]));
    // Other kinds keep their lists.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"template": {"spec": {"containers": [{"env": [{"name": "A", "value": "x"}]}]}}}});
    assert!(normalize(pod.clone(), pod, &[])["spec"]["template"]["spec"]["containers"][0]["env"].is_array());
}

#[test]
fn drops_empty_data_and_service_account_token_secrets() {
    for data in [json!({}), Value::Null] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data});
        assert!(normalize(cm.clone(), cm, &[]).get("data").is_none());
    }
    let kept = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}});
    assert_eq!(normalize(kept.clone(), kept, &[])["data"], json!({"k": "dg=="}));
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "test"},
        "secrets": [{"name": "test-token-abcde"}, {"name": "good"}]});
    assert_eq!(normalize(sa.clone(), sa, &[])["secrets"], json!([{"name": "good"}]));
}

#[test]
fn ignore_for_diff_rules_with_paths_regexes_and_selectors() {
    let remote = object(json!({"metadata": {"labels": {"l1": "v1", "l2": "l2", "good": "keep"}}}));
    let local = object(json!({}));
    let kept = json!({"l1": "v1", "l2": "l2", "good": "keep"});
    let labels =
        |rules: &[IgnoreForDiffRule]| normalize(remote.clone(), local.clone(), rules)["metadata"]["labels"].clone();

    assert_eq!(
        labels(&[rule(&["metadata.labels.l1", "metadata.labels.l2"], &[])]),
        json!({"good": "keep"})
    );
    assert_eq!(labels(&[rule(&["metadata.labels.*"], &[])]), json!({}));
    assert_eq!(
        labels(&[rule(&[], &[r"metadata\.labels\.l.*"])]),
        json!({"good": "keep"})
    );
    let nope = || Some("Nope".to_string());
    let base = rule(&["metadata.labels.*"], &[]);
    for r in [
        IgnoreForDiffRule {
            group: nope(),
            ..base.clone()
        },
        IgnoreForDiffRule {
            kind: nope(),
            ..base.clone()
        },
        IgnoreForDiffRule {
            name: nope(),
            ..base.clone()
        },
        IgnoreForDiffRule {
            namespace: nope(),
            ..base.clone()
        },
    ] {
        assert_eq!(labels(&[r]), kept);
    }
    let all = IgnoreForDiffRule {
        group: Some("apps".into()),
        kind: Some("Deployment".into()),
        name: Some("test".into()),
        namespace: Some("ns".into()),
        ..base
    };
    assert_eq!(labels(&[all]), json!({}));
}

#[test]
fn ignore_diff_annotations_on_the_rendered_object() {
    let remote = object(json!({"metadata": {"labels": {"l1": "v1", "l2": "l2", "l3": "l3", "good": "keep"}}}));
    let ann = |a: Value| object(json!({"metadata": {"annotations": a}}));
    assert_eq!(
        normalize(remote.clone(), ann(json!({"kluctl.io/ignore-diff": "true"})), &[]),
        json!({})
    );
    let local = ann(json!({"kluctl.io/ignore-diff-field": "metadata.labels.l1",
        "kluctl.io/ignore-diff-field-1": "metadata.labels.l2", "kluctl.io/ignore-diff-field-3": "metadata.labels.l3"}));
    assert_eq!(
        normalize(remote.clone(), local, &[])["metadata"]["labels"],
        json!({"good": "keep"})
    );
    let local = ann(json!({"kluctl.io/ignore-diff-field-regex": "metadata\\.labels\\.l[12]",
        "kluctl.io/ignore-diff-field-regex-1": "metadata\\.labels\\.l3"}));
    assert_eq!(
        normalize(remote.clone(), local, &[])["metadata"]["labels"],
        json!({"good": "keep"})
    );
    // A bad annotation is an error naming it.
    let err = Normalizer::default()
        .normalize(&remote, &ann(json!({"kluctl.io/ignore-diff-field": "spec.["})))
        .unwrap_err();
    assert!(
        err.to_string().contains("annotation kluctl.io/ignore-diff-field"),
        "{err}"
    );
}

#[test]
fn ignore_flags_remove_kluctl_metadata_labels_and_annotations() {
    let remote = object(json!({"metadata": {
        "labels": {"kluctl.io/tag-0": "a", "kluctl.io/discriminator": "d", "app": "x"},
        "annotations": {"kluctl.io/deployment-item-dir": "apps", "other": "y"}}}));
    let n = |flags| {
        Normalizer::new(&[], flags)
            .unwrap()
            .normalize(&remote, &remote)
            .unwrap()["metadata"]
            .clone()
    };
    let tags = n(IgnoreFlags {
        tags: true,
        ..Default::default()
    });
    assert_eq!(tags["labels"], json!({"kluctl.io/discriminator": "d", "app": "x"}));
    let meta = n(IgnoreFlags {
        kluctl_metadata: true,
        ..Default::default()
    });
    assert_eq!(meta["labels"], json!({"app": "x"}));
    assert_eq!(meta["annotations"], json!({"other": "y"}));
    let all = n(IgnoreFlags {
        labels: true,
        annotations: true,
        ..Default::default()
    });
    assert_eq!(
        (all["labels"].clone(), all["annotations"].clone()),
        (json!({}), json!({}))
    );
}

#[test]
fn invalid_rules_are_rejected_with_their_position() {
    let err = Normalizer::new(&[rule(&["ok"], &[]), rule(&[], &[])], IgnoreFlags::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to compile ignoreForDiff[1]: either fieldPath or fieldPathRegex must be set"
    );
    let err = Normalizer::new(&[rule(&[], &["("])], IgnoreFlags::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("failed to compile regex '(' of ignoreForDiff[0].fieldPathRegex"),
        "{err}"
    );
}

#[test]
fn rules_deserialize_from_deployment_yaml_with_string_or_list() {
    let rules: Vec<IgnoreForDiffRule> = crate::yaml::parse_typed(
        "- kind: Deployment\n  name: web\n  fieldPath: spec.replicas\n- fieldPathRegex: [a, b]\n  group: apps\n",
        "deployment.yaml",
    )
    .unwrap();
    assert_eq!(rules[0].field_path, vec!["spec.replicas"]);
    assert_eq!(rules[0].kind.as_deref(), Some("Deployment"));
    assert_eq!(rules[1].field_path_regex, vec!["a", "b"]);
    let err = crate::yaml::parse_typed::<Vec<IgnoreForDiffRule>>("- fieldPaht: x\n", "deployment.yaml").unwrap_err();
    assert!(err.message.contains("fieldPaht"), "{err}");
}
