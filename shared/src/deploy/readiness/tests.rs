use super::*;
use serde_json::json;

fn ctx() -> ReadinessContext {
    ReadinessContext {
        status: StatusExpectation::Expected,
        now: DateTime::parse_from_rfc3339("2024-05-01T10:00:30Z")
            .unwrap()
            .with_timezone(&Utc),
    }
}

fn check(o: &Value) -> Readiness {
    check_readiness(o, &ctx()).readiness
}

fn is_not_ready(r: &Readiness, text: &str) -> bool {
    matches!(r, Readiness::NotReady(m) if m.contains(text))
}

fn is_failed(r: &Readiness, text: &str) -> bool {
    matches!(r, Readiness::Failed(m) if m.contains(text))
}

fn deployment(spec_replicas: i64, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "generation": 2, "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": {"replicas": spec_replicas}, "status": status})
}

fn pod(status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "prod"}, "status": status})
}

#[test]
fn annotations_override_everything() {
    let mut d = deployment(3, json!({"observedGeneration": 2, "replicas": 3}));
    d["metadata"]["annotations"] = json!({"kluctl.io/is-ready": "true"});
    assert_eq!(check(&d), Readiness::Ready);
    d["metadata"]["annotations"] = json!({"kluctl.io/is-ready": "false"});
    assert!(is_not_ready(&check(&d), "is-ready annotation is set to false"));
    d["metadata"]["annotations"] = json!({"kluctl.io/validate-ignore": "true", "kluctl.io/is-ready": "false"});
    assert_eq!(check(&d), Readiness::Ready);
}

#[test]
fn objects_without_status() {
    let cr = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "creationTimestamp": "2024-05-01T10:00:20Z"}});
    assert!(is_not_ready(&check(&cr), "no status available yet"));
    let mut old = cr.clone();
    old["metadata"]["creationTimestamp"] = json!("2024-05-01T10:00:00Z");
    assert_eq!(
        check(&old),
        Readiness::Ready,
        "older than 15 s without status counts as ready"
    );
    let none = ReadinessContext {
        status: StatusExpectation::NotExpected,
        ..ctx()
    };
    assert_eq!(check_readiness(&cr, &none).readiness, Readiness::Ready);
    let unknown = check_readiness(
        &cr,
        &ReadinessContext {
            status: StatusExpectation::Unknown,
            ..ctx()
        },
    );
    assert_eq!(unknown.readiness, Readiness::Ready);
    assert_eq!(unknown.warnings.len(), 1);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert_eq!(
        check_readiness(&cm, &ReadinessContext::for_object(&cm)).readiness,
        Readiness::Ready
    );
}

#[test]
fn observed_generation_must_catch_up() {
    let d = deployment(
        1,
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    );
    assert!(is_not_ready(&check(&d), "Waiting for reconciliation"));
}

#[test]
fn deployments_wait_for_a_complete_rollout() {
    let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3});
    assert_eq!(check(&deployment(3, done)), Readiness::Ready);
    let rolling = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3});
    assert!(is_not_ready(&check(&deployment(3, rolling)), "2 out of 3 new replicas"));
    let old_left = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 4});
    assert!(is_not_ready(
        &check(&deployment(3, old_left)),
        "1 old replicas are pending termination"
    ));
    let unavailable = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 1, "availableReplicas": 1});
    assert!(is_not_ready(
        &check(&deployment(3, unavailable)),
        "1 of 3 updated replicas are available"
    ));
    let stuck = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-5d9\" has timed out progressing."}]});
    assert!(is_failed(&check(&deployment(3, stuck)), "has timed out progressing"));
    assert_eq!(
        check(&deployment(0, json!({"observedGeneration": 2}))),
        Readiness::Ready
    );
}

#[test]
fn pods_fail_fast_on_terminal_container_states() {
    let running = pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
    assert!(
        is_not_ready(&check(&running), "Not ready"),
        "a running pod is not done (hooks wait for completion)"
    );
    let completed = pod(
        json!({"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}),
    );
    assert_eq!(check(&completed), Readiness::Ready);
    let pull = pod(
        json!({"phase": "Pending", "containerStatuses": [{"name": "app", "ready": false,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"nginx:nope\""}}}]}),
    );
    assert!(is_failed(
        &check(&pull),
        "container app is waiting with ImagePullBackOff: Back-off pulling image"
    ));
    let config = pod(json!({"phase": "Pending", "initContainerStatuses": [{"name": "init",
        "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"x\" not found"}}}]}));
    assert!(is_failed(
        &check(&config),
        "container init is waiting with CreateContainerConfigError"
    ));
    let creating = pod(
        json!({"phase": "Pending", "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}],
        "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}]}),
    );
    assert!(is_not_ready(&check(&creating), "Not ready"));
    let crashed = pod(
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "state": {"terminated": {"reason": "Error", "exitCode": 1}}}]}),
    );
    assert!(is_failed(&check(&crashed), "container app exited with error"));
    let evicted =
        pod(json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}));
    assert!(is_failed(&check(&evicted), "pod failed: Evicted: The node was low"));
}

