//! The JSONPath subset used by `clusterObject.path` and `http.jsonPath`: `$`, `.key`, `['key']`,
//! `["key"]`, `[N]`, `[*]` and `.*`. Returns every match, in document order.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

fn parse(path: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut chars = path.trim().chars().peekable();
    if chars.peek() == Some(&'$') {
        chars.next();
    }
    let mut key = String::new();
    let flush = |key: &mut String, steps: &mut Vec<Step>| {
        if !key.is_empty() {
            let k = std::mem::take(key);
            steps.push(if k == "*" { Step::Wildcard } else { Step::Key(k) });
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut key, &mut steps),
            '[' => {
                flush(&mut key, &mut steps);
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(c) => inner.push(c),
                        None => return Err(format!("unclosed bracket in {path:?}")),
                    }
                }
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::Wildcard);
                } else if let Some(quoted) = inner
                    .strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                {
                    steps.push(Step::Key(quoted.to_string()));
                } else {
                    let index = inner
                        .parse::<usize>()
                        .map_err(|_| format!("unsupported bracket expression [{inner}] in {path:?}"))?;
                    steps.push(Step::Index(index));
                }
            }
            c => key.push(c),
        }
    }
    flush(&mut key, &mut steps);
    Ok(steps)
}

/// Returns all values matching `path` in `root`.
pub fn query<'a>(root: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let steps = parse(path)?;
    let mut current = vec![root];
    for step in &steps {
        let mut next = Vec::new();
        for value in current {
            match (step, value) {
                (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                (Step::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                (Step::Wildcard, Value::Object(m)) => next.extend(m.values()),
                (Step::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                _ => {}
            }
        }
        current = next;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_keys_indexes_and_wildcards() {
        let doc = json!({"data": {"a.b": "1", "c": [{"n": 1}, {"n": 2}]}});
        assert_eq!(query(&doc, "$").unwrap(), vec![&doc]);
        assert_eq!(query(&doc, "data['a.b']").unwrap(), vec![&json!("1")]);
        assert_eq!(query(&doc, "$.data.c[1].n").unwrap(), vec![&json!(2)]);
        assert_eq!(query(&doc, "data.c[*].n").unwrap(), vec![&json!(1), &json!(2)]);
        assert_eq!(query(&doc, "data.*").unwrap().len(), 2);
        assert!(query(&doc, "data.missing").unwrap().is_empty());
        assert!(query(&doc, "data[x]").is_err());
    }
}
