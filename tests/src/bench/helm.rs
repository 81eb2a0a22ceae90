//! Suite `helm`: the whole render of `microservices-demo/3-templating-and-multi-env`, target
//! `prod` (project loading, Jinja2, `helm template` for the redis release, native Kustomize and
//! post-processing), against what a user runs by hand on the same rendered items: `helm
//! template` for the release and `kubectl kustomize` for each item directory. Also
//! `helm-pull` of that redis chart from a repository on 127.0.0.1 against `helm pull --untar`.

use super::{BenchConfig, Better, Row, median_duration, millis};
use crate::servers::chart_repo::ChartRepoServer;
use crate::servers::charts::{package, repo_index, test_helm};
use anyhow::{Context, bail};
use shared::helm::{ChartCache, ChartClient, HelmBinary, HelmStage, PullOptions, pull_project};
use shared::project::{LoadedProject, ProjectOptions, load};
use shared::render::{RenderOptions, render_with_helm};
use shared::types::helm_chart::HelmChartFile;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = "microservices-demo/3-templating-and-multi-env";

/// Runs the suite.
pub fn run(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let helm = test_helm();
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .context("kubectl is required as the reference (install the Debian package kubectl)")?;
    Ok(vec![render(config, &helm)?, pull(config, &helm)?])
}

fn examples() -> anyhow::Result<PathBuf> {
    Ok(crate::fixtures::testdata()
        .context("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")?
        .join("kluctl-examples"))
}

