//! Reading the objects of a YAML file listed in `resources`: every document must be a map with
//! a kind and a name; `*List` objects are unpacked (their items after the file's other
//! documents, as Kustomize queues them).

use crate::kustomize::goyaml;
use crate::kustomize::resource::{Origin, Resource};
use serde_json::Value;

/// A problem in a resource file, with the 1-based line of the document when known.
#[derive(Debug)]
pub struct FileProblem {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Parses the objects of one resource file.
pub fn parse_resources(text: &str, origin_path: &str) -> Result<Vec<Resource>, FileProblem> {
    let documents = goyaml::read_documents(text).map_err(|e| FileProblem {
        line: Some(e.line),
        column: Some(e.column),
        message: format!("invalid YAML: {}", e.message),
    })?;
    let mut queue: std::collections::VecDeque<(Value, usize)> =
        documents.into_iter().map(|d| (d.value, d.line)).collect();
    let mut resources = Vec::new();
    while let Some((value, line)) = queue.pop_front() {
        let problem = |message: String| FileProblem {
            line: Some(line),
            column: None,
            message,
        };
        let Value::Object(map) = &value else {
            return Err(problem(
                "a document is not a Kubernetes object (expected a map with kind and metadata)".into(),
            ));
        };
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        if kind.ends_with("List")
            && let Some(items) = map.get("items")
        {
            match items {
                Value::Null => {}
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if item.is_null() {
                            return Err(problem(format!("item {i} of the {kind} is empty")));
                        }
                        queue.push_back((item.clone(), line));
                    }
                }
                _ => return Err(problem(format!("items of the {kind} must be a list"))),
            }
            continue;
        }
        if kind.is_empty() {
            return Err(problem("the object has no kind".into()));
        }
        let name = map.get("metadata").and_then(|m| m.get("name"));
        match name {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::Number(_)) | Some(Value::Bool(_)) => {}
            _ => return Err(problem(format!("the {kind} has no metadata.name"))),
        }
        let mut resource = Resource::new(value);
        normalize_name(&mut resource);
        resource.origin = Some(Origin::File {
            path: origin_path.to_string(),
        });
        resources.push(resource);
    }
    Ok(resources)
}

/// Kustomize reads a name written as a number as its text for ids, but writes it back as it was;
/// ids here are built from strings, so keep the text.
fn normalize_name(resource: &mut Resource) {
    let name = resource.object.get("metadata").and_then(|m| m.get("name")).cloned();
    if let Some(Value::Number(_) | Value::Bool(_)) = &name {
        let text = name.map(|n| n.to_string()).unwrap_or_default();
        resource.set_name(&text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_lists_after_the_other_documents() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";
        let names: Vec<String> = parse_resources(text, "f.yaml")
            .unwrap()
            .iter()
            .map(|r| r.name().to_string())
            .collect();
        assert_eq!(names, vec!["s", "a"]);
    }

    #[test]
    fn refuses_objects_without_kind_or_name() {
        assert!(parse_resources("apiVersion: v1\nmetadata: {name: x}\n", "f").is_err());
        let err = parse_resources(
            "kind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            "f",
        )
        .err()
        .unwrap();
        assert_eq!(err.line, Some(4));
        assert!(parse_resources("- a\n", "f").is_err());
    }
}
