//! Paths of a project: the source root (the enclosing git repository, else the project
//! directory) that nothing may leave, and how paths are shown to users (relative to the
//! project directory, `/`-separated, never the absolute or temporary location).

use std::path::{Component, Path, PathBuf};

/// The directories every path of a project is checked against and displayed relative to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectPaths {
    /// Canonical source root: the enclosing git work tree, or the project directory.
    pub root: PathBuf,
    /// Canonical project directory (holds `.kluctl.yaml` and the root `deployment.yaml`).
    pub project_dir: PathBuf,
}

/// A path that would leave the source root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathEscape {
    /// The path as the user wrote it.
    pub path: String,
}

impl ProjectPaths {
    /// Finds the source root of `project_dir`; both paths must exist.
    pub fn discover(project_dir: &Path) -> std::io::Result<Self> {
        let project_dir = project_dir.canonicalize()?;
        let root = project_dir
            .ancestors()
            .find(|dir| dir.join(".git").exists())
            .unwrap_or(&project_dir)
            .to_path_buf();
        Ok(ProjectPaths { root, project_dir })
    }

    /// How `path` (absolute, inside the root) is shown to users: relative to the project
    /// directory, with `/` separators (`..` segments when it lies beside the project).
    pub fn display(&self, path: &Path) -> String {
        let rel = relative_path(&self.project_dir, path);
        if rel.is_empty() { ".".to_string() } else { rel }
    }

    /// `path` relative to the source root with `/` separators (`.` for the root itself), as
    /// Kluctl writes it into the `kluctl.io/deployment-item-dir` annotation.
    pub fn relative_to_root(&self, path: &Path) -> String {
        let rel = relative_path(&self.root, path);
        if rel.is_empty() { ".".to_string() } else { rel }
    }

    /// Resolves `rel` against `base` and checks that the result stays inside the root, both
    /// lexically and after following symlinks (when the path exists).
    pub fn resolve(&self, base: &Path, rel: &str) -> Result<PathBuf, PathEscape> {
        let escape = || PathEscape { path: rel.to_string() };
        let joined = normalize(&base.join(rel));
        if !joined.starts_with(&self.root) {
            return Err(escape());
        }
        match joined.canonicalize() {
            Ok(real) if !real.starts_with(&self.root) => Err(escape()),
            Ok(real) => Ok(real),
            Err(_) => Ok(joined),
        }
    }
}

/// Lexically removes `.` and `..` components (no filesystem access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `to` relative to `from` with `/` separators, using `..` where needed ("" when equal).
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..from.len() {
        parts.push("..".to_string());
    }
    for component in &to[common..] {
        parts.push(component.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_paths_relative_to_the_project() {
        let paths = ProjectPaths {
            root: PathBuf::from("/repo"),
            project_dir: PathBuf::from("/repo/proj"),
        };
        assert_eq!(paths.display(Path::new("/repo/proj/apps/x.yaml")), "apps/x.yaml");
        assert_eq!(paths.display(Path::new("/repo/common")), "../common");
        assert_eq!(paths.display(Path::new("/repo/proj")), ".");
        assert_eq!(paths.relative_to_root(Path::new("/repo/proj/apps")), "proj/apps");
    }

    #[test]
    fn resolve_refuses_paths_leaving_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let paths = ProjectPaths {
            root: root.clone(),
            project_dir: root.join("a"),
        };
        assert_eq!(paths.resolve(&root.join("a"), "b").unwrap(), root.join("a/b"));
        assert_eq!(
            paths.resolve(&root.join("a"), "../a/./b/../b").unwrap(),
            root.join("a/b")
        );
        assert!(paths.resolve(&root.join("a"), "../..").is_err());
        assert!(paths.resolve(&root, "/etc").is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/tmp", root.join("a/out")).unwrap();
            assert!(paths.resolve(&root.join("a"), "out").is_err());
        }
    }

    #[test]
    fn the_git_work_tree_is_the_source_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("p")).unwrap();
        let paths = ProjectPaths::discover(&root.join("p")).unwrap();
        assert_eq!(paths.root, root);
        assert_eq!(paths.project_dir, root.join("p"));
    }
}
