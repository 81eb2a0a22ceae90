//! Filter expressions (`[?(@.name == 'web')]`): parsing and evaluation.
//!
//! Supported, as in ojg: `@` (the candidate) and `$` (the root) paths, string, number, `true`,
//! `false` and `null` literals, `/regex/`, list literals, `== != < <= > >=`, `=~` (or `~=`)
//! for regex matches, `in` for list membership, `&& || !` and parentheses. A bare path tests
//! that the value exists and is neither `null` nor `false`.

use super::parse::{Parser, Segment};
use super::{JsonPathError, select};
use regex::Regex;
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Clone, Debug)]
pub(super) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, CmpOp, Operand),
    Test(Operand),
}

#[derive(Clone, Debug)]
pub(super) enum Operand {
    Path { from_root: bool, segments: Vec<Segment> },
    Literal(Value),
    Regex(Regex),
    List(Vec<Value>),
    Group(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
    In,
}

/// Parses the expression after `?`, stopping before the closing `]`.
pub(super) fn parse_filter(p: &mut Parser<'_>) -> Result<Expr, JsonPathError> {
    let was_in_filter = p.in_filter;
    p.in_filter = true;
    let expr = parse_or(p);
    p.in_filter = was_in_filter;
    expr
}

fn parse_or(p: &mut Parser<'_>) -> Result<Expr, JsonPathError> {
    let mut left = parse_and(p)?;
    loop {
        p.skip_spaces();
        if p.peek() == Some('|') && p.peek_at(1) == Some('|') {
            p.pos += 2;
            left = Expr::Or(Box::new(left), Box::new(parse_and(p)?));
        } else {
            return Ok(left);
        }
    }
}

fn parse_and(p: &mut Parser<'_>) -> Result<Expr, JsonPathError> {
    let mut left = parse_unary(p)?;
    loop {
        p.skip_spaces();
        if p.peek() == Some('&') && p.peek_at(1) == Some('&') {
            p.pos += 2;
            left = Expr::And(Box::new(left), Box::new(parse_unary(p)?));
        } else {
            return Ok(left);
        }
    }
}

fn parse_unary(p: &mut Parser<'_>) -> Result<Expr, JsonPathError> {
    p.skip_spaces();
    if p.peek() == Some('!') && p.peek_at(1) != Some('=') {
        p.pos += 1;
        return Ok(Expr::Not(Box::new(parse_unary(p)?)));
    }
    let left = parse_operand(p)?;
    p.skip_spaces();
    let Some(op) = parse_op(p) else {
        return Ok(match left {
            Operand::Group(expr) => *expr,
            other => Expr::Test(other),
        });
    };
    let right = parse_operand(p)?;
    if op == CmpOp::Matches && !matches!(right, Operand::Regex(_) | Operand::Literal(Value::String(_))) {
        return Err(p.error("the right side of '=~' must be a /regex/ or a string"));
    }
    let right = match right {
        Operand::Literal(Value::String(s)) if op == CmpOp::Matches => {
            Operand::Regex(Regex::new(&s).map_err(|e| p.error(format!("invalid regex: {e}")))?)
        }
        other => other,
    };
    Ok(Expr::Compare(left, op, right))
}

fn parse_op(p: &mut Parser<'_>) -> Option<CmpOp> {
    let two: String = [p.peek(), p.peek_at(1)].iter().flatten().collect();
    let (op, len) = match two.as_str() {
        "==" => (CmpOp::Eq, 2),
        "!=" => (CmpOp::Ne, 2),
        "<=" => (CmpOp::Le, 2),
        ">=" => (CmpOp::Ge, 2),
        "=~" | "~=" => (CmpOp::Matches, 2),
        "in" if p.peek_at(2) == Some(' ') => (CmpOp::In, 2),
        _ => match p.peek() {
            Some('<') => (CmpOp::Lt, 1),
            Some('>') => (CmpOp::Gt, 1),
            _ => return None,
        },
    };
    p.pos += len;
    Some(op)
}

fn parse_operand(p: &mut Parser<'_>) -> Result<Operand, JsonPathError> {
    p.skip_spaces();
    match p.peek() {
        Some('(') => {
            p.pos += 1;
            let expr = parse_or(p)?;
            p.expect(')')?;
            Ok(Operand::Group(Box::new(expr)))
        }
        Some(c @ ('@' | '$')) => {
            let segments = p.parse_segments(true)?;
            Ok(Operand::Path {
                from_root: c == '$',
                segments,
            })
        }
        Some('/') => {
            p.pos += 1;
            let mut pattern = String::new();
            loop {
                match p.peek() {
                    None => return Err(p.error("unterminated regex")),
                    Some('/') => {
                        p.pos += 1;
                        break;
                    }
                    Some('\\') if p.peek_at(1) == Some('/') => {
                        pattern.push('/');
                        p.pos += 2;
                    }
                    Some(c) => {
                        pattern.push(c);
                        p.pos += 1;
                    }
                }
            }
            Regex::new(&pattern)
                .map(Operand::Regex)
                .map_err(|e| p.error(format!("invalid regex: {e}")))
        }
        Some('[') => {
            p.pos += 1;
            let mut items = Vec::new();
            loop {
                p.skip_spaces();
                if p.peek() == Some(']') {
                    p.pos += 1;
                    return Ok(Operand::List(items));
                }
                match parse_operand(p)? {
                    Operand::Literal(v) => items.push(v),
                    _ => return Err(p.error("list literals may only hold literals")),
                }
                p.skip_spaces();
                if p.peek() == Some(',') {
                    p.pos += 1;
                }
            }
        }
        Some(q @ ('\'' | '"')) => {
            p.pos += 1;
            Ok(Operand::Literal(Value::String(p.read_string(q)?)))
        }
        Some(c) if c == '-' || c.is_ascii_digit() => parse_number(p),
        Some(_) => {
            for (word, value) in [
                ("true", Value::Bool(true)),
                ("false", Value::Bool(false)),
                ("null", Value::Null),
            ] {
                let len = word.chars().count();
                let text: String = p.chars.iter().skip(p.pos).take(len).collect();
                if text == word {
                    p.pos += len;
                    return Ok(Operand::Literal(value));
                }
            }
            Err(p.error("expected a value"))
        }
        None => Err(p.error("unterminated filter")),
    }
}

fn parse_number(p: &mut Parser<'_>) -> Result<Operand, JsonPathError> {
    let start = p.pos;
    if p.peek() == Some('-') {
        p.pos += 1;
    }
    while p.peek().is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        // A '-' or '+' only continues a number right after an exponent marker.
        if matches!(p.peek(), Some('+' | '-')) && !matches!(p.chars.get(p.pos - 1), Some('e' | 'E')) {
            break;
        }
        p.pos += 1;
    }
    let text: String = p.chars[start..p.pos].iter().collect();
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Operand::Literal(Value::from(i)));
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(|n| Operand::Literal(Value::Number(n)))
        .ok_or_else(|| p.error(format!("invalid number '{text}'")))
}

