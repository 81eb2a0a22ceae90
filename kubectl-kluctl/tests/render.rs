//! `render` and `list-targets` as users run them: the binary as a process over copies of the
//! examples, offline and against the in-memory API server; `render --watch` as a long-running
//! process that is edited under and interrupted.

use crate::util::{assert_code, binary, example_project, plugin, stderr, stdout};
use kluctl_e2e::apiserver::{ServerOptions, TestServer};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// A running `render --watch` with its streams collected, its temp files in its own `TMPDIR`.
struct Watching {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    tmp: tempfile::TempDir,
}

impl Watching {
    fn start(args: &[&str]) -> Watching {
        Watching::start_with(args, &[])
    }

    fn start_with(args: &[&str], env: &[(&str, &std::path::Path)]) -> Watching {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary())
            .args(args)
            .envs(env.iter().copied())
            .env("TMPDIR", tmp.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        Watching { child, out, err, tmp }
    }

    /// Waits until stdout contains `needle`, at most `limit` after the call.
    #[track_caller]
    fn expect(&self, limit: Duration, what: &str, needle: &str) {
        let started = Instant::now();
        while !self.out.lock().unwrap().contains(needle) {
            assert!(
                started.elapsed() < limit,
                "{what}: {needle:?} not seen within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                self.out.lock().unwrap(),
                self.err.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Ctrl-C: the exit code, after checking the process left no temporary files.
    fn interrupt(mut self) -> i32 {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "still running after Ctrl-C");
            std::thread::sleep(Duration::from_millis(10));
        };
        let left: Vec<_> = std::fs::read_dir(self.tmp.path()).unwrap().collect();
        assert!(left.is_empty(), "temporary files left behind: {left:?}");
        status.code().unwrap_or(-1)
    }
}

/// Collects a child's stream on a thread.
fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    text
}

#[test]
fn render_watch_shows_an_in_place_save_and_an_atomic_rename_each_within_a_second() {
    let project = example_project("simple");
    let dir = project.path().to_str().unwrap();
    let deploy = project.path().join("deployment/nginx/deploy.yml");
    let original = std::fs::read_to_string(&deploy).unwrap();
    let watching = Watching::start(&[
        "render",
        "--project-dir",
        dir,
        "-t",
        "simple",
        "--offline-kubernetes",
        "--watch",
    ]);
    watching.expect(Duration::from_secs(10), "first render", "image: nginx:1.27.0");

    // Saved in place.
    std::fs::write(&deploy, original.replace("replicas: 3", "replicas: 4")).unwrap();
    watching.expect(Duration::from_secs(1), "in-place save", "+  replicas: 4");

    // Saved atomically, as most editors do: a temp file renamed over the original.
    let temp = project.path().join("deployment/nginx/.deploy.yml.tmp");
    std::fs::write(&temp, original.replace("replicas: 3", "replicas: 5")).unwrap();
    std::fs::rename(&temp, &deploy).unwrap();
    watching.expect(Duration::from_secs(1), "atomic save", "+  replicas: 5");

    let shown = watching.stdout();
    assert!(shown.contains("-  replicas: 4\n+  replicas: 5"), "{shown}");
    assert_eq!(
        shown.matches("~ simple-simple/Deployment/nginx-deployment").count(),
        2,
        "the changed object once per save:\n{shown}"
    );
    assert_eq!(
        shown.matches("kind: Service").count(),
        1,
        "unchanged objects are printed only by the first render:\n{shown}"
    );
    assert_eq!(watching.interrupt(), 130);
}

#[test]
fn ctrl_c_during_a_render_leaves_no_temporary_files() {
    // A Helm item whose `helm template` hangs keeps the render busy on its blocking thread.
    let project = tempfile::tempdir().unwrap();
    crate::util::copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/helm"),
        project.path(),
    );
    let tools = tempfile::tempdir().unwrap();
    let started = tools.path().join("helm-started");
    let helm = tools.path().join("helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.15.0; exit 0; fi\ntouch '{}'\nsleep 3\nexit 1\n",
            started.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&helm).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&helm, permissions).unwrap();

    let dir = project.path().to_str().unwrap();
    let rendering = Watching::start_with(
        &["render", "--project-dir", dir, "-t", "dev", "--offline-kubernetes"],
        &[("KLUCTL_HELM_BINARY", &helm)],
    );
    let waited = Instant::now();
    while !started.exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "helm never started:\n{}",
            rendering.err.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        rendering.interrupt(),
        130,
        "Ctrl-C exits 130 and removes the half-written render"
    );
}
