//! `reboot [SELECTOR]`: reboot the chosen running hosts (EC2 RebootInstances) and wait until
//! they pass EC2's status checks and answer on SSH again.

use super::{Choice, Verb};
use crate::actions::Ctx;
use crate::aws::ec2::power;
use crate::error::Result;

pub const VERB: Verb = Verb {
    base: "reboot",
    done: "rebooted",
};

pub async fn run(ctx: &Ctx, choice: &Choice) -> Result<()> {
    let clients = ctx.clients().await?;
    let plan = super::plan(ctx, &clients, &choice.selector, |state| match state {
        "running" => None,
        other => Some(format!("is {other}, not running")),
    })
    .await?;
    let ec2 = &clients.ec2;
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
                .step(format!("rebooting {}", super::names_of(&targets)));
            power::reboot(ec2, &super::ids(&targets)).await?;
            let now = power::describe(ec2, &super::ids(&targets)).await?;
            super::until_serving(ctx, clients, &batch, now).await
        },
    )
    .await
}
