//! Kluctl's Jinja2 filters (`to_yaml`, `to_json`, `from_yaml`, `b64encode`, `b64decode`,
//! `sha256`, `slugify`, `render`) and the builtin filters whose minijinja behaviour differs
//! from Python's Jinja2 (`string`, `join`, `tojson`, `list`, `int`, `float`).

use crate::template::helpers::{self, JsonStyle};
use crate::template::pyvalue::{PyList, str_of, to_python, type_name};
use crate::template::slugify::{SlugifyOptions, slugify};
use crate::template::yaml_dump;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_json", to_json);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("render", render);
    env.add_filter("sha256", sha256);
    env.add_filter("slugify", slugify_filter);
    env.add_filter("string", string);
    env.add_filter("join", join);
    env.add_filter("tojson", tojson);
    env.add_filter("list", list);
    env.add_filter("int", int);
    env.add_filter("float", float);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn expect_str<'a>(filter: &str, value: &'a Value) -> Result<&'a str, Error> {
    value
        .as_str()
        .ok_or_else(|| invalid(format!("{filter}: expected a string, got {}", type_name(value))))
}

fn b64encode(value: Value) -> Result<Value, Error> {
    Ok(Value::from(helpers::b64encode(expect_str("b64encode", &value)?)))
}

fn b64decode(value: Value) -> Result<Value, Error> {
    Ok(Value::from(helpers::b64decode(expect_str("b64decode", &value)?)?))
}

fn to_yaml(value: Value) -> Result<Value, Error> {
    yaml_dump::to_yaml(&value).map(Value::from).map_err(invalid)
}

fn to_json(value: Value) -> Result<Value, Error> {
    helpers::to_json(&value, &JsonStyle::default()).map(Value::from)
}

fn from_yaml(value: Value) -> Result<Value, Error> {
    helpers::from_yaml(expect_str("from_yaml", &value)?)
}

fn render(state: &State, value: Value) -> Result<Value, Error> {
    super::globals::render_string(state, expect_str("render", &value)?).map(Value::from)
}

fn sha256(value: Value, digest_len: Option<usize>) -> Result<Value, Error> {
    let text = str_of(&value);
    Ok(Value::from(helpers::sha256_hex(text.as_bytes(), digest_len)))
}

fn slugify_filter(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let mut opts = SlugifyOptions::default();
    if let Some(v) = kwargs.get::<Option<bool>>("allow_unicode")? {
        opts.allow_unicode = v;
    }
    if let Some(v) = kwargs.get::<Option<bool>>("entities")? {
        opts.entities = v;
    }
    if let Some(v) = kwargs.get::<Option<bool>>("decimal")? {
        opts.decimal = v;
    }
    if let Some(v) = kwargs.get::<Option<bool>>("hexadecimal")? {
        opts.hexadecimal = v;
    }
    if let Some(v) = kwargs.get::<Option<usize>>("max_length")? {
        opts.max_length = v;
    }
    if let Some(v) = kwargs.get::<Option<bool>>("word_boundary")? {
        opts.word_boundary = v;
    }
    if let Some(v) = kwargs.get::<Option<String>>("separator")? {
        opts.separator = v;
    }
    if let Some(v) = kwargs.get::<Option<bool>>("save_order")? {
        opts.save_order = v;
    }
    if let Some(v) = kwargs.get::<Option<Vec<String>>>("stopwords")? {
        opts.stopwords = v;
    }
    if let Some(v) = kwargs.get::<Option<String>>("regex_pattern")? {
        opts.regex_pattern = Some(v);
    }
    if let Some(v) = kwargs.get::<Option<bool>>("lowercase")? {
        opts.lowercase = v;
    }
    if let Some(v) = kwargs.get::<Option<Vec<Vec<String>>>>("replacements")? {
        opts.replacements = v
            .into_iter()
            .map(|pair| match pair.as_slice() {
                [old, new] => Ok((old.clone(), new.clone())),
                _ => Err(invalid("slugify: replacements must be [old, new] pairs")),
            })
            .collect::<Result<_, _>>()?;
    }
    kwargs.assert_all_used()?;
    slugify(&str_of(&value), &opts).map(Value::from).map_err(invalid)
}

