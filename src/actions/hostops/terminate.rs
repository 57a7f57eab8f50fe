//! `terminate [SELECTOR]`: terminate the chosen hosts and wait until they are gone. A protected
//! env needs --force; so does a host the env's stack owns, because nothing brings it back by
//! itself. Always confirmed (type the env name, or --yes).

use super::{Choice, Verb};
use crate::actions::Ctx;
use crate::aws::cloudformation as cfn;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::wait;
use std::collections::BTreeSet;

pub const VERB: Verb = Verb {
    base: "terminate",
    done: "terminated",
};

pub async fn run(ctx: &Ctx, choice: &Choice, force: bool) -> Result<()> {
    super::refuse_unless_forced(ctx, VERB.base, force)?;
    let clients = ctx.clients().await?;
    let plan = super::plan(ctx, &clients, &choice.selector, |state| match state {
        "shutting-down" => Some("already shutting down".to_owned()),
        _ => None,
    })
    .await?;
    if !force {
        refuse_stack_owned(ctx, &clients, &plan).await?;
    }
    super::confirm(ctx, VERB, &plan)?;
    let (ec2, pacing) = (&clients.ec2, super::host_pacing(ctx));
    super::run(
        ctx,
        &clients,
        plan,
        choice.serial,
        VERB,
        |batch| async move {
            let targets = super::targets(ctx, &batch);
            ctx.ui
                .step(format!("terminating {}", super::names_of(&targets)));
            crate::aws::ec2::terminate(ec2, &super::ids(&targets)).await?;
            wait::until_state(ec2, &targets, "terminated", pacing).await
        },
    )
    .await
}

/// Exit 3 when a chosen host is an instance of the env's stack.
async fn refuse_stack_owned(ctx: &Ctx, clients: &Clients, plan: &super::Plan) -> Result<()> {
    let stack = ctx.env.stack_name();
    if cfn::describe(&clients.cfn, &stack).await?.is_none() {
        return Ok(());
    }
    let owned: BTreeSet<String> = cfn::resources(&clients.cfn, &stack)
        .await?
        .into_iter()
        .filter(|r| r.resource_type == "AWS::EC2::Instance")
        .filter_map(|r| r.physical_id)
        .collect();
    let theirs: Vec<String> = plan
        .act
        .iter()
        .filter(|m| owned.contains(&m.instance.id))
        .map(|m| super::label(ctx, m))
        .collect();
    if theirs.is_empty() {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "{} belong(s) to stack {stack}, which will not replace a terminated instance by \
         itself: pass --force to terminate anyway (or stop the host instead)",
        theirs.join(", ")
    )))
}
