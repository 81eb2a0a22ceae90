//! Python data model for Jinja2 templates: mutable `dict` and `list` objects and Python's
//! `str()` / `repr()` of values.
//!
//! Input: minijinja values (variables converted once per session, literals, filter results);
//! output: [`PyDict`] and [`PyList`] objects that support Python's in-place methods
//! (`update`, `append`, `setdefault`, ...) and text that matches what CPython prints.
//!
//! Variables are shared by every file of a session as immutable minijinja containers. A
//! container is copied into a [`PyDict`] / [`PyList`] the first time a template reaches it
//! through another Python container, so a file that mutates its variables (`update_dict`,
//! `.update()`, `.append()`) never changes what the next file sees, and a file pays only for
//! the containers it touches.

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard};

/// The map type minijinja uses for its own dict values (feature `preserve_order`).
type NativeMap = IndexMap<Value, Value>;

/// A Python `dict`: insertion ordered and mutable through its methods.
#[derive(Debug, Default)]
pub struct PyDict {
    map: Mutex<IndexMap<Value, Value>>,
}

/// A Python `list`: mutable through its methods.
#[derive(Debug, Default)]
pub struct PyList {
    items: Mutex<Vec<Value>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a map half-written in a way that matters to
    // a template, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PyDict {
    /// Creates a dict value from key/value pairs.
    pub fn new_value(entries: IndexMap<Value, Value>) -> Value {
        Value::from_object(PyDict {
            map: Mutex::new(entries),
        })
    }

    /// A snapshot of the entries (values adopted as Python containers).
    pub fn entries(self: &Arc<Self>) -> Vec<(Value, Value)> {
        let mut map = lock(&self.map);
        let keys: Vec<Value> = map.keys().cloned().collect();
        keys.into_iter()
            .map(|k| {
                let v = adopt_slot(map.get_mut(&k).expect("key from the same map"));
                (k, v)
            })
            .collect()
    }

    /// Inserts or replaces one entry.
    pub fn insert(&self, key: Value, value: Value) {
        lock(&self.map).insert(key, value);
    }

    fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

impl PyList {
    /// Creates a list value.
    pub fn new_value(items: Vec<Value>) -> Value {
        Value::from_object(PyList {
            items: Mutex::new(items),
        })
    }

    /// A snapshot of the items (adopted as Python containers).
    pub fn items(self: &Arc<Self>) -> Vec<Value> {
        let mut items = lock(&self.items);
        items.iter_mut().map(adopt_slot).collect()
    }
}

/// Returns the value stored in a slot, first replacing a native container by its Python copy
/// so that later accesses see (and mutate) the same object.
fn adopt_slot(slot: &mut Value) -> Value {
    if let Some(adopted) = adopt(slot) {
        *slot = adopted;
    }
    slot.clone()
}

/// Copies a native minijinja map or list into a mutable Python container; `None` for values
/// that are already Python containers or are not containers.
pub fn adopt(value: &Value) -> Option<Value> {
    let obj = value.as_object()?;
    if let Some(map) = obj.downcast_ref::<NativeMap>() {
        return Some(PyDict::new_value(map.clone()));
    }
    if let Some(items) = obj.downcast_ref::<Vec<Value>>() {
        return Some(PyList::new_value(items.clone()));
    }
    None
}

/// Turns any map or sequence into a Python container (copying native ones), leaving other
/// values as they are.
pub fn to_python(value: Value) -> Value {
    adopt(&value).unwrap_or(value)
}

impl Object for PyDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let mut map = lock(&self.map);
        map.get_mut(key).map(adopt_slot)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.map).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.len())
    }

    fn call_method(self: &Arc<Self>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        dict_method(self, state, method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        repr_dict(&self.entries(), &mut out);
        f.write_str(&out)
    }
}

impl Object for PyList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let mut items = lock(&self.items);
        let len = items.len() as i64;
        let idx = key.as_i64()?;
        let idx = if idx < 0 { idx + len } else { idx };
        if idx < 0 || idx >= len {
            return None;
        }
        Some(adopt_slot(&mut items[idx as usize]))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.items).len())
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        list_method(self, method, args)
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        repr_seq(&self.items(), "[", "]", &mut out);
        f.write_str(&out)
    }
}

fn bad_args(method: &str, detail: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{method}(): {detail}"))
}

