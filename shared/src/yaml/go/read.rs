//! Reads YAML the way Kustomize does (Go `yaml.v3` through kyaml): plain scalars resolve with
//! v3's rules, so `0644` is the octal 420, `1_000` is 1000 and an unquoted date is a timestamp
//! (written back as RFC 3339 text, as Kustomize's JSON round trip does). Anchors, aliases and
//! `<<` merge keys are expanded; duplicate keys are refused, as v3 refuses them, except for
//! [`DuplicateKeys::LastWins`] (Helm's output, which Helm itself reads with yaml.v2 leniency).

use super::number::{go_parse_float, go_parse_int, parse_timestamp};
use granit_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Where a problem in a YAML text is (1-based line and column) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, lowercase.
    pub message: String,
}

impl ReadError {
    fn at(mark: &Marker, message: impl Into<String>) -> Self {
        ReadError {
            line: mark.line(),
            column: mark.col() + 1,
            message: message.into(),
        }
    }
}

/// One parsed document and the line it starts on.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// 1-based line of the document's first node.
    pub line: usize,
}

/// Which YAML version's plain-scalar rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// yaml.v3 (resources, patches): only `true`/`false` are booleans; an unquoted timestamp
    /// becomes its RFC 3339 text, as Kustomize's JSON round trip prints it.
    V3,
    /// yaml.v3 decoding into `interface{}` (how Kluctl reads its files and kubectl reads
    /// manifests): as [`Resolution::V3`], but an unquoted timestamp keeps the text it was written
    /// as (yaml.v3's backward-compatibility rule), so `…45.616380880Z` round-trips unchanged.
    V3Untyped,
    /// yaml.v2, YAML 1.1 (kustomization files, read through `sigs.k8s.io/yaml`): `yes`, `no`,
    /// `on`, `off`, `y`, `n` are booleans too.
    V2,
}

/// What to do with a key that appears twice in one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKeys {
    /// An error naming both lines (yaml.v3, Kustomize).
    Refuse,
    /// The last value wins (how Helm and Kluctl treat chart output).
    LastWins,
}

/// Parses every document of a YAML stream. Empty documents (only comments, or a stray `---`)
/// are dropped, as Kustomize drops them.
pub fn read_documents(text: &str) -> Result<Vec<Document>, ReadError> {
    read_documents_with(text, Resolution::V3)
}

/// [`read_documents`] with a choice of scalar rules.
pub fn read_documents_with(text: &str, resolution: Resolution) -> Result<Vec<Document>, ReadError> {
    read_documents_full(text, resolution, DuplicateKeys::Refuse)
}

/// [`read_documents`] with a choice of scalar rules and of duplicate-key handling.
pub fn read_documents_full(
    text: &str,
    resolution: Resolution,
    duplicate_keys: DuplicateKeys,
) -> Result<Vec<Document>, ReadError> {
    let mut options = granit_parser::Options::default();
    // Comments are not data; another crate may turn the `comments` feature on for everyone.
    options.set_emit_comments(false);
    let mut reader = Reader {
        parser: Parser::new_from_str_with_options(text, options),
        anchors: HashMap::new(),
        resolution,
        duplicate_keys,
    };
    let mut documents = Vec::new();
    loop {
        let (event, span) = reader.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            Event::DocumentStart(..) => {
                reader.anchors.clear();
                let (event, span) = reader.next()?;
                if matches!(event, Event::DocumentEnd) {
                    continue;
                }
                let line = span.start.line();
                let value = reader.node(event, span)?;
                if !value.is_null() {
                    documents.push(Document { value, line });
                }
            }
            other => return Err(ReadError::at(&span.start, format!("unexpected YAML event {other:?}"))),
        }
    }
    Ok(documents)
}

/// Parses a text that holds at most one document (`Value::Null` when it is empty).
pub fn read_single(text: &str) -> Result<Value, ReadError> {
    read_single_with(text, Resolution::V3)
}

/// [`read_single`] with a choice of scalar rules.
pub fn read_single_with(text: &str, resolution: Resolution) -> Result<Value, ReadError> {
    let mut documents = read_documents_with(text, resolution)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0).value),
        n => Err(ReadError {
            line: documents[1].line,
            column: 1,
            message: format!("expected a single YAML document, found {n}"),
        }),
    }
}

