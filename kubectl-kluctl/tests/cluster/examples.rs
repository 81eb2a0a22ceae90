//! The projects in `examples/`, as a user runs them: the real binary renders each one offline
//! (kinds, names, namespaces, labels per target), deploys it to the test API server, and a
//! follow-up `diff` finds nothing to change. The helm example's chart is checked to be what
//! `helm-pull` stores; the gitops example also installs the CRDs and checks that its committed
//! agent manifests are what `agent install --export` prints today.

use crate::binary::*;
use kluctl_e2e::apiserver::Gvr;
use kluctl_e2e::servers::chart_repo::ChartRepoServer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const DISCRIMINATOR: &str = "kluctl.io/discriminator";

/// `namespace/Kind/name` (namespace empty when unset) of every object, in render order.
fn refs(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}/{}",
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} rendered: {:?}", refs(objects)))
}

fn label<'a>(object: &'a Value, key: &str) -> &'a str {
    object["metadata"]["labels"][key].as_str().unwrap_or("")
}

fn deployments() -> Gvr {
    Gvr::new("apps", "v1", "deployments")
}

#[test]
fn simple_renders_its_kustomization_then_deploys_and_diffs_clean() {
    let env = Env::start();
    let project = example("simple");

    let objects = env.render(&project, "default", &[]);
    assert_eq!(
        refs(&objects),
        [
            "/Namespace/simple",
            "simple/ConfigMap/web-content",
            "simple/Deployment/web",
            "simple/Service/web"
        ]
    );
    for object in &objects {
        assert_eq!(
            label(object, "app.kubernetes.io/name"),
            "simple",
            "kustomization labels"
        );
        assert_eq!(label(object, DISCRIMINATOR), "simple");
    }
    let deployment = find(&objects, "Deployment", "web");
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        Value::Null,
        "includeSelectors: false leaves selectors alone"
    );

    let result = env.deploy_then_diff_clean(&project, "default");
    assert_eq!(result["summary"]["newObjects"], 4);
    let cm = env.get(&Gvr::core("configmaps"), Some("simple"), "web-content");
    assert!(
        cm["data"]["index.html"]
            .as_str()
            .unwrap()
            .contains("Hello from a simple")
    );
}

#[test]
fn helm_renders_the_pre_pulled_chart_per_target_then_deploys_into_the_release_namespace() {
    let env = Env::start();
    let project = example("helm");

    for (target, replicas) in [("dev", 1), ("prod", 2)] {
        let objects = env.render(&project, target, &[]);
        let namespace = format!("helm-example-{target}");
        // Offline there is no discovery, so objects the chart leaves without a namespace stay
        // without one until deploy (as in Kluctl).
        assert_eq!(
            refs(&objects),
            [
                format!("/Namespace/{namespace}"),
                "/ConfigMap/greeter-content".into(),
                "/Service/greeter".into(),
                "/Deployment/greeter".into(),
            ]
        );
        for object in &objects[1..] {
            assert_eq!(label(object, "app.kubernetes.io/instance"), "greeter", "chart labels");
            assert_eq!(label(object, DISCRIMINATOR), namespace);
        }
        let deployment = find(&objects, "Deployment", "greeter");
        assert_eq!(
            deployment["spec"]["replicas"], replicas,
            "helm-values.yaml is templated"
        );
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27",
            "the chart's appVersion"
        );
        let cm = find(&objects, "ConfigMap", "greeter-content");
        assert_eq!(
            cm["data"]["index.html"],
            format!("<h1>Hello from the {target} target</h1>")
        );
    }

    let charts_before = chart_files(&project);
    env.deploy_then_diff_clean(&project, "dev");
    assert_eq!(
        chart_files(&project),
        charts_before,
        "deploying leaves .helm-charts alone"
    );
    for gvr in [Gvr::core("configmaps"), Gvr::core("services"), deployments()] {
        let name = if gvr.resource == "configmaps" {
            "greeter-content"
        } else {
            "greeter"
        };
        let object = env.get(&gvr, Some("helm-example-dev"), name);
        assert_eq!(label(&object, DISCRIMINATOR), "helm-example-dev");
    }
}

/// Every file below `.helm-charts` with its content.
fn chart_files(project: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let files = files_below(&project.join(".helm-charts"));
    assert!(!files.is_empty(), "the chart is pre-pulled");
    files
}

