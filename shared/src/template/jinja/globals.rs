//! Kluctl's Jinja2 globals: `get_var`, `load_template`, `load_sha256`, `load_base64`, `render`,
//! `merge_dict`, `update_dict`, `raise`, `debug_print`, `dict`, and the `time`, `images` and
//! `version` objects.

use super::errors::{TaggedError, nested, tagged};
use super::{Root, lock};
use crate::template::helpers;
use crate::template::jsonpath::JsonPath;
use crate::template::pyvalue::{PyDict, map_items, to_python};
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::Arc;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_function("get_var", get_var);
    env.add_function("load_template", load_template);
    env.add_function("load_sha256", load_sha256);
    env.add_function("load_base64", load_base64);
    env.add_function("render", render_fn);
    env.add_function("merge_dict", merge_dict);
    env.add_function("update_dict", update_dict);
    env.add_function("raise", raise);
    env.add_function("debug_print", debug_print);
    env.add_function("dict", dict);
    env.add_global("time", crate::template::time::time_global());
    env.add_global("images", crate::template::images::images_global());
    env.add_global("version", crate::template::images::version_global());
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `get_var(path_or_paths, default=None)`: the first JSONPath that resolves in the variables.
fn get_var(state: &State, paths: Value, default: Option<Value>) -> Result<Value, Error> {
    let root = Root::of(state)?;
    let paths: Vec<Value> = if paths.kind() == ValueKind::Seq {
        paths.try_iter()?.collect()
    } else {
        vec![paths]
    };
    for path in paths {
        let text = path
            .as_str()
            .ok_or_else(|| invalid(format!("get_var: the path must be a string, got {path}")))?;
        let parsed = JsonPath::parse(text).map_err(|e| invalid(format!("get_var: invalid path {text:?}: {e}")))?;
        if let Some(found) = parsed.first(&root.vars) {
            return Ok(found);
        }
    }
    Ok(default.unwrap_or(Value::from(())))
}

fn check_depth(root: &Root, what: &str) -> Result<(), Error> {
    if root.depth >= root.shared.limits.max_nesting {
        return Err(tagged(
            ErrorKind::InvalidOperation,
            format!(
                "{what}: templates nest deeper than the limit of {} (does a template load itself?)",
                root.shared.limits.max_nesting
            ),
            TaggedError::Limit,
        ));
    }
    Ok(())
}

/// The variables of a nested render: the caller's variables with the keyword arguments merged
/// in (deeply, as Kluctl's `merge_dict(ctx.parent, kwargs)`).
fn child_vars(root: &Root, kwargs: &Kwargs) -> Result<Value, Error> {
    let mut entries: indexmap::IndexMap<Value, Value> = map_items(&root.vars)?.into_iter().collect();
    for name in kwargs.args() {
        let key = Value::from(name);
        let value: Value = kwargs.peek(name)?;
        let merged = match entries.get(&key) {
            Some(existing) if existing.kind() == ValueKind::Map && value.kind() == ValueKind::Map => {
                helpers::merge(existing, &value)?
            }
            _ => value,
        };
        entries.insert(key, merged);
    }
    Ok(PyDict::new_value(entries))
}

/// Renders a template found on the search path with the caller's variables plus `kwargs`.
fn render_loaded(state: &State, path: &str, kwargs: &Kwargs, calc_sha256: bool) -> Result<String, Error> {
    let root = Root::of(state)?;
    check_depth(&root, "load_template")?;
    let template = state.get_template(path)?;
    let vars = child_vars(&root, kwargs)?;
    let child = Root::new_value(
        vars,
        root.shared.clone(),
        root.depth + 1,
        calc_sha256 || root.calc_sha256,
    );
    let name = template.name().to_string();
    let captured = template.render_captured(child).map_err(|e| nested(&name, e))?;
    // The nested render had its own fuel; charge it to the caller so nesting cannot multiply
    // the budget.
    if let Some((consumed, _)) = captured.state().fuel_levels() {
        state.consume_fuel(consumed)?;
    }
    Ok(captured.output().to_string())
}

