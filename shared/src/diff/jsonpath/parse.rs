//! The JSONPath parser: text in, [`Segment`]s out, with the character position of any error.

use super::JsonPathError;
use super::filter::{self, Expr};

/// One step of a parsed path.
#[derive(Clone, Debug)]
pub(super) enum Segment {
    /// Select among the children of the current nodes (`.name`, `[0]`, `[*]`, `[?(...)]`).
    Child(Selector),
    /// `..sel`: apply the selector to the current nodes and all their descendants; a trailing
    /// `..` without selector selects every descendant.
    Descent(Option<Selector>),
}

/// What a segment picks among the children of a node.
#[derive(Clone, Debug)]
pub(super) enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Union(Vec<UnionItem>),
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
    Filter(Box<Expr>),
}

/// A member of a `[a,b,0]` union.
#[derive(Clone, Debug)]
pub(super) enum UnionItem {
    Name(String),
    Index(i64),
}

/// A cursor over the path text, shared with the filter-expression parser.
pub(super) struct Parser<'a> {
    pub(super) source: &'a str,
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
    /// Inside a filter expression bare names stop at operator characters (`@.a||@.b`).
    pub(super) in_filter: bool,
}

/// Characters that may appear in a bare (unquoted) field name. This is ojg's set (letters,
/// digits, `_`, `#%:;?^{|}~` and any non-ASCII character) plus `-` and `/`, which ojg rejects
/// but which appear in most ConfigMap keys and label names; accepting them changes the meaning
/// of no path that ojg accepts.
pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_#%:;?^{|}~-/".contains(c) || !c.is_ascii()
}

impl<'a> Parser<'a> {
    pub(super) fn new(source: &'a str) -> Self {
        Parser {
            source,
            chars: source.chars().collect(),
            pos: 0,
            in_filter: false,
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    pub(super) fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    pub(super) fn error(&self, message: impl Into<String>) -> JsonPathError {
        JsonPathError {
            path: self.source.to_string(),
            position: self.pos + 1,
            message: message.into(),
        }
    }

    pub(super) fn expect(&mut self, c: char) -> Result<(), JsonPathError> {
        self.skip_spaces();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected '{c}'")))
        }
    }

    /// Parses a whole path (`$`/`@` optional) up to the end of the text, or, for paths inside
    /// filters, up to the first character that cannot continue a path.
    pub(super) fn parse_segments(&mut self, nested: bool) -> Result<Vec<Segment>, JsonPathError> {
        let mut segments = Vec::new();
        match self.peek() {
            Some('$') | Some('@') => self.pos += 1,
            Some(c) if !nested && is_name_char(c) => segments.push(Segment::Child(Selector::Name(self.read_name()))),
            _ => {}
        }
        loop {
            match self.peek() {
                None => break,
                Some('.') => {
                    self.pos += 1;
                    segments.push(self.after_dot()?);
                }
                Some('[') => {
                    self.pos += 1;
                    segments.push(Segment::Child(self.bracket()?));
                }
                Some(_) if nested => break,
                Some(c) => return Err(self.error(format!("unexpected character '{c}'"))),
            }
        }
        Ok(segments)
    }

    fn after_dot(&mut self) -> Result<Segment, JsonPathError> {
        match self.peek() {
            Some('.') => {
                self.pos += 1;
                let selector = match self.peek() {
                    None | Some(' ') | Some(')') | Some(']') => None,
                    Some('*') => {
                        self.pos += 1;
                        Some(Selector::Wildcard)
                    }
                    Some('[') => {
                        self.pos += 1;
                        Some(self.bracket()?)
                    }
                    Some(c) if self.is_name_char(c) => Some(Selector::Name(self.read_name())),
                    Some(c) => return Err(self.error(format!("unexpected character '{c}' after '..'"))),
                };
                Ok(Segment::Descent(selector))
            }
            Some('*') => {
                self.pos += 1;
                Ok(Segment::Child(Selector::Wildcard))
            }
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                Ok(Segment::Child(Selector::Name(self.read_string(q)?)))
            }
            Some(c) if self.is_name_char(c) => Ok(Segment::Child(Selector::Name(self.read_name()))),
            Some(c) => Err(self.error(format!("a field name can not start with '{c}'"))),
            None => Err(self.error("expected a field name after '.'")),
        }
    }

    fn is_name_char(&self, c: char) -> bool {
        if self.in_filter {
            c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
        } else {
            is_name_char(c)
        }
    }

    fn read_name(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| self.is_name_char(c)) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// Reads a quoted string; the opening quote has been consumed.
    pub(super) fn read_string(&mut self, quote: char) -> Result<String, JsonPathError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match c {
                c if c == quote => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.pos += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let hex: String = self.chars.iter().skip(self.pos).take(4).collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == 4)
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error("invalid \\u escape"))?;
                            self.pos += 4;
                            out.push(code);
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }

    pub(super) fn read_int(&mut self) -> Result<i64, JsonPathError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().map_err(|_| {
            let mut err = self.error("expected a number");
            err.position = start + 1;
            err
        })
    }

    /// Parses the inside of `[...]`; the `[` has been consumed, the `]` is consumed here.
    fn bracket(&mut self) -> Result<Selector, JsonPathError> {
        self.skip_spaces();
        let selector = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let name = self.read_string(q)?;
                self.skip_spaces();
                if self.peek() == Some(',') {
                    self.union(UnionItem::Name(name))?
                } else {
                    Selector::Name(name)
                }
            }
            Some(':') => self.slice(None)?,
            Some('?') => {
                self.pos += 1;
                Selector::Filter(Box::new(filter::parse_filter(self)?))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let i = self.read_int()?;
                self.skip_spaces();
                match self.peek() {
                    Some(',') => self.union(UnionItem::Index(i))?,
                    Some(':') => self.slice(Some(i))?,
                    _ => Selector::Index(i),
                }
            }
            Some(c) => return Err(self.error(format!("unexpected character '{c}' in brackets"))),
            None => return Err(self.error("unterminated brackets")),
        };
        self.expect(']')?;
        Ok(selector)
    }

    fn union(&mut self, first: UnionItem) -> Result<Selector, JsonPathError> {
        let mut items = vec![first];
        loop {
            self.skip_spaces();
            if self.peek() != Some(',') {
                return Ok(Selector::Union(items));
            }
            self.pos += 1;
            self.skip_spaces();
            match self.peek() {
                Some(q @ ('\'' | '"')) => {
                    self.pos += 1;
                    items.push(UnionItem::Name(self.read_string(q)?));
                }
                Some(c) if c == '-' || c.is_ascii_digit() => items.push(UnionItem::Index(self.read_int()?)),
                _ => return Err(self.error("expected a string or a number in the union")),
            }
        }
    }

    /// Parses `start:end:step` after the start (already read, if any); stops before `]`.
    fn slice(&mut self, start: Option<i64>) -> Result<Selector, JsonPathError> {
        let mut parts: Vec<Option<i64>> = vec![start];
        while parts.len() < 3 {
            self.skip_spaces();
            if self.peek() != Some(':') {
                break;
            }
            self.pos += 1;
            self.skip_spaces();
            match self.peek() {
                Some(c) if c == '-' || c.is_ascii_digit() => parts.push(Some(self.read_int()?)),
                _ => parts.push(None),
            }
        }
        let step = parts.get(2).copied().flatten().unwrap_or(1);
        if step == 0 {
            return Err(self.error("a slice step can not be 0"));
        }
        Ok(Selector::Slice {
            start: parts[0],
            end: parts.get(1).copied().flatten(),
            step,
        })
    }
}
