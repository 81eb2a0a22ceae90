//! Template lookup: where `include`, `import`, `extends`, `load_template` and partials find
//! their files, confined to the source root.
//!
//! Input: a requested name and the project-relative name of the requesting template;
//! output: the project-relative path of the file (`/`-separated), used as the template name
//! in errors and caches, or a [`LookupError`] that says what was tried.
//!
//! Rules (Kluctl's): `./x` and `../x` are relative to the requesting template; other relative
//! names go through the search path (nearest directory first, also from inside included
//! templates); absolute paths are accepted only inside a search directory. Every result must
//! stay inside the root after symlinks are followed.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Why a template name could not be turned into a readable file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// No search directory holds the file.
    NotFound {
        /// The name as written in the template.
        name: String,
        /// Project-relative places that were tried.
        tried: Vec<String>,
    },
    /// The name points outside the root (by `..`, an absolute path or a symlink).
    OutsideRoot {
        /// The name as written in the template.
        name: String,
    },
    /// The file exists but could not be read or is too large.
    Unreadable {
        /// The project-relative path.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotFound { name, tried } if tried.is_empty() => write!(
                f,
                "template {name:?} not found (no search directory is inside the project root)"
            ),
            LookupError::NotFound { name, tried } => write!(
                f,
                "template {name:?} not found (looked for {}; use a path relative to the deployment item or project, or \"./{name}\" relative to this file)",
                tried.join(", ")
            ),
            LookupError::OutsideRoot { name } => write!(
                f,
                "template {name:?} is outside the project root (templates may only load files inside the project)"
            ),
            LookupError::Unreadable { path, reason } => write!(f, "failed to read template {path:?}: {reason}"),
        }
    }
}

/// Resolves template names for one render session.
#[derive(Debug)]
pub struct Resolver {
    root: PathBuf,
    search_dirs: Vec<PathBuf>,
    max_bytes: u64,
}

impl Resolver {
    /// Creates a resolver. Search directories outside the root are ignored.
    pub fn new(root: &Path, search_dirs: &[PathBuf], max_bytes: u64) -> Resolver {
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| normalize_abs(root));
        let search_dirs = search_dirs
            .iter()
            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| normalize_abs(d)))
            .filter(|d| d.starts_with(&root))
            .collect();
        Resolver {
            root,
            search_dirs,
            max_bytes,
        }
    }

    /// Turns a name requested from `parent` (project-relative) into a project-relative path.
    pub fn resolve(&self, name: &str, parent: &str) -> Result<String, LookupError> {
        let name_norm = name.replace('\\', "/");
        if name_norm.starts_with("./") || name_norm.starts_with("../") {
            let base = match parent.rfind('/') {
                Some(idx) => &parent[..idx],
                None => "",
            };
            let joined =
                join_relative(base, &name_norm).ok_or_else(|| LookupError::OutsideRoot { name: name.to_string() })?;
            let candidate = self.root.join(&joined);
            return match self.inside_root(&candidate) {
                Some(Ok(_)) => Ok(joined),
                Some(Err(())) => Err(LookupError::OutsideRoot { name: name.to_string() }),
                None => Err(LookupError::NotFound {
                    name: name.to_string(),
                    tried: vec![joined],
                }),
            };
        }
        if Path::new(&name_norm).is_absolute() {
            let abs = normalize_abs(Path::new(&name_norm));
            let in_search_dir = self.search_dirs.iter().any(|d| abs.starts_with(d));
            if !in_search_dir {
                return Err(LookupError::OutsideRoot { name: name.to_string() });
            }
            return match self.inside_root(&abs) {
                Some(Ok(rel)) => Ok(rel),
                Some(Err(())) => Err(LookupError::OutsideRoot { name: name.to_string() }),
                None => Err(LookupError::NotFound {
                    name: name.to_string(),
                    tried: vec![self.display(&abs)],
                }),
            };
        }
        if name_norm.split('/').any(|seg| seg == "..") {
            return Err(LookupError::OutsideRoot { name: name.to_string() });
        }
        let mut tried = Vec::new();
        for dir in &self.search_dirs {
            let candidate = dir.join(&name_norm);
            match self.inside_root(&candidate) {
                Some(Ok(rel)) => return Ok(rel),
                Some(Err(())) => return Err(LookupError::OutsideRoot { name: name.to_string() }),
                None => tried.push(self.display(&candidate)),
            }
        }
        Err(LookupError::NotFound {
            name: name.to_string(),
            tried,
        })
    }

    /// Reads a resolved template.
    pub fn read(&self, rel: &str) -> Result<String, LookupError> {
        let bytes = self.read_bytes(rel)?;
        String::from_utf8(bytes).map_err(|_| LookupError::Unreadable {
            path: rel.to_string(),
            reason: "the file is not UTF-8 text".to_string(),
        })
    }

    /// Reads a resolved file as bytes, bounded by the size limit.
    pub fn read_bytes(&self, rel: &str) -> Result<Vec<u8>, LookupError> {
        let unreadable = |reason: String| LookupError::Unreadable {
            path: rel.to_string(),
            reason,
        };
        let file = std::fs::File::open(self.root.join(rel)).map_err(|e| unreadable(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(self.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(e.to_string()))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(unreadable(format!("larger than the limit of {} bytes", self.max_bytes)));
        }
        Ok(bytes)
    }

    /// `None` if the file does not exist, `Err` if it resolves outside the root, else the
    /// project-relative path (lexical, so a symlinked file keeps the name the user wrote).
    fn inside_root(&self, candidate: &Path) -> Option<Result<String, ()>> {
        let meta = std::fs::metadata(candidate).ok()?;
        if !meta.is_file() {
            return None;
        }
        let canonical = std::fs::canonicalize(candidate).ok()?;
        if !canonical.starts_with(&self.root) {
            return Some(Err(()));
        }
        let lexical = normalize_abs(candidate);
        let rel = match lexical.strip_prefix(&self.root) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => canonical.strip_prefix(&self.root).ok()?.to_path_buf(),
        };
        Some(Ok(to_slash(&rel)))
    }

    fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(rel) => to_slash(rel),
            Err(_) => "<outside the project>".to_string(),
        }
    }
}

