//! Parsing Helm's output the way Helm itself treats it: duplicate keys are allowed and the last
//! one wins (Helm's YAML library never complained, so charts in the wild contain them; Kluctl
//! removes them the same way before parsing strictly).
//!
//! Input: the text `helm template` printed; output: one `serde_json::Value` per non-empty document.

use serde::Deserialize;
use serde::de::{self, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses every document; `file` names the source in errors.
pub(crate) fn parse_documents_lenient(text: &str, file: &str) -> Result<Vec<Value>, crate::yaml::YamlError> {
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let Lenient(value) = Lenient::deserialize(document).map_err(|e| {
            let location = e.location();
            let mut message = e.to_string();
            if let Some(idx) = message.find(" at line ") {
                message.truncate(idx);
            }
            crate::yaml::YamlError {
                file: file.to_string(),
                line: location.as_ref().map(|l| l.line()),
                column: location.as_ref().map(|l| l.column()),
                message: format!("invalid YAML: {message}"),
            }
        })?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

struct Lenient(Value);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor).map(Lenient)
    }
}

struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // `.nan` and `.inf` have no JSON form; keep their text like other YAML-to-JSON converters.
        Ok(Number::from_f64(v)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(v.to_string())))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Lenient::deserialize(d).map(|l| l.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Lenient(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut merges = Vec::new();
        while let Some(Lenient(key)) = access.next_key()? {
            let Lenient(value) = access.next_value()?;
            let key = key_text(key);
            if key == "<<" {
                merges.push(value);
            } else {
                // Last one wins, in the position of the first (what Helm's YAML library does).
                map.insert(key, value);
            }
        }
        // Merge keys (`<<: *anchor`) fill in what the mapping does not set itself.
        for merge in merges {
            let sources = match merge {
                Value::Array(items) => items,
                other => vec![other],
            };
            for source in sources {
                let Value::Object(source) = source else {
                    return Err(de::Error::custom("a merge key (<<) must refer to a mapping"));
                };
                for (k, v) in source {
                    map.entry(k).or_insert(v);
                }
            }
        }
        Ok(Value::Object(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A tagged value (`!something value`): keep the value, drop the tag.
        let (_tag, variant): (de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant::<Lenient>().map(|l| l.0)
    }
}

fn key_text(key: Value) -> String {
    match key {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        let docs = parse_documents_lenient(
            "# Source: x/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    \
             app: one\n    app: two\n---\n# Source: empty\n---\nkind: B\n",
            "out",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["metadata"]["labels"], json!({"app": "two"}));
        assert_eq!(docs[1], json!({"kind": "B"}));
    }

    #[test]
    fn resolves_anchors_merges_and_scalars() {
        let docs = parse_documents_lenient(
            "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\nn: 1.5\nt: true\nz: ~\ntagged: !foo bar\n",
            "out",
        )
        .unwrap();
        assert_eq!(docs[0]["d"], json!({"y": 3, "x": 1}));
        assert_eq!(docs[0]["n"], json!(1.5));
        assert_eq!(docs[0]["t"], json!(true));
        assert_eq!(docs[0]["z"], Value::Null);
        assert_eq!(docs[0]["tagged"], json!("bar"));
    }

    #[test]
    fn reports_position_of_broken_documents() {
        let err = parse_documents_lenient("a: 1\nb: [x\n", "third-party/redis/helm-chart.yaml").unwrap_err();
        assert!(err.line.is_some(), "{err}");
    }
}
