//! Stage 0, before project loading: the args given on the command line (`-a name=value`,
//! `--args-from-file`) or by the agent (`spec.args`).
//!
//! Input: the raw `name=value` strings and args files; output: one `serde_json::Map` of arg
//! values ([`external_args`]) that `project` deep-merges over the `.kluctl.yaml` defaults and
//! `target.args` (Kluctl's order: defaults < `target.args` < `-a` < `--args-from-file`).
//!
//! Kluctl's rules, kept here so existing command lines work unchanged:
//! - a value is parsed as YAML, so `replicas=3` is a number, `debug=true` a bool, `x=[1, 2]` a
//!   list and `x=` is null;
//! - a dotted name sets a nested value (`a.b.c=v` gives `{a: {b: {c: v}}}`); names match
//!   `^[a-zA-Z0-9_./-]*$`;
//! - a value starting with `@` is read from that file (relative to the working directory) and
//!   parsed as YAML; `\@` escapes it, giving a plain string that starts with `@`;
//! - a later `-a` for the same name wins.
//!
//! Arg values may be secrets, so no error message ever repeats a value: only names and file paths.

use crate::yaml::{self, YamlError};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A command-line arg or args file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// The arg has no `=` separating name and value.
    #[error("failed to parse arg '{name}': expected name=value (e.g. -a environment=prod)")]
    MissingValue {
        /// Everything given, which without a `=` is only a name.
        name: String,
    },
    /// The name is empty, has an empty dotted segment or a character Kluctl does not allow.
    #[error(
        "failed to parse arg '{name}': invalid name (use letters, digits, '_', '/', '-', and '.' to nest, e.g. a.b=1)"
    )]
    InvalidName {
        /// The name part, before the first `=`.
        name: String,
    },
    /// The value is not valid YAML.
    #[error("failed to parse value of arg '{name}' as YAML: {message} (quote the value, e.g. {name}='\"...\"')")]
    ParseValue {
        /// The arg name.
        name: String,
        /// The YAML parser's complaint with its line and column inside the value.
        message: String,
    },
    /// A value of just `@`.
    #[error("failed to parse arg '{name}': expected a file name after '@' (write \\@ for a value starting with '@')")]
    MissingFileName {
        /// The arg name.
        name: String,
    },
    /// The `@file` of an arg could not be read.
    #[error("failed to read value of arg '{name}' from {path}: {source} (write \\@ for a value starting with '@')")]
    ReadValueFile {
        /// The arg name.
        name: String,
        /// The file as given after `@`.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The `@file` of an arg is not valid YAML.
    #[error("failed to parse value of arg '{name}': {source}")]
    ParseValueFile {
        /// The arg name.
        name: String,
        /// The YAML error, naming the file, line and column.
        source: YamlError,
    },
    /// `@file` was used where files may not be read (the agent reading a cluster object).
    #[error("failed to parse arg '{name}': reading values from files (@...) is not allowed here")]
    FilesNotAllowed {
        /// The arg name.
        name: String,
    },
    /// Two args disagree on the shape of a nested value (`a=1` and `a.b=2`).
    #[error("failed to set arg '{name}': '{parent}' is already set to a value that is not a map")]
    Conflict {
        /// The dotted name being set.
        name: String,
        /// The dotted prefix that holds a non-map value.
        parent: String,
    },
    /// An `--args-from-file` file could not be read.
    #[error("failed to read args file {path}: {source}")]
    ReadArgsFile {
        /// The file as given.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// An `--args-from-file` file is not valid YAML.
    #[error("failed to parse args file: {0}")]
    ParseArgsFile(YamlError),
    /// An `--args-from-file` file is valid YAML but not a map of names to values.
    #[error("failed to load args file {path}: expected a map of arg names to values")]
    ArgsFileNotMap {
        /// The file as given.
        path: String,
    },
}

/// Parses one `name=value` arg, reading `@file` values relative to the working directory.
///
/// Returns the dotted name split into its path and the YAML-typed value.
pub fn parse_arg(arg: &str) -> Result<(Vec<String>, Value), ArgError> {
    parse(arg, FileAccess::Allowed)
}

/// Parses one `name=value` arg where no file may be read (values that come from a cluster
/// object): an unescaped `@` value is an error instead of a file read.
pub fn parse_arg_without_files(arg: &str) -> Result<(Vec<String>, Value), ArgError> {
    parse(arg, FileAccess::Denied)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileAccess {
    Allowed,
    Denied,
}

fn parse(arg: &str, files: FileAccess) -> Result<(Vec<String>, Value), ArgError> {
    let Some((name, raw)) = arg.split_once('=') else {
        return Err(ArgError::MissingValue { name: arg.to_string() });
    };
    let path = split_name(name)?;
    let value = if let Some(escaped) = raw.strip_prefix("\\@") {
        // `@` cannot start a plain YAML scalar, so the escaped form is a literal string.
        Value::String(format!("@{escaped}"))
    } else if let Some(file) = raw.strip_prefix('@') {
        if files == FileAccess::Denied {
            return Err(ArgError::FilesNotAllowed { name: name.to_string() });
        }
        if file.is_empty() {
            return Err(ArgError::MissingFileName { name: name.to_string() });
        }
        let text = std::fs::read_to_string(file).map_err(|source| ArgError::ReadValueFile {
            name: name.to_string(),
            path: file.to_string(),
            source,
        })?;
        yaml::parse_single(&text, file).map_err(|source| ArgError::ParseValueFile {
            name: name.to_string(),
            source,
        })?
    } else {
        yaml::parse_single(raw, name).map_err(|err| ArgError::ParseValue {
            name: name.to_string(),
            message: value_error_message(&err),
        })?
    };
    Ok((path, value))
}

/// The parser's message and position, without the value text itself (it may be a secret).
fn value_error_message(err: &YamlError) -> String {
    let message = err.message.strip_prefix("invalid YAML: ").unwrap_or(&err.message);
    match (err.line, err.column) {
        (Some(line), Some(column)) => format!("{message} at line {line} column {column}"),
        _ => message.to_string(),
    }
}

fn split_name(name: &str) -> Result<Vec<String>, ArgError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    let segments: Vec<String> = name.split('.').map(str::to_string).collect();
    if !valid_chars || segments.iter().any(String::is_empty) {
        return Err(ArgError::InvalidName { name: name.to_string() });
    }
    Ok(segments)
}

/// Sets `value` at the nested `path` of `args`, creating maps on the way; a later value for
/// the same path replaces the earlier one.
pub fn set_arg(args: &mut Map<String, Value>, path: &[String], value: Value) -> Result<(), ArgError> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut current = args;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        current = match entry {
            Value::Object(map) => map,
            _ => {
                return Err(ArgError::Conflict {
                    name: path.join("."),
                    parent: path[..=depth].join("."),
                });
            }
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// Parses `-a` args in order into one map; a later arg for the same name wins.
pub fn parse_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Map<String, Value>, ArgError> {
    let mut map = Map::new();
    for arg in args {
        let (path, value) = parse_arg(arg)?;
        set_arg(&mut map, &path, value)?;
    }
    Ok(map)
}

/// Loads an `--args-from-file` file: a YAML map of arg names to values.
///
/// Keys are taken as they are (a dotted key is not split, as in Kluctl).
pub fn load_args_file(path: &Path) -> Result<Map<String, Value>, ArgError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ArgError::ReadArgsFile {
        path: shown.clone(),
        source,
    })?;
    match yaml::parse_single(&text, &shown).map_err(ArgError::ParseArgsFile)? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(ArgError::ArgsFileNotMap { path: shown }),
    }
}

