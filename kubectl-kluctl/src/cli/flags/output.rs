//! Output flags (`-o`) and the global flags every command has (`--no-color`, `--debug`).

use super::usage_error;
use crate::output::{OutputFormat, OutputOptions, OutputSpec};
use clap::Args;

/// `-o/--output FORMAT[=FILE]`, repeatable.
#[derive(Args, Clone, Debug, Default)]
pub struct OutputFlags {
    /// Output format: text, yaml or json; FORMAT=FILE writes to FILE instead of stdout (repeatable)
    #[arg(
        short = 'o',
        long = "output",
        visible_alias = "output-format",
        value_name = "FORMAT[=FILE]",
        help_heading = "Output"
    )]
    pub output: Vec<OutputSpec>,
}

impl OutputFlags {
    /// Validates the flags for a command that prints `allowed` formats (the first is the default).
    pub fn options(&self, allowed: &[OutputFormat]) -> anyhow::Result<OutputOptions> {
        OutputOptions::new(&self.output, allowed).map_err(usage_error)
    }
}

/// Flags of every command.
#[derive(Args, Clone, Debug, Default)]
pub struct GlobalFlags {
    /// Never colour the output (colour is also off when NO_COLOR is set or output is not a terminal)
    #[arg(long, global = true, help_heading = "Output")]
    pub no_color: bool,

    /// Log what happens on stderr, for troubleshooting (RUST_LOG gives finer control)
    #[arg(long, global = true, help_heading = "Output")]
    pub debug: bool,
}
