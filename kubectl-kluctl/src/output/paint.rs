//! Colours for text output, applied only when the stream allows them (see `Console`).

use anstyle::{AnsiColor, Effects, Style};
use std::fmt;

/// Paints text for one stream; a disabled `Paint` returns the text unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    /// A paint that colours when `enabled`.
    pub fn new(enabled: bool) -> Paint {
        Paint { enabled }
    }

    /// A paint that never colours (files, pipes, `--no-color`).
    pub fn plain() -> Paint {
        Paint { enabled: false }
    }

    /// Whether colours are written.
    pub fn enabled(self) -> bool {
        self.enabled
    }

    /// Something new (created objects, added lines).
    pub fn added<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(text, Style::new().fg_color(Some(AnsiColor::Green.into())))
    }

    /// Something going away (deleted objects, removed lines).
    pub fn removed<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(text, Style::new().fg_color(Some(AnsiColor::Red.into())))
    }

    /// Something modified.
    pub fn changed<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(text, Style::new().fg_color(Some(AnsiColor::Yellow.into())))
    }

    /// A section heading.
    pub fn heading<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(text, Style::new().effects(Effects::BOLD))
    }

    /// The `warning:` prefix.
    pub fn warning<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(
            text,
            Style::new()
                .fg_color(Some(AnsiColor::Yellow.into()))
                .effects(Effects::BOLD),
        )
    }

    /// The `error:` prefix.
    pub fn error<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(
            text,
            Style::new()
                .fg_color(Some(AnsiColor::Red.into()))
                .effects(Effects::BOLD),
        )
    }

    /// Secondary information (timings, hints).
    pub fn dim<T: fmt::Display>(self, text: T) -> Painted<T> {
        self.style(text, Style::new().effects(Effects::DIMMED))
    }

    fn style<T: fmt::Display>(self, text: T, style: Style) -> Painted<T> {
        Painted {
            text,
            style: self.enabled.then_some(style),
        }
    }
}

/// Text with an optional style; displays with ANSI codes only when the style is set.
#[derive(Clone, Copy, Debug)]
pub struct Painted<T> {
    text: T,
    style: Option<Style>,
}

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            Some(style) => write!(f, "{}{}{}", style.render(), self.text, style.render_reset()),
            None => self.text.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_when_enabled() {
        assert_eq!(Paint::plain().added("new").to_string(), "new");
        let coloured = Paint::new(true).removed("gone").to_string();
        assert!(coloured.starts_with("\u{1b}[") && coloured.contains("gone") && coloured.ends_with("\u{1b}[0m"));
    }
}
