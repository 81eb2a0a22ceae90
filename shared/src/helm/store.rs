//! Writing into `.helm-charts` (and the chart cache) without ever losing the previous content.
//!
//! Input: a staged chart directory on the same filesystem; output: that directory in its final
//! place. The old version is moved aside, the new one renamed in, and only then is the old one
//! deleted; if the second rename fails the old one is put back. A failed or interrupted pull
//! therefore leaves either the old chart or the new one, never a half-written or missing one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Prefix of staging directories inside a charts directory.
pub(crate) const STAGING_PREFIX: &str = ".kluctl-pull-";

/// A staging directory inside `base` (so the final rename stays on one filesystem).
pub(crate) fn staging_dir(base: &Path) -> io::Result<tempfile::TempDir> {
    fs::create_dir_all(base)?;
    tempfile::Builder::new().prefix(STAGING_PREFIX).tempdir_in(base)
}

/// Moves `staged` to `target`, replacing what is there without a moment in which neither exists
/// in a usable state.
pub(crate) fn install_dir(staged: &Path, target: &Path) -> io::Result<()> {
    let parent = target
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "target has no parent directory"))?;
    fs::create_dir_all(parent)?;
    if fs::symlink_metadata(target).is_err() {
        return match fs::rename(staged, target) {
            Ok(()) => Ok(()),
            // Another process installed it first: theirs is as good as ours.
            Err(_) if target.join("Chart.yaml").is_file() => Ok(()),
            Err(e) => Err(e),
        };
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let backup = unique_sibling(parent, &format!(".{name}.old-"));
    fs::rename(target, &backup)?;
    if let Err(err) = fs::rename(staged, target) {
        // Put the previous chart back; if even that fails, say where it is.
        if let Err(restore) = fs::rename(&backup, target) {
            return Err(io::Error::new(
                err.kind(),
                format!(
                    "{err}; the previous content could not be restored ({restore}) and is kept in {}",
                    backup.display()
                ),
            ));
        }
        return Err(err);
    }
    // The new chart is in place; a leftover backup only wastes space.
    let _ = fs::remove_dir_all(&backup);
    Ok(())
}

fn unique_sibling(parent: &Path, prefix: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for attempt in 0u32.. {
        let candidate = parent.join(format!("{prefix}{}-{nanos}-{attempt}", std::process::id()));
        if fs::symlink_metadata(&candidate).is_err() {
            return candidate;
        }
    }
    unreachable!("an unbounded counter always finds a free name")
}

/// Removes staging directories and backups that an interrupted run left behind (older than an hour,
/// so a pull running in parallel keeps its own).
pub(crate) fn remove_stale_leftovers(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(STAGING_PREFIX) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if old {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Version directories of a chart that are not in `keep` (hidden entries are never touched).
pub(crate) fn unreferenced_versions(chart_dir: &Path, keep: &std::collections::BTreeSet<String>) -> Vec<String> {
    let Ok(entries) = fs::read_dir(chart_dir) else {
        return Vec::new();
    };
    let mut unused: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| !name.starts_with('.') && !keep.contains(name))
        .collect();
    unused.sort();
    unused
}

/// The `version` in `<dir>/Chart.yaml`, if the directory holds a chart.
pub(crate) fn installed_version(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("Chart.yaml")).ok()?;
    let metadata = crate::yaml::parse_single(&text, "Chart.yaml").ok()?;
    match metadata.get("version")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_existing_content_and_keeps_it_on_failure() {
        let base = tempfile::tempdir().unwrap();
        let target = base.path().join("chart/1.0.0");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("Chart.yaml"), "version: old\n").unwrap();

        let staging = staging_dir(base.path()).unwrap();
        let staged = staging.path().join("new");
        fs::create_dir_all(&staged).unwrap();
        fs::write(staged.join("Chart.yaml"), "version: new\n").unwrap();
        install_dir(&staged, &target).unwrap();
        assert_eq!(installed_version(&target).as_deref(), Some("new"));

        // A staged directory that does not exist makes the rename fail: the old chart stays.
        let err = install_dir(&staging.path().join("missing"), &target);
        assert!(err.is_err());
        assert_eq!(installed_version(&target).as_deref(), Some("new"));
        let leftovers: Vec<_> = fs::read_dir(base.path().join("chart")).unwrap().flatten().collect();
        assert_eq!(leftovers.len(), 1, "backup was not cleaned up: {leftovers:?}");
    }

    #[test]
    fn lists_versions_no_longer_referenced() {
        let dir = tempfile::tempdir().unwrap();
        for v in ["1.0.0", "2.0.0", ".hidden"] {
            fs::create_dir_all(dir.path().join(v)).unwrap();
        }
        let keep = std::collections::BTreeSet::from(["2.0.0".to_string()]);
        assert_eq!(unreferenced_versions(dir.path(), &keep), vec!["1.0.0"]);
    }
}