fn to_slash(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Joins a `./` or `../` name to a project-relative directory; `None` if it climbs above the
/// root.
fn join_relative(base: &str, name: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in name.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Lexically removes `.` and `..` from an absolute path.
fn normalize_abs(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Resolver) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("project/item/sub")).unwrap();
        std::fs::write(root.join("project/item/sub/a.j2"), "a").unwrap();
        std::fs::write(root.join("project/item/b.j2"), "b").unwrap();
        std::fs::write(root.join("project/common.j2"), "c").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("project/item/link.j2")).unwrap();
        let resolver = Resolver::new(&root, &[root.join("project/item"), root.join("project")], 1 << 20);
        (dir, resolver)
    }

    #[test]
    fn plain_names_use_the_search_path_nearest_first() {
        let (_dir, r) = setup();
        assert_eq!(r.resolve("b.j2", "project/item/x.yaml").unwrap(), "project/item/b.j2");
        assert_eq!(
            r.resolve("common.j2", "project/item/x.yaml").unwrap(),
            "project/common.j2"
        );
        assert_eq!(r.resolve("sub/a.j2", "anything").unwrap(), "project/item/sub/a.j2");
    }

    #[test]
    fn dot_names_are_relative_to_the_requesting_template() {
        let (_dir, r) = setup();
        assert_eq!(
            r.resolve("./a.j2", "project/item/sub/x.yaml").unwrap(),
            "project/item/sub/a.j2"
        );
        assert_eq!(
            r.resolve("../b.j2", "project/item/sub/x.yaml").unwrap(),
            "project/item/b.j2"
        );
    }

    #[test]
    fn escapes_are_refused() {
        let (dir, r) = setup();
        let escape = r.resolve("../../../../secret.txt", "project/item/x.yaml").unwrap_err();
        assert!(matches!(escape, LookupError::OutsideRoot { .. }), "{escape:?}");
        let symlink = r.resolve("link.j2", "project/item/x.yaml").unwrap_err();
        assert!(matches!(symlink, LookupError::OutsideRoot { .. }), "{symlink:?}");
        let abs = dir.path().join("secret.txt");
        let abs = r.resolve(abs.to_str().unwrap(), "x").unwrap_err();
        assert!(matches!(abs, LookupError::OutsideRoot { .. }), "{abs:?}");
        assert!(matches!(
            r.resolve("a/../../x", "x"),
            Err(LookupError::OutsideRoot { .. })
        ));
    }

    #[test]
    fn absolute_paths_inside_a_search_dir_are_allowed() {
        let (dir, r) = setup();
        let abs = dir.path().join("repo/project/item/b.j2");
        assert_eq!(r.resolve(abs.to_str().unwrap(), "x").unwrap(), "project/item/b.j2");
    }

    #[test]
    fn not_found_lists_project_relative_candidates() {
        let (_dir, r) = setup();
        let err = r.resolve("missing.j2", "x").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("project/item/missing.j2") && text.contains("project/missing.j2"),
            "{text}"
        );
        assert!(!text.contains("/tmp"), "{text}");
    }
}