/// Iterates the (key, value) pairs of any mapping value.
pub fn map_items(value: &Value) -> Result<Vec<(Value, Value)>, Error> {
    if let Some(dict) = value.downcast_object::<PyDict>() {
        return Ok(dict.entries());
    }
    if value.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("expected a dict, got {}", type_name(value)),
        ));
    }
    let mut out = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        out.push((key, item));
    }
    Ok(out)
}

fn dict_method(dict: &Arc<PyDict>, state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "keys" => {
            let _: () = from_args(args)?;
            Ok(Value::from(lock(&dict.map).keys().cloned().collect::<Vec<_>>()))
        }
        "values" => {
            let _: () = from_args(args)?;
            Ok(Value::from(
                dict.entries().into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            ))
        }
        "items" => {
            let _: () = from_args(args)?;
            Ok(Value::from(
                dict.entries()
                    .into_iter()
                    .map(|(k, v)| Value::from(minijinja::value::Tuple::new(vec![k, v])))
                    .collect::<Vec<_>>(),
            ))
        }
        "get" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            Ok(dict
                .get_value(&key)
                .unwrap_or_else(|| default.unwrap_or(Value::from(()))))
        }
        "update" => {
            let (other, kwargs): (Option<Value>, minijinja::value::Kwargs) = from_args(args)?;
            let mut pairs = match other {
                Some(other) if other.kind() == ValueKind::Map => map_items(&other)?,
                Some(other) => {
                    let mut pairs = Vec::new();
                    for pair in other.try_iter()? {
                        let items: Vec<Value> = pair.try_iter()?.collect();
                        if items.len() != 2 {
                            return Err(bad_args("update", "sequence elements must be key/value pairs"));
                        }
                        pairs.push((items[0].clone(), items[1].clone()));
                    }
                    pairs
                }
                None => Vec::new(),
            };
            for name in kwargs.args() {
                pairs.push((Value::from(name), kwargs.peek::<Value>(name)?));
            }
            let mut map = lock(&dict.map);
            for (k, v) in pairs {
                map.insert(k, v);
            }
            Ok(Value::from(()))
        }
        "setdefault" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            if let Some(existing) = dict.get_value(&key) {
                return Ok(existing);
            }
            let value = to_python(default.unwrap_or(Value::from(())));
            dict.insert(key, value.clone());
            Ok(value)
        }
        "pop" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            let removed = lock(&dict.map).shift_remove(&key);
            match (removed, default) {
                (Some(v), _) => Ok(to_python(v)),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("pop(): key {} not found", repr(&key)),
                )),
            }
        }
        "copy" => {
            let _: () = from_args(args)?;
            Ok(PyDict::new_value(dict.entries().into_iter().collect()))
        }
        "clear" => {
            let _: () = from_args(args)?;
            lock(&dict.map).clear();
            Ok(Value::from(()))
        }
        _ => {
            let _ = state;
            Err(Error::from(ErrorKind::UnknownMethod))
        }
    }
}