/// Deep-merges `overlay` into `base`: maps merge key by key, any other value (lists included)
/// replaces what was there. This is how every layer of args combines.
pub fn merge_args(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => merge_args(existing, incoming),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The args a user gave on the command line: every `-a` in order, then every
/// `--args-from-file` in order on top (files win over `-a`, as in Kluctl).
pub fn external_args(args: &[String], files: &[PathBuf]) -> Result<Map<String, Value>, ArgError> {
    let mut map = parse_args(args.iter().map(String::as_str))?;
    for file in files {
        merge_args(&mut map, load_args_file(file)?);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(arg: &str) -> Value {
        parse_arg(arg).unwrap().1
    }

    #[test]
    fn values_are_yaml_typed() {
        assert_eq!(value("replicas=3"), json!(3));
        assert_eq!(value("debug=true"), json!(true));
        assert_eq!(value("ratio=0.5"), json!(0.5));
        assert_eq!(value("env=prod"), json!("prod"));
        assert_eq!(value("version=\"1.20\""), json!("1.20"));
        assert_eq!(value("list=[a, 2]"), json!(["a", 2]));
        assert_eq!(value("map={x: 1}"), json!({"x": 1}));
        assert_eq!(value("empty="), Value::Null);
        // Only the first `=` separates name and value.
        assert_eq!(value("selector=app=web"), json!("app=web"));
    }

    #[test]
    fn dotted_names_nest_and_later_args_win() {
        assert_eq!(
            parse_arg("a.b.c=v").unwrap().0,
            vec!["a".to_string(), "b".to_string(), "c".to_string()]
        );
        let args = parse_args(["a.b=1", "a.c=2", "x=old", "x=new", "a.b=3"]).unwrap();
        assert_eq!(Value::Object(args), json!({"a": {"b": 3, "c": 2}, "x": "new"}));
    }

    #[test]
    fn rejects_bad_names_and_missing_values() {
        for bad in ["=1", "a b=1", "a..b=1", ".a=1", "a.=1", "ä=1", "a:b=1"] {
            let err = parse_arg(bad).unwrap_err();
            assert!(matches!(err, ArgError::InvalidName { .. }), "{bad}: {err}");
        }
        let err = parse_arg("environment").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse arg 'environment': expected name=value (e.g. -a environment=prod)"
        );
        assert!(parse_arg("with/slash_and-dash=1").is_ok());
    }

    #[test]
    fn errors_never_repeat_the_value() {
        let err = parse_arg("password=[s3cr3t").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("failed to parse value of arg 'password' as YAML:"),
            "{message}"
        );
        assert!(!message.contains("s3cr3t"), "{message}");
    }

    #[test]
    fn reads_at_files_and_honours_the_escape() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, "replicas: 2\nhosts: [a, b]\n").unwrap();
        let (_, from_file) = parse_arg(&format!("cfg=@{}", file.display())).unwrap();
        assert_eq!(from_file, json!({"replicas": 2, "hosts": ["a", "b"]}));
        assert_eq!(value("handle=\\@someone"), json!("@someone"));

        let missing = parse_arg("cfg=@/nonexistent/values.yaml").unwrap_err();
        assert!(matches!(missing, ArgError::ReadValueFile { .. }), "{missing}");
        assert!(missing.to_string().contains("/nonexistent/values.yaml"), "{missing}");

        let empty = parse_arg("cfg=@").unwrap_err();
        assert!(matches!(empty, ArgError::MissingFileName { .. }), "{empty}");

        let denied = parse_arg_without_files(&format!("cfg=@{}", file.display())).unwrap_err();
        assert!(matches!(denied, ArgError::FilesNotAllowed { .. }), "{denied}");
        assert_eq!(parse_arg_without_files("a=1").unwrap().1, json!(1));
    }

    #[test]
    fn conflicting_shapes_are_reported() {
        let err = parse_args(["a=1", "a.b=2"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to set arg 'a.b': 'a' is already set to a value that is not a map"
        );
        // The other way round the later, whole value replaces the map.
        let args = parse_args(["a.b=2", "a=1"]).unwrap();
        assert_eq!(Value::Object(args), json!({"a": 1}));
    }

    #[test]
    fn args_files_override_command_line_args_and_merge_deeply() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("args.yaml");
        std::fs::write(&file, "env: from-file\nnested: {b: 2}\nlist: [3]\n").unwrap();
        let args = external_args(
            &["env=cli".into(), "nested.a=1".into(), "list=[1, 2]".into()],
            std::slice::from_ref(&file),
        )
        .unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"env": "from-file", "nested": {"a": 1, "b": 2}, "list": [3]})
        );

        std::fs::write(&file, "- not\n- a map\n").unwrap();
        let err = load_args_file(&file).unwrap_err();
        assert!(matches!(err, ArgError::ArgsFileNotMap { .. }), "{err}");
        std::fs::write(&file, "a: [\n").unwrap();
        let err = load_args_file(&file).unwrap_err();
        assert!(err.to_string().contains("args.yaml:"), "{err}");
        std::fs::write(&file, "").unwrap();
        assert!(load_args_file(&file).unwrap().is_empty());
    }
}
