//! Exit codes, decided once for every command (documented in `docs/exit-codes.md` and in
//! `--help`).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (also when the reader of stdout went away: `kubectl kluctl render | head`) |
//! | 1 | runtime failure: the project did not load, an object failed, a confirmation was declined |
//! | 2 | usage error: unknown flag, bad flag value, missing argument |
//! | 130 | interrupted by Ctrl-C |
//!
//! `diff` follows `kubectl diff` (and `diff(1)`): 0 = no changes, 1 = changes, 2 = failure, so
//! scripts can tell "something would change" from "something is broken".

use std::fmt;
use std::process::ExitCode;

/// The outcome of a command, as the shell sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what was asked (for `diff`: nothing would change).
    Success,
    /// 1: a runtime failure.
    Failure,
    /// 2: the command line is wrong.
    Usage,
    /// 1, `diff` only: applying the target would change the cluster.
    Changes,
    /// 2, `diff` only: the diff could not be computed.
    DiffFailure,
    /// 130: interrupted by Ctrl-C (128 + SIGINT, what shells report).
    Interrupted,
}

impl Exit {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure | Exit::Changes => 1,
            Exit::Usage | Exit::DiffFailure => 2,
            Exit::Interrupted => 130,
        }
    }

    /// Wraps an error so that it ends the process with this code instead of 1 (what `diff`
    /// uses to exit 2 on failure). The error prints exactly as the wrapped one.
    pub fn with_error(self, error: anyhow::Error) -> anyhow::Error {
        anyhow::Error::new(ExitError { exit: self, error })
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that carries the exit code it must end the process with; see [`Exit::with_error`].
#[derive(Debug)]
struct ExitError {
    exit: Exit,
    error: anyhow::Error,
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the top message: the causes are reached through `source()`, so `{:#}` prints the
        // same chain as for the unwrapped error.
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for ExitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// The exit code for an error returned by [`crate::run`]: 0 when stdout was closed by its
/// reader (a broken pipe is how `| head` says "enough"), the code attached with
/// [`Exit::with_error`], or 1.
pub fn exit_for_error(error: &anyhow::Error) -> Exit {
    if is_broken_pipe(error) {
        return Exit::Success;
    }
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ExitError>())
        .map_or(Exit::Failure, |e| e.exit)
}

/// True when any error in the chain is an I/O error of kind `BrokenPipe`.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit-code paragraph shown at the end of the root `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    failure (an object failed, the project did not load, a confirmation was declined)
  2    usage error (unknown flag, bad value)
  130  interrupted (Ctrl-C)
  diff: 0 no changes, 1 changes, 2 failure (as kubectl diff)";

/// The exit-code paragraph for `diff --help` (the one command whose codes differ).
pub const DIFF_EXIT_CODES_HELP: &str = "\
Exit codes (as kubectl diff):
  0    no changes: the cluster already matches the target
  1    changes: deploying would create, change or delete objects
  2    failure: the diff could not be computed (or a usage error)
  130  interrupted (Ctrl-C)";

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(
            [
                Exit::Success,
                Exit::Failure,
                Exit::Usage,
                Exit::Changes,
                Exit::DiffFailure,
                Exit::Interrupted
            ]
            .map(Exit::code),
            [0, 1, 2, 1, 2, 130]
        );
    }

    #[test]
    fn broken_pipes_anywhere_in_the_chain_are_success() {
        let err = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("failed to print");
        assert_eq!(exit_for_error(&err), Exit::Success);
        assert_eq!(
            exit_for_error(&anyhow::anyhow!("failed to load project")),
            Exit::Failure
        );
    }

    #[test]
    fn wrapped_errors_keep_their_message_and_carry_their_code() {
        let inner: anyhow::Result<()> =
            Err(std::io::Error::other("connection refused")).context("failed to list objects");
        let err = Exit::DiffFailure.with_error(inner.unwrap_err());
        assert_eq!(format!("{err:#}"), "failed to list objects: connection refused");
        assert_eq!(exit_for_error(&err), Exit::DiffFailure);
        let outer = err.context("failed to diff target prod");
        assert_eq!(exit_for_error(&outer), Exit::DiffFailure);
        assert_eq!(
            format!("{outer:#}"),
            "failed to diff target prod: failed to list objects: connection refused"
        );
    }
}
