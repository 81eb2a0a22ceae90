//! Integration tests of the `kubectl-kluctl` binary: run as a process, through the real
//! `kubectl`, in a pseudo-terminal, and the files shipped with it (krew manifest, release
//! archive, command reference).

mod cli;
mod docs;
mod krew;
mod kubectl;
mod util;
