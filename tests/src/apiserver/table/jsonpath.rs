//! The JSONPath subset CRD printer columns use: `.a.b`, `[n]`, `[*]`, and filters
//! `[?(@.type=="Ready")]` (with `==` or `!=`), optionally wrapped in `{}`.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
    All,
    Filter {
        path: Vec<String>,
        negated: bool,
        literal: Value,
    },
}

fn parse(path: &str) -> Option<Vec<Segment>> {
    let path = path.trim();
    let path = path.strip_prefix('{').and_then(|p| p.strip_suffix('}')).unwrap_or(path);
    let path = path.strip_prefix('$').unwrap_or(path);
    let chars: Vec<char> = path.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    segments.push(Segment::Field(name));
                }
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                i = close + 1;
                let inner = inner.trim();
                if inner == "*" {
                    segments.push(Segment::All);
                } else if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                    segments.push(parse_filter(filter)?);
                } else {
                    segments.push(Segment::Index(inner.parse().ok()?));
                }
            }
            _ => return None,
        }
    }
    Some(segments)
}

fn parse_filter(filter: &str) -> Option<Segment> {
    let (left, right, negated) = if let Some((l, r)) = filter.split_once("!=") {
        (l, r, true)
    } else {
        let (l, r) = filter.split_once("==")?;
        (l, r, false)
    };
    let path: Vec<String> = left.trim().strip_prefix("@.")?.split('.').map(str::to_string).collect();
    let right = right.trim();
    let literal = if let Some(text) = right
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| right.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
    {
        Value::String(text.to_string())
    } else {
        serde_json::from_str(right).ok()?
    };
    Some(Segment::Filter { path, negated, literal })
}

/// Every value the path selects (empty when it selects nothing or does not parse).
pub fn evaluate(object: &Value, path: &str) -> Vec<Value> {
    let Some(segments) = parse(path) else {
        return Vec::new();
    };
    let mut current: Vec<&Value> = vec![object];
    for segment in &segments {
        let mut next = Vec::new();
        for value in current {
            match segment {
                Segment::Field(name) => next.extend(value.get(name)),
                Segment::Index(i) => next.extend(value.get(*i)),
                Segment::All => match value {
                    Value::Array(items) => next.extend(items.iter()),
                    Value::Object(map) => next.extend(map.values()),
                    _ => {}
                },
                Segment::Filter { path, negated, literal } => {
                    for item in value.as_array().into_iter().flatten() {
                        let actual = path.iter().try_fold(item, |v, key| v.get(key));
                        if (actual == Some(literal)) != *negated {
                            next.push(item);
                        }
                    }
                }
            }
        }
        current = next;
    }
    current.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_fields_indexes_wildcards_and_filters() {
        let obj = json!({"spec": {"replicas": 3, "containers": [{"image": "a"}, {"image": "b"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Other", "status": "False"}]}});
        assert_eq!(evaluate(&obj, ".spec.replicas"), vec![json!(3)]);
        assert_eq!(evaluate(&obj, ".spec.containers[1].image"), vec![json!("b")]);
        assert_eq!(
            evaluate(&obj, ".spec.containers[*].image"),
            vec![json!("a"), json!("b")]
        );
        assert_eq!(
            evaluate(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(
            evaluate(&obj, "{.status.conditions[?(@.type!='Ready')].type}"),
            vec![json!("Other")]
        );
        assert!(evaluate(&obj, ".missing.field").is_empty());
    }
}
