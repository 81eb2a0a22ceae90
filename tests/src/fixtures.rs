//! Test data on disk for every test crate and the benchmarks: where the read-only shared test
//! data lives, and writable copies of trees (test data may be read-only).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The read-only test data: `KLUCTL_TESTDATA`, else the first `shared/testdata` holding
/// `kluctl-examples` beside an ancestor of the workspace (the workspace may be a worktree).
pub fn testdata() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KLUCTL_TESTDATA") {
        return Some(PathBuf::from(dir));
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/testdata"))
        .find(|d| d.join("kluctl-examples").is_dir())
}

/// Copies `from` recursively into `to` (created); the copies are writable by the owner.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry?;
        let relative = entry.path().strip_prefix(from).map_err(std::io::Error::other)?;
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            let mode = std::fs::metadata(&target)?.permissions().mode();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode | 0o600))?;
        }
    }
    Ok(())
}