fn load_template(state: &State, path: String, kwargs: Kwargs) -> Result<Value, Error> {
    render_loaded(state, &path, &kwargs, false).map(Value::from)
}

fn load_sha256(state: &State, path: String, digest_len: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let root = Root::of(state)?;
    if root.calc_sha256 {
        return Ok(Value::from("__self_sha256__"));
    }
    let rendered = render_loaded(state, &path, &kwargs, true)?;
    Ok(Value::from(helpers::sha256_hex(rendered.as_bytes(), digest_len)))
}

fn load_base64(state: &State, path: String, width: Option<usize>) -> Result<Value, Error> {
    let root = Root::of(state)?;
    let rel = root
        .shared
        .resolver
        .resolve(&path, state.name())
        .map_err(|e| tagged(ErrorKind::TemplateNotFound, e.to_string(), TaggedError::NotFound))?;
    let bytes = root
        .shared
        .resolver
        .read_bytes(&rel)
        .map_err(|e| tagged(ErrorKind::TemplateNotFound, e.to_string(), TaggedError::NotFound))?;
    Ok(Value::from(helpers::b64encode_wrapped(&bytes, width)))
}

/// Renders a string with the current variables (`render(s)` and the `| render` filter).
pub(super) fn render_string(state: &State, source: &str) -> Result<String, Error> {
    let root = Root::of(state)?;
    check_depth(&root, "render")?;
    let name = format!("{} (render)", state.name());
    lock(&root.shared.sources).insert(name.clone(), Arc::from(source));
    let child = Root::new_value(root.vars.clone(), root.shared.clone(), root.depth + 1, root.calc_sha256);
    let template = state
        .env()
        .template_from_named_str(&name, source)
        .map_err(|e| nested(&name, e))?;
    let captured = template.render_captured(child).map_err(|e| nested(&name, e))?;
    if let Some((consumed, _)) = captured.state().fuel_levels() {
        state.consume_fuel(consumed)?;
    }
    Ok(captured.output().to_string())
}

fn render_fn(state: &State, source: String) -> Result<Value, Error> {
    render_string(state, &source).map(Value::from)
}

fn merge_dict(a: Value, b: Value) -> Result<Value, Error> {
    helpers::merge(&a, &b)
}

fn update_dict(a: Value, b: Value) -> Result<Value, Error> {
    helpers::update_in_place(&a, &b)?;
    Ok(Value::from(""))
}

fn raise(message: Value) -> Result<Value, Error> {
    Err(tagged(
        ErrorKind::InvalidOperation,
        crate::template::pyvalue::str_of(&message),
        TaggedError::Raised,
    ))
}

fn debug_print(state: &State, message: Value) -> Value {
    tracing::info!(
        template = state.name(),
        "debug_print: {}",
        crate::template::pyvalue::str_of(&message)
    );
    Value::from("")
}

/// Python's `dict(...)`: from a mapping, from key/value pairs, and/or from keyword arguments.
fn dict(args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut entries = indexmap::IndexMap::new();
    match args.len() {
        0 => {}
        1 if args[0].kind() == ValueKind::Map => entries.extend(map_items(&args[0])?),
        1 => {
            for pair in args[0].try_iter()? {
                let items: Vec<Value> = pair.try_iter()?.collect();
                if items.len() != 2 {
                    return Err(invalid("dict(): sequence elements must be key/value pairs"));
                }
                entries.insert(items[0].clone(), items[1].clone());
            }
        }
        _ => return Err(invalid("dict() takes at most one positional argument")),
    }
    for name in kwargs.args() {
        entries.insert(Value::from(name), to_python(kwargs.peek(name)?));
    }
    Ok(PyDict::new_value(entries))
}
