//! `validate`: load and merge the fragments and check them, with no AWS call.

use super::{checked, Ctx};
use crate::error::Result;
use crate::formation::Formation;
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Report {
    pub env: String,
    pub fragments: Vec<String>,
    pub resources: usize,
    pub parameters: usize,
    pub bytes: usize,
    pub sha256: String,
    pub warnings: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: valid: {} fragments ({}), {} resources, {} parameters, {} bytes, sha256 {}",
            self.env,
            self.fragments.len(),
            self.fragments.join(", "),
            self.resources,
            self.parameters,
            self.bytes,
            &self.sha256[..12.min(self.sha256.len())]
        )
    }
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let formation = Formation::build(&ctx.env, &ctx.env.config.base_ami)?;
    checked::show_problems(ctx, &formation, true);
    formation.ensure_valid()?;
    let merged = &formation.merged;
    ctx.ui.result(&Report {
        env: ctx.env.name.clone(),
        fragments: formation.fragments.iter().map(|f| f.name.clone()).collect(),
        resources: merged
            .body
            .get("Resources")
            .and_then(|r| r.as_object())
            .map_or(0, |r| r.len()),
        parameters: formation.parameters.len(),
        bytes: merged.to_json().len(),
        sha256: merged.sha256(),
        warnings: formation
            .problems
            .iter()
            .map(|p| p.message.clone())
            .collect(),
    });
    Ok(())
}
