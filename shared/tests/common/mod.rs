//! Helpers shared by the project and render integration tests: copies of the read-only test
//! data in temp dirs, and small project builders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The read-only test data: `KLUCTL_TESTDATA`, else the first `shared/testdata` beside an
/// ancestor of this crate (the workspace sits next to it, possibly in a worktree folder).
pub fn testdata() -> PathBuf {
    if let Some(dir) = std::env::var_os("KLUCTL_TESTDATA") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/testdata"))
        .find(|d| d.join("kluctl-examples").is_dir())
        .expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// Copies `src` recursively into `dst` (created), making the copies writable.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// A temp dir holding a copy of `kluctl-examples/<example>`; returns (guard, project dir).
pub fn example(example: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("project");
    copy_dir(&testdata().join("kluctl-examples").join(example), &dst);
    (tmp, dst)
}

/// Writes `files` (path, content) under a fresh temp dir; returns (guard, project dir).
pub fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    (tmp, dir)
}

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
