//! `kubectl kluctl list-targets`: the targets of `.kluctl.yaml`, rendered
//! (`shared::project::list_targets`). Output: a [`TargetList`] report (`kind: TargetList`).

use crate::cli::flags::{OutputFlags, ProjectFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, Report, TextStyle};
use serde::Serialize;
use shared::project::Target;
use std::io::{self, Write};

const EXAMPLES: &str = "\
Examples:
  # The targets as YAML (name, context, args, discriminator, images)
  kubectl kluctl list-targets

  # Only the names, one per line (e.g. for scripts)
  kubectl kluctl list-targets --only-names

  # As JSON
  kubectl kluctl list-targets --project-dir ./deploy -o json";

/// Flags of `list-targets`.
#[derive(clap::Args, Debug)]
#[command(about = "List the targets of the project", after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    project: ProjectFlags,
    /// Print only the target names
    #[arg(long, help_heading = "Output")]
    only_names: bool,
    #[command(flatten)]
    output: OutputFlags,
}

/// The targets of a project.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum TargetList {
    /// Full targets, rendered with their args and the declared defaults.
    Targets {
        /// The targets, sorted by name.
        targets: Vec<Target>,
    },
    /// `--only-names`.
    Names {
        /// The names, sorted.
        names: Vec<String>,
    },
}

impl Report for TargetList {
    const KIND: &'static str = "TargetList";

    fn write_text(&self, out: &mut dyn Write, _style: TextStyle) -> io::Result<()> {
        match self {
            TargetList::Targets { targets } => {
                let value = serde_json::to_value(targets).map_err(io::Error::other)?;
                out.write_all(shared::yaml::to_yaml_string(&value).as_bytes())
            }
            TargetList::Names { names } => {
                for name in names {
                    writeln!(out, "{name}")?;
                }
                Ok(())
            }
        }
    }
}

impl Args {
    /// Lists the targets; targets that fail to render are reported on stderr and left out.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let project = self.project.options()?;
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let (targets, warnings) =
            shared::project::list_targets(&project.project_dir, project.project_config.as_deref())?;
        for warning in &warnings {
            ctx.console.warn(warning)?;
        }
        let report = if self.only_names {
            TargetList::Names {
                names: targets.into_iter().map(|t| t.name).collect(),
            }
        } else {
            TargetList::Targets { targets }
        };
        ctx.console.emit(&outputs, &report)?;
        Ok(Exit::Success)
    }
}