fn load_prod(runtime: &tokio::runtime::Runtime, dir: &Path) -> anyhow::Result<LoadedProject> {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: Some("prod".to_string()),
        ..Default::default()
    };
    runtime
        .block_on(load(&options, None))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn render(config: &BenchConfig, helm: &HelmBinary) -> anyhow::Result<Row> {
    let work = tempfile::tempdir()?;
    let project_dir = work.path().join("project");
    crate::fixtures::copy_dir(&examples()?.join(EXAMPLE), &project_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stage = HelmStage::new(
        Some(helm.clone()),
        ChartCache::new(work.path().join("cache"), ChartClient::default()),
        None,
    );

    let ours = median_duration(config.repetitions, || {
        let project = load_prod(&runtime, &project_dir)?;
        let options = RenderOptions {
            output_dir: None,
            scopes: None,
            builder: None,
        };
        let rendered = render_with_helm(&project, &options, &stage).map_err(|e| anyhow::anyhow!("{e}"))?;
        if rendered.objects.iter().count() < 20 {
            bail!("the render is incomplete");
        }
        Ok(())
    })?;

    // The reference works on the same items, already templated (neither tool does Jinja2).
    let rendered_dir = work.path().join("rendered");
    let project = load_prod(&runtime, &project_dir)?;
    let options = RenderOptions {
        output_dir: Some(&rendered_dir),
        scopes: None,
        builder: None,
    };
    let rendered = render_with_helm(&project, &options, &stage).map_err(|e| anyhow::anyhow!("{e}"))?;
    let items: Vec<PathBuf> = rendered.items.iter().filter_map(|i| i.dir.clone()).collect();
    let releases: Vec<(PathBuf, Vec<String>)> = items
        .iter()
        .filter_map(|dir| helm_template_args(dir, &project_dir).transpose())
        .collect::<anyhow::Result<_>>()?;
    let reference = median_duration(config.repetitions, || {
        for (output, args) in &releases {
            let out = Command::new(helm.path()).args(args).output()?;
            if !out.status.success() {
                bail!("helm template failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            std::fs::write(output, &out.stdout)?;
        }
        for dir in &items {
            let out = Command::new("kubectl").arg("kustomize").arg(dir).output()?;
            if !out.status.success() {
                bail!(
                    "kubectl kustomize {} failed: {}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        Ok(())
    })?;
    Ok(Row {
        suite: "helm",
        case: format!(
            "render {EXAMPLE} -t prod ({} items, 1 chart) vs helm template + kubectl kustomize per item",
            items.len()
        ),
        ours: millis(ours),
        reference: Some(("helm+kubectl".to_string(), millis(reference))),
        better: Better::Lower,
        target: Some(3.0),
    })
}

/// The `helm template` a user would run for the release in `dir`, and where its output goes.
fn helm_template_args(dir: &Path, project_dir: &Path) -> anyhow::Result<Option<(PathBuf, Vec<String>)>> {
    let Some(config_file) = ["helm-chart.yml", "helm-chart.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&config_file)?;
    let config = shared::yaml::parse_typed::<HelmChartFile>(&text, "helm-chart.yml")?.helm_chart;
    let chart = shared::helm::ChartRef::from_config(&config)
        .map_err(anyhow::Error::msg)?
        .context("a repository chart")?;
    let version = config.chart_version.clone().unwrap_or_default();
    let chart_dir = chart
        .version_dir(&project_dir.join(".helm-charts"), &version)
        .map_err(anyhow::Error::msg)?;
    let mut args = vec![
        "template".to_string(),
        config.release_name.clone(),
        chart_dir.to_string_lossy().to_string(),
        "--namespace".to_string(),
        config.namespace_or_default().to_string(),
        "--include-crds".to_string(),
        "--skip-tests".to_string(),
    ];
    let values = dir.join("helm-values.yml");
    if values.is_file() {
        args.push("--values".to_string());
        args.push(values.to_string_lossy().to_string());
    }
    Ok(Some((dir.join(config.output_name()), args)))
}

fn pull(config: &BenchConfig, helm: &HelmBinary) -> anyhow::Result<Row> {
    let work = tempfile::tempdir()?;
    let repo_root = work.path().join("repo");
    std::fs::create_dir_all(&repo_root)?;
    let server = ChartRepoServer::start(repo_root.clone(), None);
    let prepulled = examples()?
        .join(EXAMPLE)
        .join(".helm-charts/https_charts.bitnami.com/bitnami/redis/17.4.0");
    let staging = work.path().join("chart/redis");
    crate::fixtures::copy_dir(&prepulled, &staging)?;
    package(helm, &staging, &repo_root);
    repo_index(helm, &repo_root, &server.url());

    let project = work.path().join("project");
    std::fs::create_dir_all(project.join("redis"))?;
    std::fs::write(project.join(".kluctl.yaml"), "targets:\n  - name: prod\n")?;
    std::fs::write(
        project.join("redis/helm-chart.yaml"),
        format!(
            "helmChart:\n  repo: {}\n  chartName: redis\n  chartVersion: 17.4.0\n  releaseName: cart\n",
            server.url()
        ),
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let ours = median_duration(config.repetitions, || {
        // A new client each time: nothing cached between runs, as for a fresh `helm-pull`.
        let report = runtime.block_on(pull_project(&project, &ChartClient::default(), &PullOptions::default()))?;
        if !report.is_success() || report.pulled.len() != 1 {
            bail!("helm-pull failed: {:?}", report.errors);
        }
        Ok(())
    })?;
    let helm_home = work.path().join("helm-home");
    let reference = median_duration(config.repetitions, || {
        let dest = tempfile::tempdir_in(work.path())?;
        let out = Command::new(helm.path())
            .args([
                "pull",
                "redis",
                "--repo",
                &server.url(),
                "--version",
                "17.4.0",
                "--untar",
                "-d",
            ])
            .arg(dest.path())
            .env("HELM_CACHE_HOME", helm_home.join("cache"))
            .env("HELM_CONFIG_HOME", helm_home.join("config"))
            .env("HELM_DATA_HOME", helm_home.join("data"))
            .output()?;
        if !out.status.success() {
            bail!("helm pull failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    })?;
    Ok(Row {
        suite: "helm",
        case: "helm-pull redis 17.4.0 from a repository on 127.0.0.1 vs helm pull --untar".to_string(),
        ours: millis(ours),
        reference: Some(("helm pull".to_string(), millis(reference))),
        better: Better::Lower,
        target: Some(1.0),
    })
}
