//! The unified diff text of one change, as Kluctl renders it (`pkg/diff/diff.go`): scalars as
//! text, maps and lists as YAML, `-old`/`+new` for one-line values, hunks for longer ones.

use super::changes::ChangeType;
use serde_json::Value;
use similar::TextDiff;

/// Renders the diff text of a change from its old and new values.
pub(super) fn unified_diff(change_type: ChangeType, old: Option<&Value>, new: Option<&Value>) -> String {
    match change_type {
        ChangeType::Insert => prefix_lines(&diffable_string(new.unwrap_or(&Value::Null), false), '+'),
        ChangeType::Delete => prefix_lines(&diffable_string(old.unwrap_or(&Value::Null), false), '-'),
        ChangeType::Update => {
            let (old, new) = (old.unwrap_or(&Value::Null), new.unwrap_or(&Value::Null));
            let show_type = type_name(old) != type_name(new);
            diff_strings(&diffable_string(old, show_type), &diffable_string(new, show_type))
        }
    }
}

/// Diffs two renderings; also used by the obfuscator, which renders masked values itself.
pub(super) fn diff_strings(a: &str, b: &str) -> String {
    if a.is_empty() {
        return prefix_lines(b, '+');
    }
    if b.is_empty() {
        return prefix_lines(a, '-');
    }
    if !a.contains('\n') && !b.contains('\n') {
        return format!("-{a}\n+{b}");
    }
    let diff = TextDiff::from_lines(a, b);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(false)
        .to_string();
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

/// The text a value is diffed as: strings as themselves, maps and lists as YAML, `<nil>` for
/// null, other scalars as JSON; with ` (type: X)` when the type changed.
pub(super) fn diffable_string(v: &Value, show_type: bool) -> String {
    let mut s = match v {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => crate::yaml::to_yaml_string(v),
        other => other.to_string(),
    };
    if show_type {
        if s.ends_with('\n') {
            s.pop();
        }
        s.push_str(&format!(" (type: {})", type_name(v)));
    }
    s
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

pub(super) fn prefix_lines(s: &str, prefix: char) -> String {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.split('\n')
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inserts_and_deletes_prefix_every_line() {
        assert_eq!(unified_diff(ChangeType::Insert, None, Some(&json!("x"))), "+x");
        assert_eq!(
            unified_diff(ChangeType::Insert, None, Some(&json!({"a": 1, "b": [2]}))),
            "+a: 1\n+b:\n+- 2"
        );
        assert_eq!(unified_diff(ChangeType::Delete, Some(&json!(3)), None), "-3");
    }

    #[test]
    fn updates_of_scalars_are_two_lines() {
        assert_eq!(
            unified_diff(ChangeType::Update, Some(&json!(1)), Some(&json!(2))),
            "-1\n+2"
        );
        assert_eq!(
            unified_diff(ChangeType::Update, Some(&json!("a")), Some(&json!("b"))),
            "-a\n+b"
        );
        assert_eq!(
            unified_diff(ChangeType::Update, Some(&json!("1")), Some(&json!(1))),
            "-1 (type: string)\n+1 (type: number)"
        );
        assert_eq!(
            unified_diff(ChangeType::Update, Some(&Value::Null), Some(&json!(true))),
            "-<nil> (type: null)\n+true (type: bool)"
        );
    }

    #[test]
    fn updates_of_multi_line_values_are_hunks() {
        let old = json!("line1\nline2\nline3\n");
        let new = json!("line1\nchanged\nline3\n");
        assert_eq!(
            unified_diff(ChangeType::Update, Some(&old), Some(&new)),
            "@@ -1,3 +1,3 @@\n line1\n-line2\n+changed\n line3"
        );
    }
}
