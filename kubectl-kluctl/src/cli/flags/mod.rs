//! Flag groups, one `#[derive(clap::Args)]` struct per group, flattened into the commands that
//! need them; each arg carries its `--help` heading. Every group converts into a validated
//! options type once (`ProjectFlags::options() -> ProjectOptions`, ...): commands and the engine
//! read those, never the raw flags.
//!
//! Every flag can also come from `KLUCTL_<FLAG>` (see `cli::env`).

mod diff;
mod images;
mod inclusion;
mod kube;
mod misc;
mod output;
mod project;

pub use diff::DiffIgnoreFlags;
pub use images::{ImageFlags, ImageOptions};
pub use inclusion::{InclusionFlags, InclusionOptions};
pub use kube::{KubeFlags, KubeOptions};
pub use misc::{
    ApplyFlags, DiscriminatorFlags, DryRunFlags, ObfuscateFlags, OfflineFlags, PruneFlags, RenderOutputDirFlags,
    ShortOutputFlags, WaitFlags, WatchFlags, YesFlags,
};
pub use output::{GlobalFlags, OutputFlags};
pub use project::{ProjectFlags, ProjectOptions};

use crate::exit::Exit;

/// A flag value that parsed but does not make sense: exit code 2, like clap's own errors.
pub fn usage_error(message: impl std::fmt::Display) -> anyhow::Error {
    Exit::Usage.with_error(anyhow::anyhow!("{message}"))
}
