//! Integration tests of the `kubectl-kluctl` binary: run as a process, through the real
//! `kubectl`, in a pseudo-terminal, and the files shipped with it (krew manifest, release
//! archive, command reference). Unix only: they use symlinks, `sh` and a pseudo-terminal.
#![cfg(unix)]

mod cli;
mod docs;
mod gitops;
mod helm;
mod krew;
mod kubectl;
mod kustomize;
mod render;
mod util;
