//! `template`: print the merged template for this env. Check problems are shown as warnings,
//! so a template with a missing parameter value can still be inspected.

use super::Ctx;
use crate::error::Result;
use crate::formation::Formation;

pub async fn run(ctx: &Ctx) -> Result<()> {
    let formation = Formation::build(&ctx.env, &ctx.env.config.base_ami)?;
    for p in &formation.problems {
        ctx.ui.warn(&p.message);
    }
    print!("{}", formation.merged.to_json());
    Ok(())
}
