//! `kubectl kluctl diff`: render the target and dry-run every object against the cluster
//! (server-side apply with `dryRun=All`, hooks included), then list new, changed and orphan
//! objects. Output: a `CommandResult`; exit code as `kubectl diff` (0 none, 1 changes, 2 failure).
//!
//! With `--watch` (beyond Kluctl) it keeps running: one connection (and its discovery) for the
//! whole session, a render and dry run per save, and on stdout only the findings that changed
//! since the previous result (`crate::watch`, report layout).

use super::deploy::{ProgressView, TargetFlags, TargetPlan, deploy_options, fill_deploy_info, ignore_flags, within};
use crate::cli::flags::usage_error;
use crate::cli::flags::{ApplyFlags, DiffIgnoreFlags, ObfuscateFlags, OutputFlags, ShortOutputFlags, WatchFlags};
use crate::cmd::Context;
use crate::exit::Exit;
use crate::output::{OutputFormat, ResultReport, diff_exit};
use crate::watch::{Snapshot, WatchOptions, watch};
use shared::cluster::{ClusterClient, ConnectOptions, DeployOptions, connect};
use shared::commands::{self, Session};
use shared::diff::IgnoreFlags;
use shared::result::{ResultOptions, TextOptions};
use std::time::Duration;
use tokio::sync::Mutex;

const EXAMPLES: &str = "\
Examples:
  # What would deploying the target prod change?
  kubectl kluctl diff -t prod

  # Only the names, without the diffs, and ignore changes of kluctl's tag labels
  kubectl kluctl diff -t prod --short-output --ignore-tags

  # One line per object that would change, for a change ticket
  kubectl kluctl diff -t prod --names-only

  # In CI: fail the step on errors, not on changes
  kubectl kluctl diff -t prod -o yaml=diff.yaml || [ $? -eq 1 ]

  # Keep diffing while editing: after every save, show what started or stopped differing
  kubectl kluctl diff -t prod --watch";

const LONG: &str = "\
Shows what `deploy` would change, without changing anything: every rendered object is applied
with server-side apply as a dry run (field manager kluctl) and the answer is compared with the
live object after normalization (managed fields, status, server-set metadata, ignoreForDiff
rules, kluctl.io/ignore-diff* annotations and the --ignore-* flags), so a change a re-apply would
not make is never shown. Orphan objects (objects of the target's discriminator that are no longer
rendered) are listed. Secret values are masked (which keys changed stays visible) unless
--no-obfuscate.

With --watch the command keeps running until Ctrl-C (exit code 130): the first diff is printed
in full, then every save of a project file renders and diffs again over the same connection,
and only what changed since the previous diff is printed: `+ ref` for an object that now
differs (with its changes), `~ ref` for one whose differences changed, `- ref: no longer
changed` for one that matches the cluster again; errors and warnings come and go the same way.
A failed render or diff (or one that exceeds --timeout, which bounds each run) is shown on
stderr and the watch goes on; the next good diff is then printed in full. stderr has what was
saved and how long each run took.

Exit codes, as kubectl diff: 0 no changes, 1 changes, 2 the diff failed.";

/// Flags of `diff`.
#[derive(clap::Args, Debug)]
#[command(about = "Show what deploying a target would change", long_about = LONG, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    target: TargetFlags,
    #[command(flatten)]
    apply: ApplyFlags,
    #[command(flatten)]
    ignore: DiffIgnoreFlags,
    #[command(flatten)]
    obfuscate: ObfuscateFlags,
    #[command(flatten)]
    short: ShortOutputFlags,
    /// One `<status> <object>` line per new, changed or orphan object (for change tickets and scripts)
    #[arg(long, help_heading = "Misc")]
    names_only: bool,
    #[command(flatten)]
    watch: WatchFlags,
    #[command(flatten)]
    output: OutputFlags,
}

