//! Inclusion and exclusion of deployment items by tag (`-I`/`-E`) and by directory
//! (`--include-deployment-dir`/`--exclude-deployment-dir`), with Kluctl's rule: exclusion beats
//! inclusion, and with any inclusion given, an item must match one.

/// The inclusion filters of a command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inclusion {
    /// `-I/--include-tag`
    pub include_tags: Vec<String>,
    /// `-E/--exclude-tag`
    pub exclude_tags: Vec<String>,
    /// `--include-deployment-dir` (relative to the project or the source root)
    pub include_dirs: Vec<String>,
    /// `--exclude-deployment-dir`
    pub exclude_dirs: Vec<String>,
}

fn clean_dir(dir: &str) -> &str {
    let dir = dir.trim_end_matches('/');
    let dir = dir.strip_prefix("./").unwrap_or(dir);
    if dir.is_empty() { "." } else { dir }
}

impl Inclusion {
    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.include_tags.is_empty()
            && self.exclude_tags.is_empty()
            && self.include_dirs.is_empty()
            && self.exclude_dirs.is_empty()
    }

    /// Whether an item with `tags` and item directory `dirs` (the same directory spelled
    /// relative to the source root and to the project) passes the filters.
    pub fn is_included(&self, tags: &[String], dirs: &[&str]) -> bool {
        if self.is_empty() {
            return true;
        }
        let matches = |wanted_tags: &[String], wanted_dirs: &[String]| {
            tags.iter().any(|t| wanted_tags.contains(t))
                || dirs
                    .iter()
                    .any(|d| wanted_dirs.iter().any(|w| clean_dir(w) == clean_dir(d)))
        };
        if matches(&self.exclude_tags, &self.exclude_dirs) {
            return false;
        }
        let has_includes = !self.include_tags.is_empty() || !self.include_dirs.is_empty();
        !has_includes || matches(&self.include_tags, &self.include_dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exclusion_beats_inclusion_and_includes_must_match() {
        let inc = Inclusion {
            include_tags: tags(&["a"]),
            exclude_tags: tags(&["b"]),
            ..Default::default()
        };
        assert!(inc.is_included(&tags(&["a"]), &[]));
        assert!(!inc.is_included(&tags(&["a", "b"]), &[]));
        assert!(!inc.is_included(&tags(&["c"]), &[]));
        assert!(Inclusion::default().is_included(&[], &[]));
    }

    #[test]
    fn directories_match_with_or_without_trailing_slash() {
        let inc = Inclusion {
            include_dirs: vec!["./services/web/".into()],
            ..Default::default()
        };
        assert!(inc.is_included(&[], &["services/web"]));
        assert!(!inc.is_included(&[], &["services/db"]));
        let exc = Inclusion {
            exclude_dirs: vec!["db".into()],
            ..Default::default()
        };
        assert!(exc.is_included(&[], &["web"]));
        assert!(!exc.is_included(&[], &["db"]));
    }
}
