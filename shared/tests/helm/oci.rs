//! helm-pull and helm-update against an OCI registry on 127.0.0.1: anonymous, basic auth and
//! the bearer-token handshake, digest checks, and paged tag lists.

use super::common::{Project, snapshot};
use kluctl_e2e::servers::charts::{package, test_helm, write_chart};
use kluctl_e2e::servers::oci_registry::{OciRegistryServer, RegistryAuth};
use shared::helm::{
    ChartClient, HelmCredentials, HelmError, PullOptions, RegistryCredentialFlags, RegistryCredentials, UpdateOptions,
    pull_project, update_project,
};

fn packaged(name: &str, version: &str) -> Vec<u8> {
    let scratch = tempfile::tempdir().unwrap();
    let chart = write_chart(scratch.path(), name, version, &[]);
    let archive = package(&test_helm(), &chart, &scratch.path().join("out"));
    std::fs::read(archive).unwrap()
}

fn release(registry: &OciRegistryServer, version: &str) -> String {
    format!(
        "  repo: oci://{}/charts/podinfo\n  chartVersion: {version}\n  releaseName: podinfo\n",
        registry.host()
    )
}

fn client_with(flags: RegistryCredentialFlags) -> ChartClient {
    let registry = RegistryCredentials::from_sources(&flags, &[], &[]).unwrap();
    ChartClient::new(HelmCredentials::default(), registry)
}

fn chart_dir(project: &Project, registry: &OciRegistryServer) -> std::path::PathBuf {
    let port = registry.host().rsplit(':').next().unwrap().to_string();
    project
        .path()
        .join(format!(".helm-charts/oci_{port}_127.0.0.1/charts/podinfo"))
}

#[tokio::test]
async fn anonymous_pull_into_kluctls_oci_layout() {
    let registry = OciRegistryServer::start(RegistryAuth::Anonymous);
    registry.push_chart("charts/podinfo", "6.3.5", &packaged("podinfo", "6.3.5"));
    let project = Project::new();
    project.add_release("podinfo", &release(&registry, "6.3.5"));
    let report = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
    let chart = chart_dir(&project, &registry).join("6.3.5/Chart.yaml");
    assert!(std::fs::read_to_string(chart).unwrap().contains("name: podinfo"));
}

#[tokio::test]
async fn basic_auth_registry_needs_credentials() {
    let registry = OciRegistryServer::start(RegistryAuth::Basic("bob".into(), "hunter2".into()));
    registry.push_chart("charts/podinfo", "1.0.0", &packaged("podinfo", "1.0.0"));
    let project = Project::new();
    project.add_release("podinfo", &release(&registry, "1.0.0"));

    let report = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap();
    let text = report.errors[0].to_string();
    assert!(
        text.contains("requires credentials") && text.contains("--registry-creds"),
        "{text}"
    );

    let wrong = client_with(RegistryCredentialFlags {
        creds: vec![format!("{}=bob:wrong", registry.host())],
        ..Default::default()
    });
    let report = pull_project(project.path(), &wrong, &PullOptions::default())
        .await
        .unwrap();
    let text = report.errors[0].to_string();
    assert!(
        text.contains("refused the configured credentials") && !text.contains("wrong"),
        "{text}"
    );

    let good = client_with(RegistryCredentialFlags {
        username: vec![format!("{}/charts/*=bob", registry.host())],
        password: vec![format!("{}/charts/*=hunter2", registry.host())],
        ..Default::default()
    });
    let report = pull_project(project.path(), &good, &PullOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
    assert!(chart_dir(&project, &registry).join("1.0.0/Chart.yaml").is_file());
}

#[tokio::test]
async fn token_handshake_with_basic_credentials_from_kluctl_registry_variables() {
    let registry = OciRegistryServer::start(RegistryAuth::Token(Some(("ci".into(), "token-pass".into()))));
    registry.push_chart("charts/podinfo", "2.0.0", &packaged("podinfo", "2.0.0"));
    let project = Project::new();
    project.add_release("podinfo", &release(&registry, "2.0.0"));
    let vars: Vec<(String, String)> = vec![
        (
            "KLUCTL_REGISTRY_0_REPOSITORY".into(),
            format!("{}/charts/podinfo", registry.host()),
        ),
        ("KLUCTL_REGISTRY_0_USERNAME".into(), "ci".into()),
        ("KLUCTL_REGISTRY_0_PASSWORD".into(), "token-pass".into()),
    ];
    let creds = RegistryCredentials::from_sources(&Default::default(), &vars, &[]).unwrap();
    let client = ChartClient::new(HelmCredentials::default(), creds);
    let report = pull_project(project.path(), &client, &PullOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);

    // Anonymous tokens: a registry that hands tokens to anyone.
    let open = OciRegistryServer::start(RegistryAuth::Token(None));
    open.push_chart("charts/podinfo", "2.0.0", &packaged("podinfo", "2.0.0"));
    let project = Project::new();
    project.add_release("podinfo", &release(&open, "2.0.0"));
    let report = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
}

#[tokio::test]
async fn a_tampered_blob_or_missing_tag_changes_nothing() {
    let registry = OciRegistryServer::start(RegistryAuth::Anonymous);
    registry.push_chart("charts/podinfo", "1.0.0", &packaged("podinfo", "1.0.0"));
    let layer = registry.push_chart("charts/podinfo", "1.1.0", &packaged("podinfo", "1.1.0"));
    let project = Project::new();
    project.add_release("podinfo", &release(&registry, "1.0.0"));
    assert!(
        pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
            .await
            .unwrap()
            .is_success()
    );
    let before = snapshot(&project.path().join(".helm-charts"));

    registry.corrupt_blob(&layer, packaged("podinfo", "9.9.9"));
    project.add_release("podinfo", &release(&registry, "1.1.0"));
    let report = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(&report.errors[..], [HelmError::VerifyChart { authority, .. }] if *authority == "registry manifest"),
        "{:?}",
        report.errors
    );
    assert_eq!(snapshot(&project.path().join(".helm-charts")), before);

    project.add_release("podinfo", &release(&registry, "3.0.0"));
    let report = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(&report.errors[..], [HelmError::ChartVersionNotFound { .. }]),
        "{:?}",
        report.errors
    );
    assert_eq!(snapshot(&project.path().join(".helm-charts")), before);
}

#[tokio::test]
async fn helm_update_reads_paged_tags_and_upgrades_oci_charts() {
    let registry = OciRegistryServer::start(RegistryAuth::Anonymous);
    for version in ["1.0.0", "1.1.0", "1.2.0-rc.1", "2.0.0"] {
        registry.push_chart("charts/podinfo", version, &packaged("podinfo", version));
    }
    registry.set_page_size(1);
    let project = Project::new();
    project.add_release(
        "podinfo",
        &format!("{}  updateConstraints: ^1.0\n", release(&registry, "1.0.0")),
    );
    let report = update_project(
        project.path(),
        &ChartClient::default(),
        &UpdateOptions {
            upgrade: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
    assert_eq!(report.upgraded.len(), 1);
    assert_eq!(report.upgraded[0].latest, "1.1.0");
    assert_eq!(report.upgraded[0].newer, vec!["1.1.0"]);
    let text = std::fs::read_to_string(project.path().join("podinfo/helm-chart.yaml")).unwrap();
    assert!(text.contains("chartVersion: 1.1.0"), "{text}");
    assert!(chart_dir(&project, &registry).join("1.1.0/Chart.yaml").is_file());
}
