//! The real `kubectl-kluctl` binary against a test API server, as a user runs it: a clean
//! environment (own `HOME`, no terminal, helm named explicitly), the server's kubeconfig, and the
//! read-only test data and examples of the workspace.

use kluctl_e2e::apiserver::{Gvr, ServerOptions, TestServer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A project of `examples/`.
pub fn example(name: &str) -> PathBuf {
    workspace().join("examples").join(name)
}

/// The read-only test data: `KLUCTL_TESTDATA`, else the first `shared/testdata` beside an
/// ancestor of the workspace.
pub fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// Copies a tree; files become writable (test data may be read-only).
pub fn copy_dir(from: &Path, to: &Path) {
    kluctl_e2e::fixtures::copy_dir(from, to).unwrap();
}

/// A test API server with controller simulation and a clean environment for the binary.
pub struct Env {
    pub server: TestServer,
    pub home: tempfile::TempDir,
    helm: PathBuf,
}

impl Env {
    pub fn start() -> Env {
        let server = TestServer::start_blocking(
            ServerOptions::default()
                .simulate_controllers()
                .controller_delay(Duration::from_millis(50)),
        )
        .unwrap();
        Env {
            server,
            home: tempfile::tempdir().unwrap(),
            helm: kluctl_e2e::servers::charts::test_helm().path().to_path_buf(),
        }
    }

    /// The binary with the clean environment and no terminal (stdin is empty); no kubeconfig yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kubectl-kluctl"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KLUCTL_HELM_BINARY", &self.helm)
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs the binary against the server and echoes its stderr into the test log.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self
            .command(args)
            .arg("--kubeconfig")
            .arg(self.server.kubeconfig_path())
            .output()
            .unwrap();
        eprintln!("$ kubectl-kluctl {}\n{}", args.join(" "), stderr(&out));
        out
    }

    /// `render --print-all --offline-kubernetes` of one target, as parsed objects.
    pub fn render(&self, project: &Path, target: &str, extra: &[&str]) -> Vec<Value> {
        let dir = project.to_str().unwrap();
        let mut args = vec![
            "render",
            "--project-dir",
            dir,
            "-t",
            target,
            "--print-all",
            "--offline-kubernetes",
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_eq!(code(&out), 0, "render {dir} -t {target} failed:\n{}", stderr(&out));
        shared::yaml::parse_documents(&stdout(&out), "stdout").unwrap()
    }

    /// `deploy --yes`, then `diff`: the deploy succeeds without errors or warnings and the diff
    /// right after it has nothing to show. Returns the deploy's JSON result.
    pub fn deploy_then_diff_clean(&self, project: &Path, target: &str) -> Value {
        let dir = project.to_str().unwrap();
        let deployed = self.run(&["deploy", "--project-dir", dir, "-t", target, "--yes", "-o", "json"]);
        assert_eq!(code(&deployed), 0, "deploy {dir} -t {target}:\n{}", stdout(&deployed));
        let result: Value = serde_json::from_slice(&deployed.stdout).unwrap();
        assert!(result.get("errors").is_none(), "{result:#}");
        assert!(result.get("warnings").is_none(), "{result:#}");

        let diff = self.run(&["diff", "--project-dir", dir, "-t", target]);
        assert_eq!(code(&diff), 0, "diff after deploy has changes:\n{}", stdout(&diff));
        assert_eq!(stdout(&diff), "", "diff after deploy shows nothing");
        result
    }

    /// A stored object, which must exist.
    pub fn get(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Value {
        self.server
            .get_object(gvr, namespace, name)
            .unwrap_or_else(|| panic!("{namespace:?}/{name} ({gvr:?}) is on the server"))
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}
