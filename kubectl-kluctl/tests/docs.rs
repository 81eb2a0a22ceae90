//! `docs/commands/` is generated from `--help`; this fails when it is out of date.
//! `UPDATE_DOCS=1 cargo test -p kubectl-kluctl --test tests docs` rewrites it.

use crate::util::workspace;
use std::collections::BTreeSet;

#[test]
fn docs_command_reference_is_up_to_date() {
    let docs = workspace().join("docs");
    let pages = kubectl_kluctl::docs::command_reference();
    let update = std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for page in &pages {
        let path = docs.join(&page.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != page.content {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &page.content).unwrap();
            } else {
                stale.push(page.path.clone());
            }
        }
    }
    // Pages of commands that no longer exist.
    let generated: BTreeSet<String> = pages.iter().map(|p| p.path.clone()).collect();
    let existing = std::fs::read_dir(docs.join("commands")).into_iter().flatten();
    for entry in existing {
        let name = format!("commands/{}", entry.unwrap().file_name().to_string_lossy());
        if !generated.contains(&name) {
            if update {
                std::fs::remove_file(docs.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (no such command)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/commands is out of date: {stale:?}\nrun: UPDATE_DOCS=1 cargo test -p kubectl-kluctl --test tests docs"
    );
}

#[test]
fn every_command_has_examples_in_its_help() {
    let root = kubectl_kluctl::cli::command();
    for command in root.get_subcommands().filter(|c| c.get_name() != "help") {
        let help = command.clone().render_long_help().to_string();
        assert!(
            help.contains("Examples:\n  # "),
            "{} --help has no examples",
            command.get_name()
        );
    }
}
