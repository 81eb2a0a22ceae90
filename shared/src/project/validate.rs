//! Checks of a rendered `deployment.yaml` that serde cannot express: one item kind per entry,
//! fields that need another field, complete diff and conflict rules, tags usable as labels.
//! Every failure points at the offending entry.

use super::error::ProjectError;
use crate::types::{DeploymentItemConfig, DeploymentProjectConfig, Located, ObjectRefItem, SourceLocation, SourceMap};

/// Kluctl's default tag: the base name of `path` or `include`, not for `.`.
pub(crate) fn default_tag(config: &DeploymentItemConfig) -> Option<String> {
    let p = config.path.as_deref().or(config.include.as_deref())?;
    let trimmed = p.trim_end_matches('/');
    if trimmed == "." || trimmed.is_empty() {
        return None;
    }
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if base == ".." || base == "." {
        return None;
    }
    Some(base.to_string())
}

/// Whether `value` can be a label value (tags become `kluctl.io/tag-N` labels).
pub(crate) fn is_label_value(value: &str) -> bool {
    value.len() <= 63
        && (value.is_empty()
            || (value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && value.starts_with(|c: char| c.is_ascii_alphanumeric())
                && value.ends_with(|c: char| c.is_ascii_alphanumeric())))
}

pub(crate) fn check_rules(
    config: &DeploymentProjectConfig,
    display: &str,
    map: &SourceMap,
    chain: &[SourceLocation],
) -> Result<(), ProjectError> {
    for (i, rule) in config.ignore_for_diff.iter().enumerate() {
        if rule.field_path.is_empty() && rule.field_path_regex.is_empty() {
            return Err(ProjectError::InvalidItem(
                Located::new(
                    map.locate(display, &format!("ignoreForDiff/{i}")),
                    "at least one of fieldPath or fieldPathRegex must be set",
                )
                .with_chain(chain),
            ));
        }
        for regex in &rule.field_path_regex {
            if let Err(e) = regex::Regex::new(regex) {
                return Err(ProjectError::InvalidItem(
                    Located::new(
                        map.locate(display, &format!("ignoreForDiff/{i}/fieldPathRegex")),
                        format!("invalid regular expression {regex:?}: {}", regex_reason(&e)),
                    )
                    .with_chain(chain),
                ));
            }
        }
    }
    for (i, rule) in config.conflict_resolution.iter().enumerate() {
        if rule.field_path.is_empty() && rule.field_path_regex.is_empty() && rule.manager.is_empty() {
            return Err(ProjectError::InvalidItem(
                Located::new(
                    map.locate(display, &format!("conflictResolution/{i}")),
                    "at least one of fieldPath, fieldPathRegex or manager must be set",
                )
                .with_chain(chain),
            ));
        }
    }
    Ok(())
}

/// The regex crate draws the error position over several lines; keep the reason only.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .last()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string()
}

pub(crate) fn condition_error(
    map: &SourceMap,
    display: &str,
    path: &str,
    message: &str,
    chain: &[SourceLocation],
) -> ProjectError {
    ProjectError::EvaluateCondition(
        Located::new(map.locate(display, path), message.to_string())
            .with_hint("`when` takes a template expression such as `services.web.enabled` or `args.env == \"prod\"`")
            .with_chain(chain),
    )
}

pub(crate) fn validate_item(
    item: &DeploymentItemConfig,
    map: &SourceMap,
    display: &str,
    item_path: &str,
    chain: &[SourceLocation],
) -> Result<(), ProjectError> {
    let invalid = |field: &str, message: &str, hint: &str| {
        let path = if field.is_empty() {
            item_path.to_string()
        } else {
            format!("{item_path}/{field}")
        };
        Err(ProjectError::InvalidItem(
            Located::new(map.locate(display, &path), message)
                .with_hint(hint)
                .with_chain(chain),
        ))
    };
    let kinds: Vec<&str> = [
        (item.path.is_some(), "path"),
        (item.include.is_some(), "include"),
        (item.git.is_some(), "git"),
        (item.oci.is_some(), "oci"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    if kinds.len() > 1 {
        return invalid(
            "",
            &format!(
                "only one of path, include, git and oci can be set, found {}",
                kinds.join(" and ")
            ),
            "split the entry into one item per directory",
        );
    }
    let is_include = item.include.is_some() || item.git.is_some() || item.oci.is_some();
    if item.wait_readiness && item.path.is_none() {
        return invalid(
            "waitReadiness",
            "waitReadiness is only allowed on path items",
            "move it to the item with the objects to wait for",
        );
    }
    if item.args.is_some() && !is_include {
        return invalid(
            "args",
            "args are only allowed when another project is included",
            "use vars for path items",
        );
    }
    if item.pass_vars && !is_include {
        return invalid(
            "passVars",
            "passVars is only allowed when another project is included",
            "remove it",
        );
    }
    if item.recursive && item.path.is_none() {
        return invalid("recursive", "recursive is only allowed on path items", "remove it");
    }
    for (field, refs) in [
        ("deleteObjects", &item.delete_objects),
        ("waitReadinessObjects", &item.wait_readiness_objects),
    ] {
        for (i, r) in refs.iter().enumerate() {
            if is_missing(r) {
                return invalid(
                    &format!("{field}/{i}"),
                    "at least one of group or kind must be set",
                    "add `kind:` (and `group:` for non-core kinds)",
                );
            }
        }
    }
    Ok(())
}

fn is_missing(r: &ObjectRefItem) -> bool {
    r.group.is_none() && r.kind.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tags_are_base_names_except_dot() {
        let item = |p: &str| DeploymentItemConfig {
            path: Some(p.into()),
            ..Default::default()
        };
        assert_eq!(default_tag(&item("apps/web")), Some("web".into()));
        assert_eq!(default_tag(&item("apps/web/")), Some("web".into()));
        assert_eq!(default_tag(&item(".")), None);
        assert_eq!(default_tag(&item("..")), None);
    }

    #[test]
    fn label_values_follow_kubernetes_rules() {
        assert!(is_label_value("prod.example.com"));
        assert!(is_label_value("a_b-c"));
        assert!(!is_label_value("has space"));
        assert!(!is_label_value("-leading"));
        assert!(!is_label_value(&"x".repeat(64)));
    }
}
