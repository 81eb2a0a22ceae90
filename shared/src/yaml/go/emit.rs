//! Writes objects exactly as `kubectl kustomize` prints them: every object goes through JSON and
//! then `sigs.k8s.io/yaml` (go-yaml v2), so keys are sorted with go-yaml's natural order, strings
//! that would read back as another type are double-quoted, long plain and quoted strings fold at
//! 80 columns, multi-line strings become literal blocks, and numbers print as Go prints them.
//!
//! The emitter follows libyaml's block emitter (which go-yaml v2 is a port of) for the subset a
//! JSON value needs: block mappings and sequences, empty flow collections and scalars.

use super::number::yaml_number_text;
use super::style::{Style, is_break, is_multiline, is_printable, select_style};
use serde_json::Value;
use std::cmp::Ordering;

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: usize = 80;

/// Writes one object as a YAML document (ending in a newline, no `---`).
pub fn write_document(out: &mut String, value: &Value) {
    let mut emitter = Emitter {
        out,
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
    };
    emitter.node(value, Context::Root);
    // Document end: make sure the last line is terminated.
    emitter.indent = -1;
    emitter.write_indent();
}

/// go-yaml v2's key order: numbers in keys compare by value, non-letters sort before letters.
pub fn go_yaml_key_cmp(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingValue,
    SimpleKey,
    ComplexKey,
}

struct Emitter<'a> {
    out: &'a mut String,
    column: usize,
    indent: i32,
    indents: Vec<i32>,
    whitespace: bool,
    indention: bool,
}

impl Emitter<'_> {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, value: &Value, context: Context) {
        match value {
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| go_yaml_key_cmp(a.0, b.0));
                self.block_mapping(&entries);
            }
            Value::Array(items) => self.block_sequence(items, context == Context::MappingValue),
            Value::String(s) => self.scalar(s, Some(s), context),
            Value::Null => self.scalar("null", None, context),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, None, context),
            Value::Number(n) => self.scalar(&yaml_number_text(n), None, context),
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], mapping_context: bool) {
        let indentless = mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::SequenceItem);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            let simple = !is_multiline(key) && key.len() <= 128;
            if simple {
                self.node_key(key, Context::SimpleKey);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node_key(key, Context::ComplexKey);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::MappingValue);
        }
        self.pop_indent();
    }

    fn node_key(&mut self, key: &str, context: Context) {
        self.scalar(key, Some(key), context);
    }

    /// `text` is what is written; `string` is set when the value is a string (and so may need
    /// quoting to keep its type).
    fn scalar(&mut self, text: &str, string: Option<&str>, context: Context) {
        let simple_key = context == Context::SimpleKey;
        let style = match string {
            Some(s) => select_style(s, simple_key),
            None => Style::Plain,
        };
        self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain(text, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(text, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(text, allow_breaks),
            Style::Literal => self.write_literal(text),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && chars.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < chars.len() - 1
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (indicator, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(indicator);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            self.put(std::char::from_digit(digit, 16).unwrap_or('0').to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i != 0 && i != chars.len() - 1 {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with a space or a
        // break, and the chomping indicator from how the text ends.
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut reversed = value.chars().rev();
        let chomp = match (reversed.next(), reversed.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> String {
        let mut out = String::new();
        write_document(&mut out, &value);
        out
    }

    #[test]
    fn sorts_keys_like_go_yaml() {
        let mut keys = vec![
            "a10", "a9", "a-b", "ab", "a_b", "A", "b", "_x", "1", "01", "10", "2", "a01", "a1", "a001", "é", "z", "Z",
            ".a", "a.b", "aB", "x0y", "x00y",
        ];
        keys.sort_by(|a, b| go_yaml_key_cmp(a, b));
        assert_eq!(
            keys,
            vec![
                ".a", "_x", "1", "01", "2", "10", "A", "Z", "a-b", "a.b", "a_b", "a1", "a01", "a001", "a9", "a10",
                "aB", "ab", "b", "x00y", "x0y", "z", "é"
            ]
        );
    }

    #[test]
    fn quotes_strings_that_would_change_type() {
        let out = doc(
            json!({"a": "false", "b": "1.0", "c": "2023-01-01", "y": "y", "d": "0777", "e": "", "f": "1:20",
            "g": "plain", "h": "a: b", "i": "- x", "j": "'x'", "k": "a #b", "l": " lead", "m": "\"x\"", "p": "<a>&", "o": "*x"}),
        );
        assert_eq!(
            out,
            "a: \"false\"\nb: \"1.0\"\nc: \"2023-01-01\"\nd: \"0777\"\ne: \"\"\nf: \"1:20\"\ng: plain\nh: 'a: b'\n\
             i: '- x'\nj: '''x'''\nk: 'a #b'\nl: ' lead'\nm: '\"x\"'\no: '*x'\np: <a>&\n\"y\": \"y\"\n"
        );
    }

    #[test]
    fn writes_nested_collections_like_kubectl() {
        let out =
            doc(json!({"list": ["multi\nline", ["nested", "seq"], {"a": 1, "b": ["x"]}, {}], "m": {}, "n": null}));
        assert_eq!(
            out,
            "list:\n- |-\n  multi\n  line\n- - nested\n  - seq\n- a: 1\n  b:\n  - x\n- {}\nm: {}\n\"n\": null\n"
        );
    }

    #[test]
    fn folds_long_strings_at_eighty_columns() {
        let long = "this is a very long string with spaces that goes on and on and on and on and on and on and on and on and on and on";
        let out = doc(json!({"metadata": {"annotations": {"long": long}}}));
        assert_eq!(
            out,
            "metadata:\n  annotations:\n    long: this is a very long string with spaces that goes on and on and on and on\n      and on and on and on and on and on and on\n"
        );
        let dq = "aaaaaaaaaaaaaaaaaaaaaaa\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaa";
        assert_eq!(
            doc(json!({"data": {"longdq": dq}})),
            "data:\n  longdq: \"aaaaaaaaaaaaaaaaaaaaaaa\\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaa\n    aaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaa\"\n"
        );
    }

    #[test]
    fn writes_block_scalars_with_hints() {
        assert_eq!(doc(json!({"lead": "  two\nlines"})), "lead: |2-\n    two\n  lines\n");
        assert_eq!(doc(json!({"a": "a\n\n\n", "b": 1})), "a: |+\n  a\n\n\nb: 1\n");
        assert_eq!(doc(json!({"s": "a\n b\n"})), "s: |\n  a\n   b\n");
        assert_eq!(doc(json!({"t": "line1\nline2  \n"})), "t: \"line1\\nline2  \\n\"\n");
        assert_eq!(doc(json!({"c": "a\r\nb"})), "c: \"a\\r\\nb\"\n");
    }

    #[test]
    fn escapes_unprintable_characters() {
        assert_eq!(
            doc(json!({"e": "😀", "t": "a\tb", "c": "a\u{1}b", "u": "héllo ✓"})),
            "c: \"a\\x01b\"\ne: \"\\U0001F600\"\nt: \"a\\tb\"\nu: héllo ✓\n"
        );
    }

    #[test]
    fn writes_long_keys_as_complex_keys() {
        let key = "k".repeat(130);
        assert_eq!(doc(json!({ key.clone(): "v" })), format!("? {key}\n: v\n"));
    }
}
