//! `revert [SELECTOR]`: put each chosen host back on the image the env's stack runs (its image
//! parameter), in place: EC2's ReplaceRootVolume keeps the instance id, IPs, tags and number.
//! Confirm, replace the root volume, wait for the task, wait until the host runs, passes its
//! status checks and answers on SSH, then deploy that host only (unless --no-deploy).

use super::{Choice, Verb};
use crate::actions::{deploy, Ctx};
use crate::aws::cloudformation as cfn;
use crate::aws::ec2::power;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::{wait, Selector};
use crate::known_hosts::KnownHosts;

pub const VERB: Verb = Verb {
    base: "revert",
    done: "reverted",
};

pub async fn run(ctx: &Ctx, choice: &Choice, force: bool, no_deploy: bool) -> Result<()> {
    super::refuse_unless_forced(ctx, VERB.base, force)?;
    if !no_deploy {
        crate::actions::reach::playbooks_preflight(ctx).await?;
    }
    let clients = ctx.clients().await?;
    let image = stack_image(ctx, &clients).await?;
    crate::history::note_image(&image);
    let plan = super::plan(ctx, &clients, &choice.selector, |state| match state {
        "running" => None,
        other => Some(format!("is {other}; start it first")),
    })
    .await?;
    ctx.ui.info(format!(
        "image {image} (the stack's {})",
        ctx.env.config.image_parameter
    ));
    super::confirm(ctx, VERB, &plan)?;
    let (ec2, pacing, image) = (&clients.ec2, super::host_pacing(ctx), image.as_str());
    let clients = &clients;
    super::run(
        ctx,
        clients,
        plan,
        choice.serial,
        VERB,
        |batch| async move {
            let targets = super::targets(ctx, &batch);
            ctx.ui.step(format!(
                "replacing the root volume of {} with {image}",
                super::names_of(&targets)
            ));
            replace_roots(ec2, &targets, image, pacing).await?;
            let now = wait::until_state(ec2, &targets, "running", pacing).await?;
            // A new root volume means new SSH host keys.
            let hosts = super::reachable(ctx, &batch, &now)?;
            KnownHosts::for_env(ctx.env.app(), &ctx.env.name)?
                .forget(&hosts)
                .await?;
            let now = super::until_serving(ctx, clients, &batch, now).await?;
            if !no_deploy {
                let only = Selector::hosts(targets.iter().map(|t| t.id.clone()));
                deploy::deploy(
                    ctx,
                    clients,
                    &only,
                    crate::ansible::DEFAULT_PARALLEL,
                    None,
                    &deploy::Passthrough::default(),
                )
                .await?;
            }
            Ok(now)
        },
    )
    .await
}

/// The image the env's stack runs: its image parameter (`image_parameter` in the config).
async fn stack_image(ctx: &Ctx, clients: &Clients) -> Result<String> {
    let stack = ctx.env.stack_name();
    let key = &ctx.env.config.image_parameter;
    if cfn::describe(&clients.cfn, &stack).await?.is_none() {
        return Err(Error::input(format!(
            "stack {stack} does not exist: revert puts hosts back on the stack's image; \
             commission it first (manage {} commission)",
            ctx.env.name
        )));
    }
    cfn::stack_parameters(&clients.cfn, &stack)
        .await?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            Error::input(format!(
                "stack {stack} has no parameter {key} (config key \"image_parameter\"): \
                 revert cannot tell which image the env runs"
            ))
        })
}

/// Replace the root volume of every target with `image` (the tasks run side by side) and wait
/// until each task has succeeded.
pub async fn replace_roots(
    ec2: &aws_sdk_ec2::Client,
    targets: &[wait::Target],
    image: &str,
    pacing: crate::stack::Pacing,
) -> Result<()> {
    let mut tasks = Vec::new();
    for t in targets {
        tasks.push(replace(ec2, t, image).await?);
    }
    for (t, task) in targets.iter().zip(&tasks) {
        wait::until_replaced(ec2, t, task, pacing).await?;
    }
    Ok(())
}

/// Start the replacement; an endpoint without the call is one clear line (exit 1).
async fn replace(ec2: &aws_sdk_ec2::Client, t: &wait::Target, image: &str) -> Result<String> {
    match power::replace_root_volume(ec2, &t.id, image).await {
        Err(Error::Aws(e)) if e.lacks_call() => Err(Error::Local(format!(
            "this EC2 endpoint does not support ReplaceRootVolume (CreateReplaceRootVolumeTask), \
             which revert needs; nothing was changed on {} ({})",
            t.name, e.message
        ))),
        other => other,
    }
}
