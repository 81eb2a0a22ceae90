//! [`Inclusion`]: the `-I/--include-tag`, `-E/--exclude-tag`, `--include-deployment-dir` and
//! `--exclude-deployment-dir` filters (and the agent's equivalents), as Kluctl applies them to
//! deployment items and to live objects. Exclusion wins over inclusion.

use super::RuleError;
use serde_json::Value;
use std::collections::BTreeSet;

/// The label keys `kluctl.io/tag-0`, `kluctl.io/tag-1`, ... carry an object's tags.
const TAG_LABEL_PREFIX: &str = "kluctl.io/tag-";
/// The annotation that names an object's deployment item directory.
const ITEM_DIR_ANNOTATION: &str = "kluctl.io/deployment-item-dir";

/// Tag and deployment-dir filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inclusion {
    include_tags: BTreeSet<String>,
    exclude_tags: BTreeSet<String>,
    include_dirs: BTreeSet<String>,
    exclude_dirs: BTreeSet<String>,
}

impl Inclusion {
    /// Builds the filters. Directories are relative to the root project, with `/` separators
    /// (`\` is accepted and converted); an absolute directory is an error.
    pub fn new<S: AsRef<str>>(
        include_tags: &[S],
        exclude_tags: &[S],
        include_dirs: &[S],
        exclude_dirs: &[S],
    ) -> Result<Self, RuleError> {
        let tags = |v: &[S]| v.iter().map(|s| s.as_ref().to_string()).collect();
        let dirs = |v: &[S], flag: &str| -> Result<BTreeSet<String>, RuleError> {
            v.iter()
                .map(|d| {
                    let d = d.as_ref().replace('\\', "/");
                    if d.starts_with('/') || d.get(1..3) == Some(":/") {
                        return Err(RuleError::ParseInclusion {
                            message: format!("{flag} path '{d}' must be relative to the root project"),
                        });
                    }
                    let d = d.strip_prefix("./").unwrap_or(&d);
                    Ok(d.strip_suffix('/').unwrap_or(d).to_string())
                })
                .collect()
        };
        Ok(Inclusion {
            include_tags: tags(include_tags),
            exclude_tags: tags(exclude_tags),
            include_dirs: dirs(include_dirs, "--include-deployment-dir")?,
            exclude_dirs: dirs(exclude_dirs, "--exclude-deployment-dir")?,
        })
    }

    /// No filter at all: everything is included.
    pub fn is_empty(&self) -> bool {
        self.include_tags.is_empty()
            && self.exclude_tags.is_empty()
            && self.include_dirs.is_empty()
            && self.exclude_dirs.is_empty()
    }

    /// Whether tag filters are in use (this is what `kluctl.io/skip-delete-if-tags` and
    /// `skipDeleteIfTags` react to).
    pub fn has_tag_filters(&self) -> bool {
        !self.include_tags.is_empty() || !self.exclude_tags.is_empty()
    }

    fn matches(&self, tags: &[&str], dir: Option<&str>) -> (bool, bool) {
        let included =
            tags.iter().any(|t| self.include_tags.contains(*t)) || dir.is_some_and(|d| self.include_dirs.contains(d));
        let excluded =
            tags.iter().any(|t| self.exclude_tags.contains(*t)) || dir.is_some_and(|d| self.exclude_dirs.contains(d));
        (included, excluded)
    }

    fn has_includes(&self) -> bool {
        !self.include_tags.is_empty() || !self.include_dirs.is_empty()
    }

    /// Kluctl's check for an item or object with these tags and item directory: excluded if
    /// any exclusion matches; otherwise included if there are no inclusions or one matches.
    pub fn is_included(&self, tags: &[&str], item_dir: Option<&str>) -> bool {
        if self.is_empty() {
            return true;
        }
        let (included, excluded) = self.matches(tags, item_dir);
        !excluded && (!self.has_includes() || included)
    }