struct Reader<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    anchors: HashMap<usize, Value>,
    resolution: Resolution,
    duplicate_keys: DuplicateKeys,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), ReadError> {
        match self.parser.next_event() {
            Some(Ok(item)) => Ok(item),
            Some(Err(err)) => Err(ReadError::at(err.marker(), err.info())),
            None => Err(ReadError {
                line: 0,
                column: 0,
                message: "unexpected end of YAML stream".to_string(),
            }),
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Value, ReadError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(&text, style, tag.as_deref(), &span.start, self.resolution)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                Ok(value)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                let value = Value::Array(items);
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                Ok(value)
            }
            Event::MappingStart(_, anchor, _) => {
                let value = Value::Object(self.mapping()?);
                if anchor != 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                Ok(value)
            }
            Event::Alias(id) => self
                .anchors
                .get(&id)
                .cloned()
                .ok_or_else(|| ReadError::at(&span.start, "unknown anchor referenced by alias")),
            Event::UnresolvedAlias(name) => Err(ReadError::at(&span.start, format!("unknown anchor '{name}'"))),
            other => Err(ReadError::at(&span.start, format!("unexpected YAML event {other:?}"))),
        }
    }

    /// Reads mapping entries up to the end event. Explicit keys win over `<<` merges, and earlier
    /// merge sources win over later ones, as yaml.v3 decodes them.
    fn mapping(&mut self) -> Result<Map<String, Value>, ReadError> {
        let mut map = Map::new();
        let mut key_lines: HashMap<String, usize> = HashMap::new();
        let mut merges: Vec<(Value, Marker)> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let is_merge = matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<");
            let key_mark = span.start;
            let key = self.node(event, span)?;
            let (event, span) = self.next()?;
            let value = self.node(event, span)?;
            if is_merge {
                merges.push((value, key_mark));
                continue;
            }
            let key = key_text(&key);
            if let Some(line) = key_lines.get(&key)
                && self.duplicate_keys == DuplicateKeys::Refuse
            {
                return Err(ReadError::at(
                    &key_mark,
                    format!("mapping key {key:?} already defined at line {line}"),
                ));
            }
            key_lines.insert(key.clone(), key_mark.line());
            map.insert(key, value);
        }
        for (source, mark) in merges {
            let sources = match source {
                Value::Object(object) => vec![object],
                Value::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(object) => Ok(object),
                        _ => Err(ReadError::at(
                            &mark,
                            "map merge requires map or sequence of maps as the value",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                _ => {
                    return Err(ReadError::at(
                        &mark,
                        "map merge requires map or sequence of maps as the value",
                    ));
                }
            };
            for object in sources {
                for (key, value) in object {
                    if !map.contains_key(&key) {
                        map.insert(key, value);
                    }
                }
            }
        }
        Ok(map)
    }
}

/// The text of a mapping key as Go prints it when it is not a string.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    mark: &Marker,
    resolution: Resolution,
) -> Result<Value, ReadError> {
    let core = tag.and_then(|t| t.core_suffix().map(str::to_string));
    if tag.is_some() && core.is_none() {
        // A custom tag (`!Ref x`): yaml.v3 leaves such scalars unresolved, as strings.
        return Ok(Value::String(text.to_string()));
    }
    let quoted = style != ScalarStyle::Plain;
    match core.as_deref() {
        Some("str") | Some("binary") => Ok(Value::String(text.to_string())),
        _ if quoted && core.is_none() => Ok(Value::String(text.to_string())),
        None => resolve_plain(text, mark, resolution),
        Some(kind) => {
            let resolved = resolve_plain(text, mark, resolution)?;
            let fits = match kind {
                "int" => resolved.is_i64() || resolved.is_u64(),
                "float" => resolved.is_number(),
                "bool" => resolved.is_boolean(),
                "null" => resolved.is_null(),
                "timestamp" => resolved.is_string() && parse_timestamp(text).is_some(),
                _ => true,
            };
            if !fits {
                return Err(ReadError::at(mark, format!("cannot decode {text:?} as a !!{kind}")));
            }
            if kind == "float"
                && let Some(f) = resolved.as_f64()
            {
                return float_value(f, text, mark);
            }
            Ok(resolved)
        }
    }
}

/// Resolves a plain scalar with yaml.v3's rules (`resolve` in yaml.v3's resolve.go), plus the
/// YAML 1.1 booleans for [`Resolution::V2`].
fn resolve_plain(text: &str, mark: &Marker, resolution: Resolution) -> Result<Value, ReadError> {
    let first = text.as_bytes().first().copied();
    let yaml11 = resolution == Resolution::V2;
    match first {
        None => return Ok(Value::Null),
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => {
            return Ok(match text {
                "true" | "True" | "TRUE" => Value::Bool(true),
                "false" | "False" | "FALSE" => Value::Bool(false),
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" if yaml11 => Value::Bool(true),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" if yaml11 => Value::Bool(false),
                "~" | "null" | "Null" | "NULL" => Value::Null,
                _ => Value::String(text.to_string()),
            });
        }
        Some(b'.') => {
            return match text {
                ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" => Err(ReadError::at(
                    mark,
                    format!("unsupported value {text} (JSON, and so Kubernetes, cannot hold infinity or NaN)"),
                )),
                _ => match go_parse_float(text) {
                    Some(f) => float_value(f, text, mark),
                    None => Ok(Value::String(text.to_string())),
                },
            };
        }
        Some(b'+' | b'-' | b'0'..=b'9') => {}
        Some(_) => return Ok(Value::String(text.to_string())),
    }
    if matches!(text, "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF") {
        return Err(ReadError::at(
            mark,
            format!("unsupported value {text} (JSON, and so Kubernetes, cannot hold infinity)"),
        ));
    }
    if let Some(rfc3339) = parse_timestamp(text) {
        return Ok(Value::String(match resolution {
            Resolution::V3Untyped => text.to_string(),
            Resolution::V3 | Resolution::V2 => rfc3339,
        }));
    }
    let plain = text.replace('_', "");
    if let Some(number) = go_parse_int(&plain) {
        return Ok(Value::Number(number));
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = go_parse_float(&plain)
    {
        return float_value(f, text, mark);
    }
    for (prefix, radix, negative) in [("0b", 2, false), ("-0b", 2, true), ("0o", 8, false), ("-0o", 8, true)] {
        if let Some(digits) = plain.strip_prefix(prefix)
            && let Ok(magnitude) = u64::from_str_radix(digits, radix)
        {
            if !negative {
                return Ok(Value::Number(magnitude.into()));
            }
            if let Ok(v) = i64::try_from(magnitude) {
                return Ok(Value::Number((-v).into()));
            }
        }
    }
    Ok(Value::String(text.to_string()))
}

