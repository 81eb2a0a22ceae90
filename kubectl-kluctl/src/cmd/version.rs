//! `kubectl kluctl version`: which build this is (version, git commit, build date).
//! Output: a [`VersionInfo`] report (`kind: Version`).

use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, Report, TextStyle};
use serde::Serialize;
use std::io::{self, Write};

const EXAMPLES: &str = "\
Examples:
  # Print the version, git commit and build date
  kubectl kluctl version

  # The same as JSON, e.g. to check a CI runner's plugin version
  kubectl kluctl version -o json";

/// Flags of `version`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Print the version, git commit and build date",
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Prints the version report.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        ctx.console.emit(&outputs, &version_info())?;
        Ok(Exit::Success)
    }
}

/// What `version` reports about this build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    /// The release version (`0.1.0`).
    pub version: String,
    /// The git commit the binary was built from, `unknown` outside a git checkout.
    pub git_commit: String,
    /// When the build script last ran, RFC 3339 UTC (or `SOURCE_DATE_EPOCH` when set).
    pub build_date: String,
    /// The compiler (`rustc 1.95.0 (...)`).
    pub rust_version: String,
    /// `os/arch` in krew's names (`linux/amd64`, `darwin/arm64`, `windows/amd64`).
    pub platform: String,
}

/// The version report of this binary.
pub fn version_info() -> VersionInfo {
    VersionInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("KLUCTL_BUILD_GIT_COMMIT").to_string(),
        build_date: env!("KLUCTL_BUILD_DATE").to_string(),
        rust_version: env!("KLUCTL_BUILD_RUSTC").to_string(),
        platform: platform(),
    }
}

/// `os/arch` as krew and Go name them.
pub fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}/{arch}")
}

impl Report for VersionInfo {
    const KIND: &'static str = "Version";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        writeln!(out, "{} {}", style.paint.heading("kubectl-kluctl"), self.version)?;
        writeln!(out, "git commit: {}", self.git_commit)?;
        writeln!(out, "build date: {}", self.build_date)?;
        writeln!(out, "compiler:   {}", self.rust_version)?;
        writeln!(out, "platform:   {}", self.platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_this_build() {
        let info = version_info();
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(
            info.git_commit == "unknown"
                || (info.git_commit.len() == 40 && info.git_commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{}",
            info.git_commit
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(&info.build_date).is_ok(),
            "{}",
            info.build_date
        );
        assert!(info.rust_version.starts_with("rustc "), "{}", info.rust_version);
        assert!(
            ["linux/", "darwin/", "windows/"]
                .iter()
                .any(|os| info.platform.starts_with(os))
        );
    }
}
