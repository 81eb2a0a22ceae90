//! Field paths as structured-merge-diff writes them: path elements `f:name` (a field),
//! `k:{"name":"x"}` (a list-map item by its keys), `v:"x"` (a set item), `i:0` (a list index),
//! ordered like structured-merge-diff orders them, and printed like Kubernetes prints conflicts
//! (`.spec.template.spec.containers[name="nginx"].image`).

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// One step of a field path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A field of an object or a key of a map (the name is shared with the schema when the
    /// field is declared there, so walks do not copy it).
    Field(Arc<str>),
    /// A list-map item, by its key fields sorted by name.
    Key(Arc<[(Box<str>, Value)]>),
    /// A set item, by its value.
    Value(Value),
    /// A list item by position (structured-merge-diff never produces these for typed lists).
    Index(usize),
}

impl PathElement {
    /// Parses the `fieldsV1` spelling (`f:name`, `k:{..}`, `v:..`, `i:0`).
    pub fn parse(text: &str) -> Result<PathElement, String> {
        let (kind, rest) = text
            .split_once(':')
            .ok_or_else(|| format!("\"{text}\" is not a field path element (expected f:, k:, v: or i:)"))?;
        match kind {
            "f" => Ok(PathElement::Field(rest.into())),
            "k" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(fields)) => {
                    let mut keys: Vec<(Box<str>, Value)> = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
                    keys.sort_by(|a, b| a.0.cmp(&b.0));
                    Ok(PathElement::Key(keys.into()))
                }
                _ => Err(format!("\"{text}\" does not hold a JSON object of keys")),
            },
            "v" => serde_json::from_str(rest)
                .map(PathElement::Value)
                .map_err(|_| format!("\"{text}\" does not hold a JSON value")),
            "i" => rest
                .parse()
                .map(PathElement::Index)
                .map_err(|_| format!("\"{text}\" does not hold a list index")),
            _ => Err(format!("\"{text}\" has an unknown prefix (expected f:, k:, v: or i:)")),
        }
    }

    /// The `fieldsV1` spelling.
    pub fn to_fields_v1(&self) -> String {
        match self {
            PathElement::Field(name) => {
                let mut out = String::with_capacity(name.len() + 2);
                out.push_str("f:");
                out.push_str(name);
                out
            }
            PathElement::Key(keys) => {
                let object: serde_json::Map<String, Value> =
                    keys.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                format!("k:{}", Value::Object(object))
            }
            PathElement::Value(value) => format!("v:{value}"),
            PathElement::Index(index) => format!("i:{index}"),
        }
    }

    /// Compares with the element `Field(name)` without building it.
    pub(crate) fn cmp_field(&self, name: &str) -> Ordering {
        match self {
            PathElement::Field(own) => (**own).cmp(name),
            _ => Ordering::Greater,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    /// structured-merge-diff's order: fields, then keys, then values, then indices.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_keys(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

fn compare_keys(a: &[(Box<str>, Value)], b: &[(Box<str>, Value)]) -> Ordering {
    for ((an, av), (bn, bv)) in a.iter().zip(b) {
        let by_name = an.cmp(bn);
        if by_name != Ordering::Equal {
            return by_name;
        }
        let by_value = compare_values(av, bv);
        if by_value != Ordering::Equal {
            return by_value;
        }
    }
    a.len().cmp(&b.len())
}

/// structured-merge-diff's total order of values: floats, ints, strings, bools, lists, maps, null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(n) if n.is_f64() => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
            Value::Null => 6,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x.cmp(&y);
            }
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (a, b) in x.iter().zip(y) {
                let o = compare_values(a, b);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|a, b| a.0.cmp(b.0));
            ys.sort_by(|a, b| a.0.cmp(b.0));
            for ((ak, av), (bk, bv)) in xs.iter().zip(&ys) {
                let o = ak.cmp(bk).then_with(|| compare_values(av, bv));
                if o != Ordering::Equal {
                    return o;
                }
            }
            xs.len().cmp(&ys.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A value as Kubernetes prints it in a path: strings quoted, everything else as JSON.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(keys) => {
                let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={}", display_value(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(value) => write!(f, "[={}]", display_value(value)),
            PathElement::Index(index) => write!(f, "[{index}]"),
        }
    }
}

/// A path from the object root.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<PathElement>);

impl FieldPath {
    /// A path of field names (`["spec", "replicas"]`).
    pub fn fields(names: &[&str]) -> FieldPath {
        FieldPath(names.iter().map(|n| PathElement::Field((*n).into())).collect())
    }
}

impl fmt::Display for FieldPath {
    /// `.spec.template.spec.containers[name="nginx"].image`, as in Kubernetes' conflict messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for element in &self.0 {
            write!(f, "{element}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_prints_every_kind_of_element() {
        let key = PathElement::parse(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap();
        assert_eq!(key.to_fields_v1(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(key.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        let set_item = PathElement::parse(r#"v:"example.com/finalizer""#).unwrap();
        assert_eq!(set_item.to_string(), r#"[="example.com/finalizer"]"#);
        assert_eq!(PathElement::parse("i:3").unwrap().to_fields_v1(), "i:3");
        assert!(PathElement::parse("x:1").is_err());
        assert!(PathElement::parse("k:[1]").is_err());
        let path = FieldPath(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            PathElement::Key(vec![("name".into(), json!("nginx"))].into()),
            PathElement::Field("image".into()),
        ]);
        assert_eq!(path.to_string(), r#".spec.containers[name="nginx"].image"#);
    }

    #[test]
    fn orders_like_structured_merge_diff() {
        let mut elements = [
            PathElement::Index(0),
            PathElement::Value(json!("b")),
            PathElement::Key(vec![("name".into(), json!("a"))].into()),
            PathElement::Field("z".into()),
            PathElement::Field("a".into()),
            PathElement::Value(json!(1)),
        ];
        elements.sort();
        let printed: Vec<String> = elements.iter().map(PathElement::to_fields_v1).collect();
        assert_eq!(printed, ["f:a", "f:z", r#"k:{"name":"a"}"#, "v:1", r#"v:"b""#, "i:0"]);
    }
}
