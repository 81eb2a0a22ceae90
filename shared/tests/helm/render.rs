//! Rendering releases with the real helm binary: arguments, output, hooks, namespaces, local and
//! on-demand charts, and the errors users see.

use super::common::{Project, Repo};
use kluctl_e2e::servers::charts::{test_helm, write_chart};
use serde_json::Value;
use shared::helm::{
    ChartCache, ChartClient, ClusterInfo, HelmBinary, HelmError, HelmRelease, HelmRenderContext,
    INSTALL_NAMESPACE_ANNOTATION, apply_install_namespace, render_item_releases,
};
use std::path::{Path, PathBuf};

/// A project with a pre-pulled chart `app` 1.0.0 from `https://charts.example.com/stable`, and a
/// rendered copy of the item `apps/app` (as the render stage would produce it).
struct Fixture {
    project: Project,
    rendered: tempfile::TempDir,
    helm: HelmBinary,
    cache: ChartCache,
    _cache_dir: tempfile::TempDir,
}

const CHART_DIR: &str = ".helm-charts/https_charts.example.com/stable/app/1.0.0";

impl Fixture {
    fn new(extra_templates: &[(&str, &str)]) -> Self {
        let project = Project::new();
        let prepulled = project.path().join(CHART_DIR);
        let scratch = tempfile::tempdir().unwrap();
        let chart = write_chart(scratch.path(), "app", "1.0.0", extra_templates);
        copy_dir(&chart, &prepulled);
        let cache_dir = tempfile::tempdir().unwrap();
        Fixture {
            project,
            rendered: tempfile::tempdir().unwrap(),
            helm: test_helm(),
            cache: ChartCache::new(cache_dir.path(), ChartClient::default()),
            _cache_dir: cache_dir,
        }
    }

    /// Writes a file of the item both in the sources and in the rendered tree.
    fn item_file(&self, name: &str, content: &str) {
        self.project.write(&format!("apps/app/{name}"), content);
        let rendered = self.rendered_item().join(name);
        std::fs::create_dir_all(rendered.parent().unwrap()).unwrap();
        std::fs::write(rendered, content).unwrap();
    }

    fn rendered_item(&self) -> PathBuf {
        self.rendered.path().join("apps/app")
    }

    fn render(&self, cluster: Option<&ClusterInfo>) -> Result<Vec<HelmRelease>, HelmError> {
        let source_item = self.project.path().join("apps/app");
        let ctx = HelmRenderContext {
            source_root: self.project.path(),
            source_item_dir: &source_item,
            display_dir: "apps/app",
            helm: &self.helm,
            cluster,
            cache: &self.cache,
        };
        render_item_releases(&self.rendered_item(), &ctx)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    kluctl_e2e::fixtures::copy_dir(from, to).unwrap();
}

fn objects(path: &Path) -> Vec<Value> {
    shared::yaml::parse_documents(&std::fs::read_to_string(path).unwrap(), "out").unwrap()
}

const RELEASE: &str = "helmChart:\n  repo: https://charts.example.com/stable\n  chartName: app\n  chartVersion: 1.0.0\n  \
                       releaseName: web\n  namespace: shop\n";

#[test]
fn renders_a_prepulled_chart_with_values_and_marks_the_release_namespace() {
    let fx = Fixture::new(&[(
        "role.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-sa\n",
    )]);
    fx.item_file("helm-chart.yml", RELEASE);
    fx.item_file("helm-values.yml", "greeting: hi from values\n");
    let releases = fx.render(None).unwrap();
    assert_eq!(releases.len(), 1);
    let release = &releases[0];
    assert_eq!(release.config_file, "apps/app/helm-chart.yml");
    assert_eq!(release.output_name, "helm-rendered.yaml");
    assert_eq!((release.chart.as_str(), release.version.as_str()), ("app", "1.0.0"));
    assert_eq!(release.object_count, 2);

    let objs = objects(&fx.rendered_item().join("helm-rendered.yaml"));
    let cm = objs.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["metadata"]["name"], "web-config");
    assert_eq!(cm["metadata"]["namespace"], "shop");
    assert_eq!(cm["data"]["greeting"], "hi from values");
    // The ServiceAccount has no namespace in the chart: the annotation carries the release's.
    let mut sa = objs.iter().find(|o| o["kind"] == "ServiceAccount").unwrap().clone();
    assert_eq!(sa["metadata"]["annotations"][INSTALL_NAMESPACE_ANNOTATION], "shop");
    assert_eq!(apply_install_namespace(&mut sa, true).as_deref(), Some("shop"));
    assert_eq!(sa["metadata"]["namespace"], "shop");
    assert!(sa["metadata"].get("annotations").is_none());
}

