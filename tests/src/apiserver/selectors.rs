//! Label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) and field selectors (`metadata.name=x`,
//! plus the per-kind fields kube-apiserver supports), parsed from list and watch query parameters.

use serde_json::Value;

use super::errors::ApiError;
use super::meta;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq)]
pub enum LabelRequirement {
    /// `key=value` / `key==value`
    Equals(String, String),
    /// `key!=value`
    NotEquals(String, String),
    /// `key in (a,b)`
    In(String, Vec<String>),
    /// `key notin (a,b)`
    NotIn(String, Vec<String>),
    /// `key`
    Exists(String),
    /// `!key`
    DoesNotExist(String),
}

/// A parsed label selector (all requirements must hold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector {
    /// The requirements, ANDed.
    pub requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    /// Parses the `labelSelector` query parameter.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(LabelSelector { requirements })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`).
    pub fn from_object(selector: &Value) -> Result<Self, String> {
        let mut requirements = Vec::new();
        if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
            for (key, value) in labels {
                requirements.push(LabelRequirement::Equals(
                    key.clone(),
                    value.as_str().unwrap_or("").into(),
                ));
            }
        }
        for expr in selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("").to_string();
            let values: Vec<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            let requirement = match expr.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => LabelRequirement::In(key, values),
                "NotIn" => LabelRequirement::NotIn(key, values),
                "Exists" => LabelRequirement::Exists(key),
                "DoesNotExist" => LabelRequirement::DoesNotExist(key),
                other => return Err(format!("{other:?} is not a valid label selector operator")),
            };
            requirements.push(requirement);
        }
        Ok(LabelSelector { requirements })
    }

    /// True when the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// True when the labels satisfy every requirement.
    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements.iter().all(|req| match req {
            LabelRequirement::Equals(k, v) => get(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, vs) => get(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::DoesNotExist(k) => get(k).is_none(),
        })
    }

    /// The selector as a string, as `status.selector` of a scale subresource shows it.
    pub fn to_query(&self) -> String {
        let mut parts: Vec<String> = self
            .requirements
            .iter()
            .map(|req| match req {
                LabelRequirement::Equals(k, v) => format!("{k}={v}"),
                LabelRequirement::NotEquals(k, v) => format!("{k}!={v}"),
                LabelRequirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                LabelRequirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                LabelRequirement::Exists(k) => k.clone(),
                LabelRequirement::DoesNotExist(k) => format!("!{k}"),
            })
            .collect();
        parts.sort();
        parts.join(",")
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn invalid_selector(text: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: {why} (in {text:?})"))
}

fn parse_requirement(part: &str) -> Result<LabelRequirement, ApiError> {
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        check_key(part, key)?;
        return Ok(LabelRequirement::DoesNotExist(key.to_string()));
    }
    for (op, build) in [
        (
            "!=",
            LabelRequirement::NotEquals as fn(String, String) -> LabelRequirement,
        ),
        ("==", LabelRequirement::Equals),
        ("=", LabelRequirement::Equals),
    ] {
        if let Some((key, value)) = part.split_once(op) {
            let (key, value) = (key.trim(), value.trim());
            check_key(part, key)?;
            if !meta::label_value_errors(value).is_empty() {
                return Err(invalid_selector(part, &format!("invalid label value: {value:?}")));
            }
            return Ok(build(key.to_string(), value.to_string()));
        }
    }
    let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
    if words.len() == 2 {
        let key = words[0];
        let rest = words[1].trim();
        let (op, values) = if let Some(v) = rest.strip_prefix("notin") {
            ("notin", v)
        } else if let Some(v) = rest.strip_prefix("in") {
            ("in", v)
        } else {
            return Err(invalid_selector(
                part,
                "found unexpected operator, expected one of in, notin, =, ==, !=",
            ));
        };
        let values = values.trim();
        let inner = values
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| invalid_selector(part, "found values without parentheses, expected '('"))?;
        check_key(part, key)?;
        let list: Vec<String> = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if list.is_empty() {
            return Err(invalid_selector(
                part,
                "for 'in', 'notin' operators, values set can't be empty",
            ));
        }
        return Ok(if op == "in" {
            LabelRequirement::In(key.to_string(), list)
        } else {
            LabelRequirement::NotIn(key.to_string(), list)
        });
    }
    check_key(part, part)?;
    Ok(LabelRequirement::Exists(part.to_string()))
}

