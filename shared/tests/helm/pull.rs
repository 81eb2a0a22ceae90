//! helm-pull against a chart repository on 127.0.0.1: layout, cleanup, credentials, and every
//! failure leaving the previous `.helm-charts` content intact.

use super::common::{Project, Repo, raw_tgz, snapshot};
use kluctl_e2e::servers::chart_repo::Fault;
use shared::helm::{
    ChartClient, HelmCredentialFlags, HelmCredentials, HelmError, PullEvent, PullEventKind, PullOptions,
    RegistryCredentials, pull_project,
};
use std::sync::{Arc, Mutex};

fn release(repo: &Repo, chart: &str, version: &str) -> String {
    format!(
        "  repo: {}\n  chartName: {chart}\n  chartVersion: {version}\n  releaseName: {chart}\n",
        repo.url()
    )
}

async fn pull(project: &Project, client: &ChartClient) -> shared::helm::PullReport {
    pull_project(project.path(), client, &PullOptions::default())
        .await
        .expect("pull runs")
}

#[tokio::test]
async fn pulls_charts_into_kluctls_layout_and_removes_unused_versions() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "1.1.0"], &[]);
    let project = Project::new();
    project.add_release("apps/app", &release(&repo, "app", "1.0.0"));
    project.add_release(
        "apps/skipped",
        &format!("{}  skipPrePull: true\n", release(&repo, "app", "1.1.0")),
    );

    let events = Arc::new(Mutex::new(Vec::<PullEvent>::new()));
    let sink = events.clone();
    let client =
        ChartClient::default().with_progress(Arc::new(move |e: &PullEvent| sink.lock().unwrap().push(e.clone())));
    let report = pull(&project, &client).await;
    assert!(report.is_success(), "{:?}", report.errors);
    let chart_dir = repo.chart_dir(project.path(), "app");
    let chart_yaml = std::fs::read_to_string(chart_dir.join("1.0.0/Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("version: 1.0.0"), "{chart_yaml}");
    assert!(chart_dir.join("1.0.0/templates/configmap.yaml").is_file());
    assert!(
        !chart_dir.join("1.1.0").exists(),
        "skipPrePull releases are not pre-pulled"
    );
    assert_eq!(report.pulled.len(), 1);
    assert_eq!(report.skipped, vec!["apps/skipped/helm-chart.yaml"]);
    {
        let events = events.lock().unwrap();
        assert!(matches!(
            events.first().map(|e| &e.kind),
            Some(PullEventKind::Started { total: Some(_) })
        ));
        assert_eq!(events.last().map(|e| &e.kind), Some(&PullEventKind::Finished));
    }

    // The project moves to 1.1.0: the new version is pulled, the old one removed.
    project.add_release("apps/app", &release(&repo, "app", "1.1.0"));
    let report = pull(&project, &client).await;
    assert!(report.is_success(), "{:?}", report.errors);
    assert!(chart_dir.join("1.1.0/Chart.yaml").is_file());
    assert!(!chart_dir.join("1.0.0").exists());
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.removed[0].version, "1.0.0");
    let leftovers: Vec<_> = std::fs::read_dir(project.path().join(".helm-charts"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging directories left behind: {leftovers:?}");
}

/// Pulls 1.0.0 successfully, then breaks the next pull with `fault`; the old content must survive.
async fn assert_failure_keeps_previous_content(
    fault: impl FnOnce(&Repo),
    expect: impl Fn(&HelmError) -> bool,
) -> Project {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "2.0.0"], &[]);
    let project = Project::new();
    project.add_release("app", &release(&repo, "app", "1.0.0"));
    let client = ChartClient::default();
    assert!(pull(&project, &client).await.is_success());
    let before = snapshot(&project.path().join(".helm-charts"));
    assert!(!before.is_empty());

    fault(&repo);
    // Both versions are wanted now: 1.0.0 is re-pulled and 2.0.0 is new; the fault hits them.
    project.add_release("app", &release(&repo, "app", "1.0.0"));
    project.add_release("other", &release(&repo, "app", "2.0.0"));
    let report = pull(&project, &ChartClient::default()).await;
    assert!(!report.errors.is_empty(), "the pull should fail");
    assert!(
        report.errors.iter().all(&expect),
        "unexpected errors: {:#?}",
        report.errors
    );
    let after = snapshot(&project.path().join(".helm-charts"));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the previous .helm-charts content must survive unchanged"
    );
    assert_eq!(before, after);
    for error in &report.errors {
        let text = error.to_string();
        assert!(!text.contains("/tmp/"), "no temp paths in errors: {text}");
    }
    project
}

