//! JSONPath as Kluctl accepts it in `ignoreForDiff`, `conflictResolution` and the
//! `kluctl.io/ignore-diff-field`, `force-apply-field` and `ignore-conflicts-field` annotations.
//!
//! Kluctl parses these with ohler55/ojg's `jp` package, whose dialect is not RFC 9535: the `$`
//! is optional (`spec.replicas`), `..` alone means "every field", and wildcards and filters are
//! allowed anywhere. This module implements that dialect over `serde_json::Value`:
//!
//! | syntax | meaning |
//! |---|---|
//! | `$`, `@` (optional) | the root |
//! | `name`, `.name`, `."a.b"` | a map key (bare names: letters, digits, `_-/#%:;?^{|}~`) |
//! | `['a.b']`, `["a.b"]`, `['a','b']` | map keys, quoted (Kluctl's printed form, see [`KeyPath`]) |
//! | `[0]`, `[-1]`, `[0,2]`, `[1:3]`, `[::2]` | array indices, unions and slices |
//! | `*`, `.*`, `[*]` | every child of a map or array |
//! | `..name`, `..*`, `..[0]`, trailing `..` | descent: the selector applied at every depth |
//! | `[?(@.name == 'web')]` | children for which the filter holds (see `filter.rs`) |
//!
//! Input: a path text and a JSON value. Output: the [`KeyPath`]s of the matching values, in
//! document order, which callers read, compare or delete.

mod filter;
mod key_path;
mod parse;

pub use key_path::{KeyPath, PathKey};

