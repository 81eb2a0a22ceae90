//! The Jinja2 engine on minijinja, configured as Kluctl configures Python's Jinja2: strict
//! undefined, `trim_blocks` / `lstrip_blocks` / `keep_trailing_newline` off, no autoescape,
//! `loopcontrols`, Kluctl's globals and filters, Python's printing and methods.
//!
//! Input: template source, a project-relative name and a [`RenderContext`]; output: the
//! rendered text or a [`TemplateError`] with the original file, line, column and include chain.
//!
//! The minijinja `Environment` with every filter and global is built once per engine. A
//! [`JinjaSession`] (one per deployment item or vars file batch) clones it (a handful of `Arc`
//! clones), attaches the session's search path, converts the variables once and caches every
//! template it loads; each file then costs one parse and one render.

mod errors;
mod filters;
mod globals;
mod methods;

use super::paths::{LookupError, Resolver};
use super::pyvalue::PyDict;
use super::{RenderContext, TemplateEngine, TemplateError, TemplateSession};
use minijinja::value::{Enumerator, Object, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub(crate) use errors::{TaggedError, tagged};

/// Bounds on what one template may make the engine do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// minijinja fuel per render: roughly one unit per instruction plus one per 64 bytes of
    /// data produced.
    pub fuel: u64,
    /// How deeply `load_template`, `load_sha256` and `render` may nest.
    pub max_nesting: usize,
    /// The largest file a template may load.
    pub max_template_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // About five million instructions (seconds of work) or 300 MB of produced data: far
        // above what real projects render per file, low enough to stop runaway loops.
        Limits {
            fuel: 5_000_000,
            max_nesting: 32,
            max_template_bytes: 16 << 20,
        }
    }
}

/// Renders Kluctl's Jinja2 dialect.
pub struct JinjaEngine {
    base: Environment<'static>,
    limits: Limits,
}

impl JinjaEngine {
    /// Creates the engine with Kluctl's settings and the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// Creates the engine with explicit limits.
    pub fn with_limits(limits: Limits) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(limits.fuel));
        env.set_debug(true);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_formatter(|out, _state, value| {
            let mut text = String::new();
            super::pyvalue::write_str(value, &mut text);
            out.write_str(&text).map_err(Error::from)
        });
        env.set_unknown_method_callback(methods::unknown_method);
        filters::register(&mut env);
        globals::register(&mut env);
        JinjaEngine { base: env, limits }
    }

    /// Starts a session: the variables are converted once and loaded templates are cached
    /// until the session is dropped.
    pub fn session(&self, ctx: &RenderContext<'_>) -> JinjaSession {
        let shared = Arc::new(Shared {
            resolver: Resolver::new(ctx.root, ctx.search_dirs, self.limits.max_template_bytes),
            vars: native_vars(ctx.vars),
            sources: Mutex::new(HashMap::new()),
            limits: self.limits,
        });
        let mut env = self.base.clone();
        let for_join = shared.clone();
        env.set_path_join_callback(move |name, parent| match for_join.resolver.resolve(name, parent) {
            Ok(rel) => rel.into(),
            Err(err) => encode_lookup_error(&err).into(),
        });
        let for_load = shared.clone();
        env.set_loader(move |name| {
            if let Some(err) = decode_lookup_error(name) {
                return Err(tagged(ErrorKind::TemplateNotFound, err, TaggedError::NotFound));
            }
            // A plain name reaching the loader without going through the join callback
            // (`Environment::get_template`) still has to be resolved.
            let rel = match for_load.resolver.resolve(name, "") {
                Ok(rel) if rel == name => rel,
                Ok(_) | Err(_) => return Ok(None),
            };
            let source = for_load
                .resolver
                .read(&rel)
                .map_err(|e| tagged(ErrorKind::TemplateNotFound, e.to_string(), TaggedError::NotFound))?;
            lock(&for_load.sources).insert(rel, Arc::from(source.as_str()));
            Ok(Some(source))
        });
        env.set_auto_reload(false);
        JinjaSession { env, shared }
    }
}

impl Default for JinjaEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateEngine for JinjaEngine {
    fn render(&self, name: &str, source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
        self.session(ctx).render(name, source)
    }

    fn session<'a>(&'a self, ctx: &RenderContext<'_>) -> Box<dyn TemplateSession + 'a> {
        Box::new(JinjaEngine::session(self, ctx))
    }
}

