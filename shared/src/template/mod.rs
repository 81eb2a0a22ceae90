//! Templating: every file of a deployment item, every `deployment.yaml` and the string fields of
//! targets are templates. Jinja2 (minijinja, Kluctl's syntax and helpers) is the default engine;
//! Handlebars is the second engine a project can choose.
//!
//! Input: template source plus a [`RenderContext`] (variables and the search path);
//! output: the rendered text, or a [`TemplateError`] that names the original file, line and column.

mod handlebars;
mod helpers;
pub mod images;
mod jinja;
mod jsonpath;
mod paths;
mod pyvalue;
pub mod slugify;
mod time;
mod yaml_dump;

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

pub use handlebars::HandlebarsEngine;
pub use images::{ImageRequest, encode_placeholder, find_placeholders};
pub use jinja::{JinjaEngine, JinjaSession, Limits};
pub use paths::LookupError;

/// Which template language a project is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Jinja2 syntax, Kluctl's default.
    #[default]
    Jinja2,
    /// Handlebars syntax.
    Handlebars,
}

/// Everything a template may see and read.
#[derive(Clone, Copy, Debug)]
pub struct RenderContext<'a> {
    /// The variables, a JSON object whose keys become template globals.
    pub vars: &'a Value,
    /// Absolute directories searched by `load_template` and `include`, nearest first
    /// (item dir, project dir, ancestor project dirs).
    pub search_dirs: &'a [PathBuf],
    /// Nothing outside this directory may be read by a template.
    pub root: &'a Path,
}

/// A template engine: renders one source text with a context.
///
/// `name` is the template's path relative to `RenderContext::root`, `/`-separated; errors
/// report it (and included files by their root-relative paths), and `./x` includes resolve
/// against its directory.
pub trait TemplateEngine: Send + Sync {
    /// Renders `source`; `name` is the project-relative file name used in errors.
    fn render(&self, name: &str, source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError>;

    /// Starts a session for rendering many files with the same context: variables are
    /// converted once and templates loaded through the search path are parsed once.
    fn session<'a>(&'a self, ctx: &RenderContext<'_>) -> Box<dyn TemplateSession + 'a>;
}

/// Renders many files that share one [`RenderContext`] (one deployment item, one vars batch).
/// Each file is rendered on its own: changes a template makes to its variables
/// (`update_dict`, `.update()`) are not seen by the next file.
pub trait TemplateSession: Send + Sync {
    /// Renders `source`; `name` is the project-relative file name used in errors.
    fn render(&self, name: &str, source: &str) -> Result<String, TemplateError>;
}

/// Returns the engine for a kind.
pub fn engine(kind: EngineKind) -> Box<dyn TemplateEngine> {
    match kind {
        EngineKind::Jinja2 => Box::new(JinjaEngine::new()),
        EngineKind::Handlebars => Box::new(HandlebarsEngine::new()),
    }
}

/// Kluctl renders only files that contain `{`; everything else is copied as is (this also
/// keeps binary files away from the renderer).
pub fn needs_rendering(source: &[u8]) -> bool {
    source.contains(&b'{')
}

/// What went wrong in a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The template does not parse.
    Syntax,
    /// A variable or attribute is not defined.
    Undefined,
    /// A template asked for a file that does not exist or may not be read.
    NotFound,
    /// The template called `raise(...)`.
    Raised,
    /// Any other failure while rendering (type errors, bad filter arguments, ...).
    Render,
    /// The engine is not available.
    Unsupported,
    /// A safety limit (work, nesting depth, file size) was exceeded.
    Limit,
}

/// A template that failed to render, with the original location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TemplateError {
    /// The project-relative file in which the error happened (may be an included template).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The class of error.
    pub kind: TemplateErrorKind,
    /// What is wrong.
    pub message: String,
    /// Templates that included this one, outermost first.
    pub chain: Vec<String>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        for outer in self.chain.iter().rev() {
            write!(f, " (included from {outer})")?;
        }
        Ok(())
    }
}
