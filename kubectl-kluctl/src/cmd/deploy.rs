//! `kubectl kluctl deploy`: render the target, show the diff and ask (pass 1), then apply
//! (pass 2), report orphans and, with `--prune`, delete them. Output: a `CommandResult`.
//!
//! Also home of what the cluster commands (`diff`, `deploy`, `prune`, `delete`, `validate`)
//! share: [`TargetFlags`] (project, target, inclusion, images, discriminator), connecting and
//! rendering (`TargetFlags::prepare`), and drawing the engine's progress (`ProgressView`).

use crate::cli::flags::{
    ApplyFlags, DiffIgnoreFlags, DiscriminatorFlags, DryRunFlags, ImageFlags, InclusionFlags, ObfuscateFlags,
    OutputFlags, ProjectFlags, PruneFlags, RenderOutputDirFlags, ShortOutputFlags, WaitFlags, YesFlags,
};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{Console, OutputFormat, ResultReport, result_exit};
use anyhow::Context as _;
use shared::cluster::{ApplyOptions, ClusterClient, ConnectOptions, DeployOptions, ProgressEvent, connect};
use shared::commands::{self, DeployCommandOptions, RenderRequest, RenderedTarget, Session};
use shared::diff::IgnoreFlags;
use shared::result::{CommandInfo, CommandResult, ResultOptions, TextOptions, render_text};
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  # Show what would change, ask, then deploy the target prod
  kubectl kluctl deploy -t prod

  # Deploy without asking (CI), and delete objects that are no longer rendered
  kubectl kluctl deploy -t prod --yes --prune

  # Only the items tagged backend, as a server-side dry run
  kubectl kluctl deploy -t prod -I backend --dry-run

  # Keep the result as JSON next to the text on the terminal
  kubectl kluctl deploy -t prod --yes -o text -o json=deploy-result.json";

const LONG: &str = "\
Deploys a target in two passes. Pass 1 is a diff (a server-side dry run of every object), printed
on stderr, followed by a confirmation prompt; --yes and --dry-run skip it, and without a terminal
the command refuses instead of waiting. Pass 2 applies with server-side apply (field manager
kluctl): items in declaration order, barriers wait for everything before them, independent items
run in parallel, Namespaces and CRDs come before the objects that need them, and hooks run as
Kluctl runs them. Nothing is applied when rendering fails.

Conflicts follow Kluctl's policy: fields owned by kluctl, kubectl, rancher or k9s are taken back,
fields of other managers are given up with a warning naming the manager (unless
kluctl.io/force-apply* annotations, conflictResolution rules or --force-apply say otherwise).";

