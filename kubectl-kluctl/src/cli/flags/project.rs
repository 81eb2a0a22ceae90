//! Project flags: which project, which target, which args.

use super::usage_error;
use crate::cli::duration::parse_duration;
use anyhow::Context as _;
use clap::{Args, ValueHint};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// `--project-dir`, `-t`, `-T`, `-a`, `--args-from-file`, `-c`, `--timeout`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Project")]
pub struct ProjectFlags {
    /// The project directory (default: the current directory)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub project_dir: Option<PathBuf>,

    /// The target to use, by name (required when .kluctl.yaml lists targets)
    #[arg(short = 't', long, value_name = "NAME")]
    pub target: Option<String>,

    /// Rename the selected target; target.name and so the discriminator change with it
    #[arg(short = 'T', long, value_name = "NAME")]
    pub target_name_override: Option<String>,

    /// Set an arg: the value is YAML (3 is a number), a dotted name nests (a.b=1), @FILE reads the value from a file,
    /// \@ escapes it (repeatable)
    #[arg(short = 'a', long = "arg", value_name = "NAME=VALUE")]
    pub args: Vec<String>,

    /// Read args from a YAML file of name: value pairs; wins over -a (repeatable)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub args_from_file: Vec<PathBuf>,

    /// The project config file (default: .kluctl.yaml in the project directory)
    #[arg(short = 'c', long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub project_config: Option<PathBuf>,

    /// Give up on the whole command after this long
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub timeout: Duration,
}

/// The validated project selection that the engine loads.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectOptions {
    /// The project directory, absolute.
    pub project_dir: PathBuf,
    /// The selected target, if any.
    pub target: Option<String>,
    /// The name the target takes instead of its own.
    pub target_name_override: Option<String>,
    /// The command-line args (`-a`, then `--args-from-file` on top), to merge over the
    /// project's defaults and `target.args`.
    pub args: Map<String, Value>,
    /// An explicit project config file, absolute.
    pub project_config: Option<PathBuf>,
    /// The deadline of the whole command.
    pub timeout: Duration,
}

impl ProjectFlags {
    /// Validates the flags: the project directory exists, args parse, names are not empty.
    pub fn options(&self) -> anyhow::Result<ProjectOptions> {
        let dir = self.project_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        let project_dir = std::path::absolute(&dir)
            .with_context(|| format!("failed to resolve project directory {}", dir.display()))?;
        if !project_dir.is_dir() {
            anyhow::bail!(
                "failed to open project directory {}: not a directory (pass --project-dir)",
                dir.display()
            );
        }
        for (flag, value) in [
            ("--target", &self.target),
            ("--target-name-override", &self.target_name_override),
        ] {
            if value.as_deref() == Some("") {
                return Err(usage_error(format!("{flag} must not be empty")));
            }
        }
        let project_config = match &self.project_config {
            Some(path) => Some(
                std::path::absolute(path)
                    .with_context(|| format!("failed to resolve project config {}", path.display()))?,
            ),
            None => None,
        };
        let args = shared::args::external_args(&self.args, &self.args_from_file)?;
        Ok(ProjectOptions {
            project_dir,
            target: self.target.clone(),
            target_name_override: self.target_name_override.clone(),
            args,
            project_config,
            timeout: self.timeout,
        })
    }
}

impl ProjectOptions {
    /// What the engine loads: this selection plus the kube context, a discriminator override, the
    /// inclusion filters and the fixed images. The plugin refuses no vars source.
    pub fn engine_options(
        &self,
        context: Option<String>,
        discriminator: Option<String>,
        inclusion: super::InclusionOptions,
        fixed_images: Vec<shared::types::FixedImage>,
    ) -> shared::project::ProjectOptions {
        shared::project::ProjectOptions {
            project_dir: self.project_dir.clone(),
            project_config: self.project_config.clone(),
            target: self.target.clone(),
            target_name_override: self.target_name_override.clone(),
            context,
            discriminator,
            args: self.args.clone(),
            inclusion: shared::project::Inclusion {
                include_tags: inclusion.include_tags,
                exclude_tags: inclusion.exclude_tags,
                include_dirs: inclusion.include_deployment_dirs,
                exclude_dirs: inclusion.exclude_deployment_dirs,
            },
            fixed_images,
            refused_vars_sources: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_args_and_an_absolute_project_dir() {
        let dir = tempfile::tempdir().unwrap();
        let flags = ProjectFlags {
            project_dir: Some(dir.path().to_path_buf()),
            target: Some("prod".into()),
            args: vec!["replicas=3".into(), "a.b=x".into()],
            timeout: Duration::from_secs(600),
            ..Default::default()
        };
        let options = flags.options().unwrap();
        assert!(options.project_dir.is_absolute());
        assert_eq!(Value::Object(options.args), json!({"replicas": 3, "a": {"b": "x"}}));
        assert_eq!(options.target.as_deref(), Some("prod"));
    }

    #[test]
    fn a_missing_project_dir_is_named() {
        let flags = ProjectFlags {
            project_dir: Some("/nonexistent/project".into()),
            ..Default::default()
        };
        let err = flags.options().unwrap_err().to_string();
        assert_eq!(
            err,
            "failed to open project directory /nonexistent/project: not a directory (pass --project-dir)"
        );
    }
}
