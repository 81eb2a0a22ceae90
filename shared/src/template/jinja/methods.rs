//! Python methods on values that minijinja does not know: the string methods of
//! `minijinja_contrib::pycompat` plus the ones Kluctl projects use beyond it, and clear errors
//! for in-place methods called on values that cannot change.

use crate::template::pyvalue::{PyDict, PyList, map_items, repr};
use minijinja::value::{Value, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State};

/// The environment's unknown-method callback.
pub(super) fn unknown_method(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String => {
            if let Some(rv) = string_method(value.as_str().unwrap_or_default(), method, args)? {
                return Ok(rv);
            }
        }
        ValueKind::Map => match method {
            "items" if value.downcast_object::<PyDict>().is_none() => {
                let _: () = from_args(args)?;
                let items = map_items(value)?
                    .into_iter()
                    .map(|(k, v)| Value::from(minijinja::value::Tuple::new(vec![k, v])))
                    .collect::<Vec<_>>();
                return Ok(Value::from(items));
            }
            "copy" => {
                let _: () = from_args(args)?;
                return Ok(PyDict::new_value(map_items(value)?.into_iter().collect()));
            }
            "update" | "setdefault" | "pop" | "clear" | "popitem" => {
                return Err(read_only("dict", method));
            }
            _ => {}
        },
        ValueKind::Seq => match method {
            "copy" => {
                let _: () = from_args(args)?;
                return Ok(PyList::new_value(value.try_iter()?.collect()));
            }
            "index" => {
                let (item,): (Value,) = from_args(args)?;
                return match value.try_iter()?.position(|x| x == item) {
                    Some(pos) => Ok(Value::from(pos)),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("index(): {} is not in list", repr(&item)),
                    )),
                };
            }
            "append" | "extend" | "insert" | "pop" | "remove" | "sort" | "reverse" | "clear" => {
                return Err(read_only("list", method));
            }
            _ => {}
        },
        _ => {}
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

fn read_only(kind: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{method}(): this {kind} cannot be modified in place (it was produced by a filter or literal); \
             copy it first with `dict(x)` / `x | list`, or use `merge_dict(...)`"
        ),
    )
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    Ok(Some(match method {
        "zfill" => {
            let (width,): (usize,) = from_args(args)?;
            let len = s.chars().count();
            if len >= width {
                Value::from(s)
            } else {
                let (sign, rest) = match s.chars().next() {
                    Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                    _ => (String::new(), s),
                };
                Value::from(format!("{sign}{}{rest}", "0".repeat(width - len)))
            }
        }
        "removeprefix" => {
            let (p,): (String,) = from_args(args)?;
            Value::from(s.strip_prefix(p.as_str()).unwrap_or(s))
        }
        "removesuffix" => {
            let (p,): (String,) = from_args(args)?;
            Value::from(s.strip_suffix(p.as_str()).unwrap_or(s))
        }
        "rsplit" => {
            let (sep, maxsplit): (Option<String>, Option<i64>) = from_args(args)?;
            let maxsplit = maxsplit.filter(|m| *m >= 0).map(|m| m as usize);
            let mut parts: Vec<String> = match (&sep, maxsplit) {
                (Some(sep), Some(m)) => s.rsplitn(m + 1, sep.as_str()).map(String::from).collect(),
                (Some(sep), None) => s.rsplit(sep.as_str()).map(String::from).collect(),
                (None, Some(m)) => {
                    let mut out: Vec<String> = Vec::new();
                    let mut rest = s.trim_end();
                    while out.len() < m {
                        match rest.rfind(char::is_whitespace) {
                            Some(i) => {
                                out.push(rest[i + 1..].to_string());
                                rest = rest[..i].trim_end();
                            }
                            None => break,
                        }
                    }
                    if !rest.trim().is_empty() {
                        out.push(rest.trim_start().to_string());
                    }
                    out
                }
                (None, None) => s.split_whitespace().rev().map(String::from).collect(),
            };
            parts.reverse();
            Value::from(parts)
        }
        "partition" | "rpartition" => {
            let (sep,): (String,) = from_args(args)?;
            let found = if method == "partition" {
                s.find(&sep)
            } else {
                s.rfind(&sep)
            };
            let parts = match found {
                Some(i) => vec![s[..i].to_string(), sep.clone(), s[i + sep.len()..].to_string()],
                None if method == "partition" => vec![s.to_string(), String::new(), String::new()],
                None => vec![String::new(), String::new(), s.to_string()],
            };
            Value::from(minijinja::value::Tuple::new(
                parts.into_iter().map(Value::from).collect(),
            ))
        }
        "ljust" | "rjust" | "center" => {
            let (width, fill): (usize, Option<String>) = from_args(args)?;
            let fill = fill.and_then(|f| f.chars().next()).unwrap_or(' ');
            let len = s.chars().count();
            if len >= width {
                Value::from(s)
            } else {
                let pad = width - len;
                let (left, right) = match method {
                    "ljust" => (0, pad),
                    "rjust" => (pad, 0),
                    // Python centres with the extra character on the left when the width is odd
                    // and the padding is odd.
                    _ => {
                        let left = pad / 2 + (pad & width & 1);
                        (left, pad - left)
                    }
                };
                let f = fill.to_string();
                Value::from(format!("{}{s}{}", f.repeat(left), f.repeat(right)))
            }
        }
        "index" | "rindex" => {
            let (sub,): (String,) = from_args(args)?;
            let found = if method == "index" { s.find(&sub) } else { s.rfind(&sub) };
            match found {
                Some(i) => Value::from(s[..i].chars().count()),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{method}(): substring not found"),
                    ));
                }
            }
        }
        "swapcase" => {
            let _: () = from_args(args)?;
            Value::from(
                s.chars()
                    .flat_map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<Vec<_>>()
                        } else {
                            c.to_uppercase().collect::<Vec<_>>()
                        }
                    })
                    .collect::<String>(),
            )
        }
        "casefold" => {
            let _: () = from_args(args)?;
            Value::from(s.to_lowercase())
        }
        "istitle" => {
            let _: () = from_args(args)?;
            let mut prev_cased = false;
            let mut any = false;
            let mut ok = true;
            for c in s.chars() {
                if c.is_uppercase() {
                    ok &= !prev_cased;
                    prev_cased = true;
                    any = true;
                } else if c.is_lowercase() {
                    ok &= prev_cased;
                    prev_cased = true;
                    any = true;
                } else {
                    prev_cased = false;
                }
            }
            Value::from(ok && any)
        }
        "encode" => {
            let _: (Option<String>,) = from_args(args)?;
            Value::from_bytes(s.as_bytes().to_vec())
        }
        _ => return Ok(None),
    }))
}
