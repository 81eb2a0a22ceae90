//! `kubectl kluctl render`: stage 1 and 3 of the pipeline, `shared::project::load` then
//! `shared::render::render`. Output: the rendered tree in `--render-output-dir` (a temp dir by
//! default) and, with `--print-all`, every object on stdout in deployment order.

use crate::cli::flags::{
    ImageFlags, InclusionFlags, KubeOptions, OfflineFlags, OutputFlags, ProjectFlags, RenderOutputDirFlags, WatchFlags,
};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::io::Env;
use crate::output::OutputFormat;
use crate::watch::{Snapshot, WatchOptions, watch};
use anyhow::Context as _;
use shared::project::{ProjectOptions, load, resolve_target};
use shared::render::{RenderOptions, RenderedProject, render};
use shared::vars::KubeReader;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # Render the target prod and print every object
  kubectl kluctl render -t prod --print-all

  # Render without a cluster (no cluster vars, namespaces as written)
  kubectl kluctl render -t prod --offline-kubernetes --print-all

  # Keep the rendered tree (templated files, kustomizations, .rendered.yml per item)
  kubectl kluctl render -t prod --offline-kubernetes --render-output-dir ./rendered

  # Only the items tagged redis, with an arg, as a JSON List
  kubectl kluctl render -t prod -I redis -a replicas=3 --print-all -o json

  # Re-render on every save, showing what changed
  kubectl kluctl render -t prod --offline-kubernetes --print-all --watch";

const LONG: &str = "\
Render a target: load .kluctl.yaml and the deployment.yaml tree with their variables, template
every file of every deployment item, run Helm and Kustomize, and apply Kluctl's labels and
annotations. Items render in parallel. Nothing is written outside the render output directory,
which a failed render leaves as it was.

Without --offline-kubernetes the target's kube context (or --context) is used for cluster vars
sources and for discovery, which gives namespaced objects without a namespace `default` and
removes namespaces from cluster-scoped ones.";

/// Flags of `render`.
#[derive(clap::Args, Debug)]
#[command(about = "Render a target into files and objects", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    project: ProjectFlags,
    #[command(flatten)]
    inclusion: InclusionFlags,
    #[command(flatten)]
    images: ImageFlags,
    #[command(flatten)]
    render_output_dir: RenderOutputDirFlags,
    #[command(flatten)]
    offline: OfflineFlags,
    #[command(flatten)]
    watch: WatchFlags,
    /// Print every rendered object as one YAML stream (with -o json: one v1 List), in deployment order
    #[arg(long, help_heading = "Output")]
    print_all: bool,
    #[command(flatten)]
    output: OutputFlags,
}

/// Everything a render needs, validated once.
struct Plan {
    project: ProjectOptions,
    output_dir: Option<PathBuf>,
    offline: bool,
    timeout: std::time::Duration,
}

impl Args {
    /// Renders, prints and reports where the files went.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let project = self.project.options()?;
        let inclusion = self.inclusion.options()?;
        let images = self.images.options()?;
        let outputs = self
            .output
            .options(&[OutputFormat::Yaml, OutputFormat::Json, OutputFormat::Text])?;
        let fixed_images = images.fixed_images;
        let plan = Plan {
            project: project.engine_options(ctx.kube.context.clone(), None, inclusion, fixed_images),
            output_dir: self.render_output_dir.render_output_dir.clone(),
            offline: self.offline.offline_kubernetes,
            timeout: project.timeout,
        };

        if self.watch.watch {
            let mut options = WatchOptions::new(&plan.project.project_dir);
            if let Some(dir) = &plan.output_dir {
                options = options.ignoring(std::path::absolute(dir).unwrap_or_else(|_| dir.clone()));
            }
            let (kube, env) = (ctx.kube.clone(), ctx.env.clone());
            return watch(&ctx.console, options, |_changes| {
                let (plan, kube, env) = (&plan, &kube, &env);
                async move {
                    let (rendered, _) = run_once(plan, kube, env).await?;
                    let objects: Vec<_> = rendered.objects.iter().map(|(_, o)| o.clone()).collect();
                    Ok(Snapshot::objects(&objects))
                }
            })
            .await;
        }

