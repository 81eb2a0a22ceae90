//! Diff flags: what `diff` leaves out.

use clap::Args;

/// `--ignore-tags`, `--ignore-labels`, `--ignore-annotations`, `--ignore-kluctl-metadata`.
#[derive(Args, Clone, Debug, Default)]
#[command(next_help_heading = "Diff")]
pub struct DiffIgnoreFlags {
    /// Ignore changes of kluctl.io/tag-* labels
    #[arg(long)]
    pub ignore_tags: bool,

    /// Ignore changes of labels
    #[arg(long)]
    pub ignore_labels: bool,

    /// Ignore changes of annotations
    #[arg(long)]
    pub ignore_annotations: bool,

    /// Ignore changes of the labels and annotations Kluctl adds (kluctl.io/*)
    #[arg(long)]
    pub ignore_kluctl_metadata: bool,
}
