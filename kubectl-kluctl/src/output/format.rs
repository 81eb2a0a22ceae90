//! `-o text|yaml|json[=FILE]`: which formats a command prints and where, and how a report is
//! written in each.
//!
//! Structured output (`yaml`, `json`) of a report is one object that starts with
//! `apiVersion: kubectl-kluctl.io/v1alpha1` and the report's `kind`, so scripts can detect format changes:
//! fields may be added within a version, never renamed or removed (see `docs/output.md`).
//! Objects (render, kustomize) are printed as Kubernetes tools print them instead: a
//! multi-document YAML stream, or one `v1/List` in JSON.

use super::Paint;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::str::FromStr;

/// The `apiVersion` of every structured report.
pub const API_VERSION: &str = "kubectl-kluctl.io/v1alpha1";

/// One output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Human-readable text (the default).
    Text,
    /// YAML.
    Yaml,
    /// JSON, indented.
    Json,
}

impl OutputFormat {
    /// All formats, in the order help lists them.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Json => "json",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `-o` value: a format, and a file to write instead of stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The format.
    pub format: OutputFormat,
    /// The file to write; `None` is stdout.
    pub path: Option<PathBuf>,
}

impl FromStr for OutputSpec {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (name, path) = match value.split_once('=') {
            Some((name, "")) => return Err(format!("missing file name after '{name}='")),
            Some((name, path)) => (name, Some(PathBuf::from(path))),
            None => (value, None),
        };
        let format = OutputFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!("unknown output format '{name}' (use text, yaml or json, optionally FORMAT=FILE)")
            })?;
        Ok(OutputSpec { format, path })
    }
}

/// Validated `-o` flags: every destination of a command's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputOptions {
    /// Where to write what; never empty, at most one entry writes to stdout.
    pub specs: Vec<OutputSpec>,
}

impl OutputOptions {
    /// Builds the options from the `-o` values of a command that supports `allowed` formats
    /// (the first one is the default). Fails on a format the command cannot print and on two
    /// formats for stdout.
    pub fn new(specs: &[OutputSpec], allowed: &[OutputFormat]) -> Result<OutputOptions, String> {
        if let Some(bad) = specs.iter().find(|s| !allowed.contains(&s.format)) {
            let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
            return Err(format!(
                "this command cannot print -o {} (use {})",
                bad.format,
                names.join(", ")
            ));
        }
        if specs.iter().filter(|s| s.path.is_none()).count() > 1 {
            return Err("only one -o may write to stdout (write the others to files with FORMAT=FILE)".to_string());
        }
        let specs = if specs.is_empty() {
            vec![OutputSpec {
                format: allowed.first().copied().unwrap_or(OutputFormat::Text),
                path: None,
            }]
        } else {
            specs.to_vec()
        };
        Ok(OutputOptions { specs })
    }

    /// The format printed on stdout, if any.
    pub fn stdout_format(&self) -> Option<OutputFormat> {
        self.specs.iter().find(|s| s.path.is_none()).map(|s| s.format)
    }
}

/// How text output may look where it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextStyle {
    /// Colours (only on a terminal).
    pub paint: Paint,
    /// The width tables and wrapped text must fit in.
    pub width: usize,
}

impl TextStyle {
    /// No colours, 120 columns: files and pipes.
    pub fn plain() -> TextStyle {
        TextStyle {
            paint: Paint::plain(),
            width: 120,
        }
    }
}

/// A command's result that can be printed as text and as a structured document.
pub trait Report: Serialize {
    /// The `kind` of the structured document (`Version`, `CommandResult`, ...).
    const KIND: &'static str;

    /// Writes the human-readable form.
    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()>;
}

/// Writes a report in one format.
pub fn write_report<R: Report>(
    out: &mut dyn Write,
    format: OutputFormat,
    report: &R,
    style: TextStyle,
) -> io::Result<()> {
    match format {
        OutputFormat::Text => report.write_text(out, style),
        OutputFormat::Yaml | OutputFormat::Json => {
            let document = envelope(R::KIND, report).map_err(io::Error::other)?;
            write_structured(out, format, &document)
        }
    }
}

/// The structured form of a report: `apiVersion` and `kind` first, then its fields. A report
/// that carries its own `apiVersion` and `kind` (the engine's `CommandResult`) keeps them.
pub fn envelope<R: Serialize>(kind: &str, report: &R) -> Result<Value, serde_json::Error> {
    let mut document = Map::new();
    document.insert("apiVersion".into(), API_VERSION.into());
    document.insert("kind".into(), kind.into());
    match serde_json::to_value(report)? {
        Value::Object(fields) => document.extend(fields),
        other => {
            document.insert("value".into(), other);
        }
    }
    Ok(Value::Object(document))
}

