//! [`RenderedTree`]: where rendered files go. Without `--render-output-dir` a fresh temp dir that
//! lives as long as the tree; with it, a staging dir beside the target that replaces the target
//! only when the whole render succeeded, so a failed render leaves nothing behind.

use super::error::RenderError;
use crate::types::{Located, SourceLocation};
use std::path::{Path, PathBuf};

/// Written into every output directory so a later render may replace it.
pub const MARKER_FILE: &str = ".kluctl-render";

/// The rendered files of a project.
#[derive(Debug)]
pub struct RenderedTree {
    root: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl RenderedTree {
    /// The directory holding the rendered items (`<root>/<item dir relative to the source root>`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the tree is a temp dir that disappears with this value.
    pub fn is_temporary(&self) -> bool {
        self._temp.is_some()
    }
}

/// A render in progress: files go to `staging`; [`Staging::finish`] moves them into place.
pub(crate) struct Staging {
    pub dir: PathBuf,
    temp: tempfile::TempDir,
    target: Option<PathBuf>,
}

/// The process's private directory for temporary renders, once [`TempRoot::create`] made one.
static TEMP_ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// A private directory that holds every temporary render of this process and is removed, with
/// whatever is still in it, when dropped. A command-line process creates one first thing, so a
/// render still running on a blocking thread when the user presses Ctrl-C cannot outlive it.
pub struct TempRoot {
    _dir: tempfile::TempDir,
}

impl TempRoot {
    /// Creates the directory below the usual temp base and makes it the base of every later
    /// temporary render; `None` when it cannot be created (renders then use the usual base) or
    /// when the process already has one.
    pub fn create() -> Option<TempRoot> {
        let dir = tempfile::Builder::new()
            .prefix("kubectl-kluctl-")
            .tempdir_in(temp_base())
            .ok()?;
        TEMP_ROOT.set(dir.path().to_path_buf()).ok()?;
        Some(TempRoot { _dir: dir })
    }
}

/// Where temporary renders go: the process's [`TempRoot`] when it has one, else `TMPDIR` when the user set it, else memory-backed `/dev/shm`
/// when it is usable, else the system temp dir. A render writes a copy of every item file and
/// deletes it right after; on disk file systems creating those files costs far more than the
/// render itself (and Flux recommends an in-memory temp dir for the same reason). The tree is
/// the size of the project's text files and lives only as long as the command.
fn temp_base() -> PathBuf {
    static SHM_USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if let Some(root) = TEMP_ROOT.get() {
        return root.clone();
    }
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let shm = Path::new("/dev/shm");
    let usable = *SHM_USABLE.get_or_init(|| shm.is_dir() && tempfile::tempdir_in(shm).is_ok());
    if usable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn output_error(target: &Path, message: String, hint: &str) -> RenderError {
    RenderError::PrepareOutput(Located::new(SourceLocation::file(target.to_string_lossy()), message).with_hint(hint))
}

impl Staging {
    /// Prepares a render into `target` (or a temp dir when `None`). Refuses a target that holds
    /// files not written by a previous render, before anything is rendered.
    pub fn new(target: Option<&Path>) -> Result<Staging, RenderError> {
        let Some(target) = target else {
            let temp = tempfile::Builder::new()
                .prefix("kluctl-render-")
                .tempdir_in(temp_base())
                .map_err(|e| {
                    output_error(
                        Path::new("<temp>"),
                        format!("cannot create a temp dir: {e}"),
                        "check TMPDIR",
                    )
                })?;
            return Ok(Staging {
                dir: temp.path().to_path_buf(),
                temp,
                target: None,
            });
        };
        if target.exists() {
            let foreign = !target.is_dir()
                || (!target.join(MARKER_FILE).is_file()
                    && std::fs::read_dir(target)
                        .map(|mut d| d.next().is_some())
                        .unwrap_or(true));
            if foreign {
                return Err(output_error(
                    target,
                    "the directory exists and was not written by a previous render".to_string(),
                    "choose an empty or new directory for --render-output-dir",
                ));
            }
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| {
            output_error(
                target,
                format!("cannot create the parent directory: {e}"),
                "check the path",
            )
        })?;
        let temp = tempfile::Builder::new()
            .prefix(".kluctl-render-")
            .tempdir_in(&parent)
            .map_err(|e| {
                output_error(
                    target,
                    format!("cannot create a staging directory beside it: {e}"),
                    "check permissions",
                )
            })?;
        Ok(Staging {
            dir: temp.path().to_path_buf(),
            temp,
            target: Some(target.to_path_buf()),
        })
    }

    /// Moves the finished render into place.
    pub fn finish(self) -> Result<RenderedTree, RenderError> {
        let marker = self.dir.join(MARKER_FILE);
        std::fs::write(
            &marker,
            "rendered by kubectl-kluctl; the next render replaces this directory\n",
        )
        .map_err(|e| {
            output_error(
                &self.dir,
                format!("cannot write the marker file: {e}"),
                "check permissions",
            )
        })?;
        let Some(target) = self.target else {
            return Ok(RenderedTree {
                root: self.dir,
                _temp: Some(self.temp),
            });
        };
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| {
                output_error(
                    &target,
                    format!("cannot replace the previous render: {e}"),
                    "check permissions",
                )
            })?;
        }
        let staged = self.temp.keep();
        std::fs::rename(&staged, &target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            output_error(
                &target,
                format!("cannot move the render into place: {e}"),
                "check permissions",
            )
        })?;
        Ok(RenderedTree {
            root: target,
            _temp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_render_replaces_a_previous_one_but_never_foreign_content() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let staging = Staging::new(Some(&target)).unwrap();
        std::fs::write(staging.dir.join("a.yaml"), "a").unwrap();
        let tree = staging.finish().unwrap();
        assert!(target.join("a.yaml").is_file());
        assert!(!tree.is_temporary());

        let staging = Staging::new(Some(&target)).unwrap();
        std::fs::write(staging.dir.join("b.yaml"), "b").unwrap();
        staging.finish().unwrap();
        assert!(!target.join("a.yaml").exists());
        assert!(target.join("b.yaml").is_file());

        let foreign = dir.path().join("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("keep.txt"), "x").unwrap();
        assert!(matches!(
            Staging::new(Some(&foreign)),
            Err(RenderError::PrepareOutput(_))
        ));
    }

    #[test]
    fn an_abandoned_render_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let staging = Staging::new(Some(&target)).unwrap();
        std::fs::write(staging.dir.join("a.yaml"), "a").unwrap();
        drop(staging);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
