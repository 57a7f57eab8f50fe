//! `stop [SELECTOR]`: confirm (type the env name, or --yes), stop the chosen running hosts,
//! and wait until they are stopped. They keep their numbers.

use super::{Choice, Verb};
use crate::actions::Ctx;
use crate::aws::ec2::power;
use crate::error::Result;
use crate::hosts::wait;

pub const VERB: Verb = Verb {
    base: "stop",
    done: "stopped",
};

pub async fn run(ctx: &Ctx, choice: &Choice) -> Result<()> {
    let clients = ctx.clients().await?;
    let plan = super::plan(ctx, &clients, &choice.selector, |state| match state {
        "running" => None,
        "stopped" | "stopping" => Some(format!("already {state}")),
        other => Some(format!("is {other}")),
    })
    .await?;
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
                .step(format!("stopping {}", super::names_of(&targets)));
            power::stop(ec2, &super::ids(&targets)).await?;
            wait::until_state(ec2, &targets, "stopped", pacing).await
        },
    )
    .await
}
