//! `KLUCTL_*` environment variables as flags, the way Kluctl reads them: every flag `--foo-bar`
//! can come from `KLUCTL_FOO_BAR` (a switch from `true`/`false`), and a repeatable flag from
//! `KLUCTL_FOO_BAR` plus `KLUCTL_FOO_BAR_0`, `_1`, ... (until the first missing index).
//! A flag given on the command line wins over its variables.
//!
//! Variables are turned into `--flag=value` words added to the command line before parsing, so
//! clap validates them like typed flags and one code path handles both.

use super::walk::walk;
use crate::io::Env;
use clap::{Arg, ArgAction, Command};

/// The words to add for the variables in `env` that set flags of the command `words` select.
/// Fails (a usage error) on a switch variable that is not a boolean.
pub(crate) fn words_from_env(root: &Command, words: &[String], env: &Env) -> Result<Vec<String>, String> {
    let walk = walk(root, words);
    let mut extra = Vec::new();
    for arg in walk.command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        // `hide_env` marks flags without a variable of their own (Kluctl's `skipenv`): the
        // credential flags, whose KLUCTL_HELM_* / KLUCTL_REGISTRY_* names are credential sets.
        if arg.is_hide_env_set() {
            continue;
        }
        if arg.is_positional() || matches!(arg.get_id().as_str(), "help" | "version") || walk.has(arg.get_id().as_str())
        {
            continue;
        }
        let names = env_names(arg);
        match arg.get_action() {
            ArgAction::SetTrue => {
                if let Some((name, value)) = first_set(env, &names) {
                    let on = parse_bool(value)
                        .ok_or_else(|| format!("invalid value '{value}' for {name}: expected true or false"))?;
                    if on {
                        extra.push(format!("--{long}"));
                    }
                }
            }
            ArgAction::Set => {
                if let Some((_, value)) = first_set(env, &names) {
                    extra.push(format!("--{long}={value}"));
                }
            }
            ArgAction::Append => {
                for value in repeated_values(env, &names) {
                    extra.push(format!("--{long}={value}"));
                }
            }
            _ => {}
        }
    }
    Ok(extra)
}

/// `KLUCTL_<NAME>` for the flag's long name, then for each of its aliases.
pub(crate) fn env_names(arg: &Arg) -> Vec<String> {
    let mut longs: Vec<&str> = arg.get_long().into_iter().collect();
    longs.extend(arg.get_all_aliases().unwrap_or_default());
    longs
        .into_iter()
        .map(|long| format!("KLUCTL_{}", long.replace('-', "_").to_ascii_uppercase()))
        .collect()
}

fn first_set<'e>(env: &'e Env, names: &'e [String]) -> Option<(&'e str, &'e str)> {
    names
        .iter()
        .find_map(|name| env.get(name).map(|value| (name.as_str(), value)))
}

fn repeated_values<'e>(env: &'e Env, names: &[String]) -> Vec<&'e str> {
    for name in names {
        let mut values: Vec<&str> = env.get(name).into_iter().collect();
        values.extend((0..).map_while(|i| env.get(&format!("{name}_{i}"))));
        if !values.is_empty() {
            return values;
        }
    }
    Vec::new()
}

/// Go's `strconv.ParseBool`, which Kluctl uses for switch variables.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Command {
        let mut root = Command::new("k")
            .arg(Arg::new("context").long("context").global(true))
            .subcommand(
                Command::new("deploy")
                    .arg(Arg::new("dry_run").long("dry-run").action(ArgAction::SetTrue))
                    .arg(Arg::new("arg").short('a').long("arg").action(ArgAction::Append))
                    .arg(
                        Arg::new("output")
                            .long("output")
                            .alias("output-format")
                            .action(ArgAction::Append),
                    ),
            );
        root.build();
        root
    }

    fn extra(line: &str, env: &Env) -> Result<Vec<String>, String> {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        words_from_env(&tree(), &words, env)
    }

    #[test]
    fn switches_values_and_indexed_repeats() {
        let env = Env::empty()
            .with("KLUCTL_DRY_RUN", "true")
            .with("KLUCTL_CONTEXT", "kind")
            .with("KLUCTL_ARG_0", "a=1")
            .with("KLUCTL_ARG_1", "b=2")
            .with("KLUCTL_ARG_3", "skipped: index 2 is missing");
        let mut words = extra("deploy", &env).unwrap();
        words.sort();
        assert_eq!(words, ["--arg=a=1", "--arg=b=2", "--context=kind", "--dry-run"]);
    }

    #[test]
    fn the_command_line_wins_and_false_switches_add_nothing() {
        let env = Env::empty()
            .with("KLUCTL_DRY_RUN", "false")
            .with("KLUCTL_CONTEXT", "kind")
            .with("KLUCTL_ARG", "x=1");
        assert_eq!(
            extra("deploy --context other -a y=2", &env).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn aliases_have_variables_too_and_bad_switches_are_errors() {
        let env = Env::empty().with("KLUCTL_OUTPUT_FORMAT", "yaml");
        assert_eq!(extra("deploy", &env).unwrap(), ["--output=yaml"]);
        let env = Env::empty().with("KLUCTL_DRY_RUN", "maybe");
        assert_eq!(
            extra("deploy", &env).unwrap_err(),
            "invalid value 'maybe' for KLUCTL_DRY_RUN: expected true or false"
        );
    }
}
