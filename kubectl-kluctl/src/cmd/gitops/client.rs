//! A `kube::Client` from the global Kubernetes flags, resolved as kubectl does: `--kubeconfig`
//! alone, else every file of `KUBECONFIG` merged (first value wins), else `~/.kube/config`;
//! `--context`, `--cluster`, `--user`, `-n`, `--request-timeout`, `--as`, `--as-group`.
//! Errors name the files and the context, never a credential.

use crate::cli::flags::KubeOptions;
use crate::io::Env;
use anyhow::{Context as _, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::time::Duration;

/// A connected client and the namespace commands work in.
pub struct Connection {
    /// The client.
    pub client: kube::Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
}

/// Connects with the global flags.
pub async fn connect(kube: &KubeOptions, env: &Env) -> anyhow::Result<Connection> {
    shared::http::install_crypto_provider();
    let paths = kube.kubeconfig_paths(env);
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut merged: Option<Kubeconfig> = None;
    for path in &paths {
        if !path.exists() && paths.len() > 1 {
            continue;
        }
        let config = Kubeconfig::read_from(path).with_context(|| {
            format!(
                "failed to read kubeconfig {} (pass --kubeconfig or set KUBECONFIG)",
                path.display()
            )
        })?;
        merged = Some(match merged {
            None => config,
            Some(m) => m
                .merge(config)
                .with_context(|| format!("failed to merge kubeconfig {}", path.display()))?,
        });
    }
    let Some(kubeconfig) = merged else {
        bail!(
            "failed to load a kubeconfig: none of {} exists (pass --kubeconfig or set KUBECONFIG)",
            shown.join(", ")
        );
    };
    let options = KubeConfigOptions {
        context: kube.context.clone(),
        cluster: kube.cluster.clone(),
        user: kube.user.clone(),
    };
    let context = kube
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| {
            format!(
                "failed to select kubeconfig context \"{context}\" in {}",
                shown.join(", ")
            )
        })?;
    if let Some(namespace) = &kube.namespace {
        config.default_namespace = namespace.clone();
    }
    if let Some(timeout) = kube.request_timeout {
        config.read_timeout = (!timeout.is_zero()).then_some(timeout);
    } else {
        config.read_timeout = Some(Duration::from_secs(60));
    }
    if let Some(user) = &kube.impersonate_user {
        config.auth_info.impersonate = Some(user.clone());
        if !kube.impersonate_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(kube.impersonate_groups.clone());
        }
    }
    let namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config).context("failed to create the Kubernetes client")?;
    Ok(Connection { client, namespace })
}

/// What `--export` commands do with the objects they build: print them as YAML, or apply them
/// server-side in `namespace` and name each applied object on stderr.
pub async fn export_or_apply(
    ctx: &crate::cmd::Context,
    objects: &[serde_json::Value],
    namespace: &str,
    export: bool,
) -> anyhow::Result<()> {
    if export {
        ctx.console
            .stdout()
            .write_text(&shared::yaml::to_yaml_stream(objects))?;
        return Ok(());
    }
    let connection = connect(&ctx.kube, &ctx.env).await?;
    shared::crd::gitops::apply_objects(&connection.client, objects, namespace).await?;
    for object in objects {
        ctx.console.info(&format!(
            "{} {namespace}/{} applied",
            object["kind"].as_str().unwrap_or_default(),
            object["metadata"]["name"].as_str().unwrap_or_default()
        ))?;
    }
    Ok(())
}
