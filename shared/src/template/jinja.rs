//! The Jinja2 engine on minijinja, configured as Kluctl configures Python's Jinja2:
//! strict undefined; `trim_blocks`, `lstrip_blocks` and `keep_trailing_newline` off (the defaults).

use super::{RenderContext, TemplateEngine, TemplateError, TemplateErrorKind};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

/// Renders Kluctl's Jinja2 dialect.
pub struct JinjaEngine {
    env: Environment<'static>,
}

impl JinjaEngine {
    /// Creates the engine with Kluctl's settings.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        JinjaEngine { env }
    }
}

impl Default for JinjaEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateEngine for JinjaEngine {
    fn render(&self, name: &str, source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
        let vars = minijinja::Value::from(minijinja::value::Serde(ctx.vars));
        self.env
            .render_named_str(name, source, vars)
            .map_err(|err| convert_error(name, &err))
    }
}

fn convert_error(name: &str, err: &minijinja::Error) -> TemplateError {
    let kind = match err.kind() {
        ErrorKind::SyntaxError => TemplateErrorKind::Syntax,
        ErrorKind::UndefinedError => TemplateErrorKind::Undefined,
        ErrorKind::TemplateNotFound => TemplateErrorKind::NotFound,
        _ => TemplateErrorKind::Render,
    };
    TemplateError {
        file: err.name().unwrap_or(name).to_string(),
        line: err.line(),
        column: None,
        kind,
        message: err
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| err.kind().to_string()),
        chain: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn render(source: &str, vars: serde_json::Value) -> Result<String, TemplateError> {
        let ctx = RenderContext {
            vars: &vars,
            search_dirs: &[],
            root: Path::new("/"),
        };
        JinjaEngine::new().render("t.yaml", source, &ctx)
    }

    #[test]
    fn renders_variables_and_keeps_block_whitespace() {
        let out = render("a: {{ x }}\n{% if x %}\nb: 1\n{% endif %}\n", json!({"x": 5})).unwrap();
        assert_eq!(out, "a: 5\n\nb: 1\n");
    }

    #[test]
    fn undefined_variables_are_errors_with_location() {
        let err = render("a: 1\nb: {{ missing }}\n", json!({})).unwrap_err();
        assert_eq!(err.kind, TemplateErrorKind::Undefined);
        assert_eq!(err.line, Some(2));
        assert_eq!(err.file, "t.yaml");
    }
}
