//! `helm-pull` and `helm-update` run in-process against a chart repository on 127.0.0.1:
//! reports, exit codes, credentials from flags and from Kluctl's variable sets.

use kluctl_e2e::servers::chart_repo::ChartRepoServer;
use kluctl_e2e::servers::charts::{package, repo_index, test_helm, write_chart};
use kubectl_kluctl::io::Env;
use kubectl_kluctl::{Io, exit_for_error, run};
use std::path::Path;

struct Setup {
    repo: ChartRepoServer,
    _root: tempfile::TempDir,
    project: tempfile::TempDir,
    home: tempfile::TempDir,
}

/// A repository behind basic auth with `app` 1.0.0 and 1.1.0, and a project using 1.0.0.
fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let repo = ChartRepoServer::start(root.path().to_path_buf(), Some(("ci".into(), "pw".into())));
    let helm = test_helm();
    let sources = tempfile::tempdir().unwrap();
    for version in ["1.0.0", "1.1.0"] {
        let chart = write_chart(&sources.path().join(version), "app", version, &[]);
        package(&helm, &chart, root.path());
    }
    repo_index(&helm, root.path(), &repo.url());
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join(".kluctl.yaml"), "targets:\n  - name: t\n").unwrap();
    std::fs::create_dir_all(project.path().join("app")).unwrap();
    std::fs::write(
        project.path().join("app/helm-chart.yaml"),
        format!(
            "helmChart:\n  repo: {}\n  chartName: app\n  chartVersion: 1.0.0  # pinned\n  releaseName: app\n",
            repo.url()
        ),
    )
    .unwrap();
    Setup {
        repo,
        _root: root,
        project,
        home: tempfile::tempdir().unwrap(),
    }
}

fn kluctl(setup: &Setup, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut env = Env::empty().with("HOME", &setup.home.path().to_string_lossy());
    for (k, v) in vars {
        env = env.with(k, v);
    }
    let (io, captured) = Io::captured(env, "");
    let project = setup.project.path().to_string_lossy().to_string();
    let mut argv = vec!["kubectl-kluctl"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--project-dir", &project]);
    let code = match run(argv, io) {
        Ok(code) => {
            if code == std::process::ExitCode::SUCCESS {
                0
            } else {
                1
            }
        }
        Err(err) => {
            let exit = exit_for_error(&err);
            return (
                i32::from(exit.code()),
                captured.stdout(),
                format!("{}error: {err:#}", captured.stderr()),
            );
        }
    };
    (code, captured.stdout(), captured.stderr())
}

fn chart_yaml(project: &Path, version: &str, port: &str) -> std::path::PathBuf {
    project.join(format!(".helm-charts/http_{port}_127.0.0.1/app/{version}/Chart.yaml"))
}

#[test]
fn helm_pull_with_creds_flag_prints_a_report_and_exits_0() {
    let setup = setup();
    let port = setup.repo.host().rsplit(':').next().unwrap().to_string();
    let creds = format!("{}=ci:pw", setup.repo.host());
    let (code, stdout, stderr) = kluctl(&setup, &["helm-pull", "--helm-creds", &creds], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("pulled app 1.0.0"), "{stdout}");
    assert!(
        stderr.contains("Pulling Helm charts"),
        "progress goes to stderr: {stderr}"
    );
    assert!(!stderr.contains("pw"), "no secrets in output: {stderr}");
    assert!(chart_yaml(setup.project.path(), "1.0.0", &port).is_file());

    let (code, stdout, _) = kluctl(&setup, &["helm-pull", "--helm-creds", &creds, "-o", "json"], &[]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["kind"], "HelmPullResult");
    assert_eq!(report["pulled"][0]["version"], "1.0.0");
}

#[test]
fn kluctl_helm_variable_sets_are_credentials_not_flags() {
    let setup = setup();
    let host = setup.repo.host();
    // Kluctl's unindexed set: KLUCTL_HELM_USERNAME must not turn into --helm-username.
    let (code, stdout, stderr) = kluctl(
        &setup,
        &["helm-pull"],
        &[
            ("KLUCTL_HELM_HOST", &host),
            ("KLUCTL_HELM_USERNAME", "ci"),
            ("KLUCTL_HELM_PASSWORD", "pw"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("pulled app 1.0.0"), "{stdout}");
}

#[test]
fn helm_pull_failures_exit_1_with_the_reason_on_stderr() {
    let setup = setup();
    let (code, _, stderr) = kluctl(&setup, &["helm-pull"], &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("401") && stderr.contains("--helm-creds"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let (io, captured) = Io::captured(Env::empty(), "");
    let dir = empty.path().to_string_lossy().to_string();
    let err = run(["kubectl-kluctl", "helm-pull", "--project-dir", &dir], io).unwrap_err();
    assert_eq!(exit_for_error(&err).code(), 1);
    assert!(
        format!("{err:#}").contains(".kluctl.yaml"),
        "{err:#} {}",
        captured.stderr()
    );
}

#[test]
fn helm_update_lists_then_upgrades_keeping_the_rest_of_the_file() {
    let setup = setup();
    let port = setup.repo.host().rsplit(':').next().unwrap().to_string();
    let creds = format!("{}=ci:pw", setup.repo.host());
    let (code, stdout, stderr) = kluctl(&setup, &["helm-update", "--helm-creds", &creds], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("available app/helm-chart.yaml: chart app 1.0.0 -> 1.1.0"),
        "{stdout}"
    );
    let file = setup.project.path().join("app/helm-chart.yaml");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("chartVersion: 1.0.0  # pinned")
    );

    let (code, stdout, stderr) = kluctl(&setup, &["helm-update", "--upgrade", "--helm-creds", &creds], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("upgraded app/helm-chart.yaml"), "{stdout}");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("chartVersion: 1.1.0  # pinned")
    );
    assert!(chart_yaml(setup.project.path(), "1.1.0", &port).is_file());

    let (code, stdout, _) = kluctl(&setup, &["helm-update", "--helm-creds", &creds], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("All Helm charts are up to date."), "{stdout}");
}
