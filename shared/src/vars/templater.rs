//! [`Templater`]: the template engine of a project bound to its search path, with the
//! conveniences the loaders need: a fast path for text without `{`, `when` conditions, and
//! rendering every string inside a YAML value.

use crate::project::paths::ProjectPaths;
use crate::template::{EngineKind, RenderContext, TemplateEngine, TemplateError, TemplateSession};
use crate::types::{Located, SourceLocation};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Renders templates of one project (one engine, one source root).
#[derive(Clone, Copy)]
pub struct Templater<'a> {
    /// The engine (`jinja2` or `handlebars`).
    pub engine: &'a dyn TemplateEngine,
    /// Which language the engine speaks (conditions are written differently).
    pub kind: EngineKind,
    /// The source root (nothing outside may be read by templates) and how paths are shown.
    pub paths: &'a ProjectPaths,
}

impl<'a> Templater<'a> {
    /// Renders the file at `path` (absolute, inside the root) whose content is `source`. The
    /// engine names files relative to the source root; errors come back relative to the project
    /// directory, as users know them.
    pub fn render_file(
        &self,
        path: &Path,
        source: &str,
        vars: &Value,
        search_dirs: &[PathBuf],
    ) -> Result<String, TemplateError> {
        let name = self.paths.relative_to_root(path);
        self.render(&name, source, vars, search_dirs)
            .map_err(|e| shown_relative_to_project(self.paths, e))
    }

    /// A session for rendering many files with the same variables (one deployment item): the
    /// variables are converted once and included templates parsed once.
    pub fn file_session(&self, vars: &Value, search_dirs: &[PathBuf]) -> FileSession<'a> {
        let ctx = RenderContext {
            vars,
            search_dirs,
            root: &self.paths.root,
        };
        FileSession {
            session: self.engine.session(&ctx),
            paths: self.paths,
        }
    }

    /// Renders `source` named `name` in errors; text without `{` is returned unchanged without
    /// parsing, as Kluctl does.
    pub fn render(
        &self,
        name: &str,
        source: &str,
        vars: &Value,
        search_dirs: &[PathBuf],
    ) -> Result<String, TemplateError> {
        if !source.contains('{') {
            return Ok(source.to_string());
        }
        let ctx = RenderContext {
            vars,
            search_dirs,
            root: &self.paths.root,
        };
        self.engine.render(name, source, &ctx)
    }

    /// Evaluates a `when` condition: an empty condition is true.
    pub fn check_when(
        &self,
        name: &str,
        condition: Option<&str>,
        vars: &Value,
        search_dirs: &[PathBuf],
    ) -> Result<bool, TemplateError> {
        let Some(condition) = condition.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(true);
        };
        let source = match self.kind {
            EngineKind::Jinja2 => format!("{{% if {condition} %}}true{{% else %}}false{{% endif %}}"),
            EngineKind::Handlebars => format!("{{{{#if {condition}}}}}true{{{{else}}}}false{{{{/if}}}}"),
        };
        Ok(self.render(name, &source, vars, search_dirs)?.trim() == "true")
    }

    /// Renders every string of `value` that contains `{` in place. Strings that render to
    /// something else are replaced by the rendered string (never re-parsed as YAML).
    pub fn render_strings(
        &self,
        name: &str,
        value: &mut Value,
        vars: &Value,
        search_dirs: &[PathBuf],
    ) -> Result<(), TemplateError> {
        match value {
            Value::String(s) if s.contains('{') => {
                *s = self.render(name, s, vars, search_dirs)?;
            }
            Value::Array(items) => {
                for item in items {
                    self.render_strings(name, item, vars, search_dirs)?;
                }
            }
            Value::Object(map) => {
                for item in map.values_mut() {
                    self.render_strings(name, item, vars, search_dirs)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Files rendered with one set of variables; see [`Templater::file_session`].
pub struct FileSession<'a> {
    session: Box<dyn TemplateSession + 'a>,
    paths: &'a ProjectPaths,
}

impl FileSession<'_> {
    /// Renders the file at `path` (absolute, inside the root) whose content is `source`.
    pub fn render_file(&self, path: &Path, source: &str) -> Result<String, TemplateError> {
        let name = self.paths.relative_to_root(path);
        self.session
            .render(&name, source)
            .map_err(|e| shown_relative_to_project(self.paths, e))
    }
}

/// The engine names files relative to the source root; users know them relative to the project.
fn shown_relative_to_project(paths: &ProjectPaths, mut e: TemplateError) -> TemplateError {
    let shown = |f: &str| paths.display(&paths.root.join(f));
    e.file = shown(&e.file);
    e.chain = e.chain.iter().map(|f| shown(f)).collect();
    e
}

/// A template error as a [`Located`] message (file, line and column from the engine, whose
/// message already says what to do), with the templates that included the failing one.
pub fn template_located(err: &TemplateError) -> Located {
    let location = SourceLocation {
        file: err.file.clone(),
        line: err.line,
        column: err.column,
    };
    let mut located = Located::new(location, err.message.clone());
    // Templates that included the failing one are part of the chain, outermost last.
    located.chain = err
        .chain
        .iter()
        .rev()
        .map(|f| SourceLocation::file(f.clone()))
        .collect();
    located
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::JinjaEngine;
    use serde_json::json;

    #[test]
    fn conditions_and_strings_render_with_the_context() {
        let engine = JinjaEngine::new();
        let paths = ProjectPaths {
            root: PathBuf::from("/"),
            project_dir: PathBuf::from("/"),
        };
        let t = Templater {
            engine: &engine,
            kind: EngineKind::Jinja2,
            paths: &paths,
        };
        let vars = json!({"a": {"on": true}, "n": "x"});
        assert!(t.check_when("d.yaml", Some("a.on"), &vars, &[]).unwrap());
        assert!(!t.check_when("d.yaml", Some("n == 'y'"), &vars, &[]).unwrap());
        assert!(t.check_when("d.yaml", Some("  "), &vars, &[]).unwrap());
        let mut value = json!({"k": "v-{{ n }}", "l": ["{{ n }}", 1], "plain": "no braces"});
        t.render_strings("d.yaml", &mut value, &vars, &[]).unwrap();
        assert_eq!(value, json!({"k": "v-x", "l": ["x", 1], "plain": "no braces"}));
        assert_eq!(
            t.render("f", "{ not a template", &vars, &[]).unwrap(),
            "{ not a template"
        );
    }
}
