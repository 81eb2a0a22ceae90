//! Build metadata for `kubectl kluctl version`: the git commit, the build date and the
//! compiler, passed to the crate as `KLUCTL_BUILD_*` environment variables.
//!
//! The script reruns when the checked-out commit changes (not on every build), so incremental
//! builds stay incremental; `SOURCE_DATE_EPOCH` gives reproducible release builds a fixed date.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git(&manifest_dir, &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=KLUCTL_BUILD_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KLUCTL_BUILD_DATE={}", build_date());
    println!("cargo:rustc-env=KLUCTL_BUILD_RUSTC={}", rustc_version());
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    watch_git_head(&manifest_dir);
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// Reruns the script when HEAD moves: HEAD itself (branch switches) and the branch's ref
/// (commits), wherever git keeps them (worktrees keep HEAD apart from the refs).
fn watch_git_head(dir: &Path) {
    let Some(git_dir) = git(dir, &["rev-parse", "--absolute-git-dir"]) else {
        return;
    };
    let git_dir = PathBuf::from(git_dir);
    println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
    let common = git(dir, &["rev-parse", "--git-common-dir"])
        .map(|c| {
            let path = PathBuf::from(c);
            if path.is_absolute() { path } else { dir.join(path) }
        })
        .unwrap_or_else(|| git_dir.clone());
    if let Some(reference) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        let loose = common.join(&reference);
        if loose.exists() {
            println!("cargo:rerun-if-changed={}", loose.display());
        }
    }
    let packed = common.join("packed-refs");
    if packed.exists() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
}

fn build_date() -> String {
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|epoch| epoch.parse::<i64>().ok())
        .and_then(|epoch| chrono::DateTime::from_timestamp(epoch, 0))
        .unwrap_or_else(chrono::Utc::now);
    date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
