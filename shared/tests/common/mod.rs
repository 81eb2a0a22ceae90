//! Helpers shared by the project and render integration tests: copies of the read-only test
//! data in temp dirs, and small project builders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The read-only test data: `KLUCTL_TESTDATA`, else the first `shared/testdata` beside an
/// ancestor of this crate (the workspace sits next to it, possibly in a worktree folder).
pub fn testdata() -> PathBuf {
    kluctl_e2e::fixtures::testdata().expect("test data not found: set KLUCTL_TESTDATA to the shared/testdata folder")
}

/// Copies `src` recursively into `dst` (created), making the copies writable.
pub fn copy_dir(src: &Path, dst: &Path) {
    kluctl_e2e::fixtures::copy_dir(src, dst).unwrap();
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
