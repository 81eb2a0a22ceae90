//! The scenarios of the Kubernetes documentation page "Server-Side Apply".
use super::*;

/// "Managed fields": applying the documented ConfigMap gives the documented entry.
#[test]
fn documented_configmap_managed_fields() {
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": "some value"}});
    let stored = apply_at(None, &applied, "kubectl", false, "2010-10-10T00:00:00Z").unwrap();
    assert_eq!(
        stored["metadata"]["managedFields"],
        json!([{
            "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2010-10-10T00:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:test-label": {}}}}
        }])
    );
}

/// "Transferring ownership": hand `replicas` over to another manager, then stop applying it.
#[test]
fn transferring_replicas_to_the_autoscaler() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14.2"), "kubectl", false, T1).unwrap();
    let replicas_only = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx"}, "spec": {"replicas": 3}});
    let handed = apply_at(Some(&live), &replicas_only, "handover-to-hpa", false, T2).unwrap();
    assert_eq!(owners(&handed, &["spec", "replicas"]), ["handover-to-hpa", "kubectl"]);
    let released = apply_at(Some(&handed), &nginx(None, "nginx:1.14.2"), "kubectl", false, T3).unwrap();
    assert_eq!(
        released["spec"]["replicas"], 3,
        "replicas survive: another manager owns them"
    );
    assert_eq!(owners(&released, &["spec", "replicas"]), ["handover-to-hpa"]);
}

/// "Conflicts": overwrite (force), or drop the field from your configuration.
#[test]
fn resolving_a_conflict_by_dropping_the_field() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14.2"), "kubectl", false, T1).unwrap();
    let err = apply_at(Some(&live), &nginx(Some(2), "nginx:1.14.2"), "ci", false, T2).unwrap_err();
    assert!(matches!(err, SsaError::Conflicts(_)));
    let dropped = apply_at(Some(&live), &nginx(None, "nginx:1.14.2"), "ci", false, T2).unwrap();
    assert_eq!(dropped["spec"]["replicas"], 3);
    assert_eq!(owners(&dropped, &["spec", "replicas"]), ["kubectl"]);
}

fn client_side_applied(config: &Value) -> Value {
    let mut object = config.clone();
    let annotation = format!("{}\n", serde_json::to_string(config).unwrap());
    object["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/last-applied-configuration": annotation});
    update_at(None, object, "kubectl-client-side-apply", T1)
}

/// "Upgrading from client-side apply to server-side apply": `kubectl apply --server-side`
/// takes over the fields of the last-applied annotation without conflicts.
#[test]
fn upgrading_from_client_side_apply() {
    let config = nginx(Some(3), "nginx:1.14.2");
    let live = client_side_applied(&config);
    let mut changed = config.clone();
    changed["spec"]["replicas"] = json!(4);
    let upgraded = apply_at(Some(&live), &changed, "kubectl", false, T2).unwrap();
    assert_eq!(upgraded["spec"]["replicas"], 4);
    assert_eq!(owners(&upgraded, &["spec", "replicas"]), ["kubectl"]);
    // The annotation follows what was applied, so a later client-side apply still works.
    let annotation = upgraded["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    let recorded: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(recorded["spec"]["replicas"], 4);
    assert!(annotation.ends_with('\n'));
    // Another manager name gets no such allowance.
    let err = apply_at(Some(&live), &changed, "ci", false, T2).unwrap_err();
    assert!(err.to_string().contains("kubectl-client-side-apply"), "{err}");
}

/// A field changed by someone else since the client-side apply is not covered by the upgrade.
#[test]
fn upgrade_does_not_cover_fields_changed_since_the_last_client_side_apply() {
    let config = nginx(Some(3), "nginx:1.14.2");
    let live = client_side_applied(&config);
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(7);
    let scaled = update_at(Some(&live), scaled, "kube-controller-manager", T2);
    let mut changed = config.clone();
    changed["spec"]["replicas"] = json!(4);
    let err = apply_at(Some(&scaled), &changed, "kubectl", false, T3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" using apps/v1: .spec.replicas"
    );
}

/// "Merge strategy": applying a list-map item another manager added keeps both, and a field
/// only one manager set is reported when the other changes it.
#[test]
fn controllers_and_users_share_a_deployment() {
    let live = apply_at(None, &nginx(Some(3), "nginx:1.14.2"), "kubectl", false, T1).unwrap();
    let mut annotated = live.clone();
    annotated["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
    let stored = update_at(Some(&live), annotated, "kube-controller-manager", T2);
    let reapplied = apply_at(Some(&stored), &nginx(Some(3), "nginx:1.16.1"), "kubectl", false, T3).unwrap();
    assert_eq!(
        reapplied["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(
        managers(&reapplied),
        ["kubectl/Apply", "kube-controller-manager/Update"]
    );
}
