use super::*;
use serde_json::json;

fn spec(interval: &str) -> KluctlDeploymentSpec {
    KluctlDeploymentSpec {
        source_ref: SourceReference {
            kind: "GitRepository".into(),
            name: "app".into(),
            ..Default::default()
        },
        interval: interval.into(),
        ..Default::default()
    }
}

#[test]
fn durations_default_as_flux_does() {
    let v = spec("5m").validate().unwrap();
    assert_eq!(v.interval, Duration::from_secs(300));
    assert_eq!(v.retry_interval, Duration::from_secs(300));
    assert_eq!(v.timeout, Duration::from_secs(270));
    // interval - 30s is below the minimum: the timeout is 30s.
    let v = spec("40s").validate().unwrap();
    assert_eq!(v.timeout, MIN_TIMEOUT);
    let mut s = spec("1m");
    s.retry_interval = Some("10s".into());
    s.timeout = Some("2m".into());
    let v = s.validate().unwrap();
    assert_eq!(
        (v.retry_interval, v.timeout),
        (Duration::from_secs(10), Duration::from_secs(120))
    );
}

#[test]
fn bad_specs_name_the_field_and_the_fix() {
    let err = spec("5 minutes").validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to parse spec.interval \"5 minutes\": expected a Go duration such as 30s, 5m or 1h30m"
    );
    assert_eq!(spec("0s").validate().unwrap_err(), SpecError::ZeroInterval);
    let mut s = spec("1m");
    s.source_ref.kind = "HelmChart".into();
    assert!(
        s.validate()
            .unwrap_err()
            .to_string()
            .contains("use GitRepository, OCIRepository or Bucket")
    );
    for bad in ["../x", "/etc", "a/../../b", "a\\b"] {
        let mut s = spec("1m");
        s.path = Some(bad.into());
        assert!(matches!(s.validate(), Err(SpecError::InvalidPath { .. })), "{bad}");
    }
    let mut s = spec("1m");
    s.path = Some("./deploy//app/".into());
    assert_eq!(s.validate().unwrap().path, vec!["deploy", "app"]);
    s.source_ref.api_version = Some("source.toolkit.fluxcd.io/v1beta1".into());
    assert!(matches!(s.validate(), Err(SpecError::UnsupportedSourceVersion { .. })));
    s.source_ref.api_version = Some("source.toolkit.fluxcd.io/v1beta2".into());
    assert_eq!(s.validate().unwrap().source_version.as_deref(), Some("v1beta2"));
}

#[test]
fn spec_round_trips_with_the_original_field_names() {
    let original = json!({
        "sourceRef": {"kind": "GitRepository", "name": "app"},
        "path": "deploy", "target": "prod", "args": {"env": "prod", "replicas": 3},
        "interval": "5m", "retryInterval": "1m", "timeout": "2m", "suspend": true, "prune": true,
        "delete": true, "dependsOn": [{"name": "infra"}], "serviceAccountName": "deployer",
        "includeTags": ["a"], "excludeTags": ["b"], "includeDeploymentDirs": ["c"],
        "excludeDeploymentDirs": ["d"], "dryRun": true, "noWait": true, "forceApply": true,
        "replaceOnError": true, "forceReplaceOnError": true, "abortOnError": true,
        "images": [{"image": "nginx", "resultImage": "nginx:1.27"}]
    });
    let spec: KluctlDeploymentSpec = serde_json::from_value(original.clone()).unwrap();
    assert_eq!(serde_json::to_value(&spec).unwrap(), original);
}

#[test]
fn crd_is_namespaced_with_status_and_flux_columns() {
    let crd = serde_json::to_value(crd()).unwrap();
    assert_eq!(crd["metadata"]["name"], "kluctldeployments.flux.kluctl.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Ready", "Status", "Revision", "Age"]);
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["required"], json!(["interval", "sourceRef"]));
    assert_eq!(spec["properties"]["args"]["x-kubernetes-preserve-unknown-fields"], true);
    let status = &version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
    for field in [
        "observedGeneration",
        "conditions",
        "lastHandledReconcileAt",
        "lastAttemptedRevision",
        "lastAppliedRevision",
        "lastAppliedDigest",
        "lastResult",
    ] {
        assert!(status.get(field).is_some(), "{field}");
    }
}

#[test]
fn run_summaries_merge_within_bounds() {
    let mut deploy = RunSummary {
        command: "deploy".into(),
        new_objects: 2,
        errors: 1,
        error_messages: vec!["e".into(); 4],
        ..Default::default()
    };
    deploy.merge(RunSummary {
        command: "prune".into(),
        deleted_objects: 3,
        errors: 2,
        error_messages: vec!["p".into(); 2],
        ..Default::default()
    });
    assert_eq!(deploy.command, "deploy+prune");
    assert_eq!((deploy.new_objects, deploy.deleted_objects, deploy.errors), (2, 3, 3));
    assert_eq!(deploy.error_messages.len(), crate::result::MAX_SUMMARY_MESSAGES);
}
