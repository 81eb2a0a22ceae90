//! Merging variables the way Kluctl does: mappings merge key by key, recursively; any other value
//! (lists included) replaces what was there. Plus setting a value under a simple path
//! (`targetPath`, dotted `-a` names).

use serde_json::{Map, Value};

/// Deep-merges `src` into `dst`: mappings merge recursively, everything else replaces.
pub fn deep_merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(dst_map), Value::Object(src_map)) => merge_maps(dst_map, src_map),
        (dst, src) => *dst = src,
    }
}

/// Deep-merges the entries of `src` into `dst`.
pub fn merge_maps(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, value) in src {
        match dst.get_mut(&key) {
            Some(existing) => deep_merge(existing, value),
            None => {
                dst.insert(key, value);
            }
        }
    }
}

/// Splits a simple path (`a.b.c`, `$.a.b`, `a["b.c"].d`, `a['b']`) into its keys.
/// Wildcards and list indexes are not allowed: the path must name one place in a mapping.
pub fn parse_simple_path(path: &str) -> Result<Vec<String>, String> {
    let mut rest = path.trim();
    if let Some(stripped) = rest.strip_prefix('$') {
        rest = stripped.strip_prefix('.').unwrap_or(stripped);
    }
    let mut keys = Vec::new();
    let mut current = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if current.is_empty() && keys.is_empty() {
                    return Err(format!("path {path:?} has an empty segment"));
                }
                if !current.is_empty() {
                    keys.push(std::mem::take(&mut current));
                }
            }
            '[' => {
                if !current.is_empty() {
                    keys.push(std::mem::take(&mut current));
                }
                let quote = match chars.next() {
                    Some(q @ ('"' | '\'')) => q,
                    _ => {
                        return Err(format!(
                            "path {path:?} may only use quoted keys in brackets, not indexes"
                        ));
                    }
                };
                let mut key = String::new();
                loop {
                    match chars.next() {
                        Some(c) if c == quote => break,
                        Some(c) => key.push(c),
                        None => return Err(format!("path {path:?} has an unclosed bracket")),
                    }
                }
                if chars.next() != Some(']') {
                    return Err(format!("path {path:?} has an unclosed bracket"));
                }
                keys.push(key);
            }
            '*' => return Err(format!("path {path:?} may not contain wildcards")),
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        keys.push(current);
    }
    if keys.is_empty() {
        return Err(format!("path {path:?} is empty"));
    }
    Ok(keys)
}

/// Returns a mapping holding `value` under the nested `keys` (`[a, b]` gives `{a: {b: value}}`).
pub fn nest(keys: &[String], value: Value) -> Value {
    keys.iter().rev().fold(value, |inner, key| {
        Value::Object(Map::from_iter([(key.clone(), inner)]))
    })
}

/// Sets `value` at the nested `keys` of `target`, creating mappings on the way and replacing
/// non-mapping values that are in the way.
pub fn set_path(target: &mut Map<String, Value>, keys: &[String], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = target;
    for key in parents {
        let entry = current.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry.as_object_mut().expect("just made an object");
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_deeply_and_lists_replace() {
        let mut dst = json!({"a": {"x": 1, "l": [1, 2]}, "b": 1});
        deep_merge(&mut dst, json!({"a": {"y": 2, "l": [3]}, "b": {"n": 1}}));
        assert_eq!(dst, json!({"a": {"x": 1, "l": [3], "y": 2}, "b": {"n": 1}}));
    }

    #[test]
    fn simple_paths_accept_dots_dollar_and_quoted_brackets() {
        assert_eq!(parse_simple_path("a.b").unwrap(), vec!["a", "b"]);
        assert_eq!(parse_simple_path("$.a[\"b.c\"].d").unwrap(), vec!["a", "b.c", "d"]);
        assert_eq!(parse_simple_path("x['y']").unwrap(), vec!["x", "y"]);
        assert!(parse_simple_path("a[0]").unwrap_err().contains("indexes"));
        assert!(parse_simple_path("a.*").unwrap_err().contains("wildcards"));
        assert!(parse_simple_path("").is_err());
    }

    #[test]
    fn set_path_creates_and_replaces_intermediate_values() {
        let mut m = Map::new();
        set_path(&mut m, &["a".into(), "b".into()], json!(1));
        set_path(&mut m, &["a".into(), "c".into()], json!(2));
        assert_eq!(Value::Object(m.clone()), json!({"a": {"b": 1, "c": 2}}));
        set_path(&mut m, &["a".into(), "b".into(), "z".into()], json!(3));
        assert_eq!(Value::Object(m), json!({"a": {"b": {"z": 3}, "c": 2}}));
        assert_eq!(nest(&["x".into(), "y".into()], json!(true)), json!({"x": {"y": true}}));
    }
}