/// Python's `str()`.
fn string(value: Value) -> Value {
    if value.kind() == ValueKind::String {
        return value;
    }
    Value::from(str_of(&value))
}

/// Jinja2's `join(d="", attribute=None)`: items converted with Python's `str()`.
fn join(state: &State, value: Value, d: Option<String>, attribute: Option<Value>) -> Result<Value, Error> {
    if value.kind() == ValueKind::String {
        let sep = d.unwrap_or_default();
        let chars: Vec<String> = value.as_str().unwrap_or_default().chars().map(String::from).collect();
        return Ok(Value::from(chars.join(&sep)));
    }
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(attr) => attribute_of(state, &item, attr)?,
            None => item,
        };
        parts.push(str_of(&item));
    }
    Ok(Value::from(parts.join(&d.unwrap_or_default())))
}

fn attribute_of(_state: &State, item: &Value, attr: &Value) -> Result<Value, Error> {
    if let Some(path) = attr.as_str() {
        let mut cur = item.clone();
        for part in path.split('.') {
            cur = match part.parse::<i64>() {
                Ok(idx) if cur.kind() == ValueKind::Seq => cur.get_item(&Value::from(idx))?,
                _ => cur.get_attr(part)?,
            };
        }
        Ok(cur)
    } else {
        item.get_item(attr)
    }
}

/// Jinja2's `tojson`: `json.dumps(sort_keys=True)` with HTML-sensitive characters escaped.
fn tojson(value: Value, indent: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match indent {
        Some(i) => Some(i),
        None => kwargs.get::<Option<usize>>("indent")?,
    };
    kwargs.assert_all_used()?;
    let style = JsonStyle {
        sort_keys: true,
        indent,
        html_safe: true,
    };
    Ok(Value::from_safe_string(helpers::to_json(&value, &style)?))
}

/// Python's `list()`: a mutable list of the items (the characters of a string, the keys of a
/// dict).
fn list(value: Value) -> Result<Value, Error> {
    let items: Vec<Value> = match value.kind() {
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect(),
        ValueKind::None | ValueKind::Undefined => Vec::new(),
        _ => value.try_iter()?.map(to_python).collect(),
    };
    Ok(PyList::new_value(items))
}

/// Jinja2's `int(default=0, base=10)`.
fn int(value: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let base: Option<u32> = kwargs.get("base")?;
    let default = match default {
        Some(d) => Some(d),
        None => kwargs.get::<Option<Value>>("default")?,
    }
    .unwrap_or(Value::from(0));
    kwargs.assert_all_used()?;
    let base = base.unwrap_or(10);
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value,
        ValueKind::Number => Value::from(f64::try_from(value).unwrap_or(0.0).trunc() as i64),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            let (digits, radix) = match (base, s.get(..2).map(str::to_ascii_lowercase).as_deref()) {
                (16, Some("0x")) | (8, Some("0o")) | (2, Some("0b")) => (&s[2..], base),
                _ => (s.as_str(), base),
            };
            match i64::from_str_radix(digits, radix) {
                Ok(i) => Value::from(i),
                Err(_) if base == 10 => match s.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
                    _ => default,
                },
                Err(_) => default,
            }
        }
        _ => default,
    })
}

/// Jinja2's `float(default=0.0)`.
fn float(value: Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => Some(d),
        None => kwargs.get::<Option<Value>>("default")?,
    }
    .unwrap_or(Value::from(0.0));
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => Value::from(f64::try_from(value).unwrap_or(0.0)),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().to_ascii_lowercase();
            match s.as_str() {
                "inf" | "+inf" | "infinity" => Value::from(f64::INFINITY),
                "-inf" | "-infinity" => Value::from(f64::NEG_INFINITY),
                "nan" => Value::from(f64::NAN),
                _ => s.replace('_', "").parse::<f64>().map(Value::from).unwrap_or(default),
            }
        }
        _ => default,
    })
}
