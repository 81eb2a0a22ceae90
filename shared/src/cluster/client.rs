//! [`ClusterClient`]: the connection to one cluster, built from kubeconfig the way kubectl does
//! it, shared by every stage of a command (discovery, remote objects, applies, deletes, waits).
//!
//! Input: [`ConnectOptions`] (kubeconfig files, context, overrides). Output: a client whose
//! requests all go through one adaptive [`Limiter`] and carry a deadline (see `request.rs`).
//! Authentication is kube-rs': tokens, token files, client certificates, exec plugins and
//! auth providers.

use super::ClusterError;
use super::discovery::Discovery;
use super::limiter::Limiter;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default number of API requests in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// The default deadline of one API request (kubectl has none; a hung server or auth plugin
/// must not hang a deploy for hours).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and as whom to connect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The kubeconfig files, merged as kubectl merges `KUBECONFIG` (the first file to set a
    /// value wins; missing files are skipped unless it is the only one). Empty: `KUBECONFIG`
    /// from the process environment, else `~/.kube/config`.
    pub kubeconfig_paths: Vec<PathBuf>,
    /// The context: `--context`, else the target's `context`; `None` uses the current context.
    pub context: Option<String>,
    /// The kubeconfig cluster to use instead of the context's.
    pub cluster: Option<String>,
    /// The kubeconfig user to use instead of the context's.
    pub user: Option<String>,
    /// The default namespace instead of the context's.
    pub namespace: Option<String>,
    /// The deadline of each request; `None` = [`DEFAULT_REQUEST_TIMEOUT`], zero = none.
    pub request_timeout: Option<Duration>,
    /// The user to impersonate.
    pub impersonate_user: Option<String>,
    /// The groups to impersonate.
    pub impersonate_groups: Vec<String>,
    /// Requests in flight at most; 0 = [`DEFAULT_CONCURRENCY`].
    pub concurrency: usize,
}

impl ConnectOptions {
    /// Options for exactly one kubeconfig file (what `--kubeconfig` means).
    pub fn from_kubeconfig(path: impl Into<PathBuf>) -> Self {
        ConnectOptions {
            kubeconfig_paths: vec![path.into()],
            ..Default::default()
        }
    }

    /// The context to use: `--context` wins over the target's `context` (Kluctl's order).
    pub fn with_context(mut self, cli: Option<&str>, target: Option<&str>) -> Self {
        self.context = cli.or(target).filter(|c| !c.is_empty()).map(str::to_string);
        self
    }
}

pub(crate) struct Inner {
    pub(crate) client: kube::Client,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) context: String,
    pub(crate) server: String,
    pub(crate) default_namespace: String,
    pub(crate) discovery: tokio::sync::RwLock<Option<Arc<Discovery>>>,
    pub(crate) discovery_refresh: tokio::sync::Mutex<u64>,
    /// Set for a namespace-scoped caller (the agent): see [`ClusterClient::restrict_to_namespace`].
    pub(crate) namespace_scope: std::sync::OnceLock<String>,
    /// Whether the server has answered any request of this client: before it has, a connection
    /// error means a wrong address or a cluster that is down, and is reported at once.
    pub(crate) answered: std::sync::atomic::AtomicBool,
}

/// A connection to one cluster; cheap to clone.
#[derive(Clone)]
pub struct ClusterClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterClient")
            .field("context", &self.inner.context)
            .field("server", &self.inner.server)
            .finish()
    }
}

fn default_paths() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    home.map(|h| vec![PathBuf::from(h).join(".kube").join("config")])
        .unwrap_or_default()
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads and merges the kubeconfig files (first value wins, as kubectl does).
pub fn load_kubeconfig(paths: &[PathBuf]) -> Result<(Kubeconfig, Vec<PathBuf>), ClusterError> {
    let paths = if paths.is_empty() {
        default_paths()
    } else {
        paths.to_vec()
    };
    let only_one = paths.len() == 1;
    let mut merged: Option<Kubeconfig> = None;
    for path in &paths {
        if !path.exists() && !only_one {
            continue;
        }
        let config = Kubeconfig::read_from(path).map_err(|e| ClusterError::LoadKubeconfig {
            path: path.display().to_string(),
            message: if path.exists() {
                e.to_string()
            } else {
                "the file does not exist (pass --kubeconfig or set KUBECONFIG)".to_string()
            },
        })?;
        merged = Some(match merged {
            None => config,
            Some(m) => m.merge(config).map_err(|e| ClusterError::LoadKubeconfig {
                path: path.display().to_string(),
                message: e.to_string(),
            })?,
        });
    }
    let merged = merged.ok_or_else(|| ClusterError::LoadKubeconfig {
        path: display_paths(&paths),
        message: "no kubeconfig file found (pass --kubeconfig or set KUBECONFIG)".to_string(),
    })?;
    Ok((merged, paths))
}