/// Every file below `dir` with its content, sorted by path.
fn files_below(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

#[test]
fn helm_example_chart_is_stored_exactly_as_helm_pull_stores_it() {
    let env = Env::start();
    let committed = example("helm/.helm-charts/https_charts.example.com/greeter/0.1.0");

    // Publish the committed chart in a repository on 127.0.0.1 and point a copy of the project at it.
    let repo_dir = tempfile::tempdir().unwrap();
    let repo = ChartRepoServer::start(repo_dir.path().to_path_buf(), None);
    let helm = kluctl_e2e::servers::charts::test_helm();
    kluctl_e2e::servers::charts::package(&helm, &committed, repo_dir.path());
    kluctl_e2e::servers::charts::repo_index(&helm, repo_dir.path(), &repo.url());
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("helm");
    copy_dir(&example("helm"), &project);
    std::fs::remove_dir_all(project.join(".helm-charts")).unwrap();
    let chart_config = project.join("greeter/helm-chart.yaml");
    let text = std::fs::read_to_string(&chart_config).unwrap();
    assert!(text.contains("repo: https://charts.example.com\n"), "{text}");
    std::fs::write(&chart_config, text.replace("https://charts.example.com", &repo.url())).unwrap();

    let pulled = env.run(&["helm-pull", "--project-dir", project.to_str().unwrap()]);
    assert_eq!(code(&pulled), 0, "{}", stdout(&pulled));
    let charts = project.join(".helm-charts");
    let version_dir = std::fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().path().join("greeter/0.1.0"))
        .find(|p| p.is_dir())
        .expect("helm-pull stored greeter 0.1.0");
    assert_eq!(relative_files(&version_dir), relative_files(&committed));
}

/// Every file below `dir`, relative to it, with its content.
fn relative_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_below(dir)
        .into_iter()
        .map(|(path, content)| (path.strip_prefix(dir).unwrap().to_path_buf(), content))
        .collect()
}

#[test]
fn multi_env_renders_each_target_with_its_vars_args_and_conditional_item() {
    let env = Env::start();
    let project = example("multi-env");

    let dev = env.render(&project, "dev", &[]);
    assert_eq!(
        refs(&dev),
        [
            "/Namespace/multi-env-dev",
            "multi-env-dev/Deployment/backend",
            "multi-env-dev/Service/backend",
            "multi-env-dev/Deployment/frontend",
            "multi-env-dev/Deployment/debug-shell",
        ],
        "overrideNamespace places every namespaced object; dev turns the debug item on"
    );
    let prod = env.render(&project, "prod", &[]);
    assert_eq!(
        refs(&prod),
        [
            "/Namespace/multi-env-prod",
            "multi-env-prod/Deployment/backend",
            "multi-env-prod/Service/backend",
            "multi-env-prod/Deployment/frontend",
        ],
        "the `when` of the debug item is false for prod"
    );

    for (objects, environment) in [(&dev, "dev"), (&prod, "prod")] {
        for object in objects.iter() {
            assert_eq!(label(object, "example.kluctl.io/environment"), environment);
            assert_eq!(label(object, DISCRIMINATOR), format!("multi-env-{environment}"));
        }
    }
    let backend = |objects: &[Value]| find(objects, "Deployment", "backend").clone();
    let container = |d: &Value| d["spec"]["template"]["spec"]["containers"][0].clone();
    assert_eq!(backend(&dev)["spec"]["replicas"], 1, "vars/dev.yaml");
    assert_eq!(backend(&prod)["spec"]["replicas"], 3, "vars/prod.yaml");
    assert_eq!(container(&backend(&dev))["env"][0]["value"], "debug");
    assert_eq!(container(&backend(&prod))["env"][0]["value"], "info");
    assert_eq!(
        container(&backend(&dev))["resources"],
        Value::Null,
        "the if block is prod only"
    );
    assert_eq!(container(&backend(&prod))["resources"]["limits"]["memory"], "256Mi");
    let frontend = find(&prod, "Deployment", "frontend");
    assert_eq!(container(frontend)["env"][1]["value"], "www.example.com");

    // Tags: each app item has its own tag and the shared `app` tag.
    assert_eq!(label(&backend(&dev), "kluctl.io/tag-0"), "app");
    assert_eq!(label(&backend(&dev), "kluctl.io/tag-1"), "backend");
    let only_apps = env.render(&project, "dev", &["-I", "app"]);
    assert_eq!(
        refs(&only_apps),
        [
            "multi-env-dev/Deployment/backend",
            "multi-env-dev/Service/backend",
            "multi-env-dev/Deployment/frontend",
        ]
    );
    let apps_but_frontend = env.render(&project, "dev", &["-I", "app", "-E", "frontend"]);
    assert_eq!(
        refs(&apps_but_frontend),
        ["multi-env-dev/Deployment/backend", "multi-env-dev/Service/backend"]
    );
}

#[test]
fn multi_env_deploys_both_targets_side_by_side_and_each_diffs_clean() {
    let env = Env::start();
    let project = example("multi-env");
    let dev = env.deploy_then_diff_clean(&project, "dev");
    assert_eq!(dev["summary"]["newObjects"], 5);
    let prod = env.deploy_then_diff_clean(&project, "prod");
    assert_eq!(prod["summary"]["newObjects"], 4);
    assert_eq!(
        prod["summary"]["orphanObjects"], 0,
        "dev's objects are not prod's orphans"
    );

    let backend = env.get(&deployments(), Some("multi-env-prod"), "backend");
    assert_eq!(backend["spec"]["replicas"], 3);
    assert!(
        env.server
            .get_object(&deployments(), Some("multi-env-prod"), "debug-shell")
            .is_none()
    );
    env.get(&deployments(), Some("multi-env-dev"), "debug-shell");
}

