//! `drift`: run CloudFormation drift detection on the env's stack and list what was changed by
//! hand: each MODIFIED or DELETED resource and its property differences. A report: exit 0
//! whether the stack is in sync or drifted. Read-only, so it takes no lock.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, DriftedResource};
use crate::error::{Error, Result};
use crate::stack::drift::{self, Drift};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InSync,
    Drifted,
}

/// Text and `--output json` from one value.
#[derive(Debug, Serialize)]
pub struct Report {
    pub stack: String,
    pub status: Status,
    /// Empty when in sync.
    pub resources: Vec<DriftedResource>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Status::InSync => write!(f, "{}: no drift", self.stack),
            Status::Drifted => write!(
                f,
                "{}\n{}: {} resource(s) changed by hand; the next update overwrites them",
                crate::ui::drift::render(&self.resources),
                self.stack,
                self.resources.len()
            ),
        }
    }
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    let Some(stack) = cfn::describe(&clients.cfn, &name).await? else {
        return Err(Error::input(format!(
            "stack {name} does not exist: commission it first (manage {} commission)",
            ctx.env.name
        )));
    };
    // Values of secret parameters are masked in what CloudFormation reports.
    let formation = super::checked::checked(ctx, &ctx.env.config.base_ami)?;
    let secrets = crate::formation::secret_values(
        &formation.secret_names(&ctx.env),
        &formation.resolved_parameters()?,
    );
    ctx.ui.step(format!("detecting drift on stack {name}"));
    let resources = match drift::detect(&clients.cfn, &stack.id, ctx.stack_pacing()).await? {
        Drift::Unsupported(what) => {
            return Err(Error::Local(format!(
                "this CloudFormation endpoint has no drift detection (DetectStackDrift: {what}); nothing was checked"
            )))
        }
        Drift::InSync => vec![],
        Drift::Drifted(mut resources) => {
            drift::mask(&mut resources, &secrets);
            resources
        }
    };
    ctx.ui.result(&Report {
        stack: name,
        status: if resources.is_empty() {
            Status::InSync
        } else {
            Status::Drifted
        },
        resources,
    });
    Ok(())
}
