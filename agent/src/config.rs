//! The agent's command line ([`Args`], parsed by clap) and its validated form ([`AgentConfig`]):
//! nothing after [`Args::validate`] reads raw flags.

use crate::artifact::FetchConfig;
use crate::artifact::extract::ExtractLimits;
use crate::artifact::url::{AllowedHost, default_allowed_hosts};
use anyhow::{Context as _, bail};
use clap::Parser;
use shared::types::{RefusedVarsSources, VarsSourceKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Per-namespace GitOps agent: deploys `KluctlDeployment`s from Flux source artifacts.
#[derive(Parser, Debug, Clone)]
#[command(name = "kluctl-agent", version = crate::VERSION)]
pub struct Args {
    /// The namespace to serve: the agent watches and deploys only there.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: String,

    /// Kubeconfig to use outside a cluster (default: in-cluster config inside a pod, else
    /// `KUBECONFIG` or `~/.kube/config`, like kubectl).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    pub context: Option<String>,

    /// Hosts artifacts may be downloaded from, as `host:port` (port 80 when omitted).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller.flux-system.svc.cluster.local.:80"
    )]
    pub artifact_host_allowlist: Vec<String>,

    /// Replace `host:port` of every validated artifact URL, e.g. `localhost:9090` for a
    /// port-forward to source-controller when running outside the cluster.
    #[arg(long, env = "SOURCE_CONTROLLER_LOCALHOST")]
    pub artifact_host_override: Option<String>,

    /// Largest compressed artifact, in bytes.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub max_artifact_bytes: u64,

    /// Largest extracted artifact (file contents), in bytes.
    #[arg(long, default_value_t = 1024 * 1024 * 1024)]
    pub max_extracted_bytes: u64,

    /// Retries of an artifact download after connection errors, 429 and 5xx.
    #[arg(long, default_value_t = 9)]
    pub http_retry: u32,

    /// Address of `/metrics` (`:8080` means all interfaces).
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,

    /// Address of `/healthz` and `/readyz`.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,

    /// KluctlDeployments reconciled at the same time (one at a time per object).
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,

    /// How soon to look again when a dependency or the artifact is not ready (Go duration).
    #[arg(long, default_value = "30s")]
    pub requeue_dependency: String,

    /// Random spread of the success interval, in percent (avoids thundering herds).
    #[arg(long, default_value_t = 5)]
    pub interval_jitter_percentage: u8,

    /// ServiceAccount (in the namespace) to impersonate for KluctlDeployments without
    /// `serviceAccountName`; by default the agent deploys with its own identity.
    #[arg(long)]
    pub default_service_account: Option<String>,

    /// Allow rendered objects in other namespaces and cluster-scoped objects (refused by default,
    /// before anything is applied).
    #[arg(long)]
    pub allow_out_of_namespace: bool,

    /// Allow a vars source that reads outside the artifact: http, systemEnvVars,
    /// clusterConfigMap, clusterSecret, clusterObject (repeatable or comma-separated; all refused
    /// by default; cluster sources stay limited to the agent's namespace)
    #[arg(long = "allow-vars-source", value_name = "KIND", value_delimiter = ',')]
    pub allow_vars_sources: Vec<String>,

    /// Directory for downloads and extracted artifacts (an emptyDir in a pod).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,

    /// Log as JSON lines (for log collectors).
    #[arg(long)]
    pub json_logs: bool,

    /// Log filter (`info`, `debug`, or `RUST_LOG` syntax); `RUST_LOG` wins when set.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// The validated configuration the agent runs with.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The namespace served.
    pub namespace: String,
    /// Explicit kubeconfig.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    pub context: Option<String>,
    /// Artifact fetching.
    pub fetch: FetchConfig,
    /// `/metrics` address.
    pub metrics_addr: SocketAddr,
    /// `/healthz`, `/readyz` address.
    pub health_addr: SocketAddr,
    /// Parallel reconciles.
    pub concurrency: u16,
    /// Requeue for dependencies and missing artifacts.
    pub requeue_dependency: Duration,
    /// Jitter of the success interval, as a fraction (0.05 = ±5%).
    pub interval_jitter: f64,
    /// Default ServiceAccount to impersonate.
    pub default_service_account: Option<String>,
    /// Allow objects outside the namespace.
    pub allow_out_of_namespace: bool,
    /// Vars sources that read outside the artifact and were not allowed.
    pub refused_vars_sources: RefusedVarsSources,
}

/// The vars sources that read outside the artifact (spec F31): refused unless allowed.
pub const EXTERNAL_VARS_SOURCES: [VarsSourceKind; 5] = [
    VarsSourceKind::Http,
    VarsSourceKind::SystemEnvVars,
    VarsSourceKind::ClusterConfigMap,
    VarsSourceKind::ClusterSecret,
    VarsSourceKind::ClusterObject,
];

/// [`EXTERNAL_VARS_SOURCES`] minus the `--allow-vars-source` kinds.
fn refused_vars_sources(allowed: &[String]) -> anyhow::Result<RefusedVarsSources> {
    let mut kinds = EXTERNAL_VARS_SOURCES.to_vec();
    for name in allowed.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let kind = VarsSourceKind::from_field(name)
            .filter(|k| EXTERNAL_VARS_SOURCES.contains(k))
            .with_context(|| {
                let names: Vec<&str> = EXTERNAL_VARS_SOURCES.iter().map(|k| k.field()).collect();
                format!(
                    "failed to parse --allow-vars-source {name:?}: expected one of {}",
                    names.join(", ")
                )
            })?;
        kinds.retain(|k| *k != kind);
    }
    Ok(RefusedVarsSources {
        kinds,
        hint: "the agent refuses vars sources that read outside the artifact; start kluctl-agent with \
               --allow-vars-source <kind> to allow one"
            .to_string(),
    })
}

