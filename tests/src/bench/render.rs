//! Suite `render`: `kubectl kluctl render` as a library call (project loading, templating of every
//! file, Kustomize, Kluctl's post-processing, the rendered tree written to disk) against running
//! `kubectl kustomize` over the same item directories one after the other, in the same run.
//! Cases: `microservices-demo/1-basic-project` from the Kluctl examples and a synthetic project of
//! 200 templated items.

use super::{BenchConfig, Better, Row, median_duration, millis};
use anyhow::{Context, bail};
use shared::project::{LoadedProject, ProjectOptions, load};
use shared::render::{RenderOptions, render};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the suite.
pub fn run(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut rows = Vec::new();

    let basic = tempfile::tempdir()?;
    crate::fixtures::copy_dir(
        &testdata()?.join("kluctl-examples/microservices-demo/1-basic-project"),
        basic.path(),
    )?;
    rows.push(case(
        config,
        &runtime,
        basic.path(),
        Some("local"),
        "microservices-demo/1-basic-project (12 items)",
    )?);

    let count = if config.quick { 20 } else { 200 };
    let synthetic = tempfile::tempdir()?;
    write_synthetic(synthetic.path(), count)?;
    rows.push(case(
        config,
        &runtime,
        synthetic.path(),
        None,
        &format!("synthetic project, {count} templated items"),
    )?);
    Ok(rows)
}

fn load_project(runtime: &tokio::runtime::Runtime, dir: &Path, target: Option<&str>) -> anyhow::Result<LoadedProject> {
    let options = ProjectOptions {
        project_dir: dir.to_path_buf(),
        target: target.map(str::to_string),
        ..Default::default()
    };
    Ok(runtime.block_on(load(&options, None))?)
}

fn case(
    config: &BenchConfig,
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    target: Option<&str>,
    name: &str,
) -> anyhow::Result<Row> {
    // Ours: everything `render --offline-kubernetes` does, into a fresh temp dir each time.
    let ours = median_duration(config.repetitions, || {
        let project = load_project(runtime, dir, target)?;
        let rendered = render(&project, &RenderOptions::default())?;
        anyhow::ensure!(!rendered.objects.is_empty(), "nothing rendered");
        Ok(())
    })?;
    // The reference builds the same (rendered) item directories with kubectl.
    let out = tempfile::tempdir()?;
    let tree = out.path().join("tree");
    let project = load_project(runtime, dir, target)?;
    let rendered = render(
        &project,
        &RenderOptions {
            output_dir: Some(&tree),
            ..Default::default()
        },
    )?;
    let dirs: Vec<PathBuf> = rendered.items.iter().filter_map(|i| i.dir.clone()).collect();
    let theirs = median_duration(config.repetitions.min(3), || {
        for dir in &dirs {
            kubectl_kustomize(dir)?;
        }
        Ok(())
    })?;
    Ok(Row {
        suite: "render",
        case: name.to_string(),
        ours: millis(ours),
        reference: Some(("kubectl kustomize per item".to_string(), millis(theirs))),
        better: Better::Lower,
        target: Some(30.0),
    })
}

fn kubectl_kustomize(dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .context("kubectl is required as the reference (install the Debian package kubectl)")?;
    if !output.status.success() {
        bail!(
            "kubectl kustomize {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// `shared/testdata` beside the workspace (or `KLUCTL_TESTDATA`).
fn testdata() -> anyhow::Result<PathBuf> {
    crate::fixtures::testdata().context("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// A project with `count` items, each a kustomization of a templated Deployment, Service and
/// ConfigMap, with vars, tags and common labels: what a mid-sized real project looks like.
fn write_synthetic(root: &Path, count: usize) -> anyhow::Result<()> {
    let mut deployment = String::from(
        "vars:\n  - values:\n      registry: registry.example.com\n      replicas: 2\ncommonLabels:\n  team: bench\noverrideNamespace: bench\ndeployments:\n",
    );
    for i in 0..count {
        deployment.push_str(&format!(
            "  - path: apps/app{i:03}\n    vars:\n      - values: {{port: {}}}\n",
            8000 + i
        ));
        let dir = root.join(format!("apps/app{i:03}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("kustomization.yaml"),
            "resources:\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n",
        )?;
        std::fs::write(
            dir.join("deployment.yaml"),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\nspec:\n  replicas: {{{{ replicas }}}}\n  selector:\n    matchLabels: {{app: app{i}}}\n  template:\n    metadata:\n      labels: {{app: app{i}}}\n    spec:\n      containers:\n        - name: main\n          image: {{{{ registry }}}}/app{i}:1.0\n          ports:\n            - containerPort: {{{{ port }}}}\n          env:\n{{% for e in ['A', 'B', 'C'] %}}\n            - name: VAR_{{{{ e }}}}\n              value: \"{{{{ e | lower }}}}\"\n{{% endfor %}}\n"
            ),
        )?;
        std::fs::write(
            dir.join("service.yaml"),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\nspec:\n  selector: {{app: app{i}}}\n  ports:\n    - port: 80\n      targetPort: {{{{ port }}}}\n"
            ),
        )?;
        std::fs::write(
            dir.join("configmap.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app{i}-config\ndata:\n  settings: |\n{{{{ {{'port': port, 'registry': registry}} | to_yaml | indent(4, true) }}}}\n"
            ),
        )?;
    }
    std::fs::write(root.join("deployment.yaml"), deployment)?;
    Ok(())
}
