//! Kubernetes connection flags (kubectl's names and meanings), global so they work before or after the subcommand (kubectl
//! passes `kubectl kluctl -n x deploy` to the plugin as `-n x deploy`).

use super::usage_error;
use crate::cli::duration::parse_duration;
use crate::io::Env;
use clap::{Args, ValueHint};
use std::path::PathBuf;
use std::time::Duration;

/// `--kubeconfig`, `--context`, `-n`, `--request-timeout`, `--as`, `--as-group`.
#[derive(Args, Clone, Debug, Default)]
pub struct KubeFlags {
    /// Path to the kubeconfig file to use (only this file: KUBECONFIG is not merged in)
    #[arg(long, global = true, value_name = "FILE", value_hint = ValueHint::FilePath, help_heading = "Kubernetes")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (overrides the target's context)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes")]
    pub context: Option<String>,

    /// The kubeconfig cluster to use instead of the context's
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes")]
    pub cluster: Option<String>,

    /// The kubeconfig user to use instead of the context's
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes")]
    pub user: Option<String>,

    /// Namespace for namespaced objects that do not set one
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NAMESPACE",
        help_heading = "Kubernetes"
    )]
    pub namespace: Option<String>,

    /// Timeout of each API request, e.g. 30s or 1m (0 = no timeout)
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration, help_heading = "Kubernetes")]
    pub request_timeout: Option<Duration>,

    /// User to impersonate for API requests
    #[arg(long = "as", global = true, value_name = "USER", help_heading = "Kubernetes")]
    pub as_user: Option<String>,

    /// Group to impersonate, with --as (repeatable)
    #[arg(long = "as-group", global = true, value_name = "GROUP", help_heading = "Kubernetes")]
    pub as_group: Vec<String>,
}

/// Where and as whom to talk to the cluster, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeOptions {
    /// An explicit kubeconfig file (no merging).
    pub kubeconfig: Option<PathBuf>,
    /// The context to use instead of the target's or the current one.
    pub context: Option<String>,
    /// The kubeconfig cluster to use instead of the context's.
    pub cluster: Option<String>,
    /// The kubeconfig user to use instead of the context's.
    pub user: Option<String>,
    /// The default namespace for namespaced objects without one.
    pub namespace: Option<String>,
    /// Per-request timeout; `None` keeps the client default, zero means none.
    pub request_timeout: Option<Duration>,
    /// The user to impersonate.
    pub impersonate_user: Option<String>,
    /// The groups to impersonate (only with a user).
    pub impersonate_groups: Vec<String>,
}

impl KubeFlags {
    /// Validates the flags.
    pub fn options(&self) -> anyhow::Result<KubeOptions> {
        if !self.as_group.is_empty() && self.as_user.is_none() {
            return Err(usage_error(
                "--as-group needs --as (impersonating groups without a user)",
            ));
        }
        for (flag, value) in [
            ("--context", &self.context),
            ("--cluster", &self.cluster),
            ("--user", &self.user),
        ] {
            if value.as_deref() == Some("") {
                return Err(usage_error(format!("{flag} must not be empty")));
            }
        }
        Ok(KubeOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
            namespace: self.namespace.clone().filter(|ns| !ns.is_empty()),
            request_timeout: self.request_timeout,
            impersonate_user: self.as_user.clone(),
            impersonate_groups: self.as_group.clone(),
        })
    }
}

impl KubeOptions {
    /// The kubeconfig files kubectl would read, in precedence order: `--kubeconfig` alone, else
    /// every entry of `KUBECONFIG` (`:`-separated, `;` on Windows), else `~/.kube/config`.
    pub fn kubeconfig_paths(&self, env: &Env) -> Vec<PathBuf> {
        kubeconfig_paths(self.kubeconfig.as_deref(), env)
    }
}

/// See [`KubeOptions::kubeconfig_paths`]; used by completion before options exist.
pub(crate) fn kubeconfig_paths(explicit: Option<&std::path::Path>, env: &Env) -> Vec<PathBuf> {
    if let Some(path) = explicit {
        return vec![path.to_path_buf()];
    }
    if let Some(list) = env.non_empty("KUBECONFIG") {
        let separator = if cfg!(windows) { ';' } else { ':' };
        return list
            .split(separator)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    let home = env.non_empty("HOME").or_else(|| env.non_empty("USERPROFILE"));
    home.map(|h| vec![PathBuf::from(h).join(".kube").join("config")])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_precedence_is_kubectls() {
        let env = Env::empty().with("KUBECONFIG", "/a:/b").with("HOME", "/home/u");
        let explicit = KubeOptions {
            kubeconfig: Some("/x".into()),
            ..Default::default()
        };
        assert_eq!(explicit.kubeconfig_paths(&env), vec![PathBuf::from("/x")]);
        assert_eq!(
            KubeOptions::default().kubeconfig_paths(&env),
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        let home_only = Env::empty().with("HOME", "/home/u");
        assert_eq!(
            KubeOptions::default().kubeconfig_paths(&home_only),
            vec![PathBuf::from("/home/u/.kube/config")]
        );
    }

    #[test]
    fn impersonating_groups_needs_a_user() {
        let flags = KubeFlags {
            as_group: vec!["admins".into()],
            ..Default::default()
        };
        assert!(
            flags
                .options()
                .unwrap_err()
                .to_string()
                .contains("--as-group needs --as")
        );
    }
}
