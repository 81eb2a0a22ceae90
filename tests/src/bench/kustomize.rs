//! Suite `kustomize`: the native engine (`shared::kustomize::build`) against `kubectl kustomize`
//! on the same directories, in the same run: every case of the Kustomize corpus
//! (`shared/tests/kustomize-corpus`), reported as the median of the per-folder speed-ups, and a
//! synthetic project of 200 kustomization directories built one after the other.

use super::{BenchConfig, Better, Measurement, Row, median_duration, millis};
use anyhow::{Context, bail};
use shared::kustomize::{self, BuildOptions, ExternalKustomize};
use std::path::{Path, PathBuf};
use std::process::Command;

const KUBECTL: &str = "kubectl";

/// Runs the suite.
pub fn run(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    which_kubectl()?;
    let mut rows = Vec::new();
    rows.push(corpus(config)?);
    if let Some(row) = corpus_cli(config)? {
        rows.push(row);
    }
    rows.extend(synthetic(config)?);
    Ok(rows)
}

fn which_kubectl() -> anyhow::Result<()> {
    let status = Command::new(KUBECTL)
        .args(["version", "--client"])
        .output()
        .context("kubectl is required as the reference (install the Debian package kubectl)")?;
    if !status.status.success() {
        bail!("kubectl version --client failed");
    }
    Ok(())
}

fn options(root: &Path) -> BuildOptions {
    BuildOptions {
        external: ExternalKustomize::Disabled,
        ..BuildOptions::kubectl(root.to_path_buf())
    }
}

fn kubectl_kustomize(dir: &Path) -> anyhow::Result<()> {
    let output = Command::new(KUBECTL)
        .arg("kustomize")
        .arg(dir)
        .output()
        .with_context(|| format!("running kubectl kustomize {}", dir.display()))?;
    if !output.status.success() {
        bail!(
            "kubectl kustomize {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn corpus_cases() -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/kustomize-corpus");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&corpus).with_context(|| format!("reading {}", corpus.display()))? {
        let case = entry?.path();
        if !case.join("expected.yaml").is_file() {
            continue;
        }
        let input = case.join("input");
        let dir = match std::fs::read_to_string(case.join("build-dir")) {
            Ok(dir) => input.join(dir.trim()),
            Err(_) => input.clone(),
        };
        cases.push((input, dir));
    }
    cases.sort();
    Ok(cases)
}

/// The median over corpus folders of (kubectl time / native time).
fn corpus(config: &BenchConfig) -> anyhow::Result<Row> {
    let repetitions = config.repetitions;
    let mut ratios = Vec::new();
    let mut skipped = 0;
    let cases = corpus_cases()?;
    let total = cases.len();
    for (root, dir) in cases.iter().take(if config.quick { 8 } else { usize::MAX }) {
        let options = options(root);
        if kustomize::build(dir, &options).is_err() {
            // A case the native engine cannot build yet is not timed (the corpus test reports it).
            skipped += 1;
            continue;
        }
        let ours = median_duration(repetitions, || {
            kustomize::build(dir, &options).map(|_| ()).map_err(anyhow::Error::from)
        })?;
        let theirs = median_duration(repetitions, || kubectl_kustomize(dir))?;
        ratios.push(theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9));
    }
    if ratios.is_empty() {
        bail!("no corpus folder could be built natively");
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    Ok(Row {
        suite: "kustomize",
        case: format!(
            "corpus: median speed-up over {} of {total} folders ({skipped} not built natively)",
            ratios.len()
        ),
        ours: Measurement {
            value: median,
            unit: "x",
        },
        reference: None,
        better: Better::Higher,
        target: Some(30.0),
    })
}

/// The plugin binary next to this one (built by `scripts/bench`).
fn plugin_binary() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let binary = dir.join("kubectl-kluctl");
    binary.is_file().then_some(binary)
}

/// The same comparison through the command line: `kubectl-kluctl kustomize DIR` as a process,
/// so both sides pay a process start.
fn corpus_cli(config: &BenchConfig) -> anyhow::Result<Option<Row>> {
    let Some(binary) = plugin_binary() else {
        eprintln!("kustomize: kubectl-kluctl not built next to kluctl-bench; skipping the command-line row");
        return Ok(None);
    };
    let mut ratios = Vec::new();
    for (_, dir) in corpus_cases()?.iter().take(if config.quick { 8 } else { usize::MAX }) {
        let ours_once = || -> anyhow::Result<()> {
            let output = Command::new(&binary).arg("kustomize").arg(dir).output()?;
            if !output.status.success() {
                bail!("kubectl-kluctl kustomize {} failed", dir.display());
            }
            Ok(())
        };
        if ours_once().is_err() {
            continue;
        }
        let ours = median_duration(config.repetitions, ours_once)?;
        let theirs = median_duration(config.repetitions, || kubectl_kustomize(dir))?;
        ratios.push(theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9));
    }
    if ratios.is_empty() {
        return Ok(None);
    }
    ratios.sort_by(f64::total_cmp);
    Ok(Some(Row {
        suite: "kustomize",
        case: format!(
            "corpus via `kubectl-kluctl kustomize` processes: median speed-up over {} folders",
            ratios.len()
        ),
        ours: Measurement {
            value: ratios[ratios.len() / 2],
            unit: "x",
        },
        reference: None,
        better: Better::Higher,
        target: Some(30.0),
    }))
}

/// Writes a project of `count` kustomization directories, each with a base-like set of objects,
/// a generator, labels, a prefix, an image override and a JSON patch.
fn write_synthetic(root: &Path, count: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for i in 0..count {
        let dir = root.join(format!("item-{i:03}"));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("kustomization.yaml"),
            format!(
                "namespace: team-{team}\nnamePrefix: item{i}-\ncommonLabels:\n  app.kubernetes.io/part-of: synthetic\n\
                 resources:\n- deployment.yaml\n- service.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  \
                 - index={i}\n  - mode=bench\nimages:\n- name: nginx\n  newTag: \"1.27\"\npatches:\n- target:\n    kind: Deployment\n  \
                 patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 2\n",
                team = i % 10
            ),
        )?;
        std::fs::write(
            dir.join("deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      \
             app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        \
             image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: settings\n        ports:\n        \
             - containerPort: 80\n",
        )?;
        std::fs::write(
            dir.join("service.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n",
        )?;
        dirs.push(dir);
    }
    Ok(dirs)
}

fn synthetic(config: &BenchConfig) -> anyhow::Result<Vec<Row>> {
    let count = if config.quick { 20 } else { 200 };
    let tmp = tempfile::tempdir()?;
    let dirs = write_synthetic(tmp.path(), count)?;
    let options = options(tmp.path());
    let ours = median_duration(config.repetitions, || {
        for dir in &dirs {
            kustomize::build(dir, &options)?;
        }
        Ok(())
    })?;
    // kubectl takes seconds per repetition here; fewer repetitions keep the run short.
    let theirs = median_duration(config.repetitions.min(3), || {
        for dir in &dirs {
            kubectl_kustomize(dir)?;
        }
        Ok(())
    })?;
    Ok(vec![Row {
        suite: "kustomize",
        case: format!("synthetic project, {count} directories built one after the other"),
        ours: millis(ours),
        reference: Some(("kubectl kustomize".to_string(), millis(theirs))),
        better: Better::Lower,
        target: Some(30.0),
    }])
}
