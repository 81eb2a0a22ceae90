//! File access for a build, confined to the project root: absolute paths, `..` past the root,
//! symlinks that lead out of it and remote references (URLs, git) are refused before anything
//! is read. Paths in messages are shown relative to the project, never as temp paths.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a path was refused or could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// A URL or git reference.
    Remote,
    /// An absolute path.
    Absolute,
    /// `..` climbs above the project root.
    Escapes,
    /// A symlink on the way points outside the project root.
    SymlinkEscapes,
    /// Outside the kustomization's directory while loads are restricted to it (kubectl's default).
    OutsideKustomization,
    /// Nothing there.
    NotFound,
    /// Reading failed.
    Io(String),
}

impl PathError {
    /// What to tell the user, given how they wrote the path.
    pub fn describe(&self, entry: &str, shown: &str) -> String {
        match self {
            PathError::Remote => format!(
                "{entry:?} is a remote reference; the native Kustomize engine builds from local files only, \
                 without network access (vendor the files into the project)"
            ),
            PathError::Absolute => {
                format!("{entry:?} is an absolute path; write it relative to the kustomization's directory")
            }
            PathError::Escapes => format!("{entry:?} leaves the project root"),
            PathError::SymlinkEscapes => format!("{entry:?} is a symlink that points outside the project root"),
            PathError::OutsideKustomization => format!(
                "{entry:?} ({shown}) is not in or below the kustomization's directory, which kubectl kustomize \
                 requires for files (reference a directory with its own kustomization instead)"
            ),
            PathError::NotFound => format!("{entry:?} does not exist ({shown})"),
            PathError::Io(cause) => format!("{entry:?} ({shown}) could not be read: {cause}"),
        }
    }
}

/// Reads files of one build.
#[derive(Debug, Clone)]
pub struct Loader {
    root: PathBuf,
    display_root: PathBuf,
    restrict_files: bool,
    read_hook: Option<super::ReadHook>,
}

/// Whether an entry names a remote base or file rather than a local path.
pub fn is_remote(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    if [
        "http://", "https://", "git@", "git::", "ssh://", "file://", "gh:", "git://",
    ]
    .iter()
    .any(|scheme| lower.starts_with(scheme))
    {
        return true;
    }
    if lower.contains("?ref=") || lower.contains("?version=") || lower.contains(".git//") {
        return true;
    }
    // `github.com/org/repo/path`: a host name as the first component.
    let first = entry.split('/').next().unwrap_or_default();
    first.contains('.')
        && !first.starts_with('.')
        && entry.contains('/')
        && [
            "github.com",
            "gitlab.com",
            "bitbucket.org",
            "dev.azure.com",
            "gitee.com",
        ]
        .iter()
        .any(|host| first.eq_ignore_ascii_case(host))
}

/// Normalises `.` and `..` without touching the filesystem; `None` when `..` climbs above `base`'s
/// first component.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

impl Loader {
    /// A loader for files under `root` (which must exist), shown in messages under `display_root`.
    pub fn new(root: &Path, display_root: &Path, restrict_files: bool) -> io::Result<Self> {
        Ok(Loader {
            root: root.canonicalize()?,
            display_root: display_root.to_path_buf(),
            restrict_files,
            read_hook: None,
        })
    }

    /// The same loader, passing every file read through `hook`.
    pub fn with_read_hook(mut self, hook: Option<super::ReadHook>) -> Self {
        self.read_hook = hook;
        self
    }

    /// The canonical project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How a path under the root is shown to the user (`/` separators).
    pub fn display(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let shown = self.display_root.join(relative);
        let text = shown.to_string_lossy().replace('\\', "/");
        if text.is_empty() { ".".to_string() } else { text }
    }

    /// Resolves `entry` (as written in a kustomization in directory `dir`) to a canonical path
    /// inside the root. `is_file` applies the kustomization-directory restriction to files.
    pub fn resolve(&self, dir: &Path, entry: &str) -> Result<PathBuf, PathError> {
        if Path::new(entry).is_absolute() || entry.starts_with('/') || entry.starts_with('\\') {
            return Err(PathError::Absolute);
        }
        let joined = normalize(&dir.join(entry)).ok_or(PathError::Escapes)?;
        if !joined.starts_with(&self.root) {
            if is_remote(entry) {
                return Err(PathError::Remote);
            }
            return Err(PathError::Escapes);
        }
        let canonical = match joined.canonicalize() {
            Ok(canonical) => canonical,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                if is_remote(entry) {
                    return Err(PathError::Remote);
                }
                // A dangling symlink inside the root is still "not found"; one pointing out is not.
                if let Ok(target) = std::fs::read_link(&joined)
                    && !normalize(&joined.parent().unwrap_or(&self.root).join(target))
                        .is_some_and(|t| t.starts_with(&self.root))
                {
                    return Err(PathError::SymlinkEscapes);
                }
                return Err(PathError::NotFound);
            }
            Err(err) => return Err(PathError::Io(err.to_string())),
        };
        if !canonical.starts_with(&self.root) {
            return Err(PathError::SymlinkEscapes);
        }
        Ok(canonical)
    }

    /// Resolves a file entry and enforces the kustomization-directory restriction when it is on.
    pub fn resolve_file(&self, dir: &Path, entry: &str) -> Result<PathBuf, PathError> {
        let path = self.resolve(dir, entry)?;
        if self.restrict_files && !path.starts_with(dir) {
            return Err(PathError::OutsideKustomization);
        }
        Ok(path)
    }

    /// Reads a resolved file.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, PathError> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => PathError::NotFound,
            _ => PathError::Io(e.to_string()),
        })?;
        match &self.read_hook {
            Some(hook) => (hook.0)(path, bytes).map_err(PathError::Io),
            None => Ok(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, Loader) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("app/base")).unwrap();
        std::fs::write(root.join("app/base/a.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        let loader = Loader::new(&root, Path::new("proj"), false).unwrap();
        (dir, loader)
    }

    #[test]
    fn resolves_inside_and_refuses_outside() {
        let (tmp, loader) = project();
        let app = loader.root().join("app");
        assert!(loader.resolve(&app, "base/a.yaml").is_ok());
        assert_eq!(loader.resolve(&app, "../../secret.txt"), Err(PathError::Escapes));
        assert_eq!(loader.resolve(&app, "/etc/passwd"), Err(PathError::Absolute));
        assert_eq!(loader.resolve(&app, "missing.yaml"), Err(PathError::NotFound));
        assert_eq!(
            loader.resolve(&app, "https://example.com/x.yaml"),
            Err(PathError::Remote)
        );
        assert_eq!(
            loader.resolve(&app, "github.com/org/repo//path?ref=v1"),
            Err(PathError::Remote)
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("secret.txt"), app.join("link.yaml")).unwrap();
            assert_eq!(loader.resolve(&app, "link.yaml"), Err(PathError::SymlinkEscapes));
        }
        assert_eq!(loader.display(&app.join("base/a.yaml")), "proj/app/base/a.yaml");
    }

    #[test]
    fn restricts_files_to_the_kustomization_directory_when_asked() {
        let (_tmp, loader) = project();
        let loader = Loader {
            restrict_files: true,
            ..loader
        };
        let base = loader.root().join("app/base");
        assert!(loader.resolve_file(&base, "a.yaml").is_ok());
        let app = loader.root().join("app");
        assert_eq!(
            loader.resolve_file(&base.join("x"), "../a.yaml"),
            Err(PathError::OutsideKustomization)
        );
        assert!(loader.resolve(&app, "base").is_ok());
    }
}
