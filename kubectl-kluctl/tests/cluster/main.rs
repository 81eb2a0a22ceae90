//! Cluster operations end to end against the in-memory test API server: `diff`, `deploy`,
//! `prune`, `delete` and `validate` through `shared::commands` in-process, and the real binary
//! (`cli`).
#![cfg(unix)]

mod binary;
mod cli;
mod conflicts;
mod connect;
mod deploy;
mod examples;
mod faults;
mod order;
mod pipeline;
mod readiness;
mod secrets;
mod util;
mod watch;
