//! YAML in and out: multi-document parsing into [`serde_json::Value`] with file, line and column
//! on every error, and a canonical writer for objects and streams.
//!
//! Objects are held as `serde_json::Value` everywhere in the engine (with `preserve_order`, so
//! maps keep the order they were written in). YAML anchors, aliases and `<<` merge keys are
//! resolved while parsing; tags are dropped in favour of the tagged value.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// A YAML document that could not be parsed, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct YamlError {
    /// The file as the user knows it (project-relative where possible).
    pub file: String,
    /// 1-based line of the problem, when the parser knows it.
    pub line: Option<usize>,
    /// 1-based column of the problem, when the parser knows it.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{}:{}: {}", self.file, line, column, self.message),
            (Some(line), None) => write!(f, "{}:{}: {}", self.file, line, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl YamlError {
    fn from_serde(file: &str, err: &serde_yaml::Error) -> Self {
        let location = err.location();
        let mut message = err.to_string();
        // serde_yaml appends " at line X column Y" to its messages; we report the position ourselves.
        if let Some(idx) = message.find(" at line ") {
            message.truncate(idx);
        }
        YamlError {
            file: file.to_string(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message: format!("invalid YAML: {message}"),
        }
    }
}

/// Parses every document of a (possibly multi-document) YAML text.
///
/// Empty documents (a stray `---`, or only comments) are skipped, as Kustomize and kubectl do.
/// `file` names the source in errors.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>, YamlError> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let mut value = serde_yaml::Value::deserialize(document).map_err(|e| YamlError::from_serde(file, &e))?;
        value.apply_merge().map_err(|e| YamlError::from_serde(file, &e))?;
        if value.is_null() {
            continue;
        }
        documents.push(yaml_to_json(value));
    }
    Ok(documents)
}

/// Parses a text that must hold exactly one document (an empty text gives `Value::Null`).
pub fn parse_single(text: &str, file: &str) -> Result<Value, YamlError> {
    let mut documents = parse_documents(text, file)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0)),
        n => Err(YamlError {
            file: file.to_string(),
            line: None,
            column: None,
            message: format!("expected a single YAML document, found {n}"),
        }),
    }
}

/// Parses one document into a typed structure, reporting unknown or mistyped fields with position.
pub fn parse_typed<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| YamlError::from_serde(file, &e))
}

/// Converts a parsed YAML value into the JSON model used by the engine.
///
/// Non-string map keys are written as their YAML text (`1: a` gets the key `"1"`), as Kubernetes
/// tools do when they convert YAML to JSON.
pub fn yaml_to_json(value: serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        serde_yaml::Value::String(s) => Value::String(s),
        serde_yaml::Value::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        serde_yaml::Value::Mapping(mapping) => {
            let mut map = Map::with_capacity(mapping.len());
            for (key, value) in mapping {
                map.insert(key_to_string(key), yaml_to_json(value));
            }
            Value::Object(map)
        }
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn key_to_string(key: serde_yaml::Value) -> String {
    match key {
        serde_yaml::Value::String(s) => s,
        serde_yaml::Value::Null => "null".to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Tagged(tagged) => key_to_string(tagged.value),
        other => serde_yaml::to_string(&other).unwrap_or_default().trim_end().to_string(),
    }
}

/// Writes one value as a YAML document (no leading `---`, ending in a newline).
pub fn to_yaml_string(value: &Value) -> String {
    // Serialising a serde_json::Value cannot fail: keys are strings and numbers are finite.
    serde_yaml::to_string(value).unwrap_or_default()
}

/// Writes values as a multi-document YAML stream separated by `---`, like `kubectl kustomize`.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml_string(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_multi_document_streams_and_skips_empty_documents() {
        let docs = parse_documents("---\na: 1\n---\n# only a comment\n---\nb: [x, y]\n", "f.yaml").unwrap();
        assert_eq!(docs, vec![json!({"a": 1}), json!({"b": ["x", "y"]})]);
    }

    #[test]
    fn reports_file_line_and_column() {
        let err = parse_documents("a: 1\nb: [unclosed\n", "dir/f.yaml").unwrap_err();
        assert_eq!(err.file, "dir/f.yaml");
        assert!(err.line.is_some());
        assert!(err.to_string().starts_with("dir/f.yaml:"), "{err}");
    }

    #[test]
    fn resolves_merge_keys_and_keeps_key_order() {
        let docs = parse_documents("base: &b {x: 1}\nz: 0\nderived:\n  <<: *b\n  y: 2\n", "f.yaml").unwrap();
        assert_eq!(docs[0]["derived"], json!({"x": 1, "y": 2}));
        let keys: Vec<_> = docs[0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec!["base", "z", "derived"]);
    }

    #[test]
    fn writes_streams_with_separators() {
        let out = to_yaml_stream(&[json!({"a": 1}), json!({"b": "two\nlines"})]);
        assert_eq!(
            parse_documents(&out, "out").unwrap(),
            vec![json!({"a": 1}), json!({"b": "two\nlines"})]
        );
        assert!(out.contains("---\n"));
    }
}