        let (rendered, warnings) = run_once(&plan, &ctx.kube, &ctx.env).await?;
        for warning in &warnings {
            ctx.console.warn(warning)?;
        }
        if self.print_all {
            let objects: Vec<_> = rendered.objects.iter().map(|(_, o)| o.clone()).collect();
            ctx.console.emit_objects(&outputs, &objects)?;
        }
        let items = rendered.items.iter().filter(|i| i.dir.is_some()).count();
        let place = if rendered.tree.is_temporary() {
            "a temporary directory (pass --render-output-dir to keep it)".to_string()
        } else {
            rendered.tree.root().display().to_string()
        };
        ctx.console.info(&format!(
            "Rendered {} objects from {items} deployment items into {place}",
            rendered.objects.len()
        ))?;
        Ok(Exit::Success)
    }
}

/// Loads and renders once, within the command's timeout.
async fn run_once(plan: &Plan, kube: &KubeOptions, env: &Env) -> anyhow::Result<(RenderedProject, Vec<String>)> {
    let work = async {
        let reader = if plan.offline {
            None
        } else {
            let target = resolve_target(&plan.project)?;
            Some(connect(kube, env, target.target.context.as_deref()).await?)
        };
        let project = load(&plan.project, reader.as_ref().map(|r| r as _)).await?;
        let warnings = project.warnings.clone();
        let output_dir = plan.output_dir.clone();
        // Rendering is CPU work on all cores; keep it off the async threads.
        let rendered = tokio::task::spawn_blocking(move || {
            let options = RenderOptions {
                output_dir: output_dir.as_deref(),
                scopes: reader.as_ref().map(|r| r as _),
                builder: None,
            };
            render(&project, &options)
        })
        .await
        .context("the render task failed")??;
        Ok::<_, anyhow::Error>((rendered, warnings))
    };
    tokio::time::timeout(plan.timeout, work)
        .await
        .map_err(|_| anyhow::anyhow!("failed to render: timed out after {:?} (raise --timeout)", plan.timeout))?
}

/// Connects to the cluster of `context` (else the kubeconfig's current context), as kubectl
/// would with the same flags, and runs discovery.
async fn connect(kube: &KubeOptions, env: &Env, context: Option<&str>) -> anyhow::Result<KubeReader> {
    shared::http::install_crypto_provider();
    let hint = "(pass --offline-kubernetes to render without a cluster)";
    let mut merged: Option<kube::config::Kubeconfig> = None;
    for path in kube.kubeconfig_paths(env).iter().filter(|p| p.exists()) {
        let next = kube::config::Kubeconfig::read_from(path)
            .with_context(|| format!("failed to read kubeconfig {} {hint}", path.display()))?;
        merged = Some(match merged {
            None => next,
            Some(current) => current.merge(next).context("failed to merge kubeconfig files")?,
        });
    }
    let kubeconfig = merged.ok_or_else(|| anyhow::anyhow!("failed to find a kubeconfig {hint}"))?;
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        cluster: kube.cluster.clone(),
        user: kube.user.clone(),
    };
    let shown = context.unwrap_or("the current context");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("failed to configure the client for {shown} {hint}"))?;
    if let Some(timeout) = kube.request_timeout.filter(|t| !t.is_zero()) {
        config.read_timeout = Some(timeout);
    }
    if let Some(user) = &kube.impersonate_user {
        config.auth_info.impersonate = Some(user.clone());
        if !kube.impersonate_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(kube.impersonate_groups.clone());
        }
    }
    let client = kube::Client::try_from(config).with_context(|| format!("failed to create a client for {shown}"))?;
    KubeReader::connect(client)
        .await
        .with_context(|| format!("failed to connect to the cluster of {shown} {hint}"))
}