fn list_method(list: &Arc<PyList>, method: &str, args: &[Value]) -> Result<Value, Error> {
    let none = Value::from(());
    match method {
        "append" => {
            let (item,): (Value,) = from_args(args)?;
            lock(&list.items).push(item);
            Ok(none)
        }
        "extend" => {
            let (other,): (Value,) = from_args(args)?;
            let new: Vec<Value> = other.try_iter()?.collect();
            lock(&list.items).extend(new);
            Ok(none)
        }
        "insert" => {
            let (idx, item): (i64, Value) = from_args(args)?;
            let mut items = lock(&list.items);
            let len = items.len() as i64;
            let idx = if idx < 0 { (idx + len).max(0) } else { idx.min(len) };
            items.insert(idx as usize, item);
            Ok(none)
        }
        "pop" => {
            let (idx,): (Option<i64>,) = from_args(args)?;
            let mut items = lock(&list.items);
            let len = items.len() as i64;
            let idx = idx.unwrap_or(-1);
            let idx = if idx < 0 { idx + len } else { idx };
            if idx < 0 || idx >= len {
                return Err(bad_args("pop", "index out of range"));
            }
            Ok(to_python(items.remove(idx as usize)))
        }
        "remove" => {
            let (item,): (Value,) = from_args(args)?;
            let mut items = lock(&list.items);
            match items.iter().position(|x| x == &item) {
                Some(pos) => {
                    items.remove(pos);
                    Ok(none)
                }
                None => Err(bad_args("remove", "value not in list")),
            }
        }
        "index" => {
            let (item,): (Value,) = from_args(args)?;
            match lock(&list.items).iter().position(|x| x == &item) {
                Some(pos) => Ok(Value::from(pos)),
                None => Err(bad_args("index", &format!("{} is not in list", repr(&item)))),
            }
        }
        "count" => {
            let (item,): (Value,) = from_args(args)?;
            Ok(Value::from(lock(&list.items).iter().filter(|x| *x == &item).count()))
        }
        "reverse" => {
            let _: () = from_args(args)?;
            lock(&list.items).reverse();
            Ok(none)
        }
        "sort" => {
            let (kwargs,): (minijinja::value::Kwargs,) = from_args(args)?;
            let reverse: Option<bool> = kwargs.get("reverse")?;
            kwargs.assert_all_used()?;
            let mut items = lock(&list.items);
            items.sort();
            if reverse.unwrap_or(false) {
                items.reverse();
            }
            Ok(none)
        }
        "copy" => {
            let _: () = from_args(args)?;
            Ok(PyList::new_value(list.items()))
        }
        "clear" => {
            let _: () = from_args(args)?;
            lock(&list.items).clear();
            Ok(none)
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// Python's name of a value's type, for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq if value.is_tuple() => "tuple",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Python's `str(value)`.
pub fn str_of(value: &Value) -> String {
    let mut out = String::new();
    write_str(value, &mut out);
    out
}

/// Appends Python's `str(value)` to `out`.
pub fn write_str(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::String => out.push_str(value.as_str().unwrap_or_default()),
        ValueKind::Undefined => {}
        _ => write_repr(value, out),
    }
}

/// Python's `repr(value)`.
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, &mut out);
    out
}

/// Appends Python's `repr(value)` to `out`.
pub fn write_repr(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => {
            if value.is_integer() {
                let _ = write!(out, "{value}");
            } else {
                let f: f64 = f64::try_from(value.clone()).unwrap_or(f64::NAN);
                out.push_str(&float_repr(f));
            }
        }
        ValueKind::String => repr_string(value.as_str().unwrap_or_default(), out),
        ValueKind::Bytes => {
            out.push_str("b'");
            for b in value.as_bytes().unwrap_or_default() {
                match b {
                    b'\\' => out.push_str("\\\\"),
                    b'\'' => out.push_str("\\'"),
                    0x20..=0x7e => out.push(*b as char),
                    _ => {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
            }
            out.push('\'');
        }
        ValueKind::Seq => {
            let items: Vec<Value> = match value.downcast_object::<PyList>() {
                Some(list) => list.items(),
                None => value.try_iter().map(|it| it.collect()).unwrap_or_default(),
            };
            if value.is_tuple() {
                if items.len() == 1 {
                    out.push('(');
                    write_repr(&items[0], out);
                    out.push_str(",)");
                } else {
                    repr_seq(&items, "(", ")", out);
                }
            } else {
                repr_seq(&items, "[", "]", out);
            }
        }
        ValueKind::Map => match map_items(value) {
            Ok(items) => repr_dict(&items, out),
            Err(_) => {
                let _ = write!(out, "{value}");
            }
        },
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

fn repr_seq(items: &[Value], open: &str, close: &str, out: &mut String) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(item, out);
    }
    out.push_str(close);
}

fn repr_dict(items: &[(Value, Value)], out: &mut String) {
    out.push('{');
    for (i, (k, v)) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(k, out);
        out.push_str(": ");
        write_repr(v, out);
    }
    out.push('}');
}

/// Python's `repr()` of a string: single quotes unless the text holds a single quote and no
/// double quote.
pub fn repr_string(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `repr(float)`: the shortest text that reads back to the same float, in fixed
/// notation for exponents in `-4..16` and scientific notation (`1e+16`, `1e-05`) otherwise.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".to_string() } else { "-inf".to_string() };
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.5e20" or "-3e-5".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        let cases = [
            (1.0, "1.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.5e20, "1.5e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (123456.789, "123456.789"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn strings_repr_like_python() {
        let mut out = String::new();
        repr_string("it's", &mut out);
        assert_eq!(out, "\"it's\"");
        out.clear();
        repr_string("a\nb'\"", &mut out);
        assert_eq!(out, "'a\\nb\\'\"'");
    }
}
