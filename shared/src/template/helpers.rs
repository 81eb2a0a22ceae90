//! Engine-independent implementations of Kluctl's helpers, shared by the Jinja2 and the
//! Handlebars engine: base64, sha256, Python's `json.dumps`, `from_yaml`, dict merging.
//!
//! Input and output are minijinja values (the Handlebars engine converts its JSON values).

use crate::template::pyvalue::{PyDict, PyList, float_repr, map_items, to_python, type_name};
use base64::Engine as _;
use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};
use sha2::Digest as _;
use std::fmt::Write as _;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `b64encode`: base64 of the UTF-8 bytes of a string.
pub fn b64encode(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// Base64 of raw bytes, optionally broken into lines of `width` characters.
pub fn b64encode_wrapped(bytes: &[u8], width: Option<usize>) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    match width {
        Some(w) if w > 0 => encoded
            .as_bytes()
            .chunks(w)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => encoded,
    }
}

/// `b64decode`: decodes base64 into UTF-8 text.
pub fn b64decode(s: &str) -> Result<String, Error> {
    // Python's base64.b64decode drops characters outside the alphabet before decoding.
    let cleaned: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| invalid(format!("b64decode: the input is not valid base64 ({e})")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded bytes are not UTF-8 text"))
}

/// Hex sha256, optionally cut to `digest_len` characters.
pub fn sha256_hex(bytes: &[u8], digest_len: Option<usize>) -> String {
    let mut hex = hex::encode(sha2::Sha256::digest(bytes));
    if let Some(len) = digest_len {
        hex.truncate(len);
    }
    hex
}

/// Options of Python's `json.dumps`.
#[derive(Clone, Debug, Default)]
pub struct JsonStyle {
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `indent=N`.
    pub indent: Option<usize>,
    /// Jinja2's `tojson`: also escape `<`, `>`, `&` and `'` for HTML.
    pub html_safe: bool,
}

/// Python's `json.dumps(value)` (ASCII output, `", "` and `": "` separators).
pub fn to_json(value: &Value, style: &JsonStyle) -> Result<String, Error> {
    let mut out = String::new();
    write_json(value, style, 0, &mut out)?;
    Ok(out)
}

fn write_json(value: &Value, style: &JsonStyle, level: usize, out: &mut String) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined => return Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number if value.is_integer() => {
            let _ = write!(out, "{value}");
        }
        ValueKind::Number => {
            let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
            out.push_str(&match float_repr(f).as_str() {
                "nan" => "NaN".to_string(),
                "inf" => "Infinity".to_string(),
                "-inf" => "-Infinity".to_string(),
                s => s.to_string(),
            });
        }
        ValueKind::String => json_string(value.as_str().unwrap_or_default(), style.html_safe, out),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = match value.downcast_object::<PyList>() {
                Some(list) => list.items(),
                None => value.try_iter()?.collect(),
            };
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(i, style, level + 1, out);
                write_json(item, style, level + 1, out)?;
            }
            close(style, level, out);
            out.push(']');
        }
        ValueKind::Map => {
            let mut items = map_items(value)?;
            if style.sort_keys {
                items.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if items.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                separator(i, style, level + 1, out);
                let key = match k.kind() {
                    ValueKind::String => k.as_str().unwrap_or_default().to_string(),
                    ValueKind::None => "null".to_string(),
                    ValueKind::Bool => if k.is_true() { "true" } else { "false" }.to_string(),
                    ValueKind::Number => crate::template::pyvalue::str_of(k),
                    _ => {
                        return Err(invalid(format!(
                            "to_json: keys must be str, int, float, bool or None, not {}",
                            type_name(k)
                        )));
                    }
                };
                json_string(&key, style.html_safe, out);
                out.push_str(": ");
                write_json(v, style, level + 1, out)?;
            }
            close(style, level, out);
            out.push('}');
        }
        _ => {
            return Err(invalid(format!(
                "Object of type {} is not JSON serializable",
                type_name(value)
            )));
        }
    }
    Ok(())
}

fn separator(i: usize, style: &JsonStyle, level: usize, out: &mut String) {
    match style.indent {
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
        None if i > 0 => out.push_str(", "),
        None => {}
    }
}

fn close(style: &JsonStyle, level: usize, out: &mut String) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

fn json_string(s: &str, html_safe: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\'' if html_safe => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `from_yaml`: parses one YAML document into Python containers.
pub fn from_yaml(text: &str) -> Result<Value, Error> {
    let parsed: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| invalid(format!("from_yaml: invalid YAML: {e}")))?;
    let mut parsed = parsed;
    parsed
        .apply_merge()
        .map_err(|e| invalid(format!("from_yaml: invalid YAML: {e}")))?;
    Ok(yaml_to_value(parsed))
}

