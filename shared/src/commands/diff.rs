//! `diff` and `deploy`: one run of the [`Deployer`] (a server-side dry run for `diff`), then
//! orphan detection, and for `deploy --prune` the deletion of the orphans.

use super::{DeployCommandOptions, NO_DISCRIMINATOR_WARNING, Session, Target, mark_orphans};
use crate::cluster::orphans::{DeleteOptions, delete_all};
use crate::cluster::{ClusterError, DeployOptions, Deployer, ProgressEvent, RemoteObjects};
use crate::deploy::RuleError;
use crate::result::CommandResult;
use serde_json::Value;

/// `diff`: every object is applied with `dryRun=All` (hooks included, no waits) and compared
/// with its live version; orphans are listed. Nothing is written.
pub async fn diff(
    session: &Session<'_>,
    target: &Target,
    options: &DeployOptions,
) -> Result<CommandResult, ClusterError> {
    let mut options = *options;
    options.apply.dry_run = true;
    run(
        session,
        target,
        &DeployCommandOptions {
            deploy: options,
            prune: false,
        },
    )
    .await
}

/// `deploy` pass 2: applies everything (see [`Deployer`]), lists orphans and, with `prune`,
/// deletes them. Pass 1 is [`diff`] plus the caller's confirmation.
pub async fn deploy(
    session: &Session<'_>,
    target: &Target,
    options: &DeployCommandOptions,
) -> Result<CommandResult, ClusterError> {
    run(session, target, options).await
}

async fn run(
    session: &Session<'_>,
    target: &Target,
    options: &DeployCommandOptions,
) -> Result<CommandResult, ClusterError> {
    let result = session.start(target).await;
    if target.discriminator().is_none() {
        if options.prune {
            return Err(RuleError::NoDiscriminator.into());
        }
        result.add_warning(None, NO_DISCRIMINATOR_WARNING);
    }
    session.progress.event(ProgressEvent::Step("reading the live objects"));
    let rendered: Vec<&Value> = target.objects().collect();
    let remote = RemoteObjects::load(session.client, target.discriminator(), &rendered, &result).await?;
    session
        .progress
        .event(ProgressEvent::Step(if options.deploy.apply.dry_run {
            "diffing"
        } else {
            "deploying"
        }));
    let deployer = Deployer {
        client: session.client,
        options: options.deploy,
        result: &result,
        progress: session.progress,
        remote: &remote,
    };
    deployer.run(&target.items).await;
    let orphans = mark_orphans(target, &remote, &result);
    let aborted = options.deploy.abort_on_error && result.error_count() > 0;
    if options.prune && !orphans.is_empty() && !aborted {
        session.progress.event(ProgressEvent::Step("pruning"));
        let delete = DeleteOptions {
            dry_run: options.deploy.apply.dry_run,
            wait: (!options.deploy.no_wait).then_some(options.deploy.readiness_timeout),
        };
        delete_all(session.client, &orphans, delete, &result, session.progress).await;
    }
    Ok(result.finish())
}