#[test]
fn handlebars_renders_the_same_objects_as_multi_env_for_every_target() {
    let env = Env::start();
    for target in ["dev", "prod"] {
        let jinja = env.render(&example("multi-env"), target, &[]);
        let handlebars = env.render(&example("handlebars"), target, &[]);
        // The two projects differ only in their name (namespaces, discriminator, item dirs).
        let renamed: Vec<Value> = handlebars
            .iter()
            .map(|o| serde_json::from_str(&o.to_string().replace("handlebars", "multi-env")).unwrap())
            .collect();
        assert_eq!(renamed, jinja, "target {target}");
        assert!(
            handlebars
                .iter()
                .all(|o| label(o, DISCRIMINATOR) == format!("handlebars-{target}"))
        );
    }
}

#[test]
fn handlebars_deploys_then_diffs_clean() {
    let env = Env::start();
    let project = example("handlebars");
    let result = env.deploy_then_diff_clean(&project, "prod");
    assert_eq!(result["summary"]["newObjects"], 4);
    let backend = env.get(&deployments(), Some("handlebars-prod"), "backend");
    assert_eq!(
        backend["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "256Mi"
    );
}

#[test]
fn gitops_agent_manifests_are_what_agent_install_exports_today() {
    let env = Env::start();
    let exported = env.run(&["agent", "install", "-n", "team-a", "--export"]);
    assert_eq!(code(&exported), 0);
    let committed = std::fs::read_to_string(example("gitops/agent/agent-install.yaml")).unwrap();
    assert_eq!(
        committed,
        stdout(&exported),
        "examples/gitops/agent/agent-install.yaml is stale: regenerate it with \
         `kubectl kluctl agent install -n team-a --export > examples/gitops/agent/agent-install.yaml`"
    );
}

#[test]
fn gitops_installs_crds_agent_and_kluctl_deployment_then_the_app_deploys_into_team_a() {
    let env = Env::start();
    let project = example("gitops");

    let objects = env.render(&project, "team-a", &[]);
    assert_eq!(
        refs(&objects),
        [
            "/Namespace/team-a",
            "team-a/ServiceAccount/kluctl-agent",
            "team-a/Role/kluctl-agent",
            "team-a/RoleBinding/kluctl-agent",
            "team-a/RoleBinding/kluctl-agent-deploy",
            "team-a/Deployment/kluctl-agent",
            "team-a/GitRepository/webapp",
            "team-a/KluctlDeployment/webapp",
        ]
    );
    assert!(objects.iter().all(|o| label(o, DISCRIMINATOR) == "gitops-example"));

    // What a cluster admin does once: our CRD, and Flux's source CRDs (Flux is installed).
    let crds = env.run(&["install-crds"]);
    assert_eq!(code(&crds), 0, "{}", stderr(&crds));
    let flux = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(env.server.kubeconfig_path())
        .args(["apply", "--server-side", "-f"])
        .arg(testdata().join("flux-crds"))
        .output()
        .expect("kubectl runs (the reference client must be installed)");
    assert!(flux.status.success(), "{}", String::from_utf8_lossy(&flux.stderr));

    // The server checks custom resources against their CRD's schema, so this proves the
    // committed GitRepository and KluctlDeployment are valid for the installed CRDs.
    env.deploy_then_diff_clean(&project, "team-a");
    let kd = env.get(
        &Gvr::new("flux.kluctl.io", "v1alpha1", "kluctldeployments"),
        Some("team-a"),
        "webapp",
    );
    assert_eq!(kd["spec"]["sourceRef"]["name"], "webapp");
    assert_eq!(kd["spec"]["path"], "examples/gitops/app");
    assert_eq!(kd["spec"]["target"], "prod");
    assert_eq!(
        (kd["spec"]["prune"].clone(), kd["spec"]["delete"].clone()),
        (true.into(), true.into())
    );
    let repo = env.get(
        &Gvr::new("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        Some("team-a"),
        "webapp",
    );
    assert_eq!(repo["spec"]["ref"]["branch"], "main");
    let agent = env.get(&deployments(), Some("team-a"), "kluctl-agent");
    assert_eq!(agent["spec"]["template"]["spec"]["serviceAccountName"], "kluctl-agent");

    // The project the agent deploys stays inside the agent's namespace (the agent refuses
    // anything else), so the same deploy works from the CLI.
    let app = project.join("app");
    let objects = env.render(&app, "prod", &[]);
    assert_eq!(
        refs(&objects),
        [
            "team-a/ConfigMap/webapp",
            "team-a/Deployment/webapp",
            "team-a/Service/webapp"
        ]
    );
    env.deploy_then_diff_clean(&app, "prod");
    let webapp = env.get(&deployments(), Some("team-a"), "webapp");
    assert_eq!(webapp["spec"]["replicas"], 2);
    assert_eq!(label(&webapp, DISCRIMINATOR), "gitops-webapp-prod");
}