#[test]
fn output_name_crds_and_no_namespace_annotation_without_namespace() {
    let fx = Fixture::new(&[]);
    let crds = fx.project.path().join(CHART_DIR).join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    std::fs::write(
        crds.join("crd.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
    )
    .unwrap();
    fx.item_file(
        "helm-chart.yaml",
        "helmChart:\n  repo: https://charts.example.com/stable\n  chartName: app\n  chartVersion: 1.0.0\n  \
         releaseName: web\n  output: deploy.yml\n",
    );
    let releases = fx.render(None).unwrap();
    assert_eq!(releases[0].output_name, "deploy.yml");
    assert_eq!(releases[0].namespace, "default");
    let objs = objects(&fx.rendered_item().join("deploy.yml"));
    assert!(
        objs.iter().any(|o| o["kind"] == "CustomResourceDefinition"),
        "CRDs are included by default"
    );
    assert!(objs.iter().all(|o| o.pointer("/metadata/annotations").is_none()));

    fx.item_file(
        "helm-chart.yaml",
        "helmChart:\n  repo: https://charts.example.com/stable\n  chartName: app\n  chartVersion: 1.0.0\n  \
         releaseName: web\n  output: deploy.yml\n  skipCRDs: true\n",
    );
    fx.render(None).unwrap();
    let objs = objects(&fx.rendered_item().join("deploy.yml"));
    assert!(
        objs.iter().all(|o| o["kind"] != "CustomResourceDefinition"),
        "skipCRDs leaves them out"
    );
}

#[test]
fn cluster_version_and_api_versions_reach_the_chart() {
    let fx = Fixture::new(&[(
        "caps.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
         monitoring: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n  \
         servicemonitor: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1/ServiceMonitor\" | quote }}\n",
    )]);
    fx.item_file("helm-chart.yaml", RELEASE);
    fx.render(None).unwrap();
    let caps = |fx: &Fixture| {
        objects(&fx.rendered_item().join("helm-rendered.yaml"))
            .into_iter()
            .find(|o| o["metadata"]["name"] == "caps")
            .unwrap()["data"]
            .clone()
    };
    assert_eq!(caps(&fx)["monitoring"], "false");
    let cluster = ClusterInfo {
        kube_version: Some("v1.29.4".into()),
        api_versions: vec![
            "monitoring.coreos.com/v1".into(),
            "monitoring.coreos.com/v1/ServiceMonitor".into(),
        ],
    };
    fx.render(Some(&cluster)).unwrap();
    let data = caps(&fx);
    assert_eq!(data["kube"], "v1.29.4");
    assert_eq!(data["monitoring"], "true");
    assert_eq!(data["servicemonitor"], "true");
}

#[test]
fn hooks_are_kept_for_kluctl_and_test_hooks_are_dropped() {
    let fx = Fixture::new(&[
        (
            "job.yaml",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    \
             \"helm.sh/hook\": pre-install,pre-upgrade\n    \"helm.sh/hook-weight\": \"-1\"\nspec:\n  template:\n    \
             spec:\n      restartPolicy: Never\n      containers: [{name: m, image: busybox}]\n",
        ),
        (
            "test.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke-test\n  annotations:\n    \"helm.sh/hook\": test\n\
             spec:\n  containers: [{name: t, image: busybox}]\n",
        ),
    ]);
    fx.item_file("helm-chart.yaml", RELEASE);
    fx.render(None).unwrap();
    let objs = objects(&fx.rendered_item().join("helm-rendered.yaml"));
    assert!(
        objs.iter().all(|o| o["metadata"]["name"] != "smoke-test"),
        "test hooks are dropped"
    );
    let job = objs
        .iter()
        .find(|o| o["kind"] == "Job")
        .expect("hooks are part of the output");
    // The deploy stage maps Helm's hook annotations to Kluctl hooks.
    let hook = shared::deploy::hooks::parse_hook(job).hook.expect("the job is a hook");
    let types: Vec<&str> = hook.types.iter().map(|t| t.name()).collect();
    assert_eq!(types, vec!["pre-deploy-initial", "pre-deploy-upgrade"]);
    assert_eq!(hook.weight, -1);
    // Hooks come after the normal manifests, as `helm template` and Kluctl order them.
    assert_eq!(objs.last().unwrap()["kind"], "Job");
}

#[test]
fn duplicate_keys_in_chart_output_are_tolerated_like_helm_does() {
    let fx = Fixture::new(&[(
        "dup.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\n  labels:\n    a: one\n    a: two\n",
    )]);
    fx.item_file("helm-chart.yaml", RELEASE);
    fx.render(None).unwrap();
    let objs = objects(&fx.rendered_item().join("helm-rendered.yaml"));
    let dup = objs.iter().find(|o| o["metadata"]["name"] == "dup").unwrap();
    assert_eq!(dup["metadata"]["labels"]["a"], "two");
}

#[test]
fn a_chart_that_is_not_prepulled_tells_the_user_to_run_helm_pull() {
    let fx = Fixture::new(&[]);
    fx.item_file("helm-chart.yaml", &RELEASE.replace("1.0.0", "2.0.0"));
    let err = fx.render(None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HelmError::ChartNotPulled { .. }), "{text}");
    assert!(text.contains("kubectl kluctl helm-pull"), "{text}");
    assert!(text.contains("apps/app/helm-chart.yaml"), "{text}");
    assert!(text.contains("only version 1.0.0 is pre-pulled"), "{text}");

    std::fs::remove_dir_all(fx.project.path().join(".helm-charts")).unwrap();
    let text = fx.render(None).unwrap_err().to_string();
    assert!(
        text.contains("no .helm-charts directory") && text.contains("helm-pull"),
        "{text}"
    );
}

