//! The text form of results, in Kluctl's order and layout (`cmd/kluctl/commands/command_result.go`):
//! New objects, Changed objects (with a `Path | Diff` table per object), Deleted objects,
//! Applied hooks, Orphan objects, Warnings, Errors; each section only when it has entries.
//! Refs print as `ns/Kind/name` or `Kind/name`.

use super::table::Table;
use super::{CommandResult, ResultMessage, ResultObject, ValidateResult};
use anstyle::{AnsiColor, Style};
use std::fmt::Write as _;

/// How to print a result; the caller decides colour (TTY and `NO_COLOR`) and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextOptions {
    /// `--short-output`: the lists without the per-object diffs.
    pub short: bool,
    /// `--names-only`: one `<status> <ref>` line per object (plus warnings and errors), for
    /// change tickets and scripts.
    pub names_only: bool,
    /// ANSI colours.
    pub color: bool,
    /// The terminal width; tables never get wider.
    pub width: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            short: false,
            names_only: false,
            color: false,
            width: 120,
        }
    }
}

const PATH_COLUMN_WIDTH: usize = 60;

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn header(&self, out: &mut String, title: &str) {
        out.push('\n');
        out.push_str(&self.paint(Style::new().bold(), title));
        out.push('\n');
    }
}

fn diff_line_style(line: &str) -> Option<Style> {
    let color = if line.starts_with("@@") {
        AnsiColor::Cyan
    } else if line.starts_with('+') {
        AnsiColor::Green
    } else if line.starts_with('-') {
        AnsiColor::Red
    } else {
        return None;
    };
    Some(Style::new().fg_color(Some(color.into())))
}

/// The sections of a result, in Kluctl's order, with the objects in each.
fn sections(result: &CommandResult) -> [(&'static str, &'static str, Vec<&ResultObject>); 5] {
    let select = |f: fn(&ResultObject) -> bool| result.objects.iter().filter(|o| f(o)).collect::<Vec<_>>();
    [
        ("New objects:", "new", select(|o| o.new)),
        ("Changed objects:", "changed", select(|o| !o.changes.is_empty())),
        ("Deleted objects:", "deleted", select(|o| o.deleted)),
        ("Applied hooks:", "hook", select(|o| o.hook)),
        ("Orphan objects:", "orphan", select(|o| o.orphan)),
    ]
}

/// Renders a [`CommandResult`] as text (see the module docs).
pub fn render_text(result: &CommandResult, options: &TextOptions) -> String {
    let painter = Painter { color: options.color };
    let mut out = String::new();
    if options.names_only {
        for (_, status, objects) in sections(result) {
            for o in objects {
                let _ = writeln!(out, "{status:<8}{}", o.object_ref);
            }
        }
    } else {
        for (title, _, objects) in sections(result) {
            if objects.is_empty() {
                continue;
            }
            painter.header(&mut out, title);
            for o in &objects {
                let _ = writeln!(out, "  {}", o.object_ref);
            }
            if title == "Changed objects:" && !options.short {
                for o in &objects {
                    out.push('\n');
                    diff_table(&mut out, o, options, &painter);
                }
            }
        }
    }
    messages(&mut out, "Warnings:", &result.warnings, AnsiColor::Yellow, &painter);
    messages(&mut out, "Errors:", &result.errors, AnsiColor::Red, &painter);
    out
}

fn diff_table(out: &mut String, o: &ResultObject, options: &TextOptions, painter: &Painter) {
    let _ = writeln!(
        out,
        "Diff for object {}",
        painter.paint(Style::new().bold(), &o.object_ref.to_string())
    );
    let mut rows = vec![vec!["Path".to_string(), "Diff".to_string()]];
    for change in &o.changes {
        // Beyond Kluctl: name the other managers owning a changed field, so a shared or
        // contested field is visible before it conflicts.
        let others: Vec<&str> = change
            .owners
            .iter()
            .map(String::as_str)
            .filter(|m| *m != "kluctl")
            .collect();
        let path = if others.is_empty() {
            change.json_path.clone()
        } else {
            format!("{}\n(managed by {})", change.json_path, others.join(", "))
        };
        rows.push(vec![path, change.unified_diff.clone()]);
    }
    let color = options.color;
    let style = move |col: usize, line: &str| if color && col == 1 { diff_line_style(line) } else { None };
    out.push_str(&Table { rows }.render(&[PATH_COLUMN_WIDTH], options.width, &style));
}

fn messages(out: &mut String, title: &str, messages: &[ResultMessage], color: AnsiColor, painter: &Painter) {
    if messages.is_empty() {
        return;
    }
    painter.header(out, title);
    let style = Style::new().fg_color(Some(color.into()));
    for m in messages {
        let _ = writeln!(out, "  {}", painter.paint(style, &m.to_string()));
    }
}