/// Connects to the cluster the options select. Nothing is sent yet: the first request (usually
/// discovery) tells whether the cluster answers.
pub async fn connect(options: &ConnectOptions) -> Result<ClusterClient, ClusterError> {
    crate::http::install_crypto_provider();
    let (kubeconfig, paths) = load_kubeconfig(&options.kubeconfig_paths)?;
    let context = match options.context.clone().or_else(|| kubeconfig.current_context.clone()) {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(ClusterError::SelectContext {
                context: String::new(),
                message: format!(
                    "no current context is set in {} (pass --context or set `context` in the target)",
                    display_paths(&paths)
                ),
            });
        }
    };
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let mut available: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
        available.sort();
        return Err(ClusterError::SelectContext {
            context: context.clone(),
            message: format!(
                "no such context in {} (available: {})",
                display_paths(&paths),
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            ),
        });
    }
    let kube_options = KubeConfigOptions {
        context: Some(context.clone()),
        cluster: options.cluster.clone(),
        user: options.user.clone(),
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| ClusterError::SelectContext {
            context: context.clone(),
            message: e.to_string(),
        })?;
    if let Some(ns) = options.namespace.as_ref().filter(|ns| !ns.is_empty()) {
        config.default_namespace = ns.clone();
    }
    if let Some(user) = &options.impersonate_user {
        config.auth_info.impersonate = Some(user.clone());
        if !options.impersonate_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(options.impersonate_groups.clone());
        }
    }
    ClusterClient::from_config(config, &context, options.concurrency, options.request_timeout)
}

impl ClusterClient {
    /// A client from a ready kube-rs config (the agent's in-cluster config, with impersonation
    /// already set); `context` names it in results and messages. `concurrency` 0 and
    /// `request_timeout` `None` mean the defaults; a zero timeout means none.
    pub fn from_config(
        mut config: kube::Config,
        context: &str,
        concurrency: usize,
        request_timeout: Option<Duration>,
    ) -> Result<ClusterClient, ClusterError> {
        crate::http::install_crypto_provider();
        // Retries are ours (request.rs): they must feed the limiter and respect the deadline.
        config.default_retry = false;
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::SelectContext {
            context: context.to_string(),
            message: e.to_string(),
        })?;
        let concurrency = if concurrency == 0 {
            DEFAULT_CONCURRENCY
        } else {
            concurrency
        };
        let request_timeout = match request_timeout {
            None => Some(DEFAULT_REQUEST_TIMEOUT),
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
        };
        Ok(ClusterClient {
            inner: Arc::new(Inner {
                client,
                limiter: Limiter::new(concurrency),
                request_timeout,
                context: context.to_string(),
                server,
                default_namespace,
                discovery: tokio::sync::RwLock::new(None),
                discovery_refresh: tokio::sync::Mutex::new(0),
                namespace_scope: std::sync::OnceLock::new(),
                answered: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The kubeconfig context in use (what `target.context` becomes).
    pub fn context(&self) -> &str {
        &self.inner.context
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// The namespace for namespaced objects that set none.
    pub fn default_namespace(&self) -> &str {
        &self.inner.default_namespace
    }

    /// Keeps the reads of live state inside `namespace`: no cluster-wide lists, no Namespace
    /// reads, no cluster id. For a caller that only deploys there (the per-namespace agent),
    /// whose requests must never leave its namespace, even when RBAC would refuse them anyway.
    /// The first call wins.
    pub fn restrict_to_namespace(&self, namespace: &str) {
        let _ = self.inner.namespace_scope.set(namespace.to_string());
    }

    /// The namespace set by [`ClusterClient::restrict_to_namespace`].
    pub fn namespace_scope(&self) -> Option<&str> {
        self.inner.namespace_scope.get().map(String::as_str)
    }

    /// The request limiter (its current limit shows how the server copes).
    pub fn limiter(&self) -> &Arc<Limiter> {
        &self.inner.limiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, contexts: &[(&str, &str)], current: &str) -> PathBuf {
        let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
        for (ctx, server) in contexts {
            text.push_str(&format!("- name: {ctx}\n  cluster:\n    server: {server}\n"));
        }
        text.push_str("contexts:\n");
        for (ctx, _) in contexts {
            text.push_str(&format!("- name: {ctx}\n  context:\n    cluster: {ctx}\n    user: u\n"));
        }
        text.push_str(&format!(
            "current-context: {current}\nusers:\n- name: u\n  user:\n    token: t\n"
        ));
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn merges_files_first_wins_and_selects_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(dir.path(), "a", &[("one", "http://127.0.0.1:1")], "one");
        let b = write(
            dir.path(),
            "b",
            &[("one", "http://127.0.0.1:9"), ("two", "http://127.0.0.1:2")],
            "two",
        );
        let missing = dir.path().join("missing");
        let options = ConnectOptions {
            kubeconfig_paths: vec![missing.clone(), a.clone(), b.clone()],
            ..Default::default()
        };
        let client = connect(&options).await.unwrap();
        assert_eq!(client.context(), "one", "the first file's current-context wins");
        assert!(client.server().contains(":1"), "{}", client.server());
        let two = connect(&options.clone().with_context(Some("two"), Some("one")))
            .await
            .unwrap();
        assert_eq!(two.context(), "two", "--context beats the target's context");
        assert!(two.server().contains(":2"));
        let from_target = connect(&options.clone().with_context(None, Some("two"))).await.unwrap();
        assert_eq!(from_target.context(), "two");

        let err = connect(&options.clone().with_context(Some("nope"), None))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\"") && err.contains("available: one, two"), "{err}");

        let err = connect(&ConnectOptions::from_kubeconfig(&missing))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
