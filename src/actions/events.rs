//! `events`: the stack's recent events, failures first; `--since` limits the range.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, StackEvent};
use crate::error::{Error, Result};
use crate::since::Since;
use crate::ui::table;
use chrono::Utc;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;

/// How many events are shown without -n and without --since.
pub const DEFAULT_LIMIT: usize = 30;

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

/// `limit`: -n (all with --since, else DEFAULT_LIMIT); `since`: --since.
pub async fn run(ctx: &Ctx, limit: Option<usize>, since: Option<Since>) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    if cfn::describe(&clients.cfn, &name).await?.is_none() {
        return Err(Error::input(format!(
            "stack {name} does not exist: commission it first (manage {} commission)",
            ctx.env.name
        )));
    }
    let events = match since {
        // Paging stops at the first page that reaches back past `since`.
        Some(since) => {
            let mut events = cfn::events_since(
                &clients.cfn,
                &name,
                since.at(Utc::now()),
                &mut HashSet::new(),
            )
            .await?;
            events.reverse();
            events.truncate(limit.unwrap_or(usize::MAX));
            events
        }
        None => cfn::recent_events(&clients.cfn, &name, limit.unwrap_or(DEFAULT_LIMIT)).await?,
    };
    let failures = events.iter().filter(|e| e.is_failure()).cloned().collect();
    ctx.ui.result(&Events {
        stack: name,
        failures,
        events,
    });
    Ok(())
}
