//! `start [SELECTOR]`: start the chosen stopped hosts and wait until they run, pass EC2's
//! status checks and answer on SSH.

use super::{Choice, Verb};
use crate::actions::Ctx;
use crate::aws::ec2::power;
use crate::error::Result;
use crate::hosts::wait;

pub const VERB: Verb = Verb {
    base: "start",
    done: "started",
};

pub async fn run(ctx: &Ctx, choice: &Choice) -> Result<()> {
    let clients = ctx.clients().await?;
    let plan = super::plan(ctx, &clients, &choice.selector, |state| match state {
        "stopped" => None,
        "running" | "pending" => Some(format!("already {state}")),
        other => Some(format!("is {other}; start it once it is stopped")),
    })
    .await?;
    let (ec2, pacing) = (&clients.ec2, super::host_pacing(ctx));
    let clients = &clients;
    super::run(
        ctx,
        clients,
        plan,
        choice.serial,
        VERB,
        |batch| async move {
            let targets = super::targets(ctx, &batch);
            ctx.ui
                .step(format!("starting {}", super::names_of(&targets)));
            power::start(ec2, &super::ids(&targets)).await?;
            let now = wait::until_state(ec2, &targets, "running", pacing).await?;
            super::until_serving(ctx, clients, &batch, now).await
        },
    )
    .await
}
