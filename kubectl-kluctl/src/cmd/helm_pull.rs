//! `kubectl kluctl helm-pull`: pre-pulls every Helm chart of the project into `.helm-charts/`
//! (`shared::helm::pull_project`), drawing download progress on a terminal.
//! Output: a `HelmPullResult` report. Also home of the Helm and registry credential flags,
//! which `helm-update` shares.

use crate::cli::flags::OutputFlags;
use crate::cmd::Context;
use crate::exit::Exit;
use crate::io::Env;
use crate::output::{OutputFormat, Progress, Report, TextStyle};
use anyhow::Context as _;
use clap::ValueHint;
use serde::Serialize;
use shared::helm::{
    ChartClient, HelmCredentialFlags, HelmCredentials, PullEvent, PullEventKind, PullOptions, PullReport,
    RegistryCredentialFlags, RegistryCredentials, pull_project,
};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const LONG_ABOUT: &str = "\
Kluctl requires Helm charts to be pre-pulled by default. This command finds every helm-chart.yaml
of the project (read without templating), downloads each chart version from its repository or
OCI registry, checks it against the repository's digest, and unpacks it into .helm-charts/ in
Kluctl's layout. New content is written next to the old and swapped in, so a failed pull never
leaves a chart half-written or missing; versions no longer referenced are removed. Releases with
'skipPrePull: true' are pulled at render time instead.

Credentials come from the --helm-* and --registry-* flags, then the KLUCTL_HELM_[<n>_]* and
KLUCTL_REGISTRY_[<n>_]* variable sets (HOST, PATH or REPOSITORY, USERNAME, PASSWORD, CA_FILE,
CERT_FILE, KEY_FILE, INSECURE_SKIP_TLS_VERIFY, ...), then Helm's repositories.yaml and the
registry config.json files.";

