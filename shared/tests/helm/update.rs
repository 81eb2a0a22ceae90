//! helm-update against a chart repository on 127.0.0.1: constraints, pre-releases, skipUpdate,
//! and `--upgrade` rewriting only `chartVersion` before pulling.

use super::common::{Project, Repo};
use shared::helm::{ChartClient, HelmError, UpdateOptions, update_project};

#[tokio::test]
async fn lists_newer_versions_allowed_by_constraints_without_prereleases() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "1.0.5", "1.1.0", "2.0.0", "2.1.0-beta.1"], &[]);
    let project = Project::new();
    let url = repo.url();
    project.add_release(
        "pinned",
        &format!(
            "  repo: {url}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: a\n  updateConstraints: ~1.0.0\n"
        ),
    );
    project.add_release(
        "free",
        &format!("  repo: {url}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: b\n"),
    );
    project.add_release(
        "frozen",
        &format!("  repo: {url}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: c\n  skipUpdate: true\n"),
    );
    project.add_release(
        "latest",
        &format!("  repo: {url}\n  chartName: app\n  chartVersion: 2.0.0\n  releaseName: d\n"),
    );
    project.add_release("local", "  path: ./chart\n  releaseName: e\n");

    let report = update_project(project.path(), &ChartClient::default(), &UpdateOptions::default())
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
    let by_file = |file: &str| report.available.iter().find(|u| u.file == file).cloned();
    let pinned = by_file("pinned/helm-chart.yaml").unwrap();
    assert_eq!(
        (pinned.latest.as_str(), pinned.newer.clone()),
        ("1.0.5", vec!["1.0.5".to_string()])
    );
    let free = by_file("free/helm-chart.yaml").unwrap();
    assert_eq!(free.latest, "2.0.0", "pre-releases are never proposed");
    assert_eq!(free.newer, vec!["1.0.5", "1.1.0", "2.0.0"]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].file, "frozen/helm-chart.yaml");
    assert_eq!(report.up_to_date, vec!["latest/helm-chart.yaml"]);
    assert!(report.upgraded.is_empty() && report.pull.is_none());
    // Listing never touches the files.
    let text = std::fs::read_to_string(project.path().join("free/helm-chart.yaml")).unwrap();
    assert!(text.contains("chartVersion: 1.0.0"));
}

#[tokio::test]
async fn upgrade_rewrites_only_chart_version_and_pulls_the_new_version() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "1.1.0"], &[]);
    let project = Project::new();
    let original = format!(
        "# managed by the platform team\nhelmChart:\n  repo: {}   # internal mirror\n  chartName: app\n  \
         chartVersion: \"1.0.0\" # bump with helm-update\n  releaseName: app\n  namespace: \"{{{{ args.env }}}}\"\n",
        repo.url()
    );
    project.write("app/helm-chart.yaml", &original);
    project.add_release(
        "frozen",
        &format!(
            "  repo: {}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: f\n  skipUpdate: true\n",
            repo.url()
        ),
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
    assert!(
        report.is_success(),
        "{:?} {:?}",
        report.errors,
        report.pull.as_ref().map(|p| &p.errors)
    );
    assert_eq!(report.upgraded.len(), 1);
    let updated = std::fs::read_to_string(project.path().join("app/helm-chart.yaml")).unwrap();
    assert_eq!(updated, original.replace("\"1.0.0\"", "\"1.1.0\""));
    let frozen = std::fs::read_to_string(project.path().join("frozen/helm-chart.yaml")).unwrap();
    assert!(
        frozen.contains("chartVersion: 1.0.0"),
        "skipUpdate releases keep their version"
    );
    let pull = report.pull.expect("upgrading pulls");
    assert!(pull.is_success(), "{:?}", pull.errors);
    let chart_dir = repo.chart_dir(project.path(), "app");
    assert!(chart_dir.join("1.1.0/Chart.yaml").is_file());
    assert!(
        chart_dir.join("1.0.0/Chart.yaml").is_file(),
        "still used by the frozen release"
    );
}

#[tokio::test]
async fn invalid_constraints_are_reported_per_file() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0"], &[]);
    let project = Project::new();
    project.add_release(
        "bad",
        &format!(
            "  repo: {}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: a\n  updateConstraints: \">= banana\"\n",
            repo.url()
        ),
    );
    let report = update_project(project.path(), &ChartClient::default(), &UpdateOptions::default())
        .await
        .unwrap();
    let [HelmError::InvalidConstraint { file, .. }] = report.errors.as_slice() else {
        panic!("{:?}", report.errors);
    };
    assert_eq!(file, "bad/helm-chart.yaml");
}

#[tokio::test]
async fn declined_upgrades_leave_the_file_alone() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.0.0", "1.1.0"], &[]);
    let project = Project::new();
    project.add_release(
        "a",
        &format!(
            "  repo: {}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: a\n",
            repo.url()
        ),
    );
    project.add_release(
        "b",
        &format!(
            "  repo: {}\n  chartName: app\n  chartVersion: 1.0.0\n  releaseName: b\n",
            repo.url()
        ),
    );
    let options = UpdateOptions {
        upgrade: true,
        confirm: Some(std::sync::Arc::new(|u: &shared::helm::ChartUpdate| {
            u.file.starts_with("b/")
        })),
    };
    let report = update_project(project.path(), &ChartClient::default(), &options)
        .await
        .unwrap();
    assert!(report.is_success(), "{:?}", report.errors);
    assert_eq!(report.declined.len(), 1);
    assert_eq!(report.upgraded.len(), 1);
    let a = std::fs::read_to_string(project.path().join("a/helm-chart.yaml")).unwrap();
    let b = std::fs::read_to_string(project.path().join("b/helm-chart.yaml")).unwrap();
    assert!(
        a.contains("chartVersion: 1.0.0") && b.contains("chartVersion: 1.1.0"),
        "{a}\n{b}"
    );
}
