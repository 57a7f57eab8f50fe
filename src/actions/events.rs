//! `events`: the stack's recent events, failures first.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, StackEvent};
use crate::error::{Error, Result};
use crate::ui::table;
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Events {
    pub stack: String,
    pub failures: Vec<StackEvent>,
    pub events: Vec<StackEvent>,
}

impl fmt::Display for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = |list: &[StackEvent]| {
            list.iter()
                .map(|e| {
                    vec![
                        e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.logical_id.clone(),
                        e.resource_type.clone(),
                        e.status.clone(),
                        e.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let header = ["time", "resource", "type", "status", "reason"];
        if !self.failures.is_empty() {
            writeln!(f, "failures:\n{}\n", table(&header, rows(&self.failures)))?;
        }
        write!(
            f,
            "events of {} (newest first):\n{}",
            self.stack,
            table(&header, rows(&self.events))
        )
    }
}

pub async fn run(ctx: &Ctx, limit: usize) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    if cfn::describe(&clients.cfn, &name).await?.is_none() {
        return Err(Error::input(format!(
            "stack {name} does not exist: commission it first (manage {} commission)",
            ctx.env.name
        )));
    }
    let events = cfn::recent_events(&clients.cfn, &name, limit).await?;
    let failures = events.iter().filter(|e| e.is_failure()).cloned().collect();
    ctx.ui.result(&Events {
        stack: name,
        failures,
        events,
    });
    Ok(())
}
