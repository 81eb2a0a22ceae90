//! Dotted field paths as kyaml reads them in `replacements` and `vars`:
//! `spec.template.spec.containers.[name=app].image`, `data.[a.b.c]` (a key with dots),
//! `spec.ports.0.port`, `spec.containers.*.image` and `\.` for a literal dot.
//!
//! [`get`] follows kyaml's `PathGetter` (exact list-entry match, first hit); [`find`] follows
//! its `PathMatcher` (list-entry values are unanchored regular expressions, `*` visits every
//! element, and with `create` missing fields and entries are made).

use regex::Regex;
use serde_json::{Map, Value};

/// Splits on `.`, keeping bracketed list-entry selectors whole and unwrapping bracketed keys.
pub fn split_dotted(path: &str) -> Vec<String> {
    let mut pieces: Vec<String> = Vec::new();
    for (i, piece) in path.split('.').enumerate() {
        match pieces.last_mut() {
            Some(last) if i > 0 && last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(piece);
            }
            _ => pieces.push(piece.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        if pieces[i].starts_with('[') {
            let mut j = i;
            while j < pieces.len() && !pieces[j].ends_with(']') {
                j += 1;
            }
            let j = j.min(pieces.len() - 1);
            let joined = pieces[i..=j].join(".");
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_start_matches('[').trim_end_matches(']').to_string());
            }
            i = j + 1;
        } else {
            out.push(pieces[i].clone());
            i += 1;
        }
    }
    out
}

fn list_selector(part: &str) -> Option<(&str, &str)> {
    let inner = part.strip_prefix('[')?.strip_suffix(']')?;
    inner.split_once('=')
}

fn as_index(part: &str) -> Option<usize> {
    part.parse::<usize>().ok()
}

/// The text kyaml compares list-entry selectors with.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        _ => None,
    }
}

/// kyaml's `PathGetter` (`yaml.Lookup`): the one node at `path`, if any.
pub fn get<'a>(root: &'a Value, path: &[String]) -> Result<Option<&'a Value>, String> {
    let mut node = root;
    for part in path {
        node = match (node, as_index(part), list_selector(part)) {
            (Value::Array(items), Some(index), _) => match items.get(index) {
                Some(item) => item,
                None => return Ok(None),
            },
            (_, _, _) if part == "*" => return Err("wildcards are not supported in a source fieldPath".to_string()),
            (Value::Array(items), None, Some((key, value))) => {
                let found = items.iter().find(|item| match key {
                    "" => scalar_text(item).as_deref() == Some(value),
                    _ => item.get(key).and_then(scalar_text).as_deref() == Some(value),
                });
                match found {
                    Some(item) => item,
                    None => return Ok(None),
                }
            }
            (Value::Object(map), _, None) => match map.get(part) {
                Some(value) => value,
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
    }
    Ok(Some(node))
}

/// What to create for missing path parts (kyaml's `PathMatcher.Create`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// Find only.
    None,
    /// Create with a scalar at the end.
    Scalar,
    /// Create with a map at the end.
    Map,
    /// Create with a list at the end.
    List,
}

fn empty_for(next: Option<&str>, leaf: Leaf) -> Value {
    match next {
        None => match leaf {
            Leaf::Map => Value::Object(Map::new()),
            Leaf::List => Value::Array(Vec::new()),
            // A created scalar has no type yet; the replacement decides it.
            _ => Value::Null,
        },
        Some(part) if part.starts_with('[') || part == "*" || as_index(part).is_some() => Value::Array(Vec::new()),
        Some(_) => Value::Object(Map::new()),
    }
}

/// kyaml's `PathMatcher`: JSON pointers (as part lists) of every node matching `path`,
/// creating missing parts when `leaf` is not [`Leaf::None`].
pub fn find(root: &mut Value, path: &[String], leaf: Leaf) -> Result<Vec<Vec<String>>, String> {
    let mut found = Vec::new();
    walk(root, path, leaf, &mut Vec::new(), &mut found)?;
    Ok(found)
}

