//! `helm-update`: newer chart versions allowed by each release's `updateConstraints`, and with
//! `--upgrade` the new `chartVersion` written into `helm-chart.yaml` (only that value changes:
//! comments, quoting, order and templates elsewhere in the file stay as they were), followed by a
//! pull of the new versions.
//!
//! Input: a project directory and a [`ChartClient`]; output: an [`UpdateReport`].

use super::error::redact_url;
use super::pull::{PullOptions, PullReport, check_project, pull_project, read_chart_config, scan_project};
use super::version::{Constraint, parse_version};
use super::{ChartClient, ChartRef, HelmError};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::path::Path;

/// Asked before each upgrade (`helm-update --upgrade --interactive`); `false` skips that release.
pub type ConfirmFn = std::sync::Arc<dyn Fn(&ChartUpdate) -> bool + Send + Sync>;

/// How `helm-update` behaves.
#[derive(Clone, Default)]
pub struct UpdateOptions {
    /// Write the newest allowed version into `helm-chart.yaml` and pull it.
    pub upgrade: bool,
    /// Asked before each upgrade; without it every available upgrade is applied.
    pub confirm: Option<ConfirmFn>,
}

impl std::fmt::Debug for UpdateOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateOptions")
            .field("upgrade", &self.upgrade)
            .field("confirm", &self.confirm.is_some())
            .finish()
    }
}

/// A release with newer versions available.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartUpdate {
    /// The `helm-chart.yaml`, project-relative.
    pub file: String,
    /// Chart name.
    pub chart: String,
    /// Repository URL (no credentials).
    pub repo: String,
    /// `chartVersion` before the update.
    pub current: String,
    /// The newest allowed version.
    pub latest: String,
    /// Every allowed version newer than `current`, oldest first.
    pub newer: Vec<String>,
}

/// What `helm-update` found and did.
#[derive(Debug, Default)]
pub struct UpdateReport {
    /// Releases with newer versions (upgraded or not).
    pub available: Vec<ChartUpdate>,
    /// Releases whose `helm-chart.yaml` was rewritten (`--upgrade`).
    pub upgraded: Vec<ChartUpdate>,
    /// Releases with newer versions that have `skipUpdate: true`.
    pub skipped: Vec<ChartUpdate>,
    /// Upgrades the confirmation callback declined.
    pub declined: Vec<ChartUpdate>,
    /// Releases already at the newest allowed version (their files).
    pub up_to_date: Vec<String>,
    /// The pull after upgrading.
    pub pull: Option<PullReport>,
    /// Failures; other releases were still checked.
    pub errors: Vec<HelmError>,
}

impl UpdateReport {
    /// True when nothing failed (including the pull after upgrading).
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.pull.as_ref().is_none_or(PullReport::is_success)
    }
}

/// Checks (and with `upgrade`, applies) chart updates for the project at `project_dir`.
pub async fn update_project(
    project_dir: &Path,
    client: &ChartClient,
    options: &UpdateOptions,
) -> Result<UpdateReport, HelmError> {
    check_project(project_dir)?;
    let releases = scan_project(project_dir)?;
    let mut report = UpdateReport::default();

    let mut charts: BTreeMap<ChartRef, Option<String>> = BTreeMap::new();
    for release in &releases {
        if let Some(chart) = &release.chart {
            charts
                .entry(chart.clone())
                .or_insert_with(|| release.config.credentials_id.clone());
        }
    }
    // Built in a loop, not a `.map` closure, so the future stays `Send` (see `pull_project`).
    let mut queries = Vec::with_capacity(charts.len());
    for (chart, credentials_id) in charts {
        queries.push(async move {
            let versions = client.list_versions(&chart, credentials_id.as_deref()).await;
            (chart, versions)
        });
    }
    let listed: BTreeMap<ChartRef, Result<Vec<String>, HelmError>> =
        futures::stream::iter(queries).buffer_unordered(4).collect().await;
    for result in listed.values() {
        if let Err(err) = result {
            report.errors.push(err.clone());
        }
    }

    let mut upgraded_any = false;
    for release in &releases {
        let Some(chart) = &release.chart else { continue };
        let Some(Ok(versions)) = listed.get(chart) else {
            continue;
        };
        let current = release.config.chart_version.clone().unwrap_or_default();
        let constraint = match &release.config.update_constraints {
            Some(text) => match Constraint::parse(text) {
                Ok(c) => Some(c),
                Err(message) => {
                    report.errors.push(HelmError::InvalidConstraint {
                        constraint: text.clone(),
                        file: release.display.clone(),
                        message,
                    });
                    continue;
                }
            },
            None => None,
        };
        let current_semver = parse_version(&current);
        let mut newer: Vec<(semver::Version, String)> = versions
            .iter()
            .filter_map(|v| parse_version(v).map(|parsed| (parsed, v.clone())))
            .filter(|(parsed, _)| match &constraint {
                Some(c) => c.matches(parsed),
                None => parsed.pre.is_empty(),
            })
            .filter(|(parsed, _)| current_semver.as_ref().is_none_or(|cur| parsed > cur))
            .collect();
        newer.sort();
        newer.dedup_by(|a, b| a.0 == b.0);
        let Some((_, latest)) = newer.last().cloned() else {
            report.up_to_date.push(release.display.clone());
            continue;
        };
        let update = ChartUpdate {
            file: release.display.clone(),
            chart: chart.chart.clone(),
            repo: redact_url(&chart.repo),
            current: current.clone(),
            latest: latest.clone(),
            newer: newer.into_iter().map(|(_, v)| v).collect(),
        };
        report.available.push(update.clone());
        if release.config.skip_update {
            report.skipped.push(update);
            continue;
        }
        if !options.upgrade {
            continue;
        }
        if let Some(confirm) = &options.confirm
            && !confirm(&update)
        {
            report.declined.push(update);
            continue;
        }
        match rewrite_file(&release.path, &release.display, &latest) {
            Ok(()) => {
                upgraded_any = true;
                report.upgraded.push(update);
            }
            Err(err) => report.errors.push(err),
        }
    }

    if upgraded_any {
        let pull = pull_project(
            project_dir,
            client,
            &PullOptions {
                force: false,
                ..PullOptions::default()
            },
        )
        .await?;
        report.pull = Some(pull);
    }
    Ok(report)
}

