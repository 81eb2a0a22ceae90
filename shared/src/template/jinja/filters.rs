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
    env.add_filter("indent", indent);
    env.add_filter("dictsort", dictsort);
    env.add_filter("center", center);
    env.add_filter("wordcount", wordcount);
    env.add_filter("urlencode", urlencode);
    env.add_filter("truncate", truncate);
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(value: Value, args: minijinja::value::Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let arg = |i: usize| args.get(i).filter(|v| !v.is_none());
    let length = arg(0).map(|v| usize::try_from(v.clone())).transpose()?;
    let killwords = arg(1).map(Value::is_true);
    let end = arg(2).map(str_of);
    let leeway = arg(3).map(|v| usize::try_from(v.clone())).transpose()?;
    let length = length.or(kwargs.get::<Option<usize>>("length")?).unwrap_or(255);
    let killwords = killwords.or(kwargs.get::<Option<bool>>("killwords")?).unwrap_or(false);
    let end = match end {
        Some(e) => e,
        None => kwargs
            .get::<Option<String>>("end")?
            .unwrap_or_else(|| "...".to_string()),
    };
    let leeway = leeway.or(kwargs.get::<Option<usize>>("leeway")?).unwrap_or(5);
    kwargs.assert_all_used()?;
    let s = str_of(&value);
    let chars: Vec<char> = s.chars().collect();
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid("truncate: length must be at least the length of `end`"));
    }
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let head: String = chars[..length - end_len].iter().collect();
    if killwords {
        return Ok(Value::from(format!("{head}{end}")));
    }
    let cut = match head.rfind(' ') {
        Some(i) => &head[..i],
        None => head.as_str(),
    };
    Ok(Value::from(format!("{cut}{end}")))
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
fn join(state: &State, value: Value, d: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let d = match d {
        Some(d) => Some(d),
        None => kwargs.get::<Option<String>>("d")?,
    };
    let attribute: Option<Value> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
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
fn int(value: Value, default: Option<Value>, base: Option<u32>, kwargs: Kwargs) -> Result<Value, Error> {
    let base = match base {
        Some(b) => Some(b),
        None => kwargs.get::<Option<u32>>("base")?,
    };
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

/// Jinja2's `indent(width=4, first=False, blank=False)`; `width` may be a string.
fn indent(
    value: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let width = match width {
        Some(w) => Some(w),
        None => kwargs.get::<Option<Value>>("width")?,
    };
    let first = first.or(kwargs.get::<Option<bool>>("first")?).unwrap_or(false);
    let blank = blank.or(kwargs.get::<Option<bool>>("blank")?).unwrap_or(false);
    kwargs.assert_all_used()?;
    let indention = match &width {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        Some(w) => {
            " ".repeat(usize::try_from(w.clone()).map_err(|_| invalid("indent: width must be a number or a string"))?)
        }
        None => "    ".to_string(),
    };
    // Jinja2 appends a newline before splitting so a trailing newline survives.
    let text = format!("{}\n", str_of(&value));
    let lines = py_splitlines(&text);
    let mut rv = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut iter = lines.into_iter();
        let mut rv = iter.next().unwrap_or_default();
        let rest: Vec<String> = iter
            .map(|line| {
                if line.is_empty() {
                    line
                } else {
                    format!("{indention}{line}")
                }
            })
            .collect();
        if !rest.is_empty() {
            rv.push('\n');
            rv.push_str(&rest.join("\n"));
        }
        rv
    };
    if first {
        rv = format!("{indention}{rv}");
    }
    Ok(Value::from(rv))
}

/// Python's `str.splitlines()`.
fn py_splitlines(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push(std::mem::take(&mut cur));
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Jinja2's `dictsort(case_sensitive=False, by='key', reverse=False)`.
fn dictsort(value: Value, case_sensitive: Option<bool>, by: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let case_sensitive = case_sensitive
        .or(kwargs.get::<Option<bool>>("case_sensitive")?)
        .unwrap_or(false);
    let by = match by {
        Some(b) => b,
        None => kwargs.get::<Option<String>>("by")?.unwrap_or_else(|| "key".to_string()),
    };
    let reverse = kwargs.get::<Option<bool>>("reverse")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let pos = match by.as_str() {
        "key" => 0,
        "value" => 1,
        _ => return Err(invalid("dictsort: you can only sort by either \"key\" or \"value\"")),
    };
    let mut items: Vec<(Value, Value)> = crate::template::pyvalue::map_items(&value)?;
    let sort_key = |v: &Value| -> Value {
        match (case_sensitive, v.as_str()) {
            (false, Some(s)) => Value::from(s.to_lowercase()),
            _ => v.clone(),
        }
    };
    // A stable sort with the comparison reversed keeps equal items in input order, as
    // Python's sorted(reverse=True) does.
    items.sort_by(|a, b| {
        let (ka, kb) = if pos == 0 { (&a.0, &b.0) } else { (&a.1, &b.1) };
        let ord = sort_key(ka).cmp(&sort_key(kb));
        if reverse { ord.reverse() } else { ord }
    });
    Ok(Value::from(
        items
            .into_iter()
            .map(|(k, v)| Value::from(minijinja::value::Tuple::new(vec![k, v])))
            .collect::<Vec<_>>(),
    ))
}

/// Jinja2's `center(width=80)`.
fn center(value: Value, width: Option<usize>) -> Value {
    let s = str_of(&value);
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if len >= width {
        return Value::from(s);
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    Value::from(format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left)))
}

/// Jinja2's `wordcount`.
fn wordcount(value: Value) -> Value {
    static WORD: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\w+").expect("valid regex"));
    Value::from(WORD.find_iter(&str_of(&value)).count())
}

fn url_quote(s: &str, for_qs: bool) -> String {
    let mut out = String::new();
    for b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(*b as char),
            b'/' if !for_qs => out.push('/'),
            b' ' if for_qs => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Jinja2's `urlencode`: strings quoted with `/` kept, dicts and pair lists as query strings.
fn urlencode(value: Value) -> Result<Value, Error> {
    let pairs: Vec<(Value, Value)> = match value.kind() {
        ValueKind::Map => crate::template::pyvalue::map_items(&value)?,
        ValueKind::Seq => value
            .try_iter()?
            .map(|pair| {
                let items: Vec<Value> = pair.try_iter()?.collect();
                match items.as_slice() {
                    [k, v] => Ok((k.clone(), v.clone())),
                    _ => Err(invalid("urlencode: expected key/value pairs")),
                }
            })
            .collect::<Result<_, _>>()?,
        _ => return Ok(Value::from(url_quote(&str_of(&value), false))),
    };
    Ok(Value::from(
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", url_quote(&str_of(k), true), url_quote(&str_of(v), true)))
            .collect::<Vec<_>>()
            .join("&"),
    ))
}
