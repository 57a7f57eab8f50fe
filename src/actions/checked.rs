//! The step every action that touches the stack starts with: the env's formation, built and
//! checked, its problems shown.

use super::Ctx;
use crate::error::Result;
use crate::formation::Formation;
use crate::template::Severity;

/// Build the env's formation and fail on check errors, showing them. Every action that
/// touches the stack starts here; only `validate` lists the warnings.
pub fn checked(ctx: &Ctx, image_id: &str) -> Result<Formation> {
    let formation = Formation::build(&ctx.env, image_id)?;
    show_problems(ctx, &formation, false);
    formation.ensure_valid()?;
    Ok(formation)
}

/// With several errors, list them all; the last error line then summarises.
pub fn show_problems(ctx: &Ctx, formation: &Formation, warnings: bool) {
    let errors = formation.errors().count();
    for p in &formation.problems {
        match p.severity {
            Severity::Warning if warnings => ctx.ui.warn(&p.message),
            Severity::Error if errors > 1 => eprintln!("  {}", p.message),
            _ => {}
        }
    }
}