impl Args {
    /// Checks and converts the flags.
    pub fn validate(self) -> anyhow::Result<AgentConfig> {
        if self.namespace.trim().is_empty() {
            bail!("failed to read the namespace: pass --namespace or set POD_NAMESPACE");
        }
        let allowed_hosts = if self.artifact_host_allowlist.is_empty() {
            default_allowed_hosts()
        } else {
            self.artifact_host_allowlist
                .iter()
                .filter(|h| !h.trim().is_empty())
                .map(|h| AllowedHost::parse(h).map_err(anyhow::Error::msg))
                .collect::<anyhow::Result<Vec<_>>>()
                .context("failed to parse --artifact-host-allowlist")?
        };
        if let Some(host) = &self.artifact_host_override {
            AllowedHost::parse(host)
                .map_err(anyhow::Error::msg)
                .context("failed to parse --artifact-host-override")?;
        }
        let requeue_dependency = shared::deploy::parse_go_duration(&self.requeue_dependency)
            .filter(|d| !d.is_zero())
            .with_context(|| {
                format!(
                    "failed to parse --requeue-dependency {:?}: expected a Go duration such as 30s",
                    self.requeue_dependency
                )
            })?;
        if self.concurrency == 0 {
            bail!("failed to validate --concurrency: it must be at least 1");
        }
        if self.interval_jitter_percentage > 50 {
            bail!("failed to validate --interval-jitter-percentage: at most 50");
        }
        let fetch = FetchConfig {
            allowed_hosts,
            host_override: self.artifact_host_override.clone(),
            max_artifact_bytes: self.max_artifact_bytes,
            extract: ExtractLimits {
                max_bytes: self.max_extracted_bytes,
                ..Default::default()
            },
            retries: self.http_retry,
            work_dir: self.work_dir.clone().unwrap_or_else(crate::artifact::default_work_dir),
            ..Default::default()
        };
        Ok(AgentConfig {
            namespace: self.namespace.trim().to_string(),
            kubeconfig: self.kubeconfig,
            context: self.context,
            fetch,
            metrics_addr: parse_addr(&self.metrics_addr).context("failed to parse --metrics-addr")?,
            health_addr: parse_addr(&self.health_addr).context("failed to parse --health-addr")?,
            concurrency: self.concurrency,
            requeue_dependency,
            interval_jitter: f64::from(self.interval_jitter_percentage) / 100.0,
            default_service_account: self.default_service_account.filter(|s| !s.is_empty()),
            allow_out_of_namespace: self.allow_out_of_namespace,
            refused_vars_sources: refused_vars_sources(&self.allow_vars_sources)?,
        })
    }
}

/// `:8080` (all interfaces), `127.0.0.1:0` or `[::1]:8080`.
pub fn parse_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse()
        .with_context(|| format!("{text:?} is not an address such as :8080 or 127.0.0.1:8080"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<AgentConfig> {
        let mut argv = vec!["kluctl-agent"];
        argv.extend_from_slice(args);
        Args::try_parse_from(argv)?.validate()
    }

    #[test]
    fn defaults_follow_the_flux_controllers() {
        let config = parse(&["--namespace", "team"]).unwrap();
        assert_eq!(config.fetch.allowed_hosts, default_allowed_hosts());
        assert_eq!(config.fetch.retries, 9);
        assert_eq!(config.concurrency, 4);
        assert_eq!(config.requeue_dependency, Duration::from_secs(30));
        assert_eq!(config.metrics_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.health_addr.port(), 9440);
        assert!(!config.allow_out_of_namespace);
        assert_eq!(config.refused_vars_sources.kinds, EXTERNAL_VARS_SOURCES);
    }

    #[test]
    fn vars_sources_outside_the_artifact_are_allowed_one_by_one() {
        let config = parse(&["--namespace", "a", "--allow-vars-source", "http,clusterSecret"]).unwrap();
        assert_eq!(
            config.refused_vars_sources.kinds,
            [
                VarsSourceKind::SystemEnvVars,
                VarsSourceKind::ClusterConfigMap,
                VarsSourceKind::ClusterObject
            ]
        );
        assert!(config.refused_vars_sources.hint.contains("--allow-vars-source"));
        for bad in ["file", "vault", "htp"] {
            let err = parse(&["--namespace", "a", "--allow-vars-source", bad]).unwrap_err();
            assert!(
                format!("{err:#}").contains("expected one of http, systemEnvVars, clusterConfigMap"),
                "{err:#}"
            );
        }
    }

    #[test]
    fn bad_flags_say_what_to_pass() {
        let err = parse(&["--namespace", " "]).unwrap_err();
        assert!(format!("{err:#}").contains("pass --namespace or set POD_NAMESPACE"));
        let err = parse(&["--namespace", "a", "--artifact-host-allowlist", "h:x"]).unwrap_err();
        assert!(format!("{err:#}").contains("--artifact-host-allowlist"), "{err:#}");
        let err = parse(&["--namespace", "a", "--metrics-addr", "nope"]).unwrap_err();
        assert!(format!("{err:#}").contains("--metrics-addr"), "{err:#}");
        let config = parse(&[
            "--namespace",
            "a",
            "--artifact-host-allowlist",
            "127.0.0.1:1234,sc.flux:9090",
        ])
        .unwrap();
        assert_eq!(config.fetch.allowed_hosts.len(), 2);
        assert_eq!(config.fetch.allowed_hosts[1].port, 9090);
    }
}