/// A resolved operand: nothing (a path that matched nothing), a value, or a regex.
enum Resolved<'a> {
    Nothing,
    Value(std::borrow::Cow<'a, Value>),
    Regex(&'a Regex),
}

impl Expr {
    /// Evaluates the filter for one candidate (`@`) within the document `root`.
    pub(super) fn matches(&self, candidate: &Value, root: &Value) -> bool {
        match self {
            Expr::Or(a, b) => a.matches(candidate, root) || b.matches(candidate, root),
            Expr::And(a, b) => a.matches(candidate, root) && b.matches(candidate, root),
            Expr::Not(e) => !e.matches(candidate, root),
            Expr::Test(operand) => match resolve(operand, candidate, root) {
                Resolved::Value(v) => !matches!(v.as_ref(), Value::Null | Value::Bool(false)),
                Resolved::Regex(_) => true,
                Resolved::Nothing => false,
            },
            Expr::Compare(left, op, right) => {
                compare(&resolve(left, candidate, root), *op, &resolve(right, candidate, root))
            }
        }
    }
}

fn resolve<'a>(operand: &'a Operand, candidate: &'a Value, root: &'a Value) -> Resolved<'a> {
    match operand {
        Operand::Path { from_root, segments } => {
            let start = if *from_root { root } else { candidate };
            match select(segments, start, root).into_iter().next() {
                Some((_, v)) => Resolved::Value(std::borrow::Cow::Borrowed(v)),
                None => Resolved::Nothing,
            }
        }
        Operand::Literal(v) => Resolved::Value(std::borrow::Cow::Borrowed(v)),
        Operand::Regex(r) => Resolved::Regex(r),
        Operand::List(items) => Resolved::Value(std::borrow::Cow::Owned(Value::Array(items.clone()))),
        Operand::Group(expr) => Resolved::Value(std::borrow::Cow::Owned(Value::Bool(expr.matches(candidate, root)))),
    }
}

fn compare(left: &Resolved<'_>, op: CmpOp, right: &Resolved<'_>) -> bool {
    match (left, right) {
        (Resolved::Value(l), Resolved::Regex(r)) if op == CmpOp::Matches => l.as_str().is_some_and(|s| r.is_match(s)),
        (Resolved::Value(l), Resolved::Value(r)) => match op {
            CmpOp::Eq => values_equal(l, r),
            CmpOp::Ne => !values_equal(l, r),
            CmpOp::In => r
                .as_array()
                .is_some_and(|items| items.iter().any(|i| values_equal(l, i))),
            CmpOp::Matches => false,
            CmpOp::Lt => order(l, r) == Some(Ordering::Less),
            CmpOp::Le => matches!(order(l, r), Some(Ordering::Less | Ordering::Equal)),
            CmpOp::Gt => order(l, r) == Some(Ordering::Greater),
            CmpOp::Ge => matches!(order(l, r), Some(Ordering::Greater | Ordering::Equal)),
        },
        // A path that matched nothing equals nothing and differs from everything.
        _ => op == CmpOp::Ne,
    }
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}
