//! Completion values read from a Kluctl project: targets and declared args from
//! `.kluctl.yaml`, tags and item directories from the `deployment.yaml` tree.
//!
//! Files are read raw, without templating, the way `helm-pull` walks charts: Jinja2 statements
//! are dropped, expressions replaced by a placeholder, and any value that still holds one is
//! skipped. Anything unreadable completes nothing.

use super::Candidate;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the project is.
pub(super) struct Source {
    /// The project directory.
    pub dir: PathBuf,
    /// An explicit `.kluctl.yaml` (`-c`).
    pub config: Option<PathBuf>,
}

const PLACEHOLDER: &str = "__kluctl_template__";

/// Target names, with their context as description.
pub(super) fn targets(source: &Source) -> Vec<Candidate> {
    let config = project_config(source);
    let mut seen = BTreeSet::new();
    items(&config, "targets")
        .filter_map(|target| {
            let name = plain_string(target.get("name"))?;
            let description = plain_string(target.get("context")).map(|c| format!("context {c}"));
            seen.insert(name.clone()).then(|| Candidate::new(name, description))
        })
        .collect()
}

/// Declared arg names followed by `=`, with their default or "required" as description.
pub(super) fn arg_names(source: &Source) -> Vec<Candidate> {
    let config = project_config(source);
    items(&config, "args")
        .filter_map(|arg| {
            let name = plain_string(arg.get("name"))?;
            let description = match arg.get("default") {
                None => "required".to_string(),
                Some(default) => format!("default {}", serde_json::to_string(default).unwrap_or_default()),
            };
            Some(Candidate::new(format!("{name}="), Some(description)))
        })
        .collect()
}

/// Every tag an item of the project carries: explicit `tags`, or the default tag (the base name
/// of `path` or `include`), plus the `tags` of each deployment project.
pub(super) fn tags(source: &Source) -> Vec<Candidate> {
    let mut tags = Vec::new();
    visit_deployments(&source.dir, |_, project| {
        tags.extend(string_list(project.get("tags")));
        for item in items(project, "deployments") {
            let explicit = string_list(item.get("tags"));
            if item.get("tags").is_some() {
                tags.extend(explicit);
            } else if let Some(dir) = plain_string(item.get("path")).or_else(|| plain_string(item.get("include"))) {
                let base = dir
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if !base.is_empty() && base != "." && base != ".." {
                    tags.push(base);
                }
            }
        }
    });
    let mut seen = BTreeSet::new();
    tags.into_iter()
        .filter(|tag| seen.insert(tag.clone()))
        .map(|tag| Candidate::new(tag, None))
        .collect()
}

/// The directories of `path` items, relative to the project directory.
pub(super) fn deployment_dirs(source: &Source) -> Vec<Candidate> {
    let mut dirs = Vec::new();
    visit_deployments(&source.dir, |relative, project| {
        for item in items(project, "deployments") {
            if let Some(path) = plain_string(item.get("path")) {
                dirs.push(normalize(&relative.join(path)));
            }
        }
    });
    let mut seen = BTreeSet::new();
    dirs.into_iter()
        .flatten()
        .filter(|dir| seen.insert(dir.clone()))
        .map(|dir| Candidate::new(dir, None))
        .collect()
}

fn project_config(source: &Source) -> Value {
    let candidates = match &source.config {
        Some(config) => vec![config.clone()],
        None => vec![source.dir.join(".kluctl.yaml"), source.dir.join(".kluctl.yml")],
    };
    candidates.iter().find_map(|path| read_raw(path)).unwrap_or(Value::Null)
}

/// Calls `visit(project-relative dir, parsed deployment.yaml)` for the root project and every
/// local include below it (git and oci includes are not local).
fn visit_deployments(root: &Path, mut visit: impl FnMut(&Path, &Value)) {
    const MAX_DEPTH: usize = 32;
    let mut queue = vec![(PathBuf::new(), 0usize)];
    let mut seen = BTreeSet::new();
    while let Some((relative, depth)) = queue.pop() {
        if depth > MAX_DEPTH || !seen.insert(relative.clone()) {
            continue;
        }
        let dir = root.join(&relative);
        let Some(project) = ["deployment.yaml", "deployment.yml"]
            .iter()
            .find_map(|name| read_raw(&dir.join(name)))
        else {
            continue;
        };
        visit(&relative, &project);
        for item in items(&project, "deployments") {
            if let Some(include) = plain_string(item.get("include"))
                && let Some(next) = normalize(&relative.join(include))
            {
                queue.push((PathBuf::from(next), depth + 1));
            }
        }
    }
}

/// `a/./b/../c` as `a/c`; `None` when it leaves the project.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn items<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn plain_string(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !s.contains(PLACEHOLDER))
        .map(str::to_string)
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| plain_string(Some(v)))
        .collect()
}

fn read_raw(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    shared::yaml::parse_documents(&strip_templates(&text), "")
        .ok()?
        .into_iter()
        .next()
}

/// Drops `{% ... %}` and `{# ... #}` and replaces `{{ ... }}` with a placeholder, so the YAML
/// structure around templates parses.
fn strip_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let close = match tail.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push('{');
                rest = &tail[1..];
                continue;
            }
        };
        let Some(end) = tail[2..].find(close) else {
            rest = "";
            break;
        };
        if close == "}}" {
            out.push_str(PLACEHOLDER);
        }
        rest = &tail[2 + end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_removed_without_breaking_yaml() {
        let text = "{% if x %}\ndeployments:\n- path: {{ dir }}\n- path: web # {# note #}\n{% endif %}\nmap: {a: 1}\n";
        let value = shared::yaml::parse_single(&strip_templates(text), "t").unwrap();
        let paths: Vec<_> = items(&value, "deployments")
            .filter_map(|i| plain_string(i.get("path")))
            .collect();
        assert_eq!(paths, ["web"]);
        assert_eq!(value["map"]["a"], 1);
    }
}
