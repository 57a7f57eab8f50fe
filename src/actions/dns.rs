//! `dns`: show the difference between the env's Route53 records and its running hosts, then
//! apply it and wait until Route53 reports it INSYNC. `--dry-run` only shows it; "no changes"
//! when the records are in step.

use super::{records, Ctx};
use crate::aws::cloudformation as cfn;
use crate::error::{Error, Result};
use crate::hosts;

pub async fn run(ctx: &Ctx) -> Result<()> {
    if ctx.env.dns.is_none() {
        return Err(Error::input(format!(
            "{}: env {} has no \"dns\" settings: add \"dns\": {{\"zone\": \"example.internal\"}} (see README, Configuration)",
            ctx.env.config.path.display(),
            ctx.env.name
        )));
    }
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    let (stack, found) = tokio::try_join!(
        cfn::describe(&clients.cfn, &name),
        hosts::discover(&clients.ec2, ctx.env.app(), &ctx.env.name)
    )?;
    let outputs = stack.as_ref().map(|s| s.outputs.as_slice());
    if let Some(synced) = records::sync(ctx, &clients, outputs, Some(&found)).await? {
        ctx.ui.result(&synced);
    }
    Ok(())
}
