//! [`ResultSummary`]: the bounded, secret-free digest of a result that the agent writes into a
//! `KluctlDeployment`'s status (full diffs and object lists never go there).

use super::{CommandResult, Initiator, ResultCounts, ResultMessage};
use crate::diff::Obfuscator;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many errors and this many warnings are kept in a summary.
pub const MAX_SUMMARY_MESSAGES: usize = 5;

/// Longer messages are cut to this many characters (plus `…`).
pub const MAX_SUMMARY_MESSAGE_CHARS: usize = 256;

/// Counts plus the first few messages of a result; its size is bounded whatever the result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultSummary {
    /// The result's id.
    pub id: String,
    /// The verb.
    pub command: String,
    /// Who ran it.
    pub initiator: Initiator,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// Whether it was a dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// The counts of the result.
    #[serde(flatten)]
    pub counts: ResultCounts,
    /// The first errors (at most [`MAX_SUMMARY_MESSAGES`]), each cut to
    /// [`MAX_SUMMARY_MESSAGE_CHARS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_messages: Vec<ResultMessage>,
    /// The first warnings, bounded the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning_messages: Vec<ResultMessage>,
}

impl ResultSummary {
    /// Summarizes `result`; messages are scrubbed with `obfuscator` (a no-op on a result that
    /// was already obfuscated with it) so the summary never holds Secret values.
    pub fn of(result: &CommandResult, obfuscator: &Obfuscator) -> Self {
        let bounded = |messages: &[ResultMessage]| {
            messages
                .iter()
                .take(MAX_SUMMARY_MESSAGES)
                .map(|m| ResultMessage {
                    object_ref: m.object_ref.clone(),
                    message: truncate(&obfuscator.scrub(&m.message)),
                })
                .collect()
        };
        ResultSummary {
            id: result.id.clone(),
            command: result.command.command.clone(),
            initiator: result.command.initiator,
            start_time: result.command.start_time,
            end_time: result.command.end_time,
            dry_run: result.command.dry_run,
            counts: result.summary.clone(),
            error_messages: bounded(&result.errors),
            warning_messages: bounded(&result.warnings),
        }
    }
}

fn truncate(message: &str) -> String {
    if message.chars().count() <= MAX_SUMMARY_MESSAGE_CHARS {
        return message.to_string();
    }
    let mut cut: String = message.chars().take(MAX_SUMMARY_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CommandInfo, ResultBuilder, ResultOptions};

    #[test]
    fn size_is_bounded_whatever_the_result() {
        let builder = ResultBuilder::new(CommandInfo::new("deploy"), ResultOptions::default());
        for i in 0..500 {
            builder.add_error(None, format!("error {i}: {}", "x".repeat(10_000)));
            builder.add_warning(None, format!("warning {i}"));
        }
        let (result, summary) = builder.finish_with_summary();
        assert_eq!(summary.counts.errors, 500);
        assert_eq!(summary.error_messages.len(), MAX_SUMMARY_MESSAGES);
        assert_eq!(summary.warning_messages.len(), MAX_SUMMARY_MESSAGES);
        assert!(
            summary
                .error_messages
                .iter()
                .all(|m| m.message.chars().count() == MAX_SUMMARY_MESSAGE_CHARS + 1)
        );
        let json = serde_json::to_string(&summary).unwrap();
        assert!(json.len() < 4096, "{}", json.len());
        assert!(json.contains("\"errors\":500"), "{json}");
        assert_eq!(summary.id, result.id);
        let back: ResultSummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summary);
    }
}
