//! The harness: a [`Cluster`] is a test server plus a temp dir for kubectl's cache and home, and runs
//! the real `kubectl` against it (a missing kubectl fails the test, it never skips).

use kluctl_e2e::apiserver::{Gvr, ServerOptions, TestServer};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One kubectl run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns the run.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "kubectl failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts failure and returns the run.
    #[track_caller]
    pub fn fails(self) -> Self {
        assert_ne!(
            self.code, 0,
            "kubectl unexpectedly succeeded:\nstdout:\n{}",
            self.stdout
        );
        self
    }
}

/// A server and a place for kubectl's state.
pub struct Cluster {
    pub server: TestServer,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// A plain server.
    pub fn start() -> Self {
        Cluster::with(ServerOptions::default())
    }

    /// A server with options.
    pub fn with(options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start_blocking(options).expect("server starts");
        Cluster { server, dir }
    }

    /// Runs kubectl with the admin kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> Run {
        self.kubectl_with(self.server.kubeconfig_path(), args, None)
    }

    /// Runs kubectl with input on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.kubectl_with(self.server.kubeconfig_path(), args, Some(stdin))
    }

    /// Writes a kubeconfig for another user and returns its path.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-{}", user.replace(':', "-")));
        self.server
            .write_kubeconfig_for(user, groups, &path)
            .expect("kubeconfig written");
        path
    }

    /// Runs kubectl with a given kubeconfig.
    pub fn kubectl_with(&self, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let cache = self.dir.path().join("cache");
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .expect("kubectl must be on PATH (the reference client; install the Debian package kubectl)");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("kubectl runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// An object straight from the store.
    pub fn object(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.server.get_object(gvr, namespace, name)
    }

    /// Waits until `condition` holds (polling), failing the test after `timeout`.
    #[track_caller]
    pub fn wait_until(&self, what: &str, timeout: Duration, condition: impl Fn() -> bool) {
        let start = Instant::now();
        while !condition() {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `Gvr` shorthands.
pub fn configmaps() -> Gvr {
    Gvr::core("configmaps")
}

/// `Gvr` of Deployments.
pub fn deployments() -> Gvr {
    Gvr::new("apps", "v1", "deployments")
}

/// `Gvr` of Namespaces.
pub fn namespaces() -> Gvr {
    Gvr::core("namespaces")
}

/// A Deployment manifest.
pub fn deployment_yaml(name: &str, namespace: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        ports:\n        - containerPort: 80\n"
    )
}
