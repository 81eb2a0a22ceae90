//! `diff --watch` as users run it: the real binary against the test API server, the project
//! edited under it, then Ctrl-C.

use kluctl_e2e::apiserver::{ServerOptions, TestServer};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Cluster round trips of a debug build on a shared machine: generous, but still bounded.
const RUN: Duration = Duration::from_secs(15);

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubectl-kluctl"))
}

/// The `hello` example with a var (`mood`) that its ConfigMap uses.
fn hello_project(into: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello");
    for file in [
        ".kluctl.yaml",
        "deployment.yaml",
        "namespace/namespace.yaml",
        "app/deployment.yaml",
        "app/configmap.yaml",
        "app/secret.yaml",
        "app/service.yaml",
    ] {
        let target = into.join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(source.join(file), &target).unwrap();
    }
    edit(&into.join("deployment.yaml"), |text| {
        text.replace("      namespace:", "      mood: calm\n      namespace:")
    });
    edit(&into.join("app/configmap.yaml"), |text| {
        format!("{text}  mood: \"{{{{ mood }}}}\"\n")
    });
}

/// Rewrites a file in place.
fn edit(path: &Path, change: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let changed = change(&text);
    assert_ne!(text, changed, "the edit of {} changes nothing", path.display());
    std::fs::write(path, changed).unwrap();
}

