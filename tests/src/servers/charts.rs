//! Chart fixtures for tests: the helm binary (a missing one fails the test with instructions,
//! never skips it), small charts written to disk, packaged with `helm package` and indexed with
//! `helm repo index`, exactly as a real repository is built.

use shared::helm::HelmBinary;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The helm binary for tests: `KLUCTL_HELM_BINARY`, `PATH`, then the workspace's `.tools/bin/helm`
/// (where `scripts/install-helm` puts it). Panics with what to do when there is none.
pub fn test_helm() -> HelmBinary {
    if let Ok(helm) = HelmBinary::resolve() {
        return helm;
    }
    let workspace_tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/helm");
    if workspace_tool.is_file() {
        return HelmBinary::at(workspace_tool);
    }
    panic!(
        "helm is required by this test but was not found: run scripts/install-helm (installs a static helm into \
         .tools/bin), put helm on PATH, or set KLUCTL_HELM_BINARY"
    );
}

/// Writes a chart named `name` at `version` into `dir/<name>` with one ConfigMap template (that
/// shows the release namespace and a value), plus `extra` templates `(file name, content)`.
pub fn write_chart(dir: &Path, name: &str, version: &str, extra: &[(&str, &str)]) -> PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).expect("create chart dir");
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\n"),
    )
    .expect("write Chart.yaml");
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").expect("write values.yaml");
    std::fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  \
         namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  \
         chartVersion: {{ .Chart.Version | quote }}\n",
    )
    .expect("write template");
    for (file, content) in extra {
        std::fs::write(chart.join("templates").join(file), content).expect("write extra template");
    }
    chart
}

fn run(helm: &HelmBinary, args: &[&str]) {
    let output = Command::new(helm.path())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running helm {args:?}: {e}"));
    assert!(
        output.status.success(),
        "helm {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `helm package <chart_dir> -d <dest>`; returns the archive path.
pub fn package(helm: &HelmBinary, chart_dir: &Path, dest: &Path) -> PathBuf {
    std::fs::create_dir_all(dest).expect("create package dir");
    run(
        helm,
        &["package", &chart_dir.to_string_lossy(), "-d", &dest.to_string_lossy()],
    );
    let chart_yaml = std::fs::read_to_string(chart_dir.join("Chart.yaml")).expect("read Chart.yaml");
    let field = |key: &str| {
        chart_yaml
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .map(|v| v.trim().to_string())
            .expect("chart field")
    };
    dest.join(format!("{}-{}.tgz", field("name"), field("version")))
}

/// `helm repo index <dir> --url <url>`.
pub fn repo_index(helm: &HelmBinary, dir: &Path, url: &str) {
    run(helm, &["repo", "index", &dir.to_string_lossy(), "--url", url]);
}
