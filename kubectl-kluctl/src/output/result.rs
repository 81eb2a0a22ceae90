//! The engine's results as reports: a `CommandResult` (diff, deploy, prune, delete) or a
//! `ValidateResult` (validate) printed with `Console::emit`, and the exit code each one means.
//!
//! Input: `shared::result` types; output: text (Kluctl's layout, rendered by `shared::result`)
//! or the structured document, and an [`Exit`].

use super::format::{Report, TextStyle};
use crate::exit::Exit;
use serde::{Serialize, Serializer};
use shared::result::{CommandResult, TextOptions, ValidateResult, render_text, render_validate_text};
use std::io::{self, Write};

/// A `CommandResult` with the text options of the command line.
#[derive(Clone, Copy, Debug)]
pub struct ResultReport<'a> {
    result: &'a CommandResult,
    short: bool,
    names_only: bool,
}

impl<'a> ResultReport<'a> {
    /// The full text form (every changed object with its diff).
    pub fn new(result: &'a CommandResult) -> Self {
        ResultReport {
            result,
            short: false,
            names_only: false,
        }
    }

    /// `--short-output`: the lists without the diffs.
    pub fn short(mut self, short: bool) -> Self {
        self.short = short;
        self
    }

    /// `--names-only`: one line per object.
    pub fn names_only(mut self, names_only: bool) -> Self {
        self.names_only = names_only;
        self
    }
}

impl Serialize for ResultReport<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.result.serialize(serializer)
    }
}

impl Report for ResultReport<'_> {
    const KIND: &'static str = "CommandResult";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        let options = TextOptions {
            short: self.short,
            names_only: self.names_only,
            color: style.paint.enabled(),
            width: style.width,
        };
        out.write_all(render_text(self.result, &options).as_bytes())
    }
}

/// A `ValidateResult`.
#[derive(Clone, Copy, Debug)]
pub struct ValidateReport<'a>(pub &'a ValidateResult);

impl Serialize for ValidateReport<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Report for ValidateReport<'_> {
    const KIND: &'static str = "ValidateResult";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        let options = TextOptions {
            color: style.paint.enabled(),
            width: style.width,
            ..TextOptions::default()
        };
        out.write_all(render_validate_text(self.0, &options).as_bytes())
    }
}

/// The outcome of deploy, prune and delete: success, or "command failed" (exit 1) when any
/// object failed; the errors themselves are in the printed result.
pub fn result_exit(result: &CommandResult) -> anyhow::Result<Exit> {
    match result.errors.len() {
        0 => Ok(Exit::Success),
        n => Err(anyhow::anyhow!("command failed with {n} error{}", plural(n))),
    }
}

/// The outcome of diff, as `kubectl diff`: 0 no changes, 1 changes, 2 failure.
pub fn diff_exit(result: &CommandResult) -> anyhow::Result<Exit> {
    if result.has_errors() {
        return Err(Exit::DiffFailure.with_error(result_exit(result).unwrap_err()));
    }
    Ok(if result.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

/// The outcome of validate: success when every object is ready, else exit 1.
pub fn validate_exit(result: &ValidateResult) -> anyhow::Result<Exit> {
    if result.ready {
        return Ok(Exit::Success);
    }
    let n = result.errors.len();
    Err(anyhow::anyhow!("validation failed with {n} error{}", plural(n)))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{OutputFormat, Paint, write_report};
    use serde_json::{Value, json};
    use shared::objects::ObjectRef;
    use shared::result::{CommandInfo, ResultBuilder, ResultOptions};

    fn result(new: bool, error: bool) -> CommandResult {
        let builder = ResultBuilder::new(CommandInfo::new("diff"), ResultOptions::default());
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "prod"}});
        let r = ObjectRef::from_object(&object).unwrap();
        if new {
            builder.mark_new(&r);
        }
        if error {
            builder.add_error(Some(&r), "admission webhook denied the request");
        }
        builder.finish()
    }

    #[test]
    fn exit_codes_follow_the_documented_rules() {
        assert_eq!(diff_exit(&result(false, false)).unwrap(), Exit::Success);
        assert_eq!(diff_exit(&result(true, false)).unwrap(), Exit::Changes);
        let failed = diff_exit(&result(true, true)).unwrap_err();
        assert_eq!(crate::exit::exit_for_error(&failed), Exit::DiffFailure);
        assert_eq!(failed.to_string(), "command failed with 1 error");
        assert_eq!(result_exit(&result(true, false)).unwrap(), Exit::Success);
        let failed = result_exit(&result(false, true)).unwrap_err();
        assert_eq!(crate::exit::exit_for_error(&failed), Exit::Failure);
    }

    #[test]
    fn results_print_as_kluctl_text_or_as_their_own_document() {
        let result = result(true, false);
        let mut text = Vec::new();
        let style = TextStyle {
            paint: Paint::plain(),
            width: 100,
        };
        write_report(&mut text, OutputFormat::Text, &ResultReport::new(&result), style).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("New objects:") && text.contains("prod/ConfigMap/cfg"),
            "{text}"
        );

        let mut json_out = Vec::new();
        write_report(&mut json_out, OutputFormat::Json, &ResultReport::new(&result), style).unwrap();
        let document: Value = serde_json::from_slice(&json_out).unwrap();
        assert_eq!(document["apiVersion"], shared::result::RESULT_API_VERSION);
        assert_eq!(document["kind"], "CommandResult");
        assert_eq!(document["objects"][0]["new"], true);
    }
}
