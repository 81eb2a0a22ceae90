//! Inclusion flags: which deployment items a command works on.

use super::usage_error;
use clap::{Args, ValueHint};
use std::path::{Component, Path};

/// `-I`, `-E`, `--include-deployment-dir`, `--exclude-deployment-dir`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Inclusion")]
pub struct InclusionFlags {
    /// Only include deployment items with this tag (repeatable)
    #[arg(short = 'I', long = "include-tag", value_name = "TAG")]
    pub include_tags: Vec<String>,

    /// Exclude deployment items with this tag; wins over -I (repeatable)
    #[arg(short = 'E', long = "exclude-tag", value_name = "TAG")]
    pub exclude_tags: Vec<String>,

    /// Only include the deployment item in this directory, relative to the project (repeatable)
    #[arg(long = "include-deployment-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub include_deployment_dirs: Vec<String>,

    /// Exclude the deployment item in this directory, relative to the project; wins over includes (repeatable)
    #[arg(long = "exclude-deployment-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub exclude_deployment_dirs: Vec<String>,
}

/// Validated inclusion filters; exclusion wins over inclusion, and no include filter means
/// everything is included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InclusionOptions {
    /// Tags to include.
    pub include_tags: Vec<String>,
    /// Tags to exclude.
    pub exclude_tags: Vec<String>,
    /// Item directories to include, normalized (`a/b`, no `./` or trailing `/`).
    pub include_deployment_dirs: Vec<String>,
    /// Item directories to exclude, normalized.
    pub exclude_deployment_dirs: Vec<String>,
}

impl InclusionFlags {
    /// Validates the flags: tags are not empty, directories are relative and stay inside the project.
    pub fn options(&self) -> anyhow::Result<InclusionOptions> {
        for (flag, tags) in [
            ("--include-tag", &self.include_tags),
            ("--exclude-tag", &self.exclude_tags),
        ] {
            if tags.iter().any(String::is_empty) {
                return Err(usage_error(format!("{flag} must not be empty")));
            }
        }
        let normalize_all = |flag: &str, dirs: &[String]| -> anyhow::Result<Vec<String>> {
            dirs.iter().map(|d| normalize_dir(flag, d)).collect()
        };
        Ok(InclusionOptions {
            include_tags: self.include_tags.clone(),
            exclude_tags: self.exclude_tags.clone(),
            include_deployment_dirs: normalize_all("--include-deployment-dir", &self.include_deployment_dirs)?,
            exclude_deployment_dirs: normalize_all("--exclude-deployment-dir", &self.exclude_deployment_dirs)?,
        })
    }
}

fn normalize_dir(flag: &str, dir: &str) -> anyhow::Result<String> {
    let path = Path::new(dir);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir if parts.pop().is_some() => {}
            _ => {
                return Err(usage_error(format!(
                    "{flag} {dir}: the directory must be relative to the project and inside it"
                )));
            }
        }
    }
    if parts.is_empty() {
        return Err(usage_error(format!("{flag} must name a directory inside the project")));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_normalized_and_must_stay_inside() {
        let flags = InclusionFlags {
            include_deployment_dirs: vec!["./apps/web/".into(), "a/../b".into()],
            ..Default::default()
        };
        assert_eq!(flags.options().unwrap().include_deployment_dirs, ["apps/web", "b"]);
        for bad in ["/abs", "../outside", ".", "a/../.."] {
            let flags = InclusionFlags {
                exclude_deployment_dirs: vec![bad.into()],
                ..Default::default()
            };
            let err = flags.options().unwrap_err().to_string();
            assert!(err.starts_with("--exclude-deployment-dir"), "{bad}: {err}");
        }
    }
}