/// Rewrites a file as editors save: a temp file renamed over it.
fn save_atomically(path: &Path, change: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let temp = path.with_file_name(".save.tmp");
    std::fs::write(&temp, change(&text)).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// Runs the plugin with a clean environment, its own HOME and TMPDIR, against one server.
struct Plugin {
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
    tmp: tempfile::TempDir,
}

impl Plugin {
    fn new(server: &TestServer) -> Plugin {
        Plugin {
            kubeconfig: server.kubeconfig_path().to_path_buf(),
            home: tempfile::tempdir().unwrap(),
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env_clear()
            .env("HOME", self.home.path())
            .env("TMPDIR", self.tmp.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null());
        command
    }
}

/// A running `diff --watch` with its streams collected.
struct Watching {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Watching {
    fn start(mut command: Command) -> Watching {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let out = collect(child.stdout.take().unwrap());
        let err = collect(child.stderr.take().unwrap());
        Watching { child, out, err }
    }

    /// Waits until `done(stdout, stderr)` holds.
    #[track_caller]
    fn expect(&self, what: &str, done: impl Fn(&str, &str) -> bool) {
        let started = Instant::now();
        loop {
            let (out, err) = (self.out.lock().unwrap().clone(), self.err.lock().unwrap().clone());
            if done(&out, &err) {
                return;
            }
            assert!(
                started.elapsed() < RUN,
                "{what}: not seen within {RUN:?}\nstdout:\n{out}\nstderr:\n{err}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends Ctrl-C and waits for the exit code.
    fn interrupt(mut self) -> (i32, String, String) {
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
        let (out, err) = (self.out.lock().unwrap().clone(), self.err.lock().unwrap().clone());
        (status.code().unwrap_or(-1), out, err)
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

/// The hello project (with its `mood` var) deployed to a fresh server.
fn deployed_hello(server: &TestServer) -> (Plugin, tempfile::TempDir) {
    let plugin = Plugin::new(server);
    let project = tempfile::tempdir().unwrap();
    hello_project(project.path());
    let dir = project.path().to_str().unwrap();
    let deployed = plugin
        .command(&["deploy", "--project-dir", dir, "-t", "dev", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        deployed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    (plugin, project)
}

#[test]
fn diff_watch_reports_what_starts_and_stops_differing_shows_errors_in_place_and_exits_130() {
    let server = TestServer::start_blocking(
        ServerOptions::default()
            .simulate_controllers()
            .controller_delay(Duration::from_millis(50)),
    )
    .unwrap();
    let (plugin, project) = deployed_hello(&server);
    let dir = project.path().to_str().unwrap();

    let watching = Watching::start(plugin.command(&["diff", "--project-dir", dir, "-t", "dev", "--watch"]));
    watching.expect("first diff, clean", |_, err| {
        err.contains("0 new, 0 changed, 0 orphan objects, 0 errors, 0 warnings in ") && err.contains("Watching ")
    });

    // A var changes: the ConfigMap now differs, with the changed field.
    let vars = project.path().join("deployment.yaml");
    edit(&vars, |text| text.replace("mood: calm", "mood: excited"));
    watching.expect("changed var", |out, err| {
        out.contains("+ hello-dev/ConfigMap/hello\n  changed\n  data.mood\n    -calm\n    +excited\n")
            && err.contains("Changed: deployment.yaml")
            && err.contains("0 new, 1 changed, 0 orphan objects, 0 errors, 0 warnings in ")
            && err.contains(": 1 appeared, 0 changed, 0 gone")
    });

    // Reverted (saved the way editors do): the ConfigMap matches the cluster again.
    save_atomically(&vars, |text| text.replace("mood: excited", "mood: calm"));
    watching.expect("reverted var", |out, _| {
        out.contains("- hello-dev/ConfigMap/hello: no longer changed\n")
    });

    // A broken template: the error in place, and watching goes on.
    let template = project.path().join("app/configmap.yaml");
    let good = std::fs::read_to_string(&template).unwrap();
    edit(&template, |text| text.replace("{{ mood }}", "{{ mood }"));
    watching.expect("render error", |_, err| {
        err.contains("error: app/configmap.yaml:9:18: failed to render template")
            && err.contains("failed after ")
            && err.contains("still watching")
    });
    edit(&vars, |text| text.replace("mood: calm", "mood: excited"));
    std::thread::sleep(Duration::from_millis(300));
    // Fixed: the whole diff again, since errors scrolled the last one away.
    std::fs::write(&template, &good).unwrap();
    watching.expect("fixed template", |out, _| {
        out.contains("Changed objects:\n  hello-dev/ConfigMap/hello\n")
            && out.contains("Diff for object hello-dev/ConfigMap/hello")
    });

    let (code, out, err) = watching.interrupt();
    assert_eq!(code, 130, "Ctrl-C exits 130\nstderr:\n{err}");
    assert_eq!(
        out.matches("+ hello-dev/ConfigMap/hello").count(),
        1,
        "each finding is reported once:\n{out}"
    );
    assert!(
        !out.contains("hello-dev/Deployment/hello"),
        "unchanged objects are never shown:\n{out}"
    );
    for text in [&out, &err] {
        assert!(!text.contains("not-a-real-password"), "secret leaked:\n{text}");
    }
    assert!(err.contains("Changed: app/configmap.yaml"), "{err}");
    let left: Vec<_> = std::fs::read_dir(plugin.tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn diff_watch_shows_cluster_errors_in_place_and_keeps_watching() {
    let server = TestServer::start_blocking(
        ServerOptions::default()
            .simulate_controllers()
            .controller_delay(Duration::from_millis(50)),
    )
    .unwrap();
    let (plugin, project) = deployed_hello(&server);
    let dir = project.path().to_str().unwrap();
    // --timeout bounds each run: the retries against a gone server end there.
    let args = ["diff", "--project-dir", dir, "-t", "dev", "--watch", "--timeout", "3s"];
    let watching = Watching::start(plugin.command(&args));
    watching.expect("first diff", |_, err| err.contains("Watching "));
    server.shutdown();
    let vars = project.path().join("deployment.yaml");
    edit(&vars, |text| text.replace("mood: calm", "mood: excited"));
    watching.expect("cluster error", |_, err| {
        err.contains("error: the command did not finish within --timeout 3s") && err.contains("still watching")
    });
    // Still watching: the next save runs again (and fails again, the server being gone).
    edit(&vars, |text| text.replace("mood: excited", "mood: calm"));
    watching.expect("second run", |_, err| {
        err.matches("did not finish within --timeout").count() == 2
    });
    let (code, out, err) = watching.interrupt();
    assert_eq!(code, 130, "{err}");
    assert_eq!(out, "", "nothing differed before the server went away");
    let left: Vec<_> = std::fs::read_dir(plugin.tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "runs cut short by --timeout left files behind: {left:?}"
    );
}

#[test]
fn diff_watch_prints_text_only() {
    let server = TestServer::start_blocking(ServerOptions::default()).unwrap();
    let plugin = Plugin::new(&server);
    let project = tempfile::tempdir().unwrap();
    hello_project(project.path());
    let dir = project.path().to_str().unwrap();
    let output = plugin
        .command(&["diff", "--project-dir", dir, "-t", "dev", "--watch", "-o", "yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--watch prints text"), "{err}");
}
