//! Shell completion for `kubectl kluctl <TAB>`, speaking kubectl's plugin completion protocol
//! (Cobra's `__complete`): kubectl runs `kubectl_complete-kluctl <words...> <partial>` and reads
//! one candidate per line (optionally `\t` and a description), then `:<directive>`. Nothing
//! else may reach stdout, or the shell offers it as a candidate.
//!
//! Input: the words after `kluctl`, the last one being completed (possibly empty); output:
//! candidates and a [`Directive`]. Commands and flags come from the clap tree, so new commands
//! complete without changes here; values come from the flag's possible values, its value hint
//! (files, directories) or, for a few flags, from the project and the kubeconfig (read raw and
//! best effort: completion never templates, never contacts a cluster and never fails loudly).

mod kubeconfig;
mod project;

use crate::cli::walk::{Walk, find_long, takes_value, walk};
use crate::io::{Env, Io};
use clap::{Arg, Command, ValueHint};
use std::io::Write;
use std::path::PathBuf;

/// Cobra's `ShellCompDirective` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directive(pub u32);

impl Directive {
    /// Let the shell complete file names as usual.
    pub const DEFAULT: Directive = Directive(0);
    /// Something went wrong; complete nothing.
    pub const ERROR: Directive = Directive(1);
    /// Do not add a space after the candidate (`--arg name=` continues).
    pub const NO_SPACE: Directive = Directive(2);
    /// Do not fall back to file names.
    pub const NO_FILE_COMP: Directive = Directive(4);
    /// Only directories.
    pub const FILTER_DIRS: Directive = Directive(16);

    fn with(self, other: Directive) -> Directive {
        Directive(self.0 | other.0)
    }
}

/// One completion: the word and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The text inserted.
    pub value: String,
    /// Shown next to it by shells that show descriptions.
    pub description: Option<String>,
}

impl Candidate {
    fn new(value: impl Into<String>, description: Option<String>) -> Candidate {
        Candidate {
            value: value.into(),
            description: description.map(|d| one_line(&d)).filter(|d| !d.is_empty()),
        }
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .replace('\t', " ")
        .trim()
        .to_string()
}

/// Answers one completion request on `io.stdout`.
pub(crate) fn answer(words: &[String], io: &Io) -> anyhow::Result<()> {
    let (candidates, directive) = complete(&crate::cli::command(), words, &io.env);
    let mut out = String::new();
    for candidate in candidates {
        out.push_str(&candidate.value);
        if let Some(description) = &candidate.description {
            out.push('\t');
            out.push_str(description);
        }
        out.push('\n');
    }
    out.push_str(&format!(":{}\n", directive.0));
    let mut stdout = io.stdout.clone();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Computes the candidates for `words` (the last one partial; none means an empty partial).
pub fn complete(root: &Command, words: &[String], env: &Env) -> (Vec<Candidate>, Directive) {
    let (partial, before) = match words.split_last() {
        Some((last, before)) => (last.as_str(), before),
        None => ("", words),
    };
    let walk = walk(root, before);
    if let Some(arg) = walk.pending {
        return values(arg, partial, "", &walk, env);
    }
    if let Some(flag) = partial.strip_prefix("--")
        && let Some((name, value)) = flag.split_once('=')
    {
        return match find_long(walk.command(), name) {
            Some(arg) if takes_value(arg) => values(arg, value, &format!("--{name}="), &walk, env),
            _ => (Vec::new(), Directive::NO_FILE_COMP),
        };
    }
    if partial.starts_with('-') {
        return (flags(walk.command(), partial, &walk), Directive::NO_FILE_COMP);
    }
    positional(&walk, partial, env)
}

/// Flag names: every visible long flag not given yet (repeatable ones always), and the short
/// forms when only `-` is typed, as Cobra does.
fn flags(command: &Command, partial: &str, walk: &Walk<'_>) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_hide_set() || arg.is_positional() {
            continue;
        }
        let repeatable = matches!(arg.get_action(), clap::ArgAction::Append | clap::ArgAction::Count);
        if walk.has(arg.get_id().as_str()) && !repeatable {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string());
        if let Some(long) = arg.get_long() {
            candidates.push(Candidate::new(format!("--{long}"), help.clone()));
        }
        if partial == "-"
            && let Some(short) = arg.get_short()
        {
            candidates.push(Candidate::new(format!("-{short}"), help));
        }
    }
    candidates.retain(|c| c.value.starts_with(partial));
    candidates
}

