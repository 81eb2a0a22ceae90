//! The reports of the `gitops` commands: the table of `list`, the object of `get`, and the
//! outcome of `reconcile` and `resume` (Ready, revision, the bounded summary of the last run).

use crate::output::{Report, TextStyle};
use serde::Serialize;
use shared::crd::conditions::{self, READY};
use shared::crd::gitops::{StatusRow, format_table};
use shared::crd::{KluctlDeployment, RunSummary};
use std::io::{self, Write};

/// `gitops list`: one row per KluctlDeployment.
#[derive(Clone, Debug, Serialize)]
pub struct ListReport {
    /// The rows.
    pub items: Vec<StatusRow>,
    /// Whether rows of several namespaces are shown.
    #[serde(skip)]
    pub all_namespaces: bool,
}

impl Report for ListReport {
    const KIND: &'static str = "KluctlDeploymentList";

    fn write_text(&self, out: &mut dyn Write, _style: TextStyle) -> io::Result<()> {
        if self.items.is_empty() {
            return writeln!(out, "No KluctlDeployments found.");
        }
        out.write_all(format_table(&self.items, self.all_namespaces).as_bytes())
    }
}

/// `gitops get`: the row as text, the whole object as YAML or JSON.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct GetReport {
    /// The object.
    pub object: KluctlDeployment,
    /// Its row.
    #[serde(skip)]
    pub row: StatusRow,
}

impl Report for GetReport {
    const KIND: &'static str = "KluctlDeployment";

    fn write_text(&self, out: &mut dyn Write, _style: TextStyle) -> io::Result<()> {
        out.write_all(format_table(std::slice::from_ref(&self.row), false).as_bytes())?;
        if let Some(summary) = self.object.status.as_ref().and_then(|s| s.last_result.as_ref()) {
            writeln!(out)?;
            write_summary(out, summary)?;
        }
        Ok(())
    }
}

/// The outcome of a reconcile the agent handled.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeReport {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Ready status: True, False or Unknown.
    pub ready: String,
    /// Ready reason.
    pub reason: String,
    /// Ready message.
    pub message: String,
    /// Revision deployed last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Revision attempted last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The summary of the last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_result: Option<RunSummary>,
}

impl OutcomeReport {
    /// The outcome as the object's status tells it.
    pub fn of(kd: &KluctlDeployment) -> Self {
        let status = kd.status.clone().unwrap_or_default();
        let ready = conditions::find(&status.conditions, READY);
        OutcomeReport {
            namespace: kd.metadata.namespace.clone().unwrap_or_default(),
            name: kd.metadata.name.clone().unwrap_or_default(),
            ready: ready
                .map(|c| c.status.as_str().to_string())
                .unwrap_or_else(|| "Unknown".into()),
            reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
            message: ready.map(|c| c.message.clone()).unwrap_or_default(),
            last_applied_revision: status.last_applied_revision,
            last_attempted_revision: status.last_attempted_revision,
            last_result: status.last_result,
        }
    }

    /// Whether the reconcile failed (Ready=False).
    pub fn failed(&self) -> bool {
        self.ready == "False"
    }
}

impl Report for OutcomeReport {
    const KIND: &'static str = "ReconcileOutcome";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        let mark = match self.ready.as_str() {
            "True" => style.paint.added("✔"),
            "False" => style.paint.error("✗"),
            _ => style.paint.warning("…"),
        };
        writeln!(
            out,
            "{mark} KluctlDeployment {}/{}: Ready={} ({}) {}",
            self.namespace, self.name, self.ready, self.reason, self.message
        )?;
        if let Some(summary) = &self.last_result {
            write_summary(out, summary)?;
        }
        Ok(())
    }
}

fn write_summary(out: &mut dyn Write, s: &RunSummary) -> io::Result<()> {
    writeln!(
        out,
        "last run ({}{}): {} rendered, {} applied, {} new, {} changed, {} orphan, {} deleted, {} errors, {} warnings",
        s.command,
        if s.dry_run { ", dry run" } else { "" },
        s.rendered_objects,
        s.applied_objects,
        s.new_objects,
        s.changed_objects,
        s.orphan_objects,
        s.deleted_objects,
        s.errors,
        s.warnings
    )?;
    for message in &s.error_messages {
        writeln!(out, "  error: {message}")?;
    }
    for message in &s.warning_messages {
        writeln!(out, "  warning: {message}")?;
    }
    Ok(())
}