/// Renders a [`ValidateResult`] as Kluctl does: validation warnings, validation errors, then
/// the `validate-result.kluctl.io/*` results as an `Object | Message` table.
pub fn render_validate_text(result: &ValidateResult, options: &TextOptions) -> String {
    let painter = Painter { color: options.color };
    let mut out = String::new();
    messages(
        &mut out,
        "Validation Warnings:",
        &result.warnings,
        AnsiColor::Yellow,
        &painter,
    );
    messages(&mut out, "Validation Errors:", &result.errors, AnsiColor::Red, &painter);
    if !result.results.is_empty() {
        painter.header(&mut out, "Results:");
        let mut rows = vec![vec!["Object".to_string(), "Message".to_string()]];
        rows.extend(
            result
                .results
                .iter()
                .map(|r| vec![r.object_ref.to_string(), r.message.clone()]),
        );
        out.push_str(&Table { rows }.render(&[PATH_COLUMN_WIDTH], options.width, &|_, _| None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Normalizer, diff_object};
    use crate::objects::ObjectRef;
    use crate::result::{CommandInfo, ResultBuilder, ResultOptions};
    use serde_json::{Value, json};

    fn obj(kind: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "prod"}, "data": {"key": "a"}})
    }

    fn r(kind: &str, name: &str) -> ObjectRef {
        ObjectRef::from_object(&obj(kind, name)).unwrap()
    }

    fn sample() -> CommandResult {
        let b = ResultBuilder::new(CommandInfo::new("deploy"), ResultOptions::default());
        b.mark_new(&r("ConfigMap", "new-cm"));
        let mut changed = obj("ConfigMap", "cfg");
        changed["data"]["key"] = json!("b");
        b.add_changes(
            &r("ConfigMap", "cfg"),
            diff_object(&Normalizer::default(), &obj("ConfigMap", "cfg"), &changed, &changed).unwrap(),
        );
        b.mark_deleted(&r("ConfigMap", "gone"));
        b.mark_hook(&r("Pod", "migrate"));
        b.mark_orphan(&r("Service", "old"));
        b.add_warning(None, "no discriminator configured");
        b.add_error(Some(&r("ConfigMap", "bad")), "failed to apply object: invalid");
        b.finish()
    }

    #[test]
    fn sections_come_in_kluctls_order() {
        let text = render_text(&sample(), &TextOptions::default());
        let expected = "
New objects:
  prod/ConfigMap/new-cm

Changed objects:
  prod/ConfigMap/cfg

Diff for object prod/ConfigMap/cfg
+----------+------+
| Path     | Diff |
+----------+------+
| data.key | -a   |
|          | +b   |
+----------+------+

Deleted objects:
  prod/ConfigMap/gone

Applied hooks:
  prod/Pod/migrate

Orphan objects:
  prod/Service/old

Warnings:
  no discriminator configured

Errors:
  prod/ConfigMap/bad: failed to apply object: invalid
";
        assert_eq!(text, expected);
    }

    #[test]
    fn short_output_and_names_only() {
        let short = render_text(
            &sample(),
            &TextOptions {
                short: true,
                ..Default::default()
            },
        );
        assert!(short.contains("Changed objects:\n  prod/ConfigMap/cfg\n"));
        assert!(!short.contains("Diff for object"));
        let names = render_text(
            &sample(),
            &TextOptions {
                names_only: true,
                ..Default::default()
            },
        );
        assert!(names.starts_with(
            "new     prod/ConfigMap/new-cm\nchanged prod/ConfigMap/cfg\ndeleted prod/ConfigMap/gone\nhook    prod/Pod/migrate\norphan  prod/Service/old\n"
        ), "{names}");
        assert!(names.contains("Errors:\n  prod/ConfigMap/bad"));
        // An empty result prints nothing.
        let empty = ResultBuilder::new(CommandInfo::new("diff"), ResultOptions::default()).finish();
        assert_eq!(render_text(&empty, &TextOptions::default()), "");
    }

    #[test]
    fn colours_only_when_asked_and_owners_are_named() {
        let plain = render_text(&sample(), &TextOptions::default());
        assert!(!plain.contains('\u{1b}'));
        let coloured = render_text(
            &sample(),
            &TextOptions {
                color: true,
                ..Default::default()
            },
        );
        assert!(coloured.contains("\u{1b}[32m+b"), "{coloured:?}");
        assert!(coloured.contains("\u{1b}[31m-a"));

        let b = ResultBuilder::new(CommandInfo::new("diff"), ResultOptions::default());
        let mut change = crate::diff::diff_values(&json!({"spec": {"replicas": 2}}), &json!({"spec": {"replicas": 1}}));
        change[0].owners = vec!["kluctl".into(), "hpa-controller".into()];
        b.add_changes(&r("ConfigMap", "x"), change);
        let text = render_text(&b.finish(), &TextOptions::default());
        assert!(text.contains("| (managed by hpa-controller) |"), "{text}");
    }

    #[test]
    fn validate_results_print_like_kluctl() {
        let mut v = ValidateResult::new();
        v.add_warning(&r("Deployment", "web"), "readyReplicas (1) is less than replicas (2)");
        v.add_error(&r("Job", "migrate"), "BackoffLimitExceeded");
        v.add_result(&r("Job", "migrate"), "validate-result.kluctl.io/migrated", "42 rows");
        let v = v.finish(false);
        let text = render_validate_text(&v, &TextOptions::default());
        assert!(text.starts_with("\nValidation Warnings:\n  prod/Deployment/web: readyReplicas (1) is less than replicas (2)\n\nValidation Errors:\n  prod/Job/migrate: BackoffLimitExceeded\n\nResults:\n"), "{text}");
        assert!(text.contains("| prod/Job/migrate | 42 rows |"));
    }
}