fn rewrite_file(path: &Path, display: &str, version: &str) -> Result<(), HelmError> {
    let fail = |message: String| HelmError::UpdateChartConfig {
        file: display.to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let before = read_chart_config(path, display, true)?;
    let updated = rewrite_chart_version(&text, version).map_err(&fail)?;
    let after = crate::yaml::parse_typed::<crate::types::helm_chart::HelmChartFile>(&updated, display)
        .map_err(|e| fail(format!("the rewritten file does not parse: {e}")))?
        .helm_chart;
    let mut expected = before;
    expected.chart_version = Some(version.to_string());
    if after != expected {
        return Err(fail(
            "rewriting chartVersion would change other fields; edit the file by hand".to_string(),
        ));
    }
    // Write next to the file and rename, so an interrupted write never leaves half a file.
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(e.to_string()))?;
    std::io::Write::write_all(&mut temp, updated.as_bytes()).map_err(|e| fail(e.to_string()))?;
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(temp.path(), metadata.permissions());
    }
    temp.persist(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

/// Replaces the value of the one `chartVersion:` line, keeping its quoting, comment and spacing.
pub(crate) fn rewrite_chart_version(text: &str, version: &str) -> Result<String, String> {
    let pattern = regex::Regex::new(
        r#"(?m)^(?P<head>[ \t]*chartVersion[ \t]*:[ \t]*)(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s#]+)(?P<tail>[^\n]*)$"#,
    )
    .map_err(|e| e.to_string())?;
    let matches: Vec<_> = pattern.captures_iter(text).collect();
    let caps = match matches.as_slice() {
        [one] => one,
        [] => return Err("no 'chartVersion: <version>' line found (flow-style YAML is not rewritten)".to_string()),
        _ => return Err("more than one chartVersion line found".to_string()),
    };
    let value = caps.name("value").map(|m| m.as_str()).unwrap_or_default();
    let quoted = match value.chars().next() {
        Some('"') => format!("\"{version}\""),
        Some('\'') => format!("'{version}'"),
        _ => version.to_string(),
    };
    let range = caps.name("value").map(|m| m.range()).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + version.len());
    out.push_str(&text[..range.start]);
    out.push_str(&quoted);
    out.push_str(&text[range.end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_version_value() {
        let text = "# the cache\nhelmChart:\n  repo: https://charts.bitnami.com/bitnami\n  chartName: redis\n  \
                    chartVersion: \"17.4.0\"   # pinned\n  releaseName: cart\n  namespace: ms-{{ target.name }}\n";
        let out = rewrite_chart_version(text, "17.4.3").unwrap();
        assert_eq!(out, text.replace("\"17.4.0\"", "\"17.4.3\""));
        let plain = rewrite_chart_version("helmChart:\n  chartVersion: 1.0.0\n", "1.1.0").unwrap();
        assert_eq!(plain, "helmChart:\n  chartVersion: 1.1.0\n");
        assert!(rewrite_chart_version("helmChart: {chartVersion: 1.0.0}\n", "2").is_err());
    }
}