/// Flags of `deploy`.
#[derive(clap::Args, Debug)]
#[command(about = "Deploy a target to the cluster", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetFlags,
    #[command(flatten)]
    yes: YesFlags,
    #[command(flatten)]
    dry_run: DryRunFlags,
    #[command(flatten)]
    apply: ApplyFlags,
    #[command(flatten)]
    wait: WaitFlags,
    #[command(flatten)]
    prune: PruneFlags,
    #[command(flatten)]
    obfuscate: ObfuscateFlags,
    #[command(flatten)]
    short: ShortOutputFlags,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Runs `deploy`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self
            .output
            .options(&[OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json])?;
        let dry_run = self.dry_run.dry_run;
        let ask = !self.yes.yes && !dry_run;
        if ask && !ctx.console.tty().stdin {
            anyhow::bail!("refusing to deploy without confirmation (pass --yes)");
        }
        let options = DeployCommandOptions {
            deploy: deploy_options(&self.apply, &self.wait, dry_run),
            prune: self.prune.prune,
        };
        let timeout = self.target.project.timeout;
        let result = within(timeout, async {
            let prepared = self.target.prepare(ctx, "deploy", IgnoreFlags::default()).await?;
            let mut info = prepared.info.clone();
            fill_deploy_info(&mut info, &options.deploy);
            let result_options = ResultOptions {
                keep_objects: false,
                reveal_secrets: self.obfuscate.no_obfuscate,
            };
            if ask {
                let view = ProgressView::new(&ctx.console, "diff", Some(prepared.object_count()));
                let mut diff_info = info.clone();
                diff_info.command = "diff".to_string();
                diff_info.dry_run = true;
                let session = prepared.session(diff_info, result_options, &view);
                let preview = commands::diff(&session, &prepared.rendered.target, &options.deploy).await?;
                view.finish(&preview);
                print_to_stderr(&ctx.console, &preview, self.short.short_output)?;
                let question = if preview.has_errors() {
                    "The diff resulted in errors, do you still want to proceed?"
                } else {
                    "The diff succeeded, do you want to proceed?"
                };
                if !ctx.console.confirm("deploy", question).await? {
                    anyhow::bail!("deploy aborted: not confirmed");
                }
            }
            let view = ProgressView::new(&ctx.console, "deploy", Some(prepared.object_count()));
            let session = prepared.session(info, result_options, &view);
            let result = commands::deploy(&session, &prepared.rendered.target, &options).await?;
            view.finish(&result);
            Ok(result)
        })
        .await?;
        ctx.console
            .emit(&outputs, &ResultReport::new(&result).short(self.short.short_output))?;
        result_exit(&result)
    }
}

/// Runs `work` with the command's `--timeout`.
pub(crate) async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => anyhow::bail!(
            "the command did not finish within --timeout {} (raise it for large targets)",
            crate::cli::duration::format_duration(timeout)
        ),
    }
}

/// The engine's deploy options from the flags.
pub(crate) fn deploy_options(apply: &ApplyFlags, wait: &WaitFlags, dry_run: bool) -> DeployOptions {
    DeployOptions {
        apply: ApplyOptions {
            dry_run,
            force_apply: apply.force_apply,
            replace_on_error: apply.replace_on_error || apply.force_replace_on_error,
            force_replace_on_error: apply.force_replace_on_error,
        },
        no_wait: wait.no_wait,
        abort_on_error: apply.abort_on_error,
        readiness_timeout: wait.readiness_timeout,
    }
}

/// Records the deploy flags in the result.
pub(crate) fn fill_deploy_info(info: &mut CommandInfo, options: &DeployOptions) {
    info.dry_run = options.apply.dry_run;
    info.no_wait = options.no_wait;
    info.force_apply = options.apply.force_apply;
    info.replace_on_error = options.apply.replace_on_error;
    info.force_replace_on_error = options.apply.force_replace_on_error;
    info.abort_on_error = options.abort_on_error;
}

/// Prints a result as text on stderr (pass 1 of deploy, the preview of prune and delete).
pub(crate) fn print_to_stderr(console: &Console, result: &CommandResult, short: bool) -> anyhow::Result<()> {
    let options = TextOptions {
        short,
        names_only: false,
        color: console.stderr_paint().enabled(),
        width: console.width(),
    };
    console
        .stderr()
        .write_text(&render_text(result, &options))
        .context("failed to write to stderr")
}

/// The diff's `--ignore-*` flags as the engine reads them.
pub(crate) fn ignore_flags(flags: &DiffIgnoreFlags) -> IgnoreFlags {
    IgnoreFlags {
        tags: flags.ignore_tags,
        labels: flags.ignore_labels,
        annotations: flags.ignore_annotations,
        kluctl_metadata: flags.ignore_kluctl_metadata,
    }
}

/// Which project and target the cluster commands work on.
#[derive(clap::Args, Clone, Debug)]
pub struct TargetFlags {
    #[command(flatten)]
    pub(crate) project: ProjectFlags,
    #[command(flatten)]
    inclusion: InclusionFlags,
    #[command(flatten)]
    images: ImageFlags,
    #[command(flatten)]
    discriminator: DiscriminatorFlags,
    #[command(flatten)]
    render_output_dir: RenderOutputDirFlags,
    /// API requests in flight at most; fewer when the server answers 429 Too Many Requests
    #[arg(long, value_name = "N", default_value_t = shared::cluster::DEFAULT_CONCURRENCY, help_heading = "Kubernetes")]
    api_concurrency: usize,
}