#[test]
fn helm_failures_name_the_chart_the_values_file_and_helms_message() {
    let fx = Fixture::new(&[(
        "required.yaml",
        "{{ required \"replicaCount is required\" .Values.replicaCount }}\n",
    )]);
    fx.item_file("helm-chart.yaml", RELEASE);
    fx.item_file("helm-values.yaml", "greeting: x\n");
    let err = fx.render(None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HelmError::HelmTemplate { .. }), "{text}");
    assert!(text.contains("helm chart app 1.0.0 for release web"), "{text}");
    assert!(
        text.contains("apps/app/helm-chart.yaml, values apps/app/helm-values.yaml"),
        "{text}"
    );
    assert!(text.contains("replicaCount is required"), "{text}");

    fx.item_file("helm-values.yaml", "greeting: [unclosed\n");
    let text = fx.render(None).unwrap_err().to_string();
    let rendered = fx.rendered.path().to_string_lossy().to_string();
    assert!(
        !text.contains(&rendered),
        "temp paths are replaced by project paths: {text}"
    );
    assert!(text.contains("failed to parse apps/app/helm-values.yaml"), "{text}");
}

#[test]
fn missing_helm_binary_is_a_clear_error() {
    let mut fx = Fixture::new(&[]);
    fx.item_file("helm-chart.yaml", RELEASE);
    fx.helm = HelmBinary::at("/nonexistent/helm");
    let text = fx.render(None).unwrap_err().to_string();
    assert!(text.contains("failed to run /nonexistent/helm"), "{text}");
    let err = HelmBinary::resolve_from(None, Some(std::ffi::OsString::from("/nonexistent"))).unwrap_err();
    assert!(err.to_string().contains("install Helm"), "{err}");
}

#[test]
fn local_charts_come_from_the_sources_and_must_stay_inside_the_project() {
    let fx = Fixture::new(&[]);
    let scratch = tempfile::tempdir().unwrap();
    let chart = write_chart(scratch.path(), "local", "0.3.0", &[]);
    copy_dir(&chart, &fx.project.path().join("charts/local"));
    // A Jinja2-looking chart template must reach helm untouched: the chart is read from the sources.
    fx.item_file(
        "helm-chart.yaml",
        "helmChart:\n  path: ../../charts/local\n  releaseName: loc\n",
    );
    let releases = fx.render(None).unwrap();
    assert_eq!(
        (releases[0].chart.as_str(), releases[0].version.as_str()),
        ("local", "0.3.0")
    );
    let objs = objects(&fx.rendered_item().join("helm-rendered.yaml"));
    assert_eq!(objs[0]["metadata"]["name"], "loc-config");

    // `../../..` is the directory holding the project: it exists, but is outside.
    fx.item_file("helm-chart.yaml", "helmChart:\n  path: ../../..\n  releaseName: loc\n");
    let text = fx.render(None).unwrap_err().to_string();
    assert!(text.contains("outside the project"), "{text}");
}

#[test]
fn skip_pre_pull_charts_are_pulled_into_the_cache_at_render_time() {
    let repo = Repo::start(None);
    repo.publish("app", &["1.5.0"], &[]);
    let fx = Fixture::new(&[]);
    fx.item_file(
        "helm-chart.yaml",
        &format!(
            "helmChart:\n  repo: {}\n  chartName: app\n  chartVersion: 1.5.0\n  releaseName: web\n  skipPrePull: true\n",
            repo.url()
        ),
    );
    let releases = fx.render(None).unwrap();
    assert_eq!(releases[0].version, "1.5.0");
    let objs = objects(&fx.rendered_item().join("helm-rendered.yaml"));
    assert_eq!(objs[0]["data"]["chartVersion"], "1.5.0");
    let port = repo.server.host().rsplit(':').next().unwrap().to_string();
    assert!(
        fx.cache
            .dir()
            .join(format!("http_{port}_127.0.0.1/app/1.5.0/Chart.yaml"))
            .is_file()
    );
    // A second render uses the cache without asking the server again.
    let before = repo.server.requests().len();
    fx.render(None).unwrap();
    assert_eq!(repo.server.requests().len(), before);
}