/// Session state shared by the environment callbacks and the Kluctl functions.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) resolver: Resolver,
    /// The variables as an immutable native minijinja map, shared by every file.
    vars: Value,
    /// Source text of every template rendered or loaded, by name, for error columns.
    pub(crate) sources: Mutex<HashMap<String, Arc<str>>>,
    pub(crate) limits: Limits,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Renders many files with the same variables and search path.
pub struct JinjaSession {
    env: Environment<'static>,
    shared: Arc<Shared>,
}

impl JinjaSession {
    /// Renders one template; `name` is its path relative to the root.
    pub fn render(&self, name: &str, source: &str) -> Result<String, TemplateError> {
        lock(&self.shared.sources).insert(name.to_string(), Arc::from(source));
        let root = Root::new_value(self.fresh_vars(), self.shared.clone(), 0, false);
        let result = self.env.render_named_str(name, source, root);
        result.map_err(|err| errors::convert(&err, name, &self.shared))
    }

    /// Evaluates a Jinja2 expression (a `when:` condition) the way Kluctl does: as
    /// `{% if <expr> %}True{% else %}False{% endif %}`; an empty expression is true.
    pub fn eval_condition(&self, name: &str, expr: &str) -> Result<bool, TemplateError> {
        if expr.trim().is_empty() {
            return Ok(true);
        }
        let source = format!("{{% if {expr} %}}True{{% else %}}False{{% endif %}}");
        Ok(self.render(name, &source)? == "True")
    }

    fn fresh_vars(&self) -> Value {
        PyDict::new_value(native_entries(&self.shared.vars))
    }
}

impl TemplateSession for JinjaSession {
    fn render(&self, name: &str, source: &str) -> Result<String, TemplateError> {
        JinjaSession::render(self, name, source)
    }
}

fn native_vars(vars: &serde_json::Value) -> Value {
    match vars {
        serde_json::Value::Object(_) => Value::from(minijinja::value::Serde(vars)),
        _ => Value::from(minijinja::value::Serde(serde_json::Map::new())),
    }
}

fn native_entries(vars: &Value) -> indexmap::IndexMap<Value, Value> {
    let mut out = indexmap::IndexMap::new();
    if let Ok(keys) = vars.try_iter() {
        for key in keys {
            if let Ok(value) = vars.get_item(&key) {
                out.insert(key, value);
            }
        }
    }
    out
}

const LOOKUP_ERROR_MARK: &str = "\u{0}kluctl-lookup-error\u{0}";

/// The join callback cannot fail, so a failed lookup travels to the loader inside the name.
fn encode_lookup_error(err: &LookupError) -> String {
    format!("{LOOKUP_ERROR_MARK}{err}")
}

fn decode_lookup_error(name: &str) -> Option<String> {
    name.strip_prefix(LOOKUP_ERROR_MARK).map(str::to_string)
}

/// The root of the template context: the variables (as Python dicts), plus the session for
/// Kluctl's functions under a name no template can spell.
#[derive(Debug)]
pub(crate) struct Root {
    pub(crate) vars: Value,
    pub(crate) shared: Arc<Shared>,
    /// How many `load_template` / `render` calls enclose this render.
    pub(crate) depth: usize,
    /// Set while `load_sha256` renders a file, so nested `load_sha256` calls hash a marker.
    pub(crate) calc_sha256: bool,
}

/// The context key under which functions find the [`Root`].
pub(crate) const ROOT_KEY: &str = "\u{0}kluctl-root";

/// Globals that Kluctl's extensions define after the variables, so they win over variables of
/// the same name.
const EXTENSION_GLOBALS: [&str; 3] = ["images", "time", "version"];

impl Root {
    pub(crate) fn new_value(vars: Value, shared: Arc<Shared>, depth: usize, calc_sha256: bool) -> Value {
        Value::from_object(Root {
            vars,
            shared,
            depth,
            calc_sha256,
        })
    }

    /// Finds the root of the render that is calling a function.
    pub(crate) fn of(state: &minijinja::State) -> Result<Arc<Root>, Error> {
        state
            .lookup(ROOT_KEY)
            .and_then(|v| v.downcast_object::<Root>())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    "kluctl functions need a kluctl render context",
                )
            })
    }
}

impl Object for Root {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        if name == ROOT_KEY {
            return Some(Value::from_dyn_object(self.clone()));
        }
        if EXTENSION_GLOBALS.contains(&name) {
            return None;
        }
        self.vars.get_item(key).ok().filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.vars.try_iter() {
            Ok(keys) => Enumerator::Values(
                keys.filter(|k| !k.as_str().is_some_and(|k| EXTENSION_GLOBALS.contains(&k)))
                    .collect(),
            ),
            Err(_) => Enumerator::Empty,
        }
    }
}
