//! Helpers: the built binary, a PATH on which kubectl finds it, and process runs with a clean
//! environment.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubectl-kluctl"))
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `kubectl` from PATH; the tests need the real client and fail (never skip) without it.
pub fn kubectl() -> PathBuf {
    find_on_path("kubectl").unwrap_or_else(|| {
        panic!("kubectl is required for these tests (the reference client): install the Debian package kubectl")
    })
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// How kubectl finds the completion command in a test.
#[derive(Clone, Copy, Debug)]
pub enum CompletionHelper {
    /// A symlink named `kubectl_complete-kluctl` to the binary (multicall).
    Symlink,
    /// The shell script shipped in the release archive (`krew/kubectl_complete-kluctl`).
    Script,
}

/// A temp dir with the plugin (and the completion helper) to put first on PATH.
pub struct PluginDir {
    pub dir: tempfile::TempDir,
    pub home: tempfile::TempDir,
}

impl PluginDir {
    pub fn new(helper: CompletionHelper) -> PluginDir {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(binary(), dir.path().join("kubectl-kluctl")).unwrap();
        let completion = dir.path().join("kubectl_complete-kluctl");
        match helper {
            CompletionHelper::Symlink => std::os::unix::fs::symlink(binary(), &completion).unwrap(),
            CompletionHelper::Script => {
                std::fs::copy(workspace().join("krew/kubectl_complete-kluctl"), &completion).unwrap();
            }
        }
        PluginDir {
            dir,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// PATH: the plugin dir, then kubectl's dir, then the system dirs (for `sh`).
    pub fn path(&self) -> String {
        let kubectl = kubectl();
        let kubectl_dir = kubectl.parent().unwrap();
        format!("{}:{}:/usr/bin:/bin", self.dir.path().display(), kubectl_dir.display())
    }

    /// Runs the real kubectl with this PATH, an empty HOME and no other environment.
    pub fn kubectl<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.kubectl_with_env(args, &[])
    }

    pub fn kubectl_with_env<I, S>(&self, args: I, env: &[(&str, &str)]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(kubectl());
        command
            .args(args)
            .env_clear()
            .env("PATH", self.path())
            .env("HOME", self.home.path());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    }
}

/// Runs the binary directly with only the given environment (plus PATH).
pub fn plugin(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command.args(args).env_clear().env("PATH", "/usr/bin:/bin");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, printing both streams when it differs.
#[track_caller]
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Parses a completion answer: candidate values, and the directive.
pub fn completion(output: &Output) -> (Vec<String>, u32) {
    let text = stdout(output);
    let mut lines: Vec<&str> = text.lines().collect();
    let directive = lines
        .pop()
        .and_then(|l| l.strip_prefix(':'))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no directive at the end of the completion output:\n{text}"));
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    (values, directive)
}

/// `shared/testdata` next to the checkout: the nearest ancestor of the workspace that has it
/// (worktrees sit deeper than the main checkout).
pub fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// A copy of `kluctl-examples/<name>` in a temp dir (test data is read-only).
pub fn example_project(name: &str) -> tempfile::TempDir {
    let source = testdata().join("kluctl-examples").join(name);
    let target = tempfile::tempdir().unwrap();
    copy_dir(&source, target.path());
    target
}

pub fn copy_dir(from: &Path, to: &Path) {
    kluctl_e2e::fixtures::copy_dir(from, to).unwrap();
}
