//! Pieces shared by the rule sets of `deployment.yaml` (`ignoreForDiff`, `conflictResolution`)
//! and the `kluctl.io/*` annotations: object selectors, Go-style booleans, `-N` annotation keys.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The identity fields a rule selects on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectIdentity {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectIdentity {
    /// Reads the identity of an object (missing fields are empty).
    pub fn of(object: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let api_version = text(object.get("apiVersion"));
        let group = api_version
            .rsplit_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default();
        ObjectIdentity {
            group,
            kind: text(object.get("kind")),
            namespace: text(object.pointer("/metadata/namespace")),
            name: text(object.pointer("/metadata/name")),
        }
    }
}

/// The optional `group`, `kind`, `namespace` and `name` of a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSelector {
    /// API group without version.
    pub group: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: Option<String>,
}

impl RuleSelector {
    /// Kluctl's matching: an unset selector matches, and so does an empty value on the object
    /// (so `namespace: x` also applies to cluster-scoped objects, as in Kluctl).
    pub fn matches(&self, object: &ObjectIdentity) -> bool {
        let check =
            |value: &str, wanted: &Option<String>| value.is_empty() || wanted.as_deref().is_none_or(|w| w == value);
        check(&object.group, &self.group)
            && check(&object.kind, &self.kind)
            && check(&object.namespace, &self.namespace)
            && check(&object.name, &self.name)
    }
}

/// Go's `strconv.ParseBool` truth values, which Kluctl uses for every boolean annotation.
pub fn parse_go_bool(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Go's `strconv.ParseBool`: `Some` for the accepted spellings of true and false.
pub fn parse_go_bool_strict(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Whether `key` is `base` or `base-N` (Kluctl's `^base(-\d*)?$` for repeatable annotations).
pub fn is_indexed_annotation(key: &str, base: &str) -> bool {
    match key.strip_prefix(base) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())),
        None => false,
    }
}

/// The values of every `base` / `base-N` annotation of `object`, in key order.
pub fn indexed_annotations<'a>(object: &'a Value, base: &str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| is_indexed_annotation(k, base))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect();
    out.sort();
    out
}

/// One annotation of `object`.
pub fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations")?.get(key)?.as_str()
}

/// A boolean annotation read as Kluctl does: unset or unparsable gives `default`.
pub fn bool_annotation(object: &Value, key: &str, default: bool) -> bool {
    annotation(object, key)
        .and_then(parse_go_bool_strict)
        .unwrap_or(default)
}

/// Deserializes Kluctl's "single string or list of strings" fields.
pub fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexed_annotation_keys() {
        assert!(is_indexed_annotation(
            "kluctl.io/ignore-diff-field",
            "kluctl.io/ignore-diff-field"
        ));
        assert!(is_indexed_annotation(
            "kluctl.io/ignore-diff-field-12",
            "kluctl.io/ignore-diff-field"
        ));
        assert!(!is_indexed_annotation(
            "kluctl.io/ignore-diff-field-regex",
            "kluctl.io/ignore-diff-field"
        ));
        assert!(!is_indexed_annotation(
            "kluctl.io/ignore-diff-fields",
            "kluctl.io/ignore-diff-field"
        ));
        let o = json!({"metadata": {"annotations": {"a-2": "y", "a": "x", "ab": "no", "a-1": "z"}}});
        assert_eq!(
            indexed_annotations(&o, "a"),
            vec![("a", "x"), ("a-1", "z"), ("a-2", "y")]
        );
    }

    #[test]
    fn selectors_match_like_kluctl() {
        let cm = ObjectIdentity::of(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}),
        );
        assert_eq!(cm.group, "");
        let ns = ObjectIdentity::of(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}));
        let sel = RuleSelector {
            kind: Some("ConfigMap".into()),
            namespace: Some("n".into()),
            ..Default::default()
        };
        assert!(sel.matches(&cm));
        assert!(!sel.matches(&ns));
        // An empty group on the object matches any group selector, as in Kluctl.
        assert!(
            RuleSelector {
                group: Some("apps".into()),
                ..Default::default()
            }
            .matches(&cm)
        );
    }

    #[test]
    fn go_booleans() {
        assert!(parse_go_bool("True") && parse_go_bool("1") && !parse_go_bool("yes"));
        assert_eq!(parse_go_bool_strict("F"), Some(false));
        assert_eq!(parse_go_bool_strict("nope"), None);
        let o = json!({"metadata": {"annotations": {"x": "false", "y": "bad"}}});
        assert!(!bool_annotation(&o, "x", true));
        assert!(bool_annotation(&o, "y", true));
        assert!(bool_annotation(&o, "z", true));
    }
}