const EXAMPLES: &str = "\
Examples:
  # Pull every chart of the project in the current directory
  kubectl kluctl helm-pull

  # A private repository: credentials for its host (and optionally a path pattern)
  kubectl kluctl helm-pull --helm-creds charts.example.com/private/*=alice:$TOKEN

  # The same from variables, e.g. in CI
  KLUCTL_HELM_0_HOST=charts.example.com KLUCTL_HELM_0_USERNAME=alice \\
    KLUCTL_HELM_0_PASSWORD=$TOKEN kubectl kluctl helm-pull";

/// `--project-dir`, as Kluctl's helm commands take it.
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Project")]
pub struct ProjectDirFlag {
    /// The project directory (default: the current directory)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub project_dir: Option<PathBuf>,
}

impl ProjectDirFlag {
    /// The project directory, absolute.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        let dir = self.project_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        std::path::absolute(&dir).with_context(|| format!("failed to resolve project directory {}", dir.display()))
    }
}

// NB: the credential flags are marked `hide_env`: like Kluctl's (`skipenv`), they have no
// KLUCTL_HELM_USERNAME-style variable of their own, because those names belong to the
// KLUCTL_HELM_[<n>_]* credential sets read by `HelmCredentials::load`.

/// `--helm-*` credential flags (values `<host>[/<path>]=<value>`).
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Helm credentials")]
pub struct HelmCredentialArgs {
    /// Username for a Helm repository: HOST[/PATH]=USERNAME (repeatable)
    #[arg(long = "helm-username", value_name = "HOST/PATH=USER", hide_env = true)]
    pub helm_username: Vec<String>,
    /// Password for a Helm repository: HOST[/PATH]=PASSWORD (repeatable)
    #[arg(long = "helm-password", value_name = "HOST/PATH=PASSWORD", hide_env = true)]
    pub helm_password: Vec<String>,
    /// Username and password at once: HOST[/PATH]=USERNAME:PASSWORD (repeatable)
    #[arg(long = "helm-creds", value_name = "HOST/PATH=USER:PASSWORD", hide_env = true)]
    pub helm_creds: Vec<String>,
    /// Client key file for a Helm repository: HOST[/PATH]=FILE (repeatable)
    #[arg(long = "helm-key-file", value_name = "HOST/PATH=FILE", hide_env = true)]
    pub helm_key_file: Vec<String>,
    /// Client certificate file for a Helm repository: HOST[/PATH]=FILE (repeatable)
    #[arg(long = "helm-cert-file", value_name = "HOST/PATH=FILE", hide_env = true)]
    pub helm_cert_file: Vec<String>,
    /// CA bundle for a Helm repository: HOST[/PATH]=FILE (repeatable)
    #[arg(long = "helm-ca-file", value_name = "HOST/PATH=FILE", hide_env = true)]
    pub helm_ca_file: Vec<String>,
    /// Skip TLS verification for a Helm repository: HOST[/PATH] (repeatable)
    #[arg(long = "helm-insecure-skip-tls-verify", value_name = "HOST/PATH", hide_env = true)]
    pub helm_insecure_skip_tls_verify: Vec<String>,
}

/// `--registry-*` credential flags for OCI charts (values `<registry>[/<repo>]=<value>`).
#[derive(clap::Args, Clone, Debug, Default)]
#[command(next_help_heading = "Registry credentials")]
pub struct RegistryCredentialArgs {
    /// Username for an OCI registry: REGISTRY[/REPO]=USERNAME (repeatable)
    #[arg(long = "registry-username", value_name = "REGISTRY/REPO=USER", hide_env = true)]
    pub registry_username: Vec<String>,
    /// Password for an OCI registry: REGISTRY[/REPO]=PASSWORD (repeatable)
    #[arg(long = "registry-password", value_name = "REGISTRY/REPO=PASSWORD", hide_env = true)]
    pub registry_password: Vec<String>,
    /// USERNAME:PASSWORD, or a token, for an OCI registry: REGISTRY[/REPO]=CREDS (repeatable)
    #[arg(long = "registry-creds", value_name = "REGISTRY/REPO=CREDS", hide_env = true)]
    pub registry_creds: Vec<String>,
    /// Registry (bearer) token: REGISTRY[/REPO]=TOKEN (repeatable)
    #[arg(long = "registry-token", value_name = "REGISTRY/REPO=TOKEN", hide_env = true)]
    pub registry_token: Vec<String>,
    /// Identity (refresh) token: REGISTRY[/REPO]=TOKEN (repeatable)
    #[arg(
        long = "registry-identity-token",
        value_name = "REGISTRY/REPO=TOKEN",
        hide_env = true
    )]
    pub registry_identity_token: Vec<String>,
    /// Client key file: REGISTRY[/REPO]=FILE (repeatable)
    #[arg(long = "registry-key-file", value_name = "REGISTRY/REPO=FILE", hide_env = true)]
    pub registry_key_file: Vec<String>,
    /// Client certificate file: REGISTRY[/REPO]=FILE (repeatable)
    #[arg(long = "registry-cert-file", value_name = "REGISTRY/REPO=FILE", hide_env = true)]
    pub registry_cert_file: Vec<String>,
    /// CA bundle: REGISTRY[/REPO]=FILE (repeatable)
    #[arg(long = "registry-ca-file", value_name = "REGISTRY/REPO=FILE", hide_env = true)]
    pub registry_ca_file: Vec<String>,
    /// Use plain HTTP for this registry: REGISTRY[/REPO] (repeatable; loopback registries always do)
    #[arg(long = "registry-plain-http", value_name = "REGISTRY/REPO", hide_env = true)]
    pub registry_plain_http: Vec<String>,
    /// Skip TLS verification for this registry: REGISTRY[/REPO] (repeatable)
    #[arg(
        long = "registry-insecure-skip-tls-verify",
        value_name = "REGISTRY/REPO",
        hide_env = true
    )]
    pub registry_insecure_skip_tls_verify: Vec<String>,
}

/// Builds the chart client from the flags, the `env` variable sets and the config files in
/// `$HOME` (as `env` names it).
pub fn chart_client(
    helm: &HelmCredentialArgs,
    registry: &RegistryCredentialArgs,
    env: &Env,
) -> anyhow::Result<ChartClient> {
    let vars: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with("KLUCTL_HELM_") || k.starts_with("KLUCTL_REGISTRY_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let home_config = |relative: &str| {
        env.non_empty("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| env.non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|base| base.join(relative))
    };
    let repositories = env
        .non_empty("HELM_REPOSITORY_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home_config("helm/repositories.yaml"));
    let helm_flags = HelmCredentialFlags {
        username: helm.helm_username.clone(),
        password: helm.helm_password.clone(),
        key_file: helm.helm_key_file.clone(),
        cert_file: helm.helm_cert_file.clone(),
        ca_file: helm.helm_ca_file.clone(),
        insecure_skip_tls_verify: helm.helm_insecure_skip_tls_verify.clone(),
        creds: helm.helm_creds.clone(),
    };
    let helm_credentials = HelmCredentials::from_sources(&helm_flags, &vars, repositories.as_deref())?;
    let mut auth_configs: Vec<PathBuf> = Vec::new();
    auth_configs.extend(
        env.non_empty("HELM_REGISTRY_CONFIG")
            .map(PathBuf::from)
            .or_else(|| home_config("helm/registry/config.json")),
    );
    auth_configs.extend(
        env.non_empty("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| {
                env.non_empty("HOME")
                    .map(|h| PathBuf::from(h).join(".docker/config.json"))
            }),
    );
    let registry_flags = RegistryCredentialFlags {
        username: registry.registry_username.clone(),
        password: registry.registry_password.clone(),
        identity_token: registry.registry_identity_token.clone(),
        token: registry.registry_token.clone(),
        creds: registry.registry_creds.clone(),
        key_file: registry.registry_key_file.clone(),
        cert_file: registry.registry_cert_file.clone(),
        ca_file: registry.registry_ca_file.clone(),
        plain_http: registry.registry_plain_http.clone(),
        insecure_skip_tls_verify: registry.registry_insecure_skip_tls_verify.clone(),
    };
    let registry_credentials = RegistryCredentials::from_sources(&registry_flags, &vars, &auth_configs)?;
    let cache = env
        .non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env.non_empty("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|base| base.join("kluctl").join("helm-archives"));
    let client = ChartClient::new(helm_credentials, registry_credentials);
    Ok(match cache {
        Some(dir) => client.with_archive_cache(dir),
        None => client,
    })
}

/// Shows chart downloads on one progress line (a bar on a terminal, plain lines otherwise).
pub fn progress_callback(progress: Arc<Mutex<Progress>>) -> shared::helm::ProgressFn {
    Arc::new(move |event: &PullEvent| {
        let Ok(progress) = progress.lock() else { return };
        let name = format!("{} {}", event.chart, event.version);
        match &event.kind {
            PullEventKind::Started { .. } => progress.set_message(&format!("{name}: downloading")),
            PullEventKind::Progress { downloaded, total } => {
                let size = match total {
                    Some(total) => format!("{} / {}", human(*downloaded), human(*total)),
                    None => human(*downloaded),
                };
                progress.set_message(&format!("{name}: {size}"));
            }
            PullEventKind::Finished => {
                progress.inc(1);
                progress.println(&format!("Pulled {name}"));
            }
            PullEventKind::Failed => progress.inc(1),
        }
    })
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} B"),
    }
}

/// Flags of `helm-pull`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Pre-pull the project's Helm charts into .helm-charts",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
pub struct Args {
    #[command(flatten)]
    project: ProjectDirFlag,
    #[command(flatten)]
    helm: HelmCredentialArgs,
    #[command(flatten)]
    registry: RegistryCredentialArgs,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Pulls the charts and prints what changed.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self.output.options(&OutputFormat::ALL)?;
        let project_dir = self.project.dir()?;
        let progress = Arc::new(Mutex::new(ctx.console.progress("Pulling Helm charts", None)));
        let client =
            chart_client(&self.helm, &self.registry, &ctx.env)?.with_progress(progress_callback(progress.clone()));
        let report = pull_project(&project_dir, &client, &PullOptions::default()).await;
        drop(client);
        if let Ok(progress) = Arc::try_unwrap(progress).map(|m| m.into_inner()) {
            let progress = progress.unwrap_or_else(|poisoned| poisoned.into_inner());
            match &report {
                Ok(report) => progress.finish(&summary(report)),
                Err(_) => progress.finish("failed"),
            }
        }
        let report = report?;
        ctx.console.emit(&outputs, &HelmPullResult::from(&report))?;
        for error in &report.errors {
            ctx.console.error(&anyhow::anyhow!("{error}"))?;
        }
        Ok(if report.is_success() {
            Exit::Success
        } else {
            Exit::Failure
        })
    }
}

fn summary(report: &PullReport) -> String {
    format!(
        "{} pulled, {} up to date, {} removed, {} failed",
        report.pulled.len(),
        report.up_to_date.len(),
        report.removed.len(),
        report.errors.len()
    )
}

/// One chart version in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersionEntry {
    /// Chart name.
    pub chart: String,
    /// Version.
    pub version: String,
    /// Project-relative directory.
    pub dir: String,
}

/// What `helm-pull` reports (`kind: HelmPullResult`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmPullResult {
    /// Versions downloaded and installed.
    pub pulled: Vec<ChartVersionEntry>,
    /// Versions removed because nothing refers to them any more.
    pub removed: Vec<ChartVersionEntry>,
    /// `helm-chart.yaml` files with `skipPrePull: true`.
    pub skipped: Vec<String>,
    /// Failures.
    pub errors: Vec<String>,
}

impl From<&PullReport> for HelmPullResult {
    fn from(report: &PullReport) -> Self {
        HelmPullResult {
            pulled: report
                .pulled
                .iter()
                .chain(&report.up_to_date)
                .map(|p| ChartVersionEntry {
                    chart: p.chart.clone(),
                    version: p.version.clone(),
                    dir: p.dir.clone(),
                })
                .collect(),
            removed: report
                .removed
                .iter()
                .map(|r| ChartVersionEntry {
                    chart: r.chart.clone(),
                    version: r.version.clone(),
                    dir: r.dir.clone(),
                })
                .collect(),
            skipped: report.skipped.clone(),
            errors: report.errors.iter().map(ToString::to_string).collect(),
        }
    }
}

impl Report for HelmPullResult {
    const KIND: &'static str = "HelmPullResult";

    fn write_text(&self, out: &mut dyn Write, style: TextStyle) -> io::Result<()> {
        for entry in &self.pulled {
            writeln!(out, "{} {} {}", style.paint.added("pulled"), entry.chart, entry.version)?;
        }
        for entry in &self.removed {
            writeln!(
                out,
                "{} {} {}",
                style.paint.removed("removed"),
                entry.chart,
                entry.version
            )?;
        }
        for file in &self.skipped {
            writeln!(out, "{} {file} (skipPrePull)", style.paint.dim("skipped"))?;
        }
        if self.pulled.is_empty() && self.removed.is_empty() && self.errors.is_empty() {
            writeln!(out, "No Helm charts to pull.")?;
        }
        Ok(())
    }
}
