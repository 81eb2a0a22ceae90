//! The Handlebars engine (a project opts in with `templateEngine: handlebars` in
//! `.kluctl.yaml`): the same variables and Kluctl's helpers under the same names, strict mode,
//! no HTML escaping, partials found through the same search path.
//!
//! Input: template source, a project-relative name and a [`RenderContext`]; output: the
//! rendered text or a [`TemplateError`] with file, line and column.
//!
//! | Jinja2 | Handlebars |
//! |---|---|
//! | `{{ x \| to_yaml }}` | `{{to_yaml x}}` |
//! | `{{ x \| to_json }}`, `b64encode`, `b64decode`, `from_yaml`, `slugify` | `{{to_json x}}`, ... |
//! | `{{ x \| sha256(8) }}` | `{{sha256 x 8}}` |
//! | `{{ get_var("a.b", "d") }}` / `get_var(["a", "b"])` | `{{get_var "a.b" "d"}}` |
//! | `{{ load_template("f", k=v) }}` | `{{load_template "f" k=v}}` |
//! | `load_sha256`, `load_base64`, `render`, `merge_dict`, `raise`, `debug_print` | same names |
//! | `{{ images.get_image("nginx") }}` | `{{get_image "nginx"}}` |
//! | `{% include "x" %}` | `{{> x}}` (search path, `./x` relative) |

use crate::template::helpers::{self, JsonStyle};
use crate::template::jsonpath::JsonPath;
use crate::template::paths::Resolver;
use crate::template::slugify::{SlugifyOptions, slugify};
use crate::template::{
    Limits, RenderContext, TemplateEngine, TemplateError, TemplateErrorKind, TemplateSession, yaml_dump,
};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext as HbRenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use regex::Regex;
use serde_json::Value as Json;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Renders Handlebars templates with Kluctl's helpers.
#[derive(Default)]
pub struct HandlebarsEngine {
    limits: Limits,
}

impl HandlebarsEngine {
    /// Creates the engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TemplateEngine for HandlebarsEngine {
    fn render(&self, name: &str, source: &str, ctx: &RenderContext<'_>) -> Result<String, TemplateError> {
        self.session(ctx).render(name, source)
    }

    fn session<'a>(&'a self, ctx: &RenderContext<'_>) -> Box<dyn TemplateSession + 'a> {
        let shared = Arc::new(HbShared {
            resolver: Resolver::new(ctx.root, ctx.search_dirs, self.limits.max_template_bytes),
            max_nesting: self.limits.max_nesting,
            partial_files: Mutex::new(HashMap::new()),
        });
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        register_helpers(&mut registry, &shared);
        Box::new(HandlebarsSession {
            registry,
            shared,
            vars: ctx.vars.clone(),
        })
    }
}

struct HbShared {
    resolver: Resolver,
    max_nesting: usize,
    /// Partial name as written → project-relative file, for errors.
    partial_files: Mutex<HashMap<String, String>>,
}

struct HandlebarsSession {
    registry: Handlebars<'static>,
    shared: Arc<HbShared>,
    vars: Json,
}

static PARTIAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\{\{~?#?>\s*(?:"([^"]+)"|'([^']+)'|([^\s}~]+))"#).expect("valid regex"));

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

impl HandlebarsSession {
    /// Registers every partial the source names (and theirs), found through the search path.
    fn register_partials(
        &self,
        registry: &mut Handlebars<'static>,
        name: &str,
        source: &str,
        seen: &mut Vec<String>,
    ) -> Result<(), TemplateError> {
        for caps in PARTIAL.captures_iter(source) {
            let partial = caps
                .get(1)
                .or(caps.get(2))
                .or(caps.get(3))
                .map(|m| m.as_str())
                .unwrap_or_default();
            if seen.iter().any(|s| s == partial) || partial.starts_with('@') {
                continue;
            }
            seen.push(partial.to_string());
            let rel = self.shared.resolver.resolve(partial, name).map_err(|e| TemplateError {
                file: name.to_string(),
                line: line_of(source, caps.get(0).map_or(0, |m| m.start())),
                column: None,
                kind: TemplateErrorKind::NotFound,
                message: e.to_string(),
                chain: Vec::new(),
            })?;
            let text = self.shared.resolver.read(&rel).map_err(|e| TemplateError {
                file: rel.clone(),
                line: None,
                column: None,
                kind: TemplateErrorKind::NotFound,
                message: e.to_string(),
                chain: vec![name.to_string()],
            })?;
            registry
                .register_partial(partial, text.clone())
                .map_err(|e| convert_template_error(&e, &rel, vec![name.to_string()]))?;
            lock(&self.shared.partial_files).insert(partial.to_string(), rel.clone());
            self.register_partials(registry, &rel, &text, seen)?;
        }
        Ok(())
    }
}

impl TemplateSession for HandlebarsSession {
    fn render(&self, name: &str, source: &str) -> Result<String, TemplateError> {
        let mut registry = self.registry.clone();
        self.register_partials(&mut registry, name, source, &mut Vec::new())?;
        registry
            .render_template(source, &self.vars)
            .map_err(|e| self.convert(&e, name))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn line_of(source: &str, offset: usize) -> Option<usize> {
    Some(source[..offset.min(source.len())].matches('\n').count() + 1)
}

fn convert_template_error(e: &handlebars::TemplateError, file: &str, chain: Vec<String>) -> TemplateError {
    let (line, column) = match e.pos() {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    TemplateError {
        file: file.to_string(),
        line,
        column,
        kind: TemplateErrorKind::Syntax,
        message: format!("syntax error: {}", e.reason()),
        chain,
    }
}

impl HandlebarsSession {
    fn convert(&self, e: &RenderError, top: &str) -> TemplateError {
        if let RenderErrorReason::TemplateError(te) = e.reason() {
            return convert_template_error(te, top, Vec::new());
        }
        let partials = lock(&self.shared.partial_files);
        let (file, chain) = match e.template_name.as_deref().and_then(|n| partials.get(n)) {
            Some(rel) => (rel.clone(), vec![top.to_string()]),
            None => (top.to_string(), Vec::new()),
        };
        let (kind, message) = match e.reason() {
            RenderErrorReason::MissingVariable(path) => (
                TemplateErrorKind::Undefined,
                format!(
                    "undefined variable {:?} (use `{{{{#if ...}}}}` or `get_var` with a default for optional values)",
                    path.clone().unwrap_or_default()
                ),
            ),
            RenderErrorReason::PartialNotFound(p) => (TemplateErrorKind::NotFound, format!("partial {p:?} not found")),
            RenderErrorReason::Other(msg) if msg.starts_with(RAISED) => {
                (TemplateErrorKind::Raised, msg[RAISED.len()..].to_string())
            }
            RenderErrorReason::Other(msg) if msg.starts_with(NOT_FOUND) => {
                (TemplateErrorKind::NotFound, msg[NOT_FOUND.len()..].to_string())
            }
            RenderErrorReason::Other(msg) if msg.starts_with(LIMIT) => {
                (TemplateErrorKind::Limit, msg[LIMIT.len()..].to_string())
            }
            other => (TemplateErrorKind::Render, other.to_string()),
        };
        TemplateError {
            file,
            line: e.line_no,
            column: e.column_no,
            kind,
            message,
            chain,
        }
    }
}

const RAISED: &str = "\u{0}raised:";
const NOT_FOUND: &str = "\u{0}not-found:";
const LIMIT: &str = "\u{0}limit:";

type HelperFn = dyn Fn(&HelperCall<'_>) -> Result<Json, String> + Send + Sync;

/// What a helper sees: positional and hash arguments, the root data and the registry.
struct HelperCall<'a> {
    params: Vec<Json>,
    hash: Vec<(String, Json)>,
    data: &'a Json,
    registry: &'a Handlebars<'a>,
    shared: &'a HbShared,
}

impl HelperCall<'_> {
    fn param(&self, i: usize, helper: &str) -> Result<&Json, String> {
        self.params
            .get(i)
            .ok_or_else(|| format!("{helper}: missing argument {}", i + 1))
    }

    fn str_param(&self, i: usize, helper: &str) -> Result<&str, String> {
        self.param(i, helper)?
            .as_str()
            .ok_or_else(|| format!("{helper}: argument {} must be a string", i + 1))
    }

    fn hash_get(&self, key: &str) -> Option<&Json> {
        self.hash.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Renders a file from the search path with the data plus the hash arguments merged in.
    fn render_file(&self, path: &str, extra: Option<(&str, Json)>) -> Result<String, String> {
        let depth = DEPTH.with(Cell::get);
        if depth >= self.shared.max_nesting {
            return Err(format!(
                "{LIMIT}templates nest deeper than the limit of {} (does a template load itself?)",
                self.shared.max_nesting
            ));
        }
        let rel = self
            .shared
            .resolver
            .resolve(path, "")
            .map_err(|e| format!("{NOT_FOUND}{e}"))?;
        let source = self.shared.resolver.read(&rel).map_err(|e| format!("{NOT_FOUND}{e}"))?;
        let mut data = self.data.clone();
        if let Json::Object(map) = &mut data {
            for (k, v) in &self.hash {
                map.insert(k.clone(), v.clone());
            }
            if let Some((k, v)) = extra {
                map.insert(k.to_string(), v);
            }
        }
        DEPTH.with(|d| d.set(depth + 1));
        let result = self.registry.render_template(&source, &data);
        DEPTH.with(|d| d.set(depth));
        result.map_err(|e| format!("{rel}: {e}"))
    }
}

struct KluctlHelper {
    f: Arc<HelperFn>,
    shared: Arc<HbShared>,
}

impl HelperDef for KluctlHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _rc: &mut HbRenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let call = HelperCall {
            params: h.params().iter().map(|p| p.value().clone()).collect(),
            hash: h
                .hash()
                .iter()
                .map(|(k, v)| (k.to_string(), v.value().clone()))
                .collect(),
            data: ctx.data(),
            registry: r,
            shared: &self.shared,
        };
        (self.f)(&call)
            .map(ScopedJson::Derived)
            .map_err(|msg| RenderErrorReason::Other(msg).into())
    }
}

fn to_mj(v: &Json) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

fn from_mj(v: &minijinja::Value) -> Result<Json, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

fn text_of(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => crate::template::pyvalue::str_of(&to_mj(other)),
    }
}

fn register_helpers(registry: &mut Handlebars<'static>, shared: &Arc<HbShared>) {
    let mut add = |name: &str, f: Arc<HelperFn>| {
        registry.register_helper(
            name,
            Box::new(KluctlHelper {
                f,
                shared: shared.clone(),
            }),
        );
    };
    add(
        "to_yaml",
        Arc::new(|c| yaml_dump::to_yaml(&to_mj(c.param(0, "to_yaml")?)).map(Json::String)),
    );
    add(
        "to_json",
        Arc::new(|c| {
            helpers::to_json(&to_mj(c.param(0, "to_json")?), &JsonStyle::default())
                .map(Json::String)
                .map_err(|e| e.to_string())
        }),
    );
    add(
        "from_yaml",
        Arc::new(|c| from_mj(&helpers::from_yaml(c.str_param(0, "from_yaml")?).map_err(|e| e.to_string())?)),
    );
    add(
        "b64encode",
        Arc::new(|c| Ok(Json::String(helpers::b64encode(c.str_param(0, "b64encode")?)))),
    );
    add(
        "b64decode",
        Arc::new(|c| {
            helpers::b64decode(c.str_param(0, "b64decode")?)
                .map(Json::String)
                .map_err(|e| e.to_string())
        }),
    );
    add(
        "sha256",
        Arc::new(|c| {
            let len = c
                .params
                .get(1)
                .or(c.hash_get("digest_len"))
                .and_then(Json::as_u64)
                .map(|n| n as usize);
            Ok(Json::String(helpers::sha256_hex(
                text_of(c.param(0, "sha256")?).as_bytes(),
                len,
            )))
        }),
    );
    add(
        "slugify",
        Arc::new(|c| {
            let mut opts = SlugifyOptions::default();
            if let Some(v) = c.hash_get("allow_unicode").and_then(Json::as_bool) {
                opts.allow_unicode = v;
            }
            if let Some(v) = c.hash_get("max_length").and_then(Json::as_u64) {
                opts.max_length = v as usize;
            }
            if let Some(v) = c.hash_get("separator").and_then(Json::as_str) {
                opts.separator = v.to_string();
            }
            if let Some(v) = c.hash_get("word_boundary").and_then(Json::as_bool) {
                opts.word_boundary = v;
            }
            if let Some(v) = c.hash_get("lowercase").and_then(Json::as_bool) {
                opts.lowercase = v;
            }
            slugify(&text_of(c.param(0, "slugify")?), &opts).map(Json::String)
        }),
    );
    add(
        "get_var",
        Arc::new(|c| {
            let paths: Vec<Json> = match c.param(0, "get_var")? {
                Json::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let data = to_mj(c.data);
            for p in paths {
                let text = p.as_str().ok_or("get_var: the path must be a string")?;
                let path = JsonPath::parse(text).map_err(|e| format!("get_var: invalid path {text:?}: {e}"))?;
                if let Some(found) = path.first(&data) {
                    return from_mj(&found);
                }
            }
            Ok(c.params.get(1).cloned().unwrap_or(Json::Null))
        }),
    );
    add(
        "load_template",
        Arc::new(|c| c.render_file(c.str_param(0, "load_template")?, None).map(Json::String)),
    );
    add(
        "load_sha256",
        Arc::new(|c| {
            if c.data.get("__calc_sha256__").is_some() {
                return Ok(Json::String("__self_sha256__".to_string()));
            }
            let rendered = c.render_file(
                c.str_param(0, "load_sha256")?,
                Some(("__calc_sha256__", Json::Bool(true))),
            )?;
            let len = c
                .params
                .get(1)
                .or(c.hash_get("digest_len"))
                .and_then(Json::as_u64)
                .map(|n| n as usize);
            Ok(Json::String(helpers::sha256_hex(rendered.as_bytes(), len)))
        }),
    );
    add(
        "load_base64",
        Arc::new(|c| {
            let path = c.str_param(0, "load_base64")?;
            let rel = c
                .shared
                .resolver
                .resolve(path, "")
                .map_err(|e| format!("{NOT_FOUND}{e}"))?;
            let bytes = c
                .shared
                .resolver
                .read_bytes(&rel)
                .map_err(|e| format!("{NOT_FOUND}{e}"))?;
            let width = c
                .params
                .get(1)
                .or(c.hash_get("width"))
                .and_then(Json::as_u64)
                .map(|n| n as usize);
            Ok(Json::String(helpers::b64encode_wrapped(&bytes, width)))
        }),
    );
    add(
        "render",
        Arc::new(|c| {
            c.registry
                .render_template(c.str_param(0, "render")?, c.data)
                .map(Json::String)
                .map_err(|e| format!("render: {e}"))
        }),
    );
    add(
        "merge_dict",
        Arc::new(|c| {
            let merged = helpers::merge(&to_mj(c.param(0, "merge_dict")?), &to_mj(c.param(1, "merge_dict")?))
                .map_err(|e| e.to_string())?;
            from_mj(&merged)
        }),
    );
    add(
        "raise",
        Arc::new(|c| Err(format!("{RAISED}{}", text_of(c.param(0, "raise")?)))),
    );
    add(
        "debug_print",
        Arc::new(|c| {
            tracing::info!("debug_print: {}", text_of(c.param(0, "debug_print")?));
            Ok(Json::String(String::new()))
        }),
    );
    add(
        "get_image",
        Arc::new(|c| {
            Ok(Json::String(crate::template::images::encode_placeholder(
                &crate::template::images::ImageRequest {
                    image: c.str_param(0, "get_image")?.to_string(),
                    has_latest_version: false,
                },
            )))
        }),
    );
}