/// A connected cluster and a rendered target.
pub(crate) struct Prepared {
    pub client: ClusterClient,
    pub rendered: RenderedTarget,
    /// The command and its options, as recorded in results.
    pub info: CommandInfo,
}

impl Prepared {
    pub fn session<'a>(
        &'a self,
        info: CommandInfo,
        result_options: ResultOptions,
        progress: &'a dyn shared::cluster::Progress,
    ) -> Session<'a> {
        Session {
            client: &self.client,
            info,
            result_options,
            progress,
        }
    }

    pub fn object_count(&self) -> u64 {
        self.rendered.target.objects().count() as u64
    }
}

impl TargetFlags {
    /// Validates the flags, connects (the target's context unless `--context` says otherwise)
    /// and renders the target.
    pub(crate) async fn prepare(&self, ctx: &Context, command: &str, ignore: IgnoreFlags) -> anyhow::Result<Prepared> {
        let plan = self.plan(ctx, command)?;
        let client = connect(&plan.connect_options()?).await?;
        let rendered = plan.render(ctx, &client, ignore).await?;
        Ok(Prepared {
            client,
            rendered,
            info: plan.info,
        })
    }

    /// Validates the flags into what connecting and rendering need, without doing either (a
    /// watch connects once and renders many times).
    pub(crate) fn plan(&self, ctx: &Context, command: &str) -> anyhow::Result<TargetPlan> {
        let project = self.project.options()?;
        let inclusion = self.inclusion.options()?;
        let images = self.images.options()?;
        if self.api_concurrency == 0 {
            return Err(Exit::Usage.with_error(anyhow::anyhow!("--api-concurrency must be at least 1")));
        }
        let fixed_images = images.fixed_images;
        let project_options = project.engine_options(
            ctx.kube.context.clone(),
            self.discriminator.discriminator.clone(),
            inclusion.clone(),
            fixed_images,
        );
        let kube = &ctx.kube;
        let connect = ConnectOptions {
            kubeconfig_paths: kube.kubeconfig_paths(&ctx.env),
            context: kube.context.clone(),
            cluster: kube.cluster.clone(),
            user: kube.user.clone(),
            namespace: kube.namespace.clone(),
            request_timeout: kube.request_timeout,
            impersonate_user: kube.impersonate_user.clone(),
            impersonate_groups: kube.impersonate_groups.clone(),
            concurrency: self.api_concurrency,
        };
        let mut info = CommandInfo::new(command);
        info.target = project.target.clone();
        info.target_name_override = project.target_name_override.clone();
        info.context_override = kube.context.clone();
        info.include_tags = inclusion.include_tags;
        info.exclude_tags = inclusion.exclude_tags;
        info.include_deployment_dirs = inclusion.include_deployment_dirs;
        info.exclude_deployment_dirs = inclusion.exclude_deployment_dirs;
        Ok(TargetPlan {
            project: project_options,
            connect,
            render_output_dir: self.render_output_dir.render_output_dir.clone(),
            info,
        })
    }
}

/// The validated flags of a cluster command: what to connect to and what to render.
pub(crate) struct TargetPlan {
    project: shared::project::ProjectOptions,
    /// `context` is `--context` only; the target's context is read per connection.
    connect: ConnectOptions,
    render_output_dir: Option<std::path::PathBuf>,
    /// The command and its options, as recorded in results.
    pub info: CommandInfo,
}

impl TargetPlan {
    /// The project directory (absolute).
    pub(crate) fn project_dir(&self) -> &std::path::Path {
        &self.project.project_dir
    }

    /// `--render-output-dir`, if given.
    pub(crate) fn render_output_dir(&self) -> Option<&std::path::Path> {
        self.render_output_dir.as_deref()
    }

