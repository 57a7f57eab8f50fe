//! `template`: print the template for this env as CloudFormation gets it. Check problems are
//! shown as warnings, so a template with a missing parameter value can still be inspected.
//! With local nested stacks, each TemplateURL is the URL its child is uploaded to (which needs
//! the region, but no AWS call), and the children are listed on stderr.

use super::{push, Ctx};
use crate::error::Result;
use crate::formation::Formation;

pub async fn run(ctx: &Ctx) -> Result<()> {
    let formation = Formation::build(&ctx.env, &ctx.env.config.base_ami)?;
    for p in &formation.problems {
        ctx.ui.warn(&p.message);
    }
    if formation.nested.is_empty() {
        print!("{}", formation.merged.to_json());
        return Ok(());
    }
    let region = crate::aws::setup::region(&ctx.target).await?;
    let url_of = push::url_of(ctx, &region, &ctx.env.name);
    let packaged = formation.nested.package(&formation.merged, &url_of);
    for (path, _, url) in &packaged.children {
        ctx.ui
            .info(format!("nested stack template {}: {url}", path.display()));
    }
    print!("{}", packaged.template.to_json());
    Ok(())
}