fn walk(
    node: &mut Value,
    path: &[String],
    leaf: Leaf,
    at: &mut Vec<String>,
    found: &mut Vec<Vec<String>>,
) -> Result<(), String> {
    let Some(part) = path.first() else {
        found.push(at.clone());
        return Ok(());
    };
    let rest = &path[1..];
    let create = leaf != Leaf::None;
    if let Some(index) = as_index(part) {
        let Value::Array(items) = node else {
            return Err(format!("expected a list at {part:?}"));
        };
        if items.len() == index && create {
            items.push(empty_for(rest.first().map(String::as_str), leaf));
        }
        let Some(item) = items.get_mut(index) else {
            return Err(format!(
                "index {index} specified but only {} elements found",
                items.len()
            ));
        };
        at.push(index.to_string());
        walk(item, rest, leaf, at, found)?;
        at.pop();
        return Ok(());
    }
    if let Some((key, pattern)) = list_selector(part) {
        let Value::Array(items) = node else {
            return Ok(());
        };
        let regex = Regex::new(pattern).map_err(|e| format!("invalid pattern in {part:?}: {e}"))?;
        let matches = |item: &Value| -> bool {
            let text = if key.is_empty() {
                scalar_text(item)
            } else {
                item.get(key).and_then(scalar_text)
            };
            text.is_some_and(|t| regex.is_match(&t))
        };
        let mut any = false;
        for (i, item) in items.iter_mut().enumerate() {
            if matches(item) {
                any = true;
                at.push(i.to_string());
                walk(item, rest, leaf, at, found)?;
                at.pop();
            }
        }
        if !any && create {
            let element = if key.is_empty() {
                Value::String(pattern.to_string())
            } else {
                let mut m = Map::new();
                m.insert(key.to_string(), Value::String(pattern.to_string()));
                Value::Object(m)
            };
            items.push(element);
            let last = items.len() - 1;
            at.push(last.to_string());
            walk(&mut items[last], rest, leaf, at, found)?;
            at.pop();
        }
        return Ok(());
    }
    if part == "*" {
        let Value::Array(items) = node else {
            return Err("a wildcard must select list elements".to_string());
        };
        for (i, item) in items.iter_mut().enumerate() {
            at.push(i.to_string());
            walk(item, rest, leaf, at, found)?;
            at.pop();
        }
        return Ok(());
    }
    let Value::Object(map) = node else {
        return Ok(());
    };
    if !map.contains_key(part.as_str()) {
        if !create {
            return Ok(());
        }
        map.insert(part.clone(), empty_for(rest.first().map(String::as_str), leaf));
    }
    let child = map.get_mut(part.as_str()).expect("present or just inserted");
    at.push(part.clone());
    walk(child, rest, leaf, at, found)?;
    at.pop();
    Ok(())
}

/// The node at a pointer found by [`find`].
pub fn at_mut<'a>(root: &'a mut Value, pointer: &[String]) -> Option<&'a mut Value> {
    let mut node = root;
    for part in pointer {
        node = match node {
            Value::Object(map) => map.get_mut(part)?,
            Value::Array(items) => items.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Vec<String> {
        split_dotted(s)
    }

    #[test]
    fn splits_like_kyaml() {
        assert_eq!(
            p("spec.containers.[name=a.b].image"),
            vec!["spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(p("data.[a.b.c]"), vec!["data", "a.b.c"]);
        assert_eq!(p("metadata.annotations.x\\.y"), vec!["metadata", "annotations", "x.y"]);
    }

    #[test]
    fn gets_exact_and_finds_by_pattern() {
        let mut v = json!({"c": [{"name": "app", "i": 1}, {"name": "app-side", "i": 2}, {"name": "x"}]});
        assert_eq!(get(&v, &p("c.[name=app].i")).unwrap(), Some(&json!(1)));
        assert_eq!(get(&v, &p("c.1.i")).unwrap(), Some(&json!(2)));
        let found = find(&mut v, &p("c.[name=app].i"), Leaf::None).unwrap();
        assert_eq!(found.len(), 2, "kyaml's list-entry match is an unanchored pattern");
        let found = find(&mut v, &p("c.*.name"), Leaf::None).unwrap();
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn creates_missing_parts() {
        let mut v = json!({"c": [{"name": "a"}]});
        let found = find(&mut v, &p("c.[name=a].ports.0.port"), Leaf::Scalar).unwrap();
        assert_eq!(found, vec![vec!["c", "0", "ports", "0", "port"]]);
        assert_eq!(v, json!({"c": [{"name": "a", "ports": [{"port": null}]}]}));
        let found = find(&mut v, &p("c.[name=b].x"), Leaf::Scalar).unwrap();
        assert_eq!(found, vec![vec!["c", "1", "x"]]);
    }
}