/// The value a plain scalar's text reads as (yaml.v3 rules); `None` for text no value can hold
/// (infinity, NaN).
pub fn resolve_text(text: &str) -> Option<Value> {
    resolve_plain(text, &Marker::default(), Resolution::V3).ok()
}

fn float_value(f: f64, text: &str, mark: &Marker) -> Result<Value, ReadError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| ReadError::at(mark, format!("unsupported value {text} (not a finite number)")))
}

/// yaml.v3's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        read_single(text).unwrap()
    }

    #[test]
    fn resolves_numbers_like_kustomize() {
        let v = one(
            "a: 0777\nb: 0644\nc: 0x1F\nd: 0o17\ne: 1_000\nf: 08\ng: 09.5\nh: 1e3\ni: .5\nj: -0\n\
             k: 012345678901234567890\nl: 12345678901234567890\nm: 1e400\nn: 0b101\no: +12\n",
        );
        assert_eq!(v["a"], json!(511));
        assert_eq!(v["b"], json!(420));
        assert_eq!(v["c"], json!(31));
        assert_eq!(v["d"], json!(15));
        assert_eq!(v["e"], json!(1000));
        assert_eq!(v["f"], json!(8.0));
        assert_eq!(v["g"], json!(9.5));
        assert_eq!(v["h"], json!(1000.0));
        assert_eq!(v["i"], json!(0.5));
        assert_eq!(v["j"], json!(0));
        assert_eq!(v["k"], json!(1.2345678901234567e19));
        assert_eq!(v["l"], json!(12345678901234567890u64));
        assert_eq!(v["m"], json!("1e400"));
        assert_eq!(v["n"], json!(5));
        assert_eq!(v["o"], json!(12));
    }

    #[test]
    fn resolves_words_and_quotes_like_yaml_v3() {
        let v = one("a: yes\nb: on\nc: True\nd: ~\ne:\nf: 'true'\ng: !!str 12\nh: !custom 5\ni: \"1\"\n");
        assert_eq!(
            v,
            json!({"a": "yes", "b": "on", "c": true, "d": null, "e": null, "f": "true", "g": "12", "h": "5", "i": "1"})
        );
    }

    #[test]
    fn turns_timestamps_into_rfc3339_text() {
        let v = one("a: 2023-01-01\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\n");
        assert_eq!(v["a"], json!("2023-01-01T00:00:00Z"));
        assert_eq!(v["b"], json!("2001-12-14T21:59:43.1-05:00"));
        assert_eq!(v["c"], json!("2001-12-14T21:59:43.1Z"));
    }

    #[test]
    fn untyped_reads_keep_timestamps_as_written() {
        let text = "a: 2023-01-01\nb: 2026-11-25T01:38:45.616380880Z\n";
        let v = read_single_with(text, Resolution::V3Untyped).unwrap();
        assert_eq!(v, json!({"a": "2023-01-01", "b": "2026-11-25T01:38:45.616380880Z"}));
    }

    #[test]
    fn expands_anchors_aliases_and_merge_keys() {
        let v = one("base: &b {x: 1, y: 2}\nd:\n  y: 3\n  <<: *b\nl: &l [1]\nm: *l\n");
        assert_eq!(v["d"], json!({"y": 3, "x": 1}));
        assert_eq!(v["m"], json!([1]));
    }

    #[test]
    fn refuses_duplicate_keys_with_position() {
        let err = read_single("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert!(err.message.contains("already defined at line 1"), "{}", err.message);
    }

    #[test]
    fn reports_syntax_errors_with_line_and_column() {
        let err = read_documents("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn skips_empty_documents() {
        let docs = read_documents("---\n# comment\n---\na: 1\n---\n").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].line, 4);
    }

    #[test]
    fn reads_yaml_1_1_booleans_in_v2_mode() {
        let v = read_single_with("a: yes\nb: off\nc: y\n", Resolution::V2).unwrap();
        assert_eq!(v, json!({"a": true, "b": false, "c": true}));
    }

    #[test]
    fn refuses_infinity() {
        assert!(read_single("a: .inf\n").is_err());
        assert!(read_single("a: -.Inf\n").is_err());
    }
}