    /// How to connect: `--context`, else the context the target names (read from the project
    /// now, so a watch sees it change), else the current context.
    pub(crate) fn connect_options(&self) -> anyhow::Result<ConnectOptions> {
        let target_context = commands::target_context(&self.project)?;
        let cli_context = self.connect.context.clone();
        Ok(self
            .connect
            .clone()
            .with_context(cli_context.as_deref(), target_context.as_deref()))
    }

    /// Loads and renders the target for `client`'s cluster, with a spinner and the project's
    /// warnings on stderr.
    pub(crate) async fn render(
        &self,
        ctx: &Context,
        client: &ClusterClient,
        ignore: IgnoreFlags,
    ) -> anyhow::Result<RenderedTarget> {
        let spinner = ctx.console.progress("render", None);
        let request = RenderRequest {
            project: self.project.clone(),
            render_output_dir: self.render_output_dir.clone(),
            ignore,
        };
        let rendered = commands::render_target(client, &request).await?;
        spinner.finish(&format!(
            "{} objects in {} items",
            rendered.target.objects().count(),
            rendered.target.items.len()
        ));
        for warning in &rendered.project.warnings {
            ctx.console.warn(warning)?;
        }
        Ok(rendered)
    }
}

/// The engine's progress on stderr: a bar of objects on a terminal, one line per step, item,
/// failure and long wait otherwise.
pub(crate) struct ProgressView {
    progress: crate::output::Progress,
    terminal: bool,
}

impl ProgressView {
    /// A bar over `objects` (or a spinner when the count is not known up front).
    pub fn new(console: &Console, label: &str, objects: Option<u64>) -> Self {
        ProgressView {
            progress: console.progress(label, objects),
            terminal: console.tty().stderr,
        }
    }

    /// Ends the bar with a summary line.
    pub fn finish_with(self, summary: &str) {
        self.progress.finish(summary);
    }

    /// Ends the bar with the counts of the result.
    pub fn finish(self, result: &CommandResult) {
        let s = &result.summary;
        self.progress.finish(&format!(
            "{} applied, {} new, {} changed, {} deleted, {} orphans, {} errors, {} warnings",
            s.applied_objects,
            s.new_objects,
            s.changed_objects,
            s.deleted_objects,
            s.orphan_objects,
            s.errors,
            s.warnings
        ));
    }
}

impl shared::cluster::Progress for ProgressView {
    fn event(&self, event: ProgressEvent<'_>) {
        let plain = !self.terminal;
        match event {
            ProgressEvent::Step(step) => self.progress.set_message(step),
            ProgressEvent::Planned { .. } => {}
            ProgressEvent::ItemStarted(item) => {
                if plain {
                    self.progress.println(&format!("item {item}: started"));
                } else {
                    self.progress.set_message(item);
                }
            }
            ProgressEvent::ItemFinished { item, ok } => {
                if plain {
                    let outcome = if ok { "done" } else { "failed" };
                    self.progress.println(&format!("item {item}: {outcome}"));
                }
            }
            ProgressEvent::Barrier(message) => self.progress.println(&format!(
                "barrier: waiting for the items before it{}",
                message.map(|m| format!(" ({m})")).unwrap_or_default()
            )),
            ProgressEvent::Applied(_) | ProgressEvent::Deleted(_) => self.progress.inc(1),
            ProgressEvent::Failed(object) => {
                self.progress.inc(1);
                self.progress
                    .println(&format!("{object}: failed (see the errors below)"));
            }
            ProgressEvent::Waiting {
                object,
                reason,
                elapsed,
            } => {
                let line = format!("waiting for {object}: {reason} ({}s)", elapsed.as_secs());
                if plain {
                    self.progress.println(&line);
                } else {
                    self.progress.set_message(&line);
                }
            }
            ProgressEvent::WaitDone { .. } => {}
        }
    }
}
