//! YAML in and out: multi-document parsing into [`serde_json::Value`] with file, line and column
//! on every error, and a canonical writer for objects and streams.
//!
//! Objects are held as `serde_json::Value` everywhere in the engine (with `preserve_order`, so
//! maps keep the order they were written in). Untyped YAML is read by [`go`], a reader with Go's
//! yaml.v3 rules, so values mean what they mean to kubectl, Kustomize and Helm; typed
//! configuration files go through serde ([`parse_typed`]). YAML anchors, aliases and `<<` merge
//! keys are resolved while parsing.

pub mod go;

use serde_json::Value;
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

/// Parses every document of a (possibly multi-document) YAML text, with the scalar rules of Go's
/// yaml.v3 as kubectl, Kustomize and Helm read manifests (`0644` is the octal 420, only
/// `true`/`false` are booleans, `1_000` is a number, an unquoted timestamp stays the text it was
/// written as).
///
/// Empty documents (a stray `---`, or only comments) are skipped, as Kustomize and kubectl do.
/// Duplicate keys are an error. `file` names the source in errors.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>, YamlError> {
    read(text, file, go::DuplicateKeys::Refuse)
}

/// [`parse_documents`] for text whose producer tolerates duplicate keys (Helm's output): the last
/// value of a repeated key wins, as Helm and Kluctl read chart output.
pub fn parse_documents_lenient(text: &str, file: &str) -> Result<Vec<Value>, YamlError> {
    read(text, file, go::DuplicateKeys::LastWins)
}

fn read(text: &str, file: &str, duplicate_keys: go::DuplicateKeys) -> Result<Vec<Value>, YamlError> {
    let documents =
        go::read_documents_full(text, go::Resolution::V3Untyped, duplicate_keys).map_err(|e| YamlError {
            file: file.to_string(),
            line: (e.line > 0).then_some(e.line),
            column: (e.line > 0).then_some(e.column),
            message: format!("invalid YAML: {}", e.message),
        })?;
    Ok(documents.into_iter().map(|d| d.value).collect())
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

    #[test]
    fn reads_scalars_as_go_does_for_manifests() {
        // Helm charts write file modes in octal; kubectl and Kustomize read them as numbers.
        let docs = parse_documents(
            "mode: 0755
big: 1_000
yes: yes
t: true
f: 1.5
z: ~
",
            "f.yaml",
        )
        .unwrap();
        assert_eq!(
            docs[0],
            json!({"mode": 493, "big": 1000, "yes": "yes", "t": true, "f": 1.5, "z": null})
        );
    }

    #[test]
    fn refuses_duplicate_keys_but_lenient_reading_keeps_the_last() {
        let text = "kind: ConfigMap\nmetadata:\n  labels:\n    app: one\n    app: two\n---\n# empty\n---\nkind: B\n";
        let err = parse_documents(text, "out").unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
        let docs = parse_documents_lenient(text, "out").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["metadata"]["labels"], json!({"app": "two"}));
        assert_eq!(docs[1], json!({"kind": "B"}));
    }
}
