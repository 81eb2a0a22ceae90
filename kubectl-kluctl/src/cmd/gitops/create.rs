//! `kubectl kluctl gitops create NAME`: a `KluctlDeployment` (and, with `--git-url`, its Flux
//! `GitRepository`) from flags, applied server-side or, with `--export`, printed as YAML.

use super::client::connect;
use crate::cli::flags::{ApplyFlags, DryRunFlags, ImageFlags, InclusionFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use anyhow::Context as _;
use serde_json::Value;
use shared::crd::manifests::{GitRepositoryOptions, GitopsObjectsOptions, depends_on, gitops_objects};
use shared::crd::{FixedImage, KluctlDeploymentSpec, SourceReference};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  # A GitRepository and a KluctlDeployment deploying target prod of ./deploy every 5 minutes
  kubectl kluctl gitops create app -n team --git-url https://github.com/org/repo --git-branch main \\
    --path deploy -t prod -a env=prod --prune --delete

  # Use an existing Flux source, and print the YAML instead of applying it
  kubectl kluctl gitops create app -n team --source-kind OCIRepository --source-name app --export";

/// Flags of `gitops create`.
#[derive(clap::Args, Debug)]
#[command(about = "Create or update a KluctlDeployment (and optionally its GitRepository)", after_help = EXAMPLES)]
pub struct Args {
    /// Name of the KluctlDeployment (and of the GitRepository created with --git-url)
    name: String,

    /// Kind of an existing Flux source: GitRepository, OCIRepository or Bucket
    #[arg(long, value_name = "KIND", default_value = "GitRepository", help_heading = "Source")]
    source_kind: String,

    /// Name of an existing Flux source in the same namespace
    #[arg(long, value_name = "NAME", conflicts_with = "git_url", help_heading = "Source")]
    source_name: Option<String>,

    /// Create a GitRepository for this URL, named like the KluctlDeployment
    #[arg(long, value_name = "URL", help_heading = "Source")]
    git_url: Option<String>,

    /// Branch of --git-url
    #[arg(long, value_name = "BRANCH", requires = "git_url", help_heading = "Source")]
    git_branch: Option<String>,

    /// Tag of --git-url
    #[arg(long, value_name = "TAG", requires = "git_url", help_heading = "Source")]
    git_tag: Option<String>,

    /// Semver range of tags of --git-url
    #[arg(long, value_name = "RANGE", requires = "git_url", help_heading = "Source")]
    git_semver: Option<String>,

    /// Commit of --git-url
    #[arg(long, value_name = "SHA", requires = "git_url", help_heading = "Source")]
    git_commit: Option<String>,

    /// Secret (same namespace) with the credentials of --git-url
    #[arg(long, value_name = "NAME", requires = "git_url", help_heading = "Source")]
    git_secret_ref: Option<String>,

    /// How often source-controller polls --git-url
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1m",
        requires = "git_url",
        help_heading = "Source"
    )]
    git_interval: String,

    /// Directory of the Kluctl project inside the source (default: its root)
    #[arg(long, value_name = "DIR", help_heading = "Project")]
    path: Option<String>,

    /// The target to deploy
    #[arg(short = 't', long, value_name = "NAME", help_heading = "Project")]
    target: Option<String>,

    /// Set an arg: the value is YAML, a dotted name nests (a.b=1) (repeatable)
    #[arg(short = 'a', long = "arg", value_name = "NAME=VALUE", help_heading = "Project")]
    args: Vec<String>,

    /// Read args from a YAML file of name: value pairs; wins over -a (repeatable)
    #[arg(long, value_name = "FILE", help_heading = "Project")]
    args_from_file: Vec<PathBuf>,

    /// How often the agent deploys (also correcting drift)
    #[arg(long, value_name = "DURATION", default_value = "5m", help_heading = "Reconcile")]
    interval: String,

    /// How soon the agent retries after a failure (default: --interval)
    #[arg(long, value_name = "DURATION", help_heading = "Reconcile")]
    retry_interval: Option<String>,

    /// Bound of one deploy (default: --interval minus 30s, at least 30s)
    #[arg(long, value_name = "DURATION", help_heading = "Reconcile")]
    timeout: Option<String>,

    /// Delete orphan objects after each deploy
    #[arg(long, help_heading = "Reconcile")]
    prune: bool,

    /// Delete every deployed object when the KluctlDeployment is deleted
    #[arg(long, help_heading = "Reconcile")]
    delete: bool,

    /// Create it suspended
    #[arg(long, help_heading = "Reconcile")]
    suspend: bool,

    /// A KluctlDeployment of the namespace that must be Ready first (repeatable)
    #[arg(long, value_name = "NAME", help_heading = "Reconcile")]
    depends_on: Vec<String>,

    /// Deploy as this ServiceAccount of the namespace (impersonated by the agent)
    #[arg(long, value_name = "NAME", help_heading = "Reconcile")]
    service_account: Option<String>,

    /// Do not wait for readiness of deployed objects
    #[arg(long, help_heading = "Misc")]
    no_wait: bool,

    #[command(flatten)]
    inclusion: InclusionFlags,

    #[command(flatten)]
    images: ImageFlags,

    #[command(flatten)]
    apply: ApplyFlags,

    #[command(flatten)]
    dry_run: DryRunFlags,

    /// Print the objects as YAML instead of applying them
    #[arg(long, help_heading = "Output")]
    export: bool,
}

