//! `render` and `list-targets` as users run them: the binary as a process over copies of the
//! examples, offline and against the in-memory API server.

use crate::util::{assert_code, example_project, plugin, stderr, stdout};
use kluctl_e2e::apiserver::{ServerOptions, TestServer};

#[test]
fn render_prints_every_object_of_the_target_offline() {
    let project = example_project("simple");
    let dir = project.path().to_str().unwrap();
    let output = plugin(
        &[
            "render",
            "--project-dir",
            dir,
            "-t",
            "simple",
            "--offline-kubernetes",
            "--print-all",
        ],
        &[],
    );
    assert_code(&output, 0);
    let objects = shared::yaml::parse_documents(&stdout(&output), "stdout").unwrap();
    let names: Vec<_> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["simple-simple", "nginx-deployment", "nginx"]);
    assert_eq!(objects[1]["metadata"]["namespace"], "simple-simple");
    assert_eq!(
        objects[1]["metadata"]["labels"]["kluctl.io/discriminator"],
        "kluctl-examples-simple-simple"
    );
    assert!(
        stderr(&output).contains("Rendered 3 objects from 1 deployment items"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_takes_flags_from_kluctl_variables_and_prints_json_lists() {
    let project = example_project("microservices-demo/3-templating-and-multi-env");
    let dir = project.path().to_str().unwrap();
    let output = plugin(
        &[
            "render",
            "--project-dir",
            dir,
            "--offline-kubernetes",
            "--print-all",
            "-o",
            "json",
        ],
        &[("KLUCTL_TARGET", "prod"), ("KLUCTL_EXCLUDE_TAG", "third-party")],
    );
    assert_code(&output, 0);
    let list: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|o| o["metadata"]["name"] == "emailservice"));
    assert!(items.iter().all(|o| o["metadata"]["name"] != "cart-redis-master"));
}

#[test]
fn render_keeps_the_tree_in_the_output_dir() {
    let project = example_project("microservices-demo/1-basic-project");
    let out = project.path().join("rendered");
    let output = plugin(
        &[
            "render",
            "--project-dir",
            project.path().to_str().unwrap(),
            "-t",
            "local",
            "--offline-kubernetes",
            "--render-output-dir",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_code(&output, 0);
    assert!(stdout(&output).is_empty());
    assert!(out.join("frontend/.rendered.yml").is_file());
    assert!(stderr(&output).contains(out.to_str().unwrap()));
}

#[test]
fn render_errors_name_the_project_file_and_exit_1() {
    let project = example_project("simple");
    let dir = project.path().to_str().unwrap();
    std::fs::write(project.path().join("deployment/nginx/service.yml"), "a: {{ nope }}\n").unwrap();
    let output = plugin(
        &["render", "--project-dir", dir, "-t", "simple", "--offline-kubernetes"],
        &[],
    );
    assert_code(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("deployment/nginx/service.yml:1:7: failed to render template"),
        "{err}"
    );
    assert!(!err.contains(dir), "{err}");

    let output = plugin(
        &["render", "--project-dir", dir, "-t", "nope", "--offline-kubernetes"],
        &[],
    );
    assert_code(&output, 1);
    assert!(
        stderr(&output).contains("target \"nope\" does not exist"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn list_targets_prints_rendered_targets_and_names() {
    let project = example_project("microservices-demo/3-templating-and-multi-env");
    let dir = project.path().to_str().unwrap();
    let output = plugin(&["list-targets", "--project-dir", dir, "--only-names"], &[]);
    assert_code(&output, 0);
    assert_eq!(stdout(&output), "local\nprod\ntest\n");
    let output = plugin(&["list-targets", "--project-dir", dir], &[]);
    assert_code(&output, 0);
    let targets = shared::yaml::parse_single(&stdout(&output), "stdout").unwrap();
    assert_eq!(targets[1]["name"], "prod");
    assert_eq!(targets[1]["discriminator"], "kluctl-examples-microservices-demo-prod");
    let output = plugin(&["list-targets", "--project-dir", dir, "-o", "yaml"], &[]);
    let doc = shared::yaml::parse_single(&stdout(&output), "stdout").unwrap();
    assert_eq!(doc["kind"], "TargetList");
    assert_eq!(doc["targets"][0]["context"], "kind-kind");
}

#[test]
fn render_against_a_cluster_defaults_namespaces_through_discovery() {
    let server = TestServer::start_blocking(ServerOptions::default()).unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("app")).unwrap();
    std::fs::write(project.path().join("deployment.yaml"), "deployments:\n  - path: app\n").unwrap();
    std::fs::write(
        project.path().join("app/all.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  namespace: wrong\n",
    )
    .unwrap();
    let kubeconfig = server.kubeconfig_path().to_str().unwrap().to_string();
    let output = plugin(
        &[
            "render",
            "--project-dir",
            project.path().to_str().unwrap(),
            "--print-all",
        ],
        &[("KUBECONFIG", &kubeconfig)],
    );
    assert_code(&output, 0);
    let objects = shared::yaml::parse_documents(&stdout(&output), "stdout").unwrap();
    assert_eq!(objects[0]["metadata"]["namespace"], "default");
    assert!(objects[1]["metadata"].get("namespace").is_none());

    let output = plugin(
        &["render", "--project-dir", project.path().to_str().unwrap()],
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    assert_code(&output, 1);
    assert!(stderr(&output).contains("--offline-kubernetes"), "{}", stderr(&output));
    server.shutdown();
}