use parse::{Parser, Segment, Selector, UnionItem};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// A path that could not be parsed, with the 1-based character position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON path '{path}' at character {position}: {message}")]
pub struct JsonPathError {
    /// The path as written.
    pub path: String,
    /// 1-based character position of the problem.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed JSONPath (see the module docs for the syntax).
#[derive(Clone, Debug)]
pub struct JsonPath {
    source: String,
    segments: Vec<Segment>,
}

impl JsonPath {
    /// Parses a path.
    pub fn parse(path: &str) -> Result<Self, JsonPathError> {
        let mut parser = Parser::new(path);
        if path.trim().is_empty() {
            return Err(parser.error("the path is empty"));
        }
        let segments = parser.parse_segments(false)?;
        Ok(JsonPath {
            source: path.to_string(),
            segments,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The locations of every value the path matches in `root`, in document order, without
    /// duplicates. The root itself is never returned.
    pub fn locate(&self, root: &Value) -> Vec<KeyPath> {
        select(&self.segments, root, root)
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| !path.is_root())
            .collect()
    }

    /// The values the path matches.
    pub fn get<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        select(&self.segments, root, root)
            .into_iter()
            .filter(|(path, _)| !path.is_root())
            .map(|(_, value)| value)
            .collect()
    }

    /// Removes every matched value and returns how many were removed. Array elements are
    /// removed from the highest index down, so that removing one does not shift the next.
    pub fn delete(&self, root: &mut Value) -> usize {
        delete_paths(root, self.locate(root))
    }
}

/// Removes the values at `paths`, deepest and highest index first, and returns how many were
/// removed (a path below one already removed counts nothing).
pub fn delete_paths(root: &mut Value, mut paths: Vec<KeyPath>) -> usize {
    paths.sort();
    paths.dedup();
    paths.iter().rev().filter(|path| path.remove(root).is_some()).count()
}

impl FromStr for JsonPath {
    type Err = JsonPathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JsonPath::parse(s)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Applies `segments` starting at `start` (which is at the root path; filters resolve `$`
/// against `root`). Returns the matches with their locations relative to `start`.
fn select<'a>(segments: &[Segment], start: &'a Value, root: &'a Value) -> Vec<(KeyPath, &'a Value)> {
    let mut current = vec![(KeyPath::root(), start)];
    for segment in segments {
        let mut next = Vec::new();
        for (path, node) in &current {
            match segment {
                Segment::Child(selector) => apply_selector(selector, path, node, root, &mut next),
                Segment::Descent(selector) => {
                    let mut nodes = Vec::new();
                    collect_descendants(path, node, &mut nodes);
                    match selector {
                        Some(selector) => {
                            apply_selector(selector, path, node, root, &mut next);
                            for (p, n) in &nodes {
                                apply_selector(selector, p, n, root, &mut next);
                            }
                        }
                        None => next.extend(nodes),
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        next.retain(|(path, _)| seen.insert(path.clone()));
        current = next;
    }
    current
}

fn collect_descendants<'a>(path: &KeyPath, node: &'a Value, out: &mut Vec<(KeyPath, &'a Value)>) {
    match node {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = path.child(key);
                out.push((child_path.clone(), child));
                collect_descendants(&child_path, child, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let child_path = path.index(i);
                out.push((child_path.clone(), child));
                collect_descendants(&child_path, child, out);
            }
        }
        _ => {}
    }
}

fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

fn apply_selector<'a>(
    selector: &Selector,
    path: &KeyPath,
    node: &'a Value,
    root: &'a Value,
    out: &mut Vec<(KeyPath, &'a Value)>,
) {
    match (selector, node) {
        (Selector::Name(name), Value::Object(map)) => {
            if let Some(child) = map.get(name) {
                out.push((path.child(name), child));
            }
        }
        (Selector::Index(i), Value::Array(items)) => {
            if let Some(i) = resolve_index(*i, items.len()) {
                out.push((path.index(i), &items[i]));
            }
        }
        (Selector::Wildcard, Value::Object(map)) => {
            out.extend(map.iter().map(|(k, v)| (path.child(k), v)));
        }
        (Selector::Wildcard, Value::Array(items)) => {
            out.extend(items.iter().enumerate().map(|(i, v)| (path.index(i), v)));
        }
        (Selector::Union(members), _) => {
            for member in members {
                let selector = match member {
                    UnionItem::Name(name) => Selector::Name(name.clone()),
                    UnionItem::Index(i) => Selector::Index(*i),
                };
                apply_selector(&selector, path, node, root, out);
            }
        }
        (Selector::Slice { start, end, step }, Value::Array(items)) => {
            for i in slice_indices(items.len(), *start, *end, *step) {
                out.push((path.index(i), &items[i]));
            }
        }
        (Selector::Filter(expr), Value::Object(map)) => {
            out.extend(
                map.iter()
                    .filter(|(_, v)| expr.matches(v, root))
                    .map(|(k, v)| (path.child(k), v)),
            );
        }
        (Selector::Filter(expr), Value::Array(items)) => {
            out.extend(
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| expr.matches(v, root))
                    .map(|(i, v)| (path.index(i), v)),
            );
        }
        _ => {}
    }
}

/// Python-style slice bounds, clamped to the array.
fn slice_indices(len: usize, start: Option<i64>, end: Option<i64>, step: i64) -> Vec<usize> {
    let len = len as i64;
    let clamp = |v: i64, low: i64, high: i64| v.max(low).min(high);
    let norm = |v: i64| if v < 0 { v + len } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let mut i = clamp(start.map(norm).unwrap_or(0), 0, len);
        let stop = clamp(end.map(norm).unwrap_or(len), 0, len);
        while i < stop {
            out.push(i as usize);
            i += step;
        }
    } else {
        let mut i = clamp(start.map(norm).unwrap_or(len - 1), -1, len - 1);
        let stop = clamp(end.map(norm).unwrap_or(-1), -1, len - 1);
        while i > stop {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(path: &str, v: &Value) -> Vec<String> {
        JsonPath::parse(path)
            .unwrap()
            .locate(v)
            .iter()
            .map(KeyPath::to_json_path)
            .collect()
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "kluctl.io/tag-0": "a", "kluctl.io/tag-1": "b"}},
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [
                    {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}]},
                    {"name": "sidecar", "image": "envoy:2"}
                ]}}
            }
        })
    }

    #[test]
    fn kluctl_style_paths_without_root() {
        let d = deployment();
        assert_eq!(paths("spec.replicas", &d), vec!["spec.replicas"]);
        assert_eq!(paths("$.spec.replicas", &d), vec!["spec.replicas"]);
        assert_eq!(
            paths(r#"metadata.labels["kluctl.io/tag-0"]"#, &d),
            vec![r#"metadata.labels["kluctl.io/tag-0"]"#]
        );
        assert_eq!(paths("metadata.labels['app']", &d), vec!["metadata.labels.app"]);
        assert_eq!(paths("spec.nope", &d), Vec::<String>::new());
    }

    #[test]
    fn wildcards_indices_and_slices() {
        let d = deployment();
        assert_eq!(
            paths("spec.template.spec.containers[*].image", &d),
            vec![
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[1].image"
            ]
        );
        assert_eq!(paths("spec.template.spec.containers.*.name", &d).len(), 2);
        assert_eq!(
            paths("spec.template.spec.containers[-1].name", &d),
            vec!["spec.template.spec.containers[1].name"]
        );
        assert_eq!(
            paths("spec.template.spec.containers[0:1].name", &d),
            vec!["spec.template.spec.containers[0].name"]
        );
        assert_eq!(paths("spec.template.spec.containers[::-1].name", &d).len(), 2);
        assert_eq!(paths("spec.template.spec.containers[0,1].name", &d).len(), 2);
        assert_eq!(paths("metadata.labels.*", &d).len(), 3);
        assert_eq!(
            paths("metadata['name','labels']", &d),
            vec!["metadata.name", "metadata.labels"]
        );
    }

    #[test]
    fn descent_matches_at_every_depth() {
        let d = deployment();
        assert_eq!(
            paths("..image", &d),
            vec![
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[1].image"
            ]
        );
        assert_eq!(
            paths("$..containerPort", &d),
            vec!["spec.template.spec.containers[0].ports[0].containerPort"]
        );
        // A bare `..` is how Kluctl says "every field".
        let all = paths("..", &json!({"aa": {"bb": 1}, "c": [2]}));
        assert_eq!(all, vec!["aa", "aa.bb", r#"$["c"]"#, r#"$["c"][0]"#]);
    }

    #[test]
    fn filters_select_list_items_by_content() {
        let d = deployment();
        assert_eq!(
            paths("spec.template.spec.containers[?(@.name == 'sidecar')].image", &d),
            vec!["spec.template.spec.containers[1].image"]
        );
        assert_eq!(
            paths("spec.template.spec.containers[?(@.ports)].name", &d),
            vec!["spec.template.spec.containers[0].name"]
        );
        assert_eq!(
            paths(
                "spec.template.spec.containers[?(@.image =~ /^envoy/ || @.name == 'x')].name",
                &d
            ),
            vec!["spec.template.spec.containers[1].name"]
        );
        assert_eq!(paths("spec.template.spec.containers[?(!@.ports)].name", &d).len(), 1);
        assert_eq!(
            paths(
                "spec.template.spec.containers[?(@.ports[0].containerPort >= 80 && @.name != 'a')]",
                &d
            )
            .len(),
            1
        );
        assert_eq!(
            paths("spec.template.spec.containers[?(@.name in ['web', 'db'])]", &d).len(),
            1
        );
        assert_eq!(
            paths("spec.template.spec.containers[?($.spec.replicas == 3)]", &d).len(),
            2
        );
    }

    #[test]
    fn bare_names_accept_dashes_and_slashes() {
        let cm = json!({"data": {"my-key": "1", "other": "2"}});
        assert_eq!(paths("data.my-key", &cm), vec![r#"data["my-key"]"#]);
    }

    #[test]
    fn printed_paths_parse_back_to_the_same_location() {
        let v = json!({"a.b": {"x": [{"say \"hi\"": 1, "it's": 2}]}});
        for p in JsonPath::parse("..").unwrap().locate(&v) {
            let printed = p.to_json_path();
            assert_eq!(
                JsonPath::parse(&printed).unwrap().locate(&v),
                vec![p.clone()],
                "{printed}"
            );
        }
    }

    #[test]
    fn delete_removes_matches_without_index_shift_bugs() {
        let mut v = json!({"items": [{"k": 1}, {"k": 2}, {"k": 1}, {"k": 3}], "m": {"a": 1, "b": 2}});
        assert_eq!(JsonPath::parse("items[?(@.k == 1)]").unwrap().delete(&mut v), 2);
        assert_eq!(v["items"], json!([{"k": 2}, {"k": 3}]));
        assert_eq!(JsonPath::parse("m.*").unwrap().delete(&mut v), 2);
        assert_eq!(v["m"], json!({}));
    }

    #[test]
    fn errors_name_the_position() {
        let err = JsonPath::parse("spec.[").unwrap_err();
        assert_eq!(err.position, 6);
        assert!(
            err.to_string().starts_with("invalid JSON path 'spec.[' at character 6"),
            "{err}"
        );
        assert!(JsonPath::parse("a[1").is_err());
        assert!(JsonPath::parse("a[?(@.x == )]").is_err());
        assert!(JsonPath::parse("a[?(@.x =~ /(/)]").is_err());
        assert!(JsonPath::parse("").is_err());
        assert!(JsonPath::parse("a[::0]").is_err());
        assert!(JsonPath::parse("a b").is_err());
    }
}
