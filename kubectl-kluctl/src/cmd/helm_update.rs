//! `kubectl kluctl helm-update`: lists newer chart versions allowed by each release's
//! `updateConstraints` and, with `--upgrade`, writes them into `helm-chart.yaml` and pulls them
//! (`shared::helm::update_project`). Output: a `HelmUpdateResult` report.

use super::helm_pull::{HelmCredentialArgs, ProjectDirFlag, RegistryCredentialArgs, chart_client, progress_callback};
use crate::cli::flags::{OutputFlags, YesFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, Report, TextStyle};
use serde::Serialize;
use shared::helm::{ChartUpdate, UpdateOptions, UpdateReport, update_project};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

const LONG_ABOUT: &str = "\
Checks every helm-chart.yaml of the project (read without templating) for newer chart versions.
Only versions allowed by 'updateConstraints' (semver, e.g. ~1.2.0 or >=1.0 <2.0) are considered,
never pre-releases unless the constraint names one, and releases with 'skipUpdate: true' are
only listed. With --upgrade, the newest allowed version is written into chartVersion (nothing
else in the file changes) and the new versions are pulled into .helm-charts.";

const EXAMPLES: &str = "\
Examples:
  # List available updates
  kubectl kluctl helm-update

  # Upgrade every release to the newest allowed version and pull it
  kubectl kluctl helm-update --upgrade

  # Ask before each upgrade
  kubectl kluctl helm-update --upgrade --interactive";

/// Flags of `helm-update`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Find newer Helm chart versions and optionally upgrade to them",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    project: ProjectDirFlag,
    /// Write the newest allowed versions into helm-chart.yaml and pull them
    #[arg(long, help_heading = "Misc")]
    upgrade: bool,
    /// Ask for every chart whether it should be upgraded (with --upgrade)
    #[arg(short = 'i', long, help_heading = "Misc", requires = "upgrade")]
    interactive: bool,
    #[command(flatten)]
    yes: YesFlags,
    #[command(flatten)]
    helm: HelmCredentialArgs,
    #[command(flatten)]
    registry: RegistryCredentialArgs,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Checks for updates, upgrades when asked, and prints the report.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let project_dir = self.project.dir()?;
        let mut client = chart_client(&self.helm, &self.registry, &ctx.env)?;
        let progress = self
            .upgrade
            .then(|| Arc::new(Mutex::new(ctx.console.progress("Pulling upgraded Helm charts", None))));
        if let Some(progress) = &progress {
            client = client.with_progress(progress_callback(progress.clone()));
        }

        let mut options = UpdateOptions {
            upgrade: self.upgrade,
            ..Default::default()
        };
        if self.interactive && !self.yes.yes {
            // Decide first (prompts need the terminal), then upgrade what was accepted.
            let listed = update_project(&project_dir, &client, &UpdateOptions::default()).await?;
            let mut accepted = Vec::new();
            for update in listed.available.iter().filter(|u| !listed.skipped.contains(u)) {
                let question = format!(
                    "{}: upgrade chart {} from {} to {}?",
                    update.file, update.chart, update.current, update.latest
                );
                if ctx.console.confirm("upgrade the chart", &question).await? {
                    accepted.push(update.file.clone());
                }
            }
            options.confirm = Some(Arc::new(move |u: &ChartUpdate| accepted.contains(&u.file)));
        }
        let report = update_project(&project_dir, &client, &options).await;
        drop(client);
        if let Some(progress) = progress
            && let Ok(progress) = Arc::try_unwrap(progress).map(|m| m.into_inner())
        {
            let progress = progress.unwrap_or_else(|poisoned| poisoned.into_inner());
            progress.finish(match &report {
                Ok(r) if r.is_success() => "done",
                _ => "failed",
            });
        }
        let report = report?;
        ctx.console.emit(&outputs, &HelmUpdateResult::from(&report))?;
        let pull_errors = report.pull.iter().flat_map(|p| &p.errors);
        for error in report.errors.iter().chain(pull_errors) {
            ctx.console.error(&anyhow::anyhow!("{error}"))?;
        }
        Ok(if report.is_success() {
            Exit::Success
        } else {
            Exit::Failure
        })
    }
}

/// One release with newer versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEntry {
    /// The `helm-chart.yaml`.
    pub file: String,
    /// Chart name.
    pub chart: String,
    /// Repository URL.
    pub repo: String,
    /// The version in the file (before an upgrade).
    pub current: String,
    /// The newest allowed version.
    pub latest: String,
    /// What happened: `available`, `upgraded`, `skipped` (skipUpdate) or `declined`.
    pub status: String,
}

/// What `helm-update` reports (`kind: HelmUpdateResult`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmUpdateResult {
    /// Releases with newer versions.
    pub updates: Vec<UpdateEntry>,
    /// Releases already at the newest allowed version.
    pub up_to_date: Vec<String>,
    /// Failures (including the pull after upgrading).
    pub errors: Vec<String>,
}

impl From<&UpdateReport> for HelmUpdateResult {
    fn from(report: &UpdateReport) -> Self {
        let status = |u: &ChartUpdate| {
            if report.upgraded.contains(u) {
                "upgraded"
            } else if report.skipped.contains(u) {
                "skipped"
            } else if report.declined.contains(u) {
                "declined"
            } else {
                "available"
            }
        };
        HelmUpdateResult {
            updates: report
                .available
                .iter()
                .map(|u| UpdateEntry {
                    file: u.file.clone(),
                    chart: u.chart.clone(),
                    repo: u.repo.clone(),
                    current: u.current.clone(),
                    latest: u.latest.clone(),
                    status: status(u).to_string(),
                })
                .collect(),
            up_to_date: report.up_to_date.clone(),
            errors: report
                .errors
                .iter()
                .chain(report.pull.iter().flat_map(|p| &p.errors))
                .map(ToString::to_string)
                .collect(),
        }
    }
}

impl Report for HelmUpdateResult {
    const KIND: &'static str = "HelmUpdateResult";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        for u in &self.updates {
            let line = format!("{}: chart {} {} -> {}", u.file, u.chart, u.current, u.latest);
            match u.status.as_str() {
                "upgraded" => writeln!(out, "{} {line}", style.paint.added("upgraded"))?,
                "skipped" => writeln!(out, "{} {line} (skipUpdate)", style.paint.dim("skipped"))?,
                "declined" => writeln!(out, "{} {line}", style.paint.dim("declined"))?,
                _ => writeln!(out, "{} {line}", style.paint.changed("available"))?,
            }
        }
        if self.updates.is_empty() && self.errors.is_empty() {
            writeln!(out, "All Helm charts are up to date.")?;
        }
        Ok(())
    }
}