impl Args {
    /// Runs `diff`.
    pub async fn run(self, ctx: &mut Context) -> anyhow::Result<Exit> {
        let outputs = self
            .output
            .options(&[OutputFormat::Text, OutputFormat::Yaml, OutputFormat::Json])
            .map_err(|e| Exit::Usage.with_error(e))?;
        let options = deploy_options(&self.apply, &Default::default(), true);
        if self.watch.watch {
            if outputs
                .specs
                .iter()
                .any(|s| s.format != OutputFormat::Text || s.path.is_some())
            {
                return Err(usage_error(
                    "--watch prints text on stdout; it cannot be combined with -o yaml, -o json or -o FORMAT=FILE",
                ));
            }
            return self.watch(ctx, options).await;
        }
        let timeout = self.target.project.timeout;
        let result = within(timeout, async {
            let prepared = self.target.prepare(ctx, "diff", ignore_flags(&self.ignore)).await?;
            let mut info = prepared.info.clone();
            fill_deploy_info(&mut info, &options);
            let view = ProgressView::new(&ctx.console, "diff", Some(prepared.object_count()));
            let result_options = ResultOptions {
                keep_objects: false,
                reveal_secrets: self.obfuscate.no_obfuscate,
            };
            let session = prepared.session(info, result_options, &view);
            let result = commands::diff(&session, &prepared.rendered.target, &options).await?;
            view.finish(&result);
            Ok(result)
        })
        .await
        .map_err(|e| Exit::DiffFailure.with_error(e))?;
        ctx.console
            .emit(
                &outputs,
                &ResultReport::new(&result)
                    .short(self.short.short_output)
                    .names_only(self.names_only),
            )
            .map_err(|e| Exit::DiffFailure.with_error(e))?;
        diff_exit(&result)
    }
}

impl Args {
    /// `diff --watch`: diffs on every save until interrupted (see the module docs).
    async fn watch(self, ctx: &mut Context, options: DeployOptions) -> anyhow::Result<Exit> {
        let ctx: &Context = ctx;
        let plan = self.target.plan(ctx, "diff")?;
        let mut watched = WatchOptions::new(plan.project_dir());
        if let Some(dir) = plan.render_output_dir() {
            watched = watched.ignoring(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
        }
        let run = DiffRun {
            plan,
            options,
            ignore: ignore_flags(&self.ignore),
            result_options: ResultOptions {
                keep_objects: false,
                reveal_secrets: self.obfuscate.no_obfuscate,
            },
            text: TextOptions {
                short: self.short.short_output,
                names_only: self.names_only,
                color: ctx.console.stdout_paint().enabled(),
                width: ctx.console.width(),
            },
            timeout: self.target.project.timeout,
            connection: Mutex::new(None),
        };
        watch(&ctx.console, watched, |_changes| run.once(ctx)).await
    }
}

/// One `diff --watch` session: what every run needs, and the connection they share.
struct DiffRun {
    plan: TargetPlan,
    options: DeployOptions,
    ignore: IgnoreFlags,
    result_options: ResultOptions,
    text: TextOptions,
    timeout: Duration,
    /// The options the client was made with: when the target's context changes in the
    /// project, the next run connects anew.
    connection: Mutex<Option<(ConnectOptions, ClusterClient)>>,
}

impl DiffRun {
    /// Renders and diffs once, within `--timeout`.
    async fn once(&self, ctx: &Context) -> anyhow::Result<Snapshot> {
        within(self.timeout, async {
            let client = self.client().await?;
            let rendered = self.plan.render(ctx, &client, self.ignore).await?;
            let mut info = self.plan.info.clone();
            fill_deploy_info(&mut info, &self.options);
            let view = ProgressView::new(&ctx.console, "diff", Some(rendered.target.objects().count() as u64));
            let session = Session {
                client: &client,
                info,
                result_options: self.result_options,
                progress: &view,
            };
            let result = commands::diff(&session, &rendered.target, &self.options).await?;
            view.finish(&result);
            // Dropping `rendered` here removes its temporary render directory.
            Ok(Snapshot::result(&result, &self.text))
        })
        .await
    }

    /// The session's client, connecting on first use or when the target's context changed
    /// (a failed connection is tried again on the next save).
    async fn client(&self) -> anyhow::Result<ClusterClient> {
        let wanted = self.plan.connect_options()?;
        let mut connection = self.connection.lock().await;
        if let Some((options, client)) = connection.as_ref()
            && *options == wanted
        {
            return Ok(client.clone());
        }
        let client = connect(&wanted).await?;
        *connection = Some((wanted, client.clone()));
        Ok(client)
    }
}
