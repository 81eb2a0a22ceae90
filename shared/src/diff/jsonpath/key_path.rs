//! [`KeyPath`]: the concrete location of one value inside an object, and its printed form.
//!
//! The printed form is Kluctl's (`pkg/utils/uo/jsonpath.go` `ToJsonPath`), because users see it in
//! diffs, write it back into `ignoreForDiff` and `conflictResolution`, and match it with
//! `fieldPathRegex`: `spec.replicas`, `metadata.labels["kluctl.io/tag-0"]`, `spec.containers[0]`,
//! `$["a.b"]` when a non-identifier key comes first.

use serde_json::Value;
use std::fmt;

/// One step of a [`KeyPath`]: a map key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathKey {
    /// A key of a map.
    Field(String),
    /// An index into an array.
    Index(usize),
}

/// The location of one value, as the keys and indices leading to it from the root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(pub Vec<PathKey>);

impl KeyPath {
    /// The root itself (an empty path).
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// Builds a path of map keys only (`["metadata", "labels"]`).
    pub fn fields<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KeyPath(keys.into_iter().map(|k| PathKey::Field(k.into())).collect())
    }

    /// This path extended by one map key.
    pub fn child(&self, key: &str) -> Self {
        let mut keys = self.0.clone();
        keys.push(PathKey::Field(key.to_string()));
        KeyPath(keys)
    }

    /// This path extended by one array index.
    pub fn index(&self, index: usize) -> Self {
        let mut keys = self.0.clone();
        keys.push(PathKey::Index(index));
        KeyPath(keys)
    }

    /// The steps of the path.
    pub fn keys(&self) -> &[PathKey] {
        &self.0
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &KeyPath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The value at this path, if every step exists.
    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut node = root;
        for key in &self.0 {
            node = match (key, node) {
                (PathKey::Field(name), Value::Object(map)) => map.get(name)?,
                (PathKey::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The value at this path, mutably.
    pub fn get_mut<'a>(&self, root: &'a mut Value) -> Option<&'a mut Value> {
        let mut node = root;
        for key in &self.0 {
            node = match (key, node) {
                (PathKey::Field(name), Value::Object(map)) => map.get_mut(name)?,
                (PathKey::Index(i), Value::Array(items)) => items.get_mut(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Removes the value at this path and returns it; array elements after it move up, map
    /// keys keep their order. Removing the root is not possible and returns `None`.
    pub fn remove(&self, root: &mut Value) -> Option<Value> {
        let (last, parent) = self.0.split_last()?;
        let parent = KeyPath(parent.to_vec()).get_mut(root)?;
        match (last, parent) {
            (PathKey::Field(name), Value::Object(map)) => map.shift_remove(name),
            (PathKey::Index(i), Value::Array(items)) if *i < items.len() => Some(items.remove(*i)),
            _ => None,
        }
    }

    /// Kluctl's printed form of the path (see the module docs).
    pub fn to_json_path(&self) -> String {
        let mut out = String::new();
        for key in &self.0 {
            match key {
                PathKey::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                PathKey::Field(name) if is_simple_identifier(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathKey::Field(name) => {
                    if out.is_empty() {
                        out.push('$');
                    }
                    out.push_str(&quote_bracket_key(name));
                }
            }
        }
        out
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_path())
    }
}

/// Kluctl writes a key with dot notation only when it matches `^[A-Za-z_][A-Za-z0-9_]+$`; note
/// the `+`: a one-letter key is written in brackets (`$["a"]`), and we keep that so regexes
/// written against Kluctl's output keep matching.
fn is_simple_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    let rest = chars.as_str();
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `["key"]`, or `['key']` when the key holds a double quote (as Kluctl does); backslashes and
/// the chosen quote are escaped so that the result always parses back to the same key.
fn quote_bracket_key(name: &str) -> String {
    let quote = if name.contains('"') { '\'' } else { '"' };
    let mut out = String::with_capacity(name.len() + 4);
    out.push('[');
    out.push(quote);
    for c in name.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(quote);
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_paths_like_kluctl() {
        let p = KeyPath::fields(["metadata", "labels", "kluctl.io/tag-0"]);
        assert_eq!(p.to_json_path(), r#"metadata.labels["kluctl.io/tag-0"]"#);
        let p = KeyPath::fields(["spec", "template", "spec", "containers"])
            .index(0)
            .child("image");
        assert_eq!(p.to_json_path(), "spec.template.spec.containers[0].image");
        assert_eq!(KeyPath::fields(["a.b", "c_d"]).to_json_path(), r#"$["a.b"].c_d"#);
        // One-letter keys are not "simple identifiers" for Kluctl.
        assert_eq!(KeyPath::fields(["data", "x"]).to_json_path(), r#"data["x"]"#);
        assert_eq!(
            KeyPath::fields(["data", r#"say "hi""#]).to_json_path(),
            r#"data['say "hi"']"#
        );
        assert_eq!(KeyPath::root().index(3).to_json_path(), "[3]");
    }

    #[test]
    fn gets_and_removes_values() {
        let mut v = json!({"a": {"b": [1, 2, 3], "c": "x", "d": true}});
        let p = KeyPath::fields(["a", "b"]).index(1);
        assert_eq!(p.get(&v), Some(&json!(2)));
        assert_eq!(p.remove(&mut v), Some(json!(2)));
        assert_eq!(v["a"]["b"], json!([1, 3]));
        assert_eq!(KeyPath::fields(["a", "c"]).remove(&mut v), Some(json!("x")));
        let keys: Vec<_> = v["a"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["b", "d"]);
        assert_eq!(KeyPath::fields(["a", "zz"]).remove(&mut v), None);
        assert_eq!(KeyPath::root().remove(&mut v), None);
    }
}