fn check_key(part: &str, key: &str) -> Result<(), ApiError> {
    match meta::qualified_name_errors(key).first() {
        Some(err) => Err(invalid_selector(part, &format!("invalid label key {key:?}: {err}"))),
        None => Ok(()),
    }
}

/// One `field=value` or `field!=value` term.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRequirement {
    /// Field path (`metadata.name`, `status.phase`).
    pub field: String,
    /// Expected value.
    pub value: String,
    /// True for `!=`.
    pub negated: bool,
}

/// A parsed field selector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector {
    /// The terms, ANDed.
    pub requirements: Vec<FieldRequirement>,
}

/// Fields each kind can be selected on besides `metadata.name` and `metadata.namespace`.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses the `fieldSelector` query parameter, rejecting fields the kind does not support.
    pub fn parse(text: &str, kind: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, false)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" && !kind_fields(kind).contains(&field) {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                value: value.trim().to_string(),
                negated,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// True when no terms.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The value a term must equal for `metadata.name`, if the selector pins one name.
    pub fn pinned_name(&self) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == "metadata.name" && !r.negated)
            .map(|r| r.value.as_str())
    }

    /// True when the object satisfies every term.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements.iter().all(|req| {
            let actual = field_value(object, &req.field);
            (actual == req.value) != req.negated
        })
    }
}

/// The string value of a selectable field (missing fields are empty; booleans and numbers as text).
fn field_value(object: &Value, field: &str) -> String {
    if field == "source" {
        return object
            .get("source")
            .and_then(|s| s.get("component"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
    }
    let path: Vec<&str> = field.split('.').collect();
    match meta::get_path(object, &path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            if field == "spec.hostNetwork" || field == "spec.unschedulable" {
                "false".into()
            } else {
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn equality_and_set_based_label_selectors_match_as_documented() {
        let l = labels(json!({"app": "web", "tier": "frontend", "env": "prod"}));
        let sel = |s: &str| LabelSelector::parse(s).unwrap().matches(Some(&l));
        assert!(sel("app=web"));
        assert!(sel("app==web,tier!=backend"));
        assert!(sel("env in (prod, staging)"));
        assert!(!sel("env notin (prod)"));
        assert!(sel("tier,!missing"));
        assert!(!sel("missing"));
        assert!(sel("app in (web),env notin (dev,qa)"));
        assert!(sel(""));
        assert!(LabelSelector::parse("missing notin (a)").unwrap().matches(None));
    }

    #[test]
    fn bad_label_selectors_are_rejected() {
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
        assert!(LabelSelector::parse("app=-bad").is_err());
    }

    #[test]
    fn label_selector_objects_match_like_their_string_form() {
        let sel = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]
        }))
        .unwrap();
        assert!(sel.matches(Some(&labels(json!({"app": "web", "env": "prod"})))));
        assert!(!sel.matches(Some(&labels(json!({"app": "web"})))));
        assert_eq!(sel.to_query(), "app=web,env in (prod)");
    }

    #[test]
    fn field_selectors_support_metadata_and_kind_fields_only() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": "Running"}});
        let sel = FieldSelector::parse("metadata.name=p,status.phase!=Pending", "Pod").unwrap();
        assert!(sel.matches(&pod));
        assert_eq!(sel.pinned_name(), Some("p"));
        assert!(
            !FieldSelector::parse("metadata.namespace=other", "Pod")
                .unwrap()
                .matches(&pod)
        );
        let err = FieldSelector::parse("spec.replicas=1", "Deployment").unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.replicas");
    }
}