#[tokio::test]
async fn a_version_that_does_not_exist_is_reported_with_what_exists() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "1.2.0"], &[]);
    let project = Project::new();
    project.add_release("app", &release(&repo, "app", "9.9.9"));
    let report = pull(&project, &ChartClient::default()).await;
    let [HelmError::ChartVersionNotFound { message, .. }] = report.errors.as_slice() else {
        panic!("expected ChartVersionNotFound, got {:?}", report.errors);
    };
    assert!(message.contains("1.2.0, 1.0.0"), "{message}");
    let text = report.errors[0].to_string();
    assert!(
        text.contains("app version 9.9.9") && text.contains(&repo.url()),
        "{text}"
    );

    project.add_release("app", &release(&repo, "nope", "1.0.0"));
    let report = pull(&project, &ChartClient::default()).await;
    assert!(
        report.errors[0].to_string().contains("check chartName"),
        "{}",
        report.errors[0]
    );
}

#[tokio::test]
async fn a_digest_mismatch_changes_nothing() {
    assert_failure_keeps_previous_content(
        |repo| {
            repo.server.set_fault("/app-1.0.0.tgz", Fault::Corrupt);
            repo.server.set_fault("/app-2.0.0.tgz", Fault::Corrupt);
        },
        |e| matches!(e, HelmError::VerifyChart { authority, .. } if *authority == "repository index"),
    )
    .await;
}

#[tokio::test]
async fn a_corrupt_archive_changes_nothing() {
    assert_failure_keeps_previous_content(
        |repo| {
            for file in ["app-1.0.0.tgz", "app-2.0.0.tgz"] {
                let garbage = b"\x1f\x8b\x08\x00this is not a gzip stream".to_vec();
                repo.set_index_digest(file, &garbage);
                repo.server.set_fault(&format!("/{file}"), Fault::Replace(garbage));
            }
        },
        |e| matches!(e, HelmError::UnpackChart { .. }),
    )
    .await;
}

#[tokio::test]
async fn an_archive_with_parent_entries_is_refused_and_writes_nothing_outside() {
    let evil = raw_tgz(&[
        ("app/Chart.yaml", 'f', b"apiVersion: v2\nname: app\nversion: 2.0.0\n"),
        ("app/../../../escaped.txt", 'f', b"pwned"),
    ]);
    let linked = raw_tgz(&[
        ("app/Chart.yaml", 'f', b"apiVersion: v2\nname: app\nversion: 1.0.0\n"),
        ("app/templates", 'l', b"/etc"),
    ]);
    let project = assert_failure_keeps_previous_content(
        |repo| {
            repo.set_index_digest("app-2.0.0.tgz", &evil);
            repo.server.set_fault("/app-2.0.0.tgz", Fault::Replace(evil.clone()));
            repo.set_index_digest("app-1.0.0.tgz", &linked);
            repo.server.set_fault("/app-1.0.0.tgz", Fault::Replace(linked.clone()));
        },
        |e| {
            let text = e.to_string();
            matches!(e, HelmError::UnpackChart { .. }) && (text.contains("outside the chart") || text.contains("link"))
        },
    )
    .await;
    // `.helm-charts/.kluctl-pull-*/chart/../../../escaped.txt` would land in the project root.
    for dir in [project.path(), &project.path().join(".helm-charts")] {
        assert!(
            !dir.join("escaped.txt").exists(),
            "nothing may be written outside the chart"
        );
    }
}

