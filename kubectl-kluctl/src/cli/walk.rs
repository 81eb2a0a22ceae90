//! Follows command-line words through the clap command tree the way clap parses them, without
//! validating anything: which subcommand is selected, which flags are present with which values,
//! and whether the last flag still waits for its value. Used to apply `KLUCTL_*` variables
//! before parsing and to complete partial command lines.

use clap::{Arg, Command};

/// Where a list of words leads in the command tree.
pub(crate) struct Walk<'c> {
    /// The root command.
    pub root: &'c Command,
    /// The subcommands selected below the root, outermost first.
    pub path: Vec<&'c Command>,
    /// The flags given, each with its value when it takes one.
    pub flags: Vec<(&'c Arg, Option<String>)>,
    /// The positional words of the selected command.
    pub positionals: Vec<String>,
    /// A flag that takes a value which has not been given yet (it would be the next word).
    pub pending: Option<&'c Arg>,
}

impl<'c> Walk<'c> {
    /// The selected (innermost) command.
    pub fn command(&self) -> &'c Command {
        self.path.last().copied().unwrap_or(self.root)
    }

    /// The last value given for the arg with this id.
    pub fn value_of(&self, id: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(arg, value)| arg.get_id() == id && value.is_some())
            .and_then(|(_, value)| value.as_deref())
    }

    /// Whether the arg with this id was given.
    pub fn has(&self, id: &str) -> bool {
        self.flags.iter().any(|(arg, _)| arg.get_id() == id)
    }
}

/// Walks `words` (the arguments after the program name) from `root`, which must be built
/// (`Command::build`) so global flags are visible in subcommands.
pub(crate) fn walk<'c>(root: &'c Command, words: &[String]) -> Walk<'c> {
    let mut walk = Walk {
        root,
        path: Vec::new(),
        flags: Vec::new(),
        positionals: Vec::new(),
        pending: None,
    };
    let mut only_positionals = false;
    for word in words {
        if let Some(arg) = walk.pending.take() {
            walk.flags.push((arg, Some(word.clone())));
            continue;
        }
        let command = walk.command();
        if only_positionals {
            walk.positionals.push(word.clone());
        } else if word == "--" {
            only_positionals = true;
        } else if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            if let Some(arg) = find_long(command, name) {
                match (takes_value(arg), inline) {
                    (true, Some(value)) => walk.flags.push((arg, Some(value))),
                    (true, None) => walk.pending = Some(arg),
                    (false, _) => walk.flags.push((arg, None)),
                }
            }
        } else if word.len() > 1 && word.starts_with('-') {
            let shorts = &word[1..];
            for (offset, c) in shorts.char_indices() {
                let Some(arg) = find_short(command, c) else { break };
                if !takes_value(arg) {
                    walk.flags.push((arg, None));
                    continue;
                }
                let rest = &shorts[offset + c.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                if rest.is_empty() {
                    walk.pending = Some(arg);
                } else {
                    walk.flags.push((arg, Some(rest.to_string())));
                }
                break;
            }
        } else if let Some(sub) = command.find_subcommand(word) {
            walk.path.push(sub);
            walk.positionals.clear();
        } else {
            walk.positionals.push(word.clone());
        }
    }
    walk
}

/// Whether an arg consumes a value (`--target NAME`) rather than being a switch (`--yes`).
pub(crate) fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

pub(crate) fn find_long<'c>(command: &'c Command, name: &str) -> Option<&'c Arg> {
    command.get_arguments().find(|arg| {
        arg.get_long() == Some(name) || arg.get_all_aliases().is_some_and(|aliases| aliases.contains(&name))
    })
}

fn find_short(command: &Command, c: char) -> Option<&Arg> {
    command.get_arguments().find(|arg| {
        arg.get_short() == Some(c) || arg.get_all_short_aliases().is_some_and(|aliases| aliases.contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{ArgAction, Command};

    fn tree() -> Command {
        let mut root = Command::new("k")
            .arg(Arg::new("context").long("context").global(true))
            .arg(Arg::new("namespace").short('n').long("namespace").global(true))
            .subcommand(
                Command::new("deploy")
                    .arg(Arg::new("target").short('t').long("target"))
                    .arg(Arg::new("yes").short('y').long("yes").action(ArgAction::SetTrue))
                    .arg(Arg::new("arg").short('a').long("arg").action(ArgAction::Append)),
            );
        root.build();
        root
    }

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn follows_subcommands_and_flags_on_either_side() {
        let root = tree();
        let walk = walk(&root, &words("-n prod deploy --context=kind -yt web -a x=1"));
        assert_eq!(walk.command().get_name(), "deploy");
        assert_eq!(walk.value_of("namespace"), Some("prod"));
        assert_eq!(walk.value_of("context"), Some("kind"));
        assert_eq!(walk.value_of("target"), Some("web"));
        assert_eq!(walk.value_of("arg"), Some("x=1"));
        assert!(walk.has("yes"));
        assert!(walk.pending.is_none());
    }

    #[test]
    fn notices_a_flag_waiting_for_its_value() {
        let root = tree();
        let walk = walk(&root, &words("deploy -t"));
        assert_eq!(walk.pending.map(|a| a.get_id().as_str()), Some("target"));
        let walk = super::walk(&root, &words("deploy -- -t"));
        assert!(walk.pending.is_none());
        assert_eq!(walk.positionals, ["-t"]);
    }
}