impl Args {
    /// Builds the objects, then applies or prints them.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let namespace = match (&ctx.kube.namespace, self.export) {
            (Some(ns), _) => ns.clone(),
            // Exported YAML without -n goes where the current context points when applied.
            (None, true) => "default".to_string(),
            (None, false) => connect(&ctx.kube, &ctx.env).await?.namespace,
        };
        let objects = self.objects(&namespace)?;
        super::client::export_or_apply(ctx, &objects, &namespace, self.export).await?;
        Ok(Exit::Success)
    }

    fn objects(&self, namespace: &str) -> anyhow::Result<Vec<Value>> {
        let mut args = shared::args::parse_args(self.args.iter().map(String::as_str))?;
        for file in &self.args_from_file {
            shared::args::merge_args(&mut args, shared::args::load_args_file(file)?);
        }
        let inclusion = self.inclusion.options()?;
        let images = self
            .images
            .options()?
            .fixed_images
            .into_iter()
            .map(|i| {
                Ok(FixedImage {
                    image: i.image,
                    image_regex: i.image_regex,
                    result_image: i.result_image.unwrap_or_default(),
                    namespace: i.namespace,
                    object: match i.object {
                        Some(Value::Object(map)) => Some(map),
                        _ => None,
                    },
                    deployment: i.deployment,
                    container: i.container,
                    deploy_tags: i.deploy_tags,
                    deployment_dir: i.deployment_dir,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let spec = KluctlDeploymentSpec {
            source_ref: SourceReference {
                api_version: None,
                kind: self.source_kind.clone(),
                name: self.source_name.clone().unwrap_or_default(),
                namespace: None,
            },
            path: self.path.clone(),
            target: self.target.clone(),
            args: (!args.is_empty()).then_some(args),
            interval: self.interval.clone(),
            retry_interval: self.retry_interval.clone(),
            timeout: self.timeout.clone(),
            suspend: self.suspend,
            prune: self.prune,
            delete: self.delete,
            depends_on: depends_on(&self.depends_on),
            service_account_name: self.service_account.clone(),
            include_tags: inclusion.include_tags,
            exclude_tags: inclusion.exclude_tags,
            include_deployment_dirs: inclusion.include_deployment_dirs,
            exclude_deployment_dirs: inclusion.exclude_deployment_dirs,
            dry_run: self.dry_run.dry_run,
            no_wait: self.no_wait,
            force_apply: self.apply.force_apply,
            replace_on_error: self.apply.replace_on_error,
            force_replace_on_error: self.apply.force_replace_on_error,
            abort_on_error: self.apply.abort_on_error,
            images,
        };
        let git = self.git_url.as_ref().map(|url| GitRepositoryOptions {
            url: url.clone(),
            branch: self.git_branch.clone(),
            tag: self.git_tag.clone(),
            semver: self.git_semver.clone(),
            commit: self.git_commit.clone(),
            interval: self.git_interval.clone(),
            secret_ref: self.git_secret_ref.clone(),
        });
        if git.is_none() && self.source_name.is_none() {
            return Err(crate::cli::flags::usage_error(
                "pass --git-url (a GitRepository is created) or --source-name (an existing Flux source)",
            ));
        }
        let objects = gitops_objects(&GitopsObjectsOptions {
            name: self.name.clone(),
            namespace: namespace.to_string(),
            spec,
            git,
        });
        // The agent would refuse what does not validate: refuse it here, before writing.
        let kd: shared::crd::KluctlDeployment = serde_json::from_value(objects.last().cloned().unwrap_or_default())
            .context("failed to build the KluctlDeployment")?;
        kd.spec.validate()?;
        Ok(objects)
    }
}