fn yaml_to_value(v: serde_yaml::Value) -> Value {
    match v {
        serde_yaml::Value::Null => Value::from(()),
        serde_yaml::Value::Bool(b) => Value::from(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_yaml::Value::String(s) => Value::from(s),
        serde_yaml::Value::Sequence(items) => PyList::new_value(items.into_iter().map(yaml_to_value).collect()),
        serde_yaml::Value::Mapping(m) => PyDict::new_value(
            m.into_iter()
                .map(|(k, v)| (yaml_to_value(k), yaml_to_value(v)))
                .collect(),
        ),
        serde_yaml::Value::Tagged(t) => yaml_to_value(t.value),
    }
}

/// A deep copy in Python containers (Kluctl's `copy_dict`).
pub fn deep_copy(value: &Value) -> Result<Value, Error> {
    Ok(match value.kind() {
        ValueKind::Map if value.as_object().is_some() => {
            let mut entries = indexmap::IndexMap::new();
            for (k, v) in map_items(value)? {
                entries.insert(k, deep_copy(&v)?);
            }
            PyDict::new_value(entries)
        }
        ValueKind::Seq => {
            let items: Vec<Value> = value.try_iter()?.collect();
            PyList::new_value(items.iter().map(deep_copy).collect::<Result<_, _>>()?)
        }
        _ => value.clone(),
    })
}

/// `merge_dict(a, b)`: a deep copy of `a` with `b` merged in; `b` wins, dicts merge recursively.
pub fn merge(a: &Value, b: &Value) -> Result<Value, Error> {
    let a = if a.is_none() {
        PyDict::new_value(Default::default())
    } else {
        a.clone()
    };
    if a.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "merge_dict: expected two dicts, got {}",
            type_name(&a)
        )));
    }
    let copy = deep_copy(&a)?;
    if !b.is_none() {
        update_in_place(&copy, b)?;
    }
    Ok(copy)
}

/// `update_dict(a, b)`: merges `b` into `a` in place.
pub fn update_in_place(a: &Value, b: &Value) -> Result<(), Error> {
    let Some(target) = a.downcast_object::<PyDict>() else {
        return Err(invalid(format!(
            "update_dict: the first argument must be a dict that can be modified, got {}",
            type_name(a)
        )));
    };
    if b.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "update_dict: expected a dict to merge, got {}",
            type_name(b)
        )));
    }
    for (k, bv) in map_items(b)? {
        let existing = minijinja::value::Object::get_value(&target, &k);
        match existing {
            Some(av) if av.kind() == ValueKind::Map && bv.kind() == ValueKind::Map => update_in_place(&av, &bv)?,
            _ => target.insert(k, to_python(bv)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_matches_python_dumps() {
        let v = Value::from(minijinja::value::Serde(json!({"b": [1, 2.5, null, true], "a": "é\"<"})));
        assert_eq!(
            to_json(&v, &JsonStyle::default()).unwrap(),
            r#"{"b": [1, 2.5, null, true], "a": "\u00e9\"<"}"#
        );
        let sorted = JsonStyle {
            sort_keys: true,
            indent: Some(2),
            html_safe: true,
        };
        assert_eq!(
            to_json(&v, &sorted).unwrap(),
            "{\n  \"a\": \"\\u00e9\\\"\\u003c\",\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}"
        );
    }

    #[test]
    fn merge_is_deep_and_copies() {
        let a = from_yaml("x: {y: 1, z: 2}\nl: [1]").unwrap();
        let b = from_yaml("x: {y: 3}\nn: 4").unwrap();
        let merged = merge(&a, &b).unwrap();
        let out = serde_json::to_value(&merged).unwrap();
        assert_eq!(out, json!({"x": {"y": 3, "z": 2}, "l": [1], "n": 4}));
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"x": {"y": 1, "z": 2}, "l": [1]})
        );
    }

    #[test]
    fn b64_round_trips_and_reports_bad_input() {
        assert_eq!(b64encode("héllo"), "aMOpbGxv");
        assert_eq!(b64decode("aMOpbGxv").unwrap(), "héllo");
        assert_eq!(b64decode("%%%").unwrap(), "");
        assert!(b64decode("abc").is_err());
        assert_eq!(b64encode_wrapped(b"abcdefgh", Some(4)), "YWJj\nZGVm\nZ2g=");
    }
}