/// Writes objects as Kubernetes tools do: text and yaml as a `---`-separated stream, json as one
/// `v1/List`.
pub fn write_objects(out: &mut dyn Write, format: OutputFormat, objects: &[Value]) -> io::Result<()> {
    match format {
        OutputFormat::Text | OutputFormat::Yaml => out.write_all(shared::yaml::to_yaml_stream(objects).as_bytes()),
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            write_structured(out, OutputFormat::Json, &list)
        }
    }
}

fn write_structured(out: &mut dyn Write, format: OutputFormat, document: &Value) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, document).map_err(io::Error::other)?;
            out.write_all(b"\n")
        }
        _ => out.write_all(shared::yaml::to_yaml_string(document).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: &str) -> OutputSpec {
        value.parse().unwrap()
    }

    #[test]
    fn parses_formats_with_optional_files() {
        assert_eq!(
            spec("yaml"),
            OutputSpec {
                format: OutputFormat::Yaml,
                path: None
            }
        );
        assert_eq!(
            spec("JSON=out/result.json").path,
            Some(PathBuf::from("out/result.json"))
        );
        assert!(
            "xml"
                .parse::<OutputSpec>()
                .unwrap_err()
                .contains("unknown output format 'xml'")
        );
        assert!("yaml=".parse::<OutputSpec>().unwrap_err().contains("missing file name"));
    }

    #[test]
    fn validates_against_what_the_command_prints() {
        let all = OutputFormat::ALL;
        let default = OutputOptions::new(&[], &all).unwrap();
        assert_eq!(default.stdout_format(), Some(OutputFormat::Text));
        let objects_only = [OutputFormat::Yaml, OutputFormat::Json];
        assert_eq!(
            OutputOptions::new(&[], &objects_only).unwrap().stdout_format(),
            Some(OutputFormat::Yaml)
        );
        let err = OutputOptions::new(&[spec("text")], &objects_only).unwrap_err();
        assert_eq!(err, "this command cannot print -o text (use yaml, json)");
        let err = OutputOptions::new(&[spec("yaml"), spec("json")], &all).unwrap_err();
        assert!(err.starts_with("only one -o may write to stdout"), "{err}");
        let mixed = OutputOptions::new(&[spec("text"), spec("yaml=r.yaml")], &all).unwrap();
        assert_eq!(mixed.specs.len(), 2);
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        git_commit: String,
    }

    impl Report for Sample {
        const KIND: &'static str = "Sample";
        fn write_text(&self, out: &mut dyn Write, _style: TextStyle) -> io::Result<()> {
            writeln!(out, "commit {}", self.git_commit)
        }
    }

    #[test]
    fn structured_reports_carry_api_version_and_kind_first() {
        let report = Sample {
            git_commit: "abc".into(),
        };
        let mut json_out = Vec::new();
        write_report(&mut json_out, OutputFormat::Json, &report, TextStyle::plain()).unwrap();
        let parsed: Value = serde_json::from_slice(&json_out).unwrap();
        assert_eq!(
            parsed,
            json!({"apiVersion": API_VERSION, "kind": "Sample", "gitCommit": "abc"})
        );
        let keys: Vec<_> = parsed.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["apiVersion", "kind", "gitCommit"]);

        let mut yaml_out = Vec::new();
        write_report(&mut yaml_out, OutputFormat::Yaml, &report, TextStyle::plain()).unwrap();
        assert_eq!(
            String::from_utf8(yaml_out).unwrap(),
            "apiVersion: kubectl-kluctl.io/v1alpha1\nkind: Sample\ngitCommit: abc\n"
        );

        let mut text_out = Vec::new();
        write_report(&mut text_out, OutputFormat::Text, &report, TextStyle::plain()).unwrap();
        assert_eq!(String::from_utf8(text_out).unwrap(), "commit abc\n");
    }

    #[test]
    fn reports_with_their_own_api_version_keep_it() {
        let own = json!({"apiVersion": "kubectl-kluctl.io/v1alpha2", "kind": "CommandResult", "objects": []});
        let document = envelope("CommandResult", &own).unwrap();
        assert_eq!(document, own);
        let keys: Vec<_> = document.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["apiVersion", "kind", "objects"]);
    }

    #[test]
    fn objects_print_as_a_stream_or_a_list() {
        let objects = [json!({"kind": "A"}), json!({"kind": "B"})];
        let mut yaml_out = Vec::new();
        write_objects(&mut yaml_out, OutputFormat::Yaml, &objects).unwrap();
        assert_eq!(String::from_utf8(yaml_out).unwrap(), "kind: A\n---\nkind: B\n");
        let mut json_out = Vec::new();
        write_objects(&mut json_out, OutputFormat::Json, &objects).unwrap();
        let list: Value = serde_json::from_slice(&json_out).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][1]["kind"], "B");
    }
}
