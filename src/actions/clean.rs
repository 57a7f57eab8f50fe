//! `clean`: delete the app's images that nothing uses and the leftovers of failed bakes (the
//! step itself is prune.rs, shared with `decommission --with-image`).

use super::{prune, Ctx};
use crate::error::Result;

pub async fn run(ctx: &Ctx, keep_latest: bool) -> Result<()> {
    let clients = ctx.clients().await?;
    let cleaned = prune::clean(ctx, &clients, keep_latest, ctx.yes, None).await?;
    ctx.ui.result(&cleaned);
    Ok(())
}
