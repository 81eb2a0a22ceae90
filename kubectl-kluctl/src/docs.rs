//! The command reference in `docs/commands/`, generated from the clap tree so it cannot drift
//! from `--help` (a test compares the files with this output; `UPDATE_DOCS=1` rewrites them).
//!
//! Output: one page per command (`docs/commands/<verb>.md`, nested commands as
//! `<group>_<verb>.md`) plus an index (`docs/commands/README.md`).

use clap::Command;

/// One generated file, relative to `docs/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Path below `docs/`, e.g. `commands/version.md`.
    pub path: String,
    /// The Markdown text.
    pub content: String,
}

/// Help is wrapped at this width in the docs, whatever the terminal.
const WIDTH: usize = 100;

/// Every page of the command reference.
pub fn command_reference() -> Vec<Page> {
    let root = crate::cli::command();
    let mut pages = Vec::new();
    let mut index = String::from(
        "# Command reference\n\n\
         Generated from `kubectl kluctl --help`; do not edit (run\n\
         `UPDATE_DOCS=1 cargo test -p kubectl-kluctl --test tests docs` after changing a command).\n\n\
         | command | what it does |\n|---|---|\n",
    );
    for (path, command) in visible_commands(&root, Vec::new()) {
        let file = format!("{}.md", path.join("_"));
        let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
        index.push_str(&format!("| [`{}`]({file}) | {about} |\n", path.join(" ")));
        pages.push(Page {
            path: format!("commands/{file}"),
            content: page(&path, command),
        });
    }
    index.push_str(&format!(
        "\nFlags and commands common to all: see [`kubectl kluctl --help`](#root).\n\n## Root\n\n```text\n{}```\n",
        help_text(&root)
    ));
    pages.insert(
        0,
        Page {
            path: "commands/README.md".to_string(),
            content: index,
        },
    );
    pages
}

fn visible_commands(command: &Command, prefix: Vec<String>) -> Vec<(Vec<String>, &Command)> {
    let mut found = Vec::new();
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        found.push((path.clone(), sub));
        found.extend(visible_commands(sub, path));
    }
    found
}

fn page(path: &[String], command: &Command) -> String {
    let about = command.get_about().map(|a| a.to_string()).unwrap_or_default();
    format!(
        "# kubectl kluctl {}\n\n{about}\n\n<!-- Generated from --help; do not edit. -->\n\n```text\n{}```\n",
        path.join(" "),
        help_text(command)
    )
}

fn help_text(command: &Command) -> String {
    let text = command
        .clone()
        .term_width(WIDTH)
        .max_term_width(WIDTH)
        .render_long_help()
        .to_string();
    // Trailing spaces from clap's padding would make editors and `git diff` noisy.
    let mut out: String = text.lines().map(|line| format!("{}\n", line.trim_end())).collect();
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