#[tokio::test]
async fn a_server_failing_half_way_leaves_the_previous_charts_intact() {
    assert_failure_keeps_previous_content(
        |repo| {
            repo.server.set_fault("/app-1.0.0.tgz", Fault::FailHalfWay);
            repo.server.set_fault("/app-2.0.0.tgz", Fault::FailHalfWay);
        },
        |e| matches!(e, HelmError::DownloadChart { .. }),
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_index_fails_with_the_repository_named() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0"], &[]);
    repo.server.set_fault("/index.yaml", Fault::Status(503));
    let project = Project::new();
    project.add_release("app", &release(&repo, "app", "1.0.0"));
    let report = pull(&project, &ChartClient::default()).await;
    let text = report.errors[0].to_string();
    assert!(
        text.contains("failed to fetch the index of helm repository") && text.contains("503"),
        "{text}"
    );
}

#[tokio::test]
async fn basic_auth_credentials_from_flags_and_kluctl_helm_variables() {
    let repo = Repo::start(Some(("alice", "s3cret")));
    repo.publish("app", &["1.0.0"], &[]);
    let project = Project::new();
    project.add_release("app", &release(&repo, "app", "1.0.0"));

    let report = pull(&project, &ChartClient::default()).await;
    let text = report.errors[0].to_string();
    assert!(text.contains("401") && text.contains("--helm-creds"), "{text}");

    let flags = HelmCredentialFlags {
        creds: vec![format!("{}=alice:s3cret", repo.server.host())],
        ..Default::default()
    };
    let creds = HelmCredentials::from_sources(&flags, &[], None).unwrap();
    let client = ChartClient::new(creds, RegistryCredentials::default());
    let report = pull(&project, &client).await;
    assert!(report.is_success(), "{:?}", report.errors);

    std::fs::remove_dir_all(project.path().join(".helm-charts")).unwrap();
    let vars: Vec<(String, String)> = [
        ("KLUCTL_HELM_1_HOST", repo.server.host()),
        ("KLUCTL_HELM_1_USERNAME", "alice".to_string()),
        ("KLUCTL_HELM_1_PASSWORD", "s3cret".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let creds = HelmCredentials::from_sources(&Default::default(), &vars, None).unwrap();
    let report = pull(&project, &ChartClient::new(creds, RegistryCredentials::default())).await;
    assert!(report.is_success(), "{:?}", report.errors);
    assert!(repo.server.requests().iter().any(|r| r.had_authorization));
}

#[tokio::test]
async fn refuses_directories_that_are_not_project_roots_and_explains_templated_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = pull_project(dir.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(".kluctl.yaml"), "{err}");

    let project = Project::new();
    project.add_release(
        "app",
        "  repo: https://charts.example.com\n  chartName: app\n  chartVersion: {{ version }}\n  releaseName: x\n",
    );
    let err = pull_project(project.path(), &ChartClient::default(), &PullOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("app/helm-chart.yaml:") && err.contains("chartVersion must be a version string"),
        "{err}"
    );
    assert!(err.contains("without templating"), "{err}");
}

#[tokio::test]
async fn the_archive_cache_serves_known_digests_and_ignores_damaged_entries() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0"], &[]);
    let project = Project::new();
    project.add_release("app", &release(&repo, "app", "1.0.0"));
    let cache = tempfile::tempdir().unwrap();
    let client = ChartClient::default().with_archive_cache(cache.path());
    assert!(pull(&project, &client).await.is_success());
    let archive_requests = |repo: &Repo| {
        repo.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(".tgz"))
            .count()
    };
    assert_eq!(archive_requests(&repo), 1);

    // The archive is not downloaded again, even though the server would now fail.
    repo.server.set_fault("/app-1.0.0.tgz", Fault::Status(500));
    let report = pull(&project, &client).await;
    assert!(report.is_success(), "{:?}", report.errors);
    assert_eq!(report.pulled.len(), 1);
    assert_eq!(archive_requests(&repo), 1);

    // A damaged cache entry is not trusted: the download is tried (and fails here).
    let cached: Vec<_> = walkdir::WalkDir::new(cache.path())
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .collect();
    assert_eq!(cached.len(), 1);
    std::fs::write(cached[0].path(), b"damaged").unwrap();
    let report = pull(&project, &client).await;
    assert!(
        matches!(report.errors.as_slice(), [HelmError::DownloadChart { .. }]),
        "{:?}",
        report.errors
    );
    assert!(repo.chart_dir(project.path(), "app").join("1.0.0/Chart.yaml").is_file());
}

#[tokio::test]
async fn git_charts_are_reported_as_unsupported() {
    let project = Project::new();
    project.add_release(
        "app",
        "  git:\n    url: https://github.com/example/charts.git\n    ref:\n      tag: v1.0.0\n  releaseName: app\n",
    );
    let report = pull(&project, &ChartClient::default()).await;
    let [HelmError::ResolveChart { file, message }] = report.errors.as_slice() else {
        panic!("{:?}", report.errors);
    };
    assert_eq!(file, "app/helm-chart.yaml");
    assert!(message.contains("git charts are not supported"), "{message}");
}

#[tokio::test]
async fn pull_and_update_can_run_on_spawned_tasks() {
    // The CLI runs commands with `tokio::spawn`: both futures must be `Send` for any lifetime.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let pull = tokio::spawn(async move {
        let client = ChartClient::default();
        pull_project(&path, &client, &PullOptions::default()).await.map(|_| ())
    });
    let err = pull.await.unwrap().unwrap_err();
    assert!(matches!(err, HelmError::FindProject { .. }), "{err}");
    let path = dir.path().to_path_buf();
    let update = tokio::spawn(async move {
        let client = ChartClient::default();
        shared::helm::update_project(&path, &client, &Default::default())
            .await
            .map(|_| ())
    });
    assert!(update.await.unwrap().is_err());
}
