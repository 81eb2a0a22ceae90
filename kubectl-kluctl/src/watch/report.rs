//! Snapshots of command results, for `diff --watch`.
//!
//! Input: a [`CommandResult`] and the text options of the command; output: a [`Snapshot`] in
//! the [`Layout::Report`] layout whose full text is what the command prints once, and whose
//! entries are the findings compared between runs: one per new, changed or orphan object
//! (keyed by its ref, its text the status and, unless short, each changed field with its
//! diff), and one per error and warning.

use super::session::{Layout, Snapshot};
use shared::result::{CommandResult, ResultObject, TextOptions, render_text};
use std::collections::BTreeMap;
use std::fmt::Write as _;

impl Snapshot {
    /// A snapshot of a diff-like result (see the module docs). `options.color` applies to the
    /// full text only: entries stay plain so that comparing runs compares content.
    pub fn result(result: &CommandResult, options: &TextOptions) -> Snapshot {
        let mut entries = BTreeMap::new();
        let detailed = !options.short && !options.names_only;
        for object in &result.objects {
            if let Some(text) = object_entry(object, detailed) {
                entries.insert(object.object_ref.to_string(), text);
            }
        }
        for (kind, messages) in [("error", &result.errors), ("warning", &result.warnings)] {
            for message in messages {
                entries.insert(format!("{kind}: {message}"), "reported".to_string());
            }
        }
        let s = &result.summary;
        Snapshot {
            full: render_text(result, options),
            entries,
            summary: format!(
                "{} new, {} changed, {} orphan objects, {} errors, {} warnings",
                s.new_objects, s.changed_objects, s.orphan_objects, s.errors, s.warnings
            ),
            layout: Layout::Report,
        }
    }
}

/// The status words of an object that differs from the cluster, and its changes; `None` when
/// it does not differ.
fn object_entry(object: &ResultObject, detailed: bool) -> Option<String> {
    let changed = object.changed || !object.changes.is_empty();
    let statuses: Vec<&str> = [
        (object.new, "new"),
        (changed, "changed"),
        (object.orphan, "orphan"),
        (object.deleted, "deleted"),
    ]
    .into_iter()
    .filter_map(|(set, word)| set.then_some(word))
    .collect();
    if statuses.is_empty() {
        return None;
    }
    let mut text = statuses.join(", ");
    text.push('\n');
    if detailed {
        for change in &object.changes {
            let others: Vec<&str> = change
                .owners
                .iter()
                .map(String::as_str)
                .filter(|m| *m != "kluctl")
                .collect();
            if others.is_empty() {
                let _ = writeln!(text, "{}", change.json_path);
            } else {
                let _ = writeln!(text, "{} (managed by {})", change.json_path, others.join(", "));
            }
            for line in change.unified_diff.lines() {
                let _ = writeln!(text, "  {line}");
            }
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Paint;
    use crate::watch::{Delta, render_delta};
    use serde_json::{Value, json};
    use shared::diff::{Normalizer, diff_object};
    use shared::objects::ObjectRef;
    use shared::result::{CommandInfo, ResultBuilder, ResultOptions};

    fn config_map(greeting: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hello", "namespace": "dev"},
            "data": {"greeting": greeting}})
    }

    /// A diff result: the ConfigMap differs from the cluster's "Hello" unless `greeting` is that.
    fn diff_result(greeting: &str, error: Option<&str>) -> CommandResult {
        let builder = ResultBuilder::new(CommandInfo::new("diff"), ResultOptions::default());
        let live = config_map("Hello");
        let rendered = config_map(greeting);
        let reference = ObjectRef::from_object(&live).unwrap();
        let changes = diff_object(&Normalizer::default(), &live, &rendered, &rendered).unwrap();
        if !changes.is_empty() {
            builder.add_changes(&reference, changes);
        }
        if let Some(message) = error {
            builder.add_error(None, message);
        }
        builder.finish()
    }

    #[test]
    fn a_diff_shows_what_starts_and_stops_differing_from_the_cluster() {
        let clean = Snapshot::result(&diff_result("Hello", None), &TextOptions::default());
        assert!(clean.entries.is_empty(), "{:?}", clean.entries);
        assert_eq!(clean.full, "");
        assert!(clean.summary.starts_with("0 new, 0 changed"), "{}", clean.summary);

        let changed = Snapshot::result(&diff_result("Hi", None), &TextOptions::default());
        assert_eq!(
            changed.entries["dev/ConfigMap/hello"],
            "changed\ndata.greeting\n  -Hello\n  +Hi\n"
        );
        assert!(
            changed.full.contains("Diff for object dev/ConfigMap/hello"),
            "{}",
            changed.full
        );
        let text = render_delta(&clean, &changed, &Delta::between(&clean, &changed), Paint::plain());
        assert_eq!(
            text,
            "+ dev/ConfigMap/hello\n  changed\n  data.greeting\n    -Hello\n    +Hi\n"
        );

        let other = Snapshot::result(&diff_result("Hey", None), &TextOptions::default());
        let text = render_delta(&changed, &other, &Delta::between(&changed, &other), Paint::plain());
        assert!(text.starts_with("~ dev/ConfigMap/hello\n  changed\n"), "{text}");
        assert!(text.contains("    +Hey\n") && !text.contains("+Hi"), "{text}");

        let text = render_delta(&other, &clean, &Delta::between(&other, &clean), Paint::plain());
        assert_eq!(text, "- dev/ConfigMap/hello: no longer changed\n");
    }

    #[test]
    fn errors_come_and_go_and_short_output_drops_the_changes() {
        let failing = Snapshot::result(
            &diff_result("Hello", Some("failed to apply: boom")),
            &TextOptions::default(),
        );
        let fine = Snapshot::result(&diff_result("Hello", None), &TextOptions::default());
        let text = render_delta(&failing, &fine, &Delta::between(&failing, &fine), Paint::plain());
        assert_eq!(text, "- error: failed to apply: boom: no longer reported\n");

        let short = TextOptions {
            short: true,
            ..Default::default()
        };
        let changed = Snapshot::result(&diff_result("Hi", None), &short);
        assert_eq!(changed.entries["dev/ConfigMap/hello"], "changed\n");
    }
}
