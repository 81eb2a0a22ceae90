//! Turns minijinja errors into [`TemplateError`]s: the innermost template's project-relative
//! file, 1-based line and column, the include chain (outermost first), and a hint.

use super::Shared;
use crate::template::{TemplateError, TemplateErrorKind};
use minijinja::{Error, ErrorKind};
use std::fmt;

/// A failure raised by Kluctl's functions, carried as the source of a minijinja error so the
/// conversion can tell it apart from engine errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaggedError {
    /// `raise(msg)` was called.
    Raised,
    /// A template file could not be found or read.
    NotFound,
    /// A safety limit was hit.
    Limit,
}

impl fmt::Display for TaggedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaggedError::Raised => "raised by the template",
            TaggedError::NotFound => "template not found",
            TaggedError::Limit => "limit exceeded",
        })
    }
}

impl std::error::Error for TaggedError {}

/// Creates a minijinja error that converts to a specific [`TemplateErrorKind`].
pub fn tagged(kind: ErrorKind, detail: impl Into<String>, tag: TaggedError) -> Error {
    Error::new(kind, detail.into()).with_source(tag)
}

/// Wraps the error of a template rendered by a function (`load_template`, `load_sha256`) the
/// way minijinja wraps errors of included templates, so the chain is reported the same way.
pub fn nested(name: &str, inner: Error) -> Error {
    Error::new(ErrorKind::BadInclude, format!("error in \"{name}\"")).with_source(inner)
}

fn inner_of(err: &Error) -> Option<&Error> {
    std::error::Error::source(err)?.downcast_ref::<Error>()
}

fn tag_of(err: &Error) -> Option<&TaggedError> {
    std::error::Error::source(err)?.downcast_ref::<TaggedError>()
}

/// Converts an error of the render of `top` into a [`TemplateError`].
pub fn convert(err: &Error, top: &str, shared: &Shared) -> TemplateError {
    let mut chain = Vec::new();
    let mut cur = err;
    while cur.kind() == ErrorKind::BadInclude {
        match inner_of(cur) {
            Some(inner) => {
                chain.push(location(cur, top, shared));
                cur = inner;
            }
            None => break,
        }
    }
    let file = cur.name().unwrap_or(top).to_string();
    let line = cur.line();
    let column = column_of(cur, &file, shared);
    let (kind, message) = describe(cur);
    TemplateError {
        file,
        line,
        column,
        kind,
        message,
        chain,
    }
}

fn location(err: &Error, top: &str, shared: &Shared) -> String {
    let file = err.name().unwrap_or(top);
    match (err.line(), column_of(err, file, shared)) {
        (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(line), None) => format!("{file}:{line}"),
        _ => file.to_string(),
    }
}

fn column_of(err: &Error, file: &str, shared: &Shared) -> Option<usize> {
    let range = err.range()?;
    let sources = super::lock(&shared.sources);
    let source = sources.get(file)?;
    let start = range.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    Some(source[line_start..start].chars().count() + 1)
}

fn describe(err: &Error) -> (TemplateErrorKind, String) {
    let detail = err.detail().map(str::to_string);
    if let Some(tag) = tag_of(err) {
        let kind = match tag {
            TaggedError::Raised => TemplateErrorKind::Raised,
            TaggedError::NotFound => TemplateErrorKind::NotFound,
            TaggedError::Limit => TemplateErrorKind::Limit,
        };
        return (kind, detail.unwrap_or_else(|| tag.to_string()));
    }
    match err.kind() {
        ErrorKind::SyntaxError => (
            TemplateErrorKind::Syntax,
            format!("syntax error: {}", detail.unwrap_or_else(|| "invalid template".to_string())),
        ),
        ErrorKind::UnknownFilter | ErrorKind::UnknownTest => (
            TemplateErrorKind::Syntax,
            format!(
                "{} (check the spelling; Kluctl's filters are to_yaml, to_json, from_yaml, b64encode, b64decode, sha256, slugify and render)",
                detail.unwrap_or_else(|| err.kind().to_string())
            ),
        ),
        ErrorKind::UndefinedError => {
            let what = detail.unwrap_or_else(|| "undefined value".to_string());
            (
                TemplateErrorKind::Undefined,
                format!("{what} (use `| default(...)`, `is defined` or `get_var(...)` for optional values)"),
            )
        }
        ErrorKind::TemplateNotFound => (
            TemplateErrorKind::NotFound,
            detail.unwrap_or_else(|| "template not found".to_string()),
        ),
        ErrorKind::OutOfFuel => (
            TemplateErrorKind::Limit,
            "the template exceeded the work limit (fuel) of one render; look for a loop that does not end or a value that grows without bound".to_string(),
        ),
        ErrorKind::InvalidOperation if detail.as_deref().is_some_and(|d| d.contains("recursion")) => (
            TemplateErrorKind::Limit,
            format!("{} (templates include or call each other too deeply)", detail.unwrap_or_default()),
        ),
        ErrorKind::InvalidOperation
            if detail.as_deref().is_some_and(|d| d.contains("% operator on unsupported types string")) =>
        {
            (
                TemplateErrorKind::Render,
                format!(
                    "{} (Python's `\"...\" % args` formatting is not available: use `| format(...)` or `.format(...)`)",
                    detail.unwrap_or_default()
                ),
            )
        }
        kind => (
            TemplateErrorKind::Render,
            match detail {
                Some(d) => format!("{kind}: {d}"),
                None => kind.to_string(),
            },
        ),
    }
}