    /// The check for deleting the objects of an item with `skipDeleteIfTags`: such an item is
    /// only deleted when an inclusion names it explicitly.
    pub fn is_included_for_delete(&self, tags: &[&str], item_dir: Option<&str>, skip_delete_if_tags: bool) -> bool {
        if self.is_empty() {
            return true;
        }
        let (included, _) = self.matches(tags, item_dir);
        if skip_delete_if_tags && !included {
            return false;
        }
        self.is_included(tags, item_dir)
    }

    /// The check for a live object, from its `kluctl.io/tag-N` labels and its
    /// `kluctl.io/deployment-item-dir` annotation.
    pub fn is_object_included(&self, object: &Value) -> bool {
        self.is_included(&object_tags(object), object_item_dir(object))
    }
}

/// The tags of an object (`kluctl.io/tag-N` labels, in label order).
pub fn object_tags(object: &Value) -> Vec<&str> {
    object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            k.strip_prefix(TAG_LABEL_PREFIX)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .filter_map(|(_, v)| v.as_str())
        .collect()
}

/// The deployment item directory of an object.
pub fn object_item_dir(object: &Value) -> Option<&str> {
    crate::diff::rules::annotation(object, ITEM_DIR_ANNOTATION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inc(it: &[&str], et: &[&str], id: &[&str], ed: &[&str]) -> Inclusion {
        Inclusion::new(it, et, id, ed).unwrap()
    }

    #[test]
    fn no_filter_includes_everything() {
        let i = Inclusion::default();
        assert!(i.is_empty() && !i.has_tag_filters());
        assert!(i.is_included(&[], None));
        assert!(i.is_included_for_delete(&[], None, true));
    }

    #[test]
    fn inclusion_exclusion_and_precedence() {
        let i = inc(&["apps"], &[], &[], &[]);
        assert!(i.is_included(&["apps", "web"], Some("apps/web")));
        assert!(!i.is_included(&["db"], Some("db")));
        let e = inc(&[], &["db"], &[], &[]);
        assert!(e.is_included(&["apps"], None));
        assert!(!e.is_included(&["apps", "db"], None));
        // Exclusion wins over inclusion.
        let both = inc(&["apps"], &["web"], &[], &[]);
        assert!(!both.is_included(&["apps", "web"], None));
        // Directories match the item dir exactly; any inclusion may match.
        let dirs = inc(&["x"], &[], &["./apps/web/"], &["apps/db"]);
        assert!(dirs.is_included(&[], Some("apps/web")));
        assert!(!dirs.is_included(&["x"], Some("apps/db")));
        assert!(!dirs.is_included(&[], Some("apps")));
        assert!(Inclusion::new(&["a"], &[], &["/abs"], &[]).is_err());
        assert!(
            Inclusion::new::<&str>(&[], &[], &["apps\\win"], &[])
                .unwrap()
                .is_included(&[], Some("apps/win"))
        );
    }

    #[test]
    fn skip_delete_if_tags_items_need_an_explicit_inclusion() {
        let exclude_only = inc(&[], &["db"], &[], &[]);
        assert!(exclude_only.is_included_for_delete(&["apps"], None, false));
        assert!(!exclude_only.is_included_for_delete(&["apps"], None, true));
        let include = inc(&["apps"], &[], &[], &[]);
        assert!(include.is_included_for_delete(&["apps"], None, true));
    }

    #[test]
    fn live_objects_are_filtered_by_tag_labels_and_item_dir() {
        let o = json!({"metadata": {
            "labels": {"kluctl.io/tag-0": "apps", "kluctl.io/tag-1": "web", "kluctl.io/tag-x": "no", "kluctl.io/discriminator": "d"},
            "annotations": {"kluctl.io/deployment-item-dir": "apps/web"}}});
        assert_eq!(object_tags(&o), vec!["apps", "web"]);
        assert_eq!(object_item_dir(&o), Some("apps/web"));
        assert!(inc(&["web"], &[], &[], &[]).is_object_included(&o));
        assert!(!inc(&["no"], &[], &[], &[]).is_object_included(&o));
        assert!(!inc(&[], &[], &[], &["apps/web"]).is_object_included(&o));
    }
}
