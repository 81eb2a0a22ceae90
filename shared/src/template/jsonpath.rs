//! JSONPath for `get_var`: the subset of jsonpath_ng (with Kluctl's `*` wildcards inside field
//! names) that variable lookups use.
//!
//! Input: a path such as `a.b[0].c`, `$.a.*.c`, `a.'dotted.key'`, `a["x"]`, `a..c`,
//! `images.*-image`; output: the first value the path selects, in document order.

use minijinja::value::{Value, ValueKind};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// A map key, possibly with `*`, `?` and `[...]` wildcards.
    Field(String),
    /// A list index (negative counts from the end).
    Index(i64),
    /// Every element of a list or every value of a map.
    All,
    /// The current value and every value below it.
    Descend,
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses a path; the error says what is wrong at which character.
    pub fn parse(path: &str) -> Result<JsonPath, String> {
        let chars: Vec<char> = path.trim().chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        if chars.first() == Some(&'$') {
            i = 1;
        }
        let mut expect_field = i == 0;
        while i < chars.len() {
            match chars[i] {
                '.' if chars.get(i + 1) == Some(&'.') => {
                    steps.push(Step::Descend);
                    i += 2;
                    expect_field = true;
                }
                '.' => {
                    i += 1;
                    expect_field = true;
                }
                '[' => {
                    let end = find_close(&chars, i).ok_or_else(|| format!("unclosed '[' at character {}", i + 1))?;
                    let inner: String = chars[i + 1..end].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        steps.push(Step::All);
                    } else if let Some(q) = unquote(inner) {
                        steps.push(Step::Field(q));
                    } else {
                        let idx = inner
                            .parse::<i64>()
                            .map_err(|_| format!("invalid index [{inner}] at character {}", i + 1))?;
                        steps.push(Step::Index(idx));
                    }
                    i = end + 1;
                    expect_field = false;
                }
                '\'' | '"' if expect_field => {
                    let quote = chars[i];
                    let end = chars[i + 1..]
                        .iter()
                        .position(|c| *c == quote)
                        .ok_or_else(|| format!("unclosed quote at character {}", i + 1))?
                        + i
                        + 1;
                    steps.push(Step::Field(chars[i + 1..end].iter().collect()));
                    i = end + 1;
                    expect_field = false;
                }
                _ if expect_field => {
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let field: String = chars[start..i].iter().collect();
                    let field = field.trim().to_string();
                    if field == "*" {
                        steps.push(Step::All);
                    } else {
                        steps.push(Step::Field(field));
                    }
                    expect_field = false;
                }
                c => return Err(format!("unexpected {c:?} at character {}", i + 1)),
            }
        }
        if expect_field && !steps.is_empty() {
            return Err("the path ends with '.'".to_string());
        }
        Ok(JsonPath { steps })
    }

    /// The first value the path selects in `root`.
    pub fn first(&self, root: &Value) -> Option<Value> {
        let mut found = None;
        select(root, &self.steps, &mut |v| {
            found = Some(v);
            true
        });
        found
    }
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote = None;
    for (i, c) in chars.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (Some(q), c) if *c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(*c),
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let first = s.chars().next()?;
    if (first == '\'' || first == '"') && s.len() >= 2 && s.ends_with(first) {
        return Some(s[1..s.len() - 1].to_string());
    }
    None
}

/// Visits selected values in document order; the visitor returns `true` to stop.
fn select(value: &Value, steps: &[Step], visit: &mut dyn FnMut(Value) -> bool) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return visit(value.clone());
    };
    match step {
        Step::Field(pattern) => {
            if value.kind() != ValueKind::Map {
                return false;
            }
            if !has_wildcard(pattern) {
                return match value.get_item(&Value::from(pattern.as_str())) {
                    Ok(v) if !v.is_undefined() => select(&v, rest, visit),
                    _ => false,
                };
            }
            for key in value.try_iter().into_iter().flatten() {
                if key.as_str().is_some_and(|k| glob_match(pattern, k))
                    && let Ok(v) = value.get_item(&key)
                    && select(&v, rest, visit)
                {
                    return true;
                }
            }
            false
        }
        Step::Index(idx) => {
            if value.kind() != ValueKind::Seq {
                return false;
            }
            let len = value.len().unwrap_or(0) as i64;
            let idx = if *idx < 0 { idx + len } else { *idx };
            if idx < 0 || idx >= len {
                return false;
            }
            match value.get_item(&Value::from(idx)) {
                Ok(v) if !v.is_undefined() => select(&v, rest, visit),
                _ => false,
            }
        }
        Step::All => children(value).iter().any(|child| select(child, rest, visit)),
        Step::Descend => {
            if select(value, rest, visit) {
                return true;
            }
            children(value).iter().any(|child| select(child, steps, visit))
        }
    }
}

fn children(value: &Value) -> Vec<Value> {
    match value.kind() {
        ValueKind::Map => value
            .try_iter()
            .into_iter()
            .flatten()
            .filter_map(|k| value.get_item(&k).ok())
            .collect(),
        ValueKind::Seq => value.try_iter().into_iter().flatten().collect(),
        _ => Vec::new(),
    }
}

fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Shell-style matching as Python's `fnmatch`: `*`, `?`, `[abc]`, `[!abc]`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|skip| glob_at(&p[1..], &t[skip..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(2).position(|c| *c == ']').map(|i| i + 2) else {
                return t.first() == Some(&'[') && glob_at(&p[1..], &t[1..]);
            };
            let Some(c) = t.first() else { return false };
            let (negate, set) = match p[1] {
                '!' => (true, &p[2..close]),
                _ => (false, &p[1..close]),
            };
            let mut matched = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    matched |= set[i] <= *c && *c <= set[i + 2];
                    i += 3;
                } else {
                    matched |= set[i] == *c;
                    i += 1;
                }
            }
            matched != negate && glob_at(&p[close + 1..], &t[1..])
        }
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, data: serde_json::Value) -> Option<serde_json::Value> {
        let v = Value::from(minijinja::value::Serde(&data));
        JsonPath::parse(path)
            .unwrap()
            .first(&v)
            .map(|v| serde_json::to_value(&v).unwrap())
    }

    #[test]
    fn selects_fields_indexes_and_wildcards() {
        let data = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "svc-one": {"port": 80}, "x.y": 5});
        assert_eq!(get("a.b[1].c", data.clone()), Some(json!(2)));
        assert_eq!(get("$.a.b[-1].c", data.clone()), Some(json!(2)));
        assert_eq!(get("a.b[*].c", data.clone()), Some(json!(1)));
        assert_eq!(get("svc-*.port", data.clone()), Some(json!(80)));
        assert_eq!(get("'x.y'", data.clone()), Some(json!(5)));
        assert_eq!(get("a['b'][0]", data.clone()), Some(json!({"c": 1})));
        assert_eq!(get("a..c", data.clone()), Some(json!(1)));
        assert_eq!(get("a.missing", data.clone()), None);
        assert_eq!(get("a.b[5]", data), None);
    }

    #[test]
    fn rejects_malformed_paths() {
        assert!(JsonPath::parse("a[").is_err());
        assert!(JsonPath::parse("a.").is_err());
        assert!(JsonPath::parse("a[x]").is_err());
    }

    #[test]
    fn globs_follow_fnmatch() {
        assert!(glob_match("a*c", "abbc"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[ab]x", "bx"));
        assert!(!glob_match("[!ab]x", "bx"));
        assert!(!glob_match("a*c", "abd"));
    }
}
