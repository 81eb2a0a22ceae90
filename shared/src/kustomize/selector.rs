//! Resource selection as in `patches[].target` and `replacements[].targets[].select`: anchored
//! regular expressions for group, version, kind, name and namespace, plus Kubernetes label and
//! annotation selectors (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`).

use super::resid::{Gvk, ResId};
use super::resource::Resource;
use super::types::Selector;
use regex::Regex;

/// A compiled [`Selector`].
pub struct SelectorMatcher {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

fn anchored(pattern: &str, field: &str) -> Result<Option<Regex>, String> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| format!("invalid regular expression in {field} {pattern:?}: {e}"))
}

impl SelectorMatcher {
    /// Compiles a selector; the error names the bad field.
    pub fn new(selector: &Selector) -> Result<Self, String> {
        Ok(SelectorMatcher {
            group: anchored(&selector.group, "group")?,
            version: anchored(&selector.version, "version")?,
            kind: anchored(&selector.kind, "kind")?,
            name: anchored(&selector.name, "name")?,
            namespace: anchored(&selector.namespace, "namespace")?,
            labels: parse_selector(&selector.label_selector).map_err(|e| format!("labelSelector: {e}"))?,
            annotations: parse_selector(&selector.annotation_selector)
                .map_err(|e| format!("annotationSelector: {e}"))?,
        })
    }

    /// Whether a GVK matches the group, version and kind expressions.
    pub fn matches_gvk(&self, gvk: &Gvk) -> bool {
        let ok = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        ok(&self.group, &gvk.group) && ok(&self.version, &gvk.version) && ok(&self.kind, &gvk.kind)
    }

    /// Kustomize's `Select`: the name and namespace may match the original or the current id.
    pub fn matches(&self, resource: &Resource) -> bool {
        let cur = resource.cur_id();
        let org = resource.org_id();
        self.matches_ids(&cur, &org)
            && self.matches_gvk(&cur.gvk)
            && matches_all(&self.labels, &resource.string_map("labels"))
            && matches_all(&self.annotations, &resource.string_map("annotations"))
    }

    fn matches_ids(&self, cur: &ResId, org: &ResId) -> bool {
        let ok = |re: &Option<Regex>, a: &str, b: &str| re.as_ref().is_none_or(|re| re.is_match(a) || re.is_match(b));
        ok(&self.namespace, org.effective_namespace(), cur.effective_namespace())
            && ok(&self.name, &org.name, &cur.name)
    }

    /// Matching on the current id only, with the current namespace as written (replacement
    /// `reject` and `select` use this form).
    pub fn matches_current(&self, resource: &Resource) -> bool {
        let cur = resource.cur_id();
        let ok = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        ok(&self.namespace, &cur.namespace)
            && ok(&self.name, &cur.name)
            && self.matches_gvk(&cur.gvk)
            && matches_all(&self.labels, &resource.string_map("labels"))
            && matches_all(&self.annotations, &resource.string_map("annotations"))
    }
}

#[derive(Debug, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn matches_all(requirements: &[Requirement], map: &[(String, String)]) -> bool {
    let get = |key: &str| map.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    requirements.iter().all(|r| match r {
        Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
        Requirement::In(k, values) => get(k).is_some_and(|v| values.iter().any(|x| x == v)),
        Requirement::NotIn(k, values) => get(k).is_none_or(|v| !values.iter().any(|x| x == v)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

/// Parses a Kubernetes label selector.
fn parse_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let mut requirements = Vec::new();
    for part in split_top_level(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let requirement = if let Some(key) = part.strip_prefix('!') {
            Requirement::NotExists(valid_key(key.trim())?)
        } else if let Some((key, rest)) = split_word(part, " notin ") {
            Requirement::NotIn(valid_key(key)?, parse_set(rest)?)
        } else if let Some((key, rest)) = split_word(part, " in ") {
            Requirement::In(valid_key(key)?, parse_set(rest)?)
        } else if let Some((key, value)) = part.split_once("!=") {
            Requirement::NotEquals(valid_key(key.trim())?, value.trim().to_string())
        } else if let Some((key, value)) = part.split_once("==") {
            Requirement::Equals(valid_key(key.trim())?, value.trim().to_string())
        } else if let Some((key, value)) = part.split_once('=') {
            Requirement::Equals(valid_key(key.trim())?, value.trim().to_string())
        } else {
            Requirement::Exists(valid_key(part)?)
        };
        requirements.push(requirement);
    }
    Ok(requirements)
}

fn split_word<'a>(part: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let index = part.find(word)?;
    Some((part[..index].trim(), part[index + word.len()..].trim()))
}

fn valid_key(key: &str) -> Result<String, String> {
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("invalid label key {key:?}"));
    }
    Ok(key.to_string())
}

fn parse_set(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised value list, got {text:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_and_matches_label_selectors() {
        let r = parse_selector("app=web, tier in (a, b),!canary,env!=prod,release").unwrap();
        assert!(matches_all(
            &r,
            &labels(&[("app", "web"), ("tier", "b"), ("release", "1")])
        ));
        assert!(!matches_all(
            &r,
            &labels(&[("app", "web"), ("tier", "c"), ("release", "1")])
        ));
        assert!(!matches_all(
            &r,
            &labels(&[("app", "web"), ("tier", "a"), ("release", "1"), ("canary", "x")])
        ));
        assert!(parse_selector("tier in a").is_err());
    }

    #[test]
    fn matches_regular_expressions_anchored() {
        let selector = Selector {
            kind: "Deploy.*".into(),
            name: "(a|b)".into(),
            ..Selector::default()
        };
        let m = SelectorMatcher::new(&selector).unwrap();
        let r = Resource::new(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}}));
        assert!(m.matches(&r));
        let r = Resource::new(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ab"}}));
        assert!(!m.matches(&r));
    }
}