#[test]
fn jobs() {
    let job =
        |status: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": status});
    assert_eq!(
        check(&job(json!({"conditions": [{"type": "Complete", "status": "True"}]}))),
        Readiness::Ready
    );
    assert!(is_failed(
        &check(&job(
            json!({"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
        )),
        "backoff limit"
    ));
    assert!(is_not_ready(&check(&job(json!({"active": 1}))), "Not completed"));
}

#[test]
fn stateful_sets_and_daemon_sets() {
    let sts = |partition: i64, status: Value| {
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
        "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}}, "status": status})
    };
    assert_eq!(
        check(&sts(0, json!({"updatedReplicas": 3, "readyReplicas": 3}))),
        Readiness::Ready
    );
    assert_eq!(
        check(&sts(2, json!({"updatedReplicas": 1, "readyReplicas": 3}))),
        Readiness::Ready
    );
    assert!(is_not_ready(
        &check(&sts(0, json!({"updatedReplicas": 1, "readyReplicas": 3}))),
        "1 out of 3 expected pods have been scheduled"
    ));
    assert!(is_not_ready(
        &check(&sts(0, json!({"updatedReplicas": 3, "readyReplicas": 2}))),
        "2 out of 3 expected pods are ready"
    ));
    let ds = |max: Value, ready: i64| {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
        "spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max}}},
        "status": {"desiredNumberScheduled": 10, "updatedNumberScheduled": 10, "numberReady": ready}})
    };
    assert_eq!(check(&ds(json!("20%"), 8)), Readiness::Ready);
    assert!(is_not_ready(
        &check(&ds(json!("20%"), 7)),
        "7 out of 8 expected pods are ready"
    ));
    assert!(is_not_ready(&check(&ds(json!(1), 8)), "8 out of 9"));
    let on_delete = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
        "spec": {"updateStrategy": {"type": "OnDelete"}}, "status": {"desiredNumberScheduled": 3}});
    assert_eq!(check(&on_delete), Readiness::Ready);
}

#[test]
fn replica_sets_volumes_and_services() {
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {"replicas": 2}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert!(is_not_ready(&check(&rs), "readyReplicas (1) is less than replicas (2)"));
    let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "v"}, "status": {"phase": phase}});
    assert_eq!(check(&pvc("Bound")), Readiness::Ready);
    assert!(is_not_ready(&check(&pvc("Pending")), "not bound"));
    let svc = |spec: Value, status: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec, "status": status});
    assert_eq!(
        check(&svc(
            json!({"type": "ClusterIP", "clusterIP": "10.0.0.1"}),
            json!({"loadBalancer": {}})
        )),
        Readiness::Ready
    );
    assert_eq!(
        check(&svc(
            json!({"type": "ClusterIP", "clusterIP": "None"}),
            json!({"loadBalancer": {}})
        )),
        Readiness::Ready
    );
    assert!(is_not_ready(
        &check(&svc(
            json!({"type": "LoadBalancer", "clusterIP": "10.0.0.2"}),
            json!({"loadBalancer": {}})
        )),
        "load balancer"
    ));
    let lb = svc(
        json!({"type": "LoadBalancer", "clusterIP": "10.0.0.2"}),
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}),
    );
    assert_eq!(check(&lb), Readiness::Ready);
    assert_eq!(
        check(&svc(
            json!({"type": "ExternalName", "externalName": "x.example.com"}),
            json!({})
        )),
        Readiness::Ready
    );
    assert!(is_failed(
        &check(&svc(json!({"type": "ClusterIP"}), json!({}))),
        "cluster IP"
    ));
}

#[test]
fn crds_and_generic_conditions() {
    let crd = |conditions: Value| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"}, "status": {"conditions": conditions}})
    };
    assert_eq!(
        check(&crd(
            json!([{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}])
        )),
        Readiness::Ready
    );
    assert!(is_not_ready(
        &check(&crd(
            json!([{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "False"}])
        )),
        "CRD is not ready"
    ));
    assert_eq!(
        check(&crd(
            json!([{"type": "NamesAccepted", "status": "False", "reason": "NameConflict"}])
        )),
        Readiness::Ready
    );

    let cert = |conditions: Value| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"},
        "status": {"conditions": conditions}})
    };
    assert_eq!(
        check(&cert(json!([{"type": "Ready", "status": "True"}]))),
        Readiness::Ready
    );
    assert!(is_not_ready(
        &check(&cert(
            json!([{"type": "Ready", "status": "False", "reason": "Pending", "message": "Issuing certificate"}])
        )),
        "Ready condition is False: Issuing certificate"
    ));
    assert!(is_failed(
        &check(&cert(
            json!([{"type": "Stalled", "status": "True", "message": "invalid spec"}])
        )),
        "stalled: invalid spec"
    ));
    assert_eq!(check(&cert(json!([]))), Readiness::Ready);
}

#[test]
fn status_expectations_and_recording() {
    assert_eq!(
        StatusExpectation::for_builtin("apps", "Deployment"),
        Some(StatusExpectation::Expected)
    );
    assert_eq!(
        StatusExpectation::for_builtin("", "ConfigMap"),
        Some(StatusExpectation::NotExpected)
    );
    assert_eq!(StatusExpectation::for_builtin("example.com", "Widget"), None);
    let crd = json!({"spec": {"versions": [
        {"name": "v1", "schema": {"openAPIV3Schema": {"properties": {"spec": {}, "status": {}}}}},
        {"name": "v2", "schema": {"openAPIV3Schema": {"properties": {"spec": {}}}}}]}});
    assert!(crd_declares_status(&crd, "v1"));
    assert!(!crd_declares_status(&crd, "v2"));

    let r = ObjectRef::from_object(&deployment(1, json!({}))).unwrap();
    let mut v = ValidateResult::new();
    ReadinessCheck::of(Readiness::NotReady("waiting".into())).record(&r, &mut v, false);
    ReadinessCheck::of(Readiness::Failed("broken".into())).record(&r, &mut v, false);
    assert_eq!((v.warnings.len(), v.errors.len(), v.ready), (1, 1, false));

    let annotated = json!({"metadata": {"annotations": {"validate-result.kluctl.io/b": "2", "validate-result.kluctl.io/a": "1", "other": "x"}}});
    assert_eq!(
        validate_results(&annotated),
        vec![
            ("validate-result.kluctl.io/a", "1"),
            ("validate-result.kluctl.io/b", "2")
        ]
    );
}