/// Subcommands, or the value of the next positional argument.
fn positional(walk: &Walk<'_>, partial: &str, env: &Env) -> (Vec<Candidate>, Directive) {
    let command = walk.command();
    if command.has_subcommands() {
        let candidates = command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set() && sub.get_name().starts_with(partial))
            .map(|sub| Candidate::new(sub.get_name(), sub.get_about().map(|a| a.to_string())))
            .collect();
        return (candidates, Directive::NO_FILE_COMP);
    }
    let next = command
        .get_positionals()
        .filter(|arg| !arg.is_hide_set())
        .nth(walk.positionals.len())
        .or_else(|| {
            command
                .get_positionals()
                .last()
                .filter(|arg| arg.get_num_args().is_some_and(|n| n.max_values() > 1))
        });
    match next {
        Some(arg) => values(arg, partial, "", walk, env),
        None => (Vec::new(), Directive::NO_FILE_COMP),
    }
}

/// Values of one flag or positional argument; `prefix` is put back in front of each (the
/// `--flag=` of `--flag=value`).
fn values(arg: &Arg, partial: &str, prefix: &str, walk: &Walk<'_>, env: &Env) -> (Vec<Candidate>, Directive) {
    let (mut candidates, directive) = match arg.get_id().as_str() {
        "target" => (project::targets(&project_source(walk, env)), Directive::NO_FILE_COMP),
        "args" => (
            project::arg_names(&project_source(walk, env)),
            Directive::NO_FILE_COMP.with(Directive::NO_SPACE),
        ),
        "include_tags" | "exclude_tags" => (project::tags(&project_source(walk, env)), Directive::NO_FILE_COMP),
        "include_deployment_dirs" | "exclude_deployment_dirs" => (
            project::deployment_dirs(&project_source(walk, env)),
            Directive::NO_FILE_COMP,
        ),
        id @ ("context" | "cluster" | "user") => {
            let section = match id {
                "context" => kubeconfig::Section::Contexts,
                "cluster" => kubeconfig::Section::Clusters,
                _ => kubeconfig::Section::Users,
            };
            let explicit = walk
                .value_of("kubeconfig")
                .map(PathBuf::from)
                .or_else(|| env.non_empty("KLUCTL_KUBECONFIG").map(PathBuf::from));
            (
                kubeconfig::names(section, explicit.as_deref(), env),
                Directive::NO_FILE_COMP,
            )
        }
        "output" => (
            crate::output::OutputFormat::ALL
                .iter()
                .map(|f| Candidate::new(f.name(), None))
                .collect(),
            Directive::NO_FILE_COMP,
        ),
        _ => {
            let possible: Vec<Candidate> = arg
                .get_possible_values()
                .into_iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| Candidate::new(v.get_name(), v.get_help().map(|h| h.to_string())))
                .collect();
            let directive = if !possible.is_empty() {
                Directive::NO_FILE_COMP
            } else {
                match arg.get_value_hint() {
                    ValueHint::DirPath => Directive::FILTER_DIRS,
                    ValueHint::FilePath | ValueHint::AnyPath | ValueHint::ExecutablePath => Directive::DEFAULT,
                    _ => Directive::NO_FILE_COMP,
                }
            };
            (possible, directive)
        }
    };
    candidates.retain(|c| c.value.starts_with(partial));
    if !prefix.is_empty() {
        for candidate in &mut candidates {
            candidate.value.insert_str(0, prefix);
        }
    }
    (candidates, directive)
}

/// Where to read project files from: the command line, then `KLUCTL_*` variables, then the
/// working directory.
fn project_source(walk: &Walk<'_>, env: &Env) -> project::Source {
    let dir = walk
        .value_of("project_dir")
        .map(str::to_string)
        .or_else(|| env.non_empty("KLUCTL_PROJECT_DIR").map(str::to_string))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let config = walk
        .value_of("project_config")
        .map(str::to_string)
        .or_else(|| env.non_empty("KLUCTL_PROJECT_CONFIG").map(str::to_string))
        .map(PathBuf::from);
    project::Source { dir, config }
}

#[cfg(test)]
mod tests;
