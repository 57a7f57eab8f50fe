//! `status`: the stack's status and outputs, then the env's hosts by group.

use super::commission::write_outputs;
use super::Ctx;
use crate::aws::cloudformation::{self as cfn, StackOutput};
use crate::error::Result;
use crate::hosts;
use crate::ui::table;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Status {
    pub env: String,
    pub stack: String,
    /// The stack status, or NOT_COMMISSIONED when there is no stack.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub outputs: Vec<StackOutput>,
    pub hosts: Vec<HostRow>,
}

#[derive(Serialize)]
pub struct HostRow {
    pub group: String,
    pub index: usize,
    pub id: String,
    pub state: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: stack {} {}", self.env, self.stack, self.status)?;
        if let Some(r) = &self.reason {
            write!(f, " ({r})")?;
        }
        writeln!(f)?;
        write_outputs(f, &self.outputs)?;
        if !self.outputs.is_empty() {
            writeln!(f)?;
        }
        if self.hosts.is_empty() {
            return write!(f, "no hosts");
        }
        let dash = || "-".to_owned();
        let rows = self.hosts.iter().map(|h| {
            vec![
                h.group.clone(),
                h.index.to_string(),
                h.id.clone(),
                h.state.clone(),
                h.private_ip.clone().unwrap_or_else(dash),
                h.public_ip.clone().unwrap_or_else(dash),
                h.launch_time
                    .map_or_else(dash, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            ]
        });
        write!(
            f,
            "{}",
            table(
                &[
                    "group",
                    "index",
                    "instance",
                    "state",
                    "private ip",
                    "public ip",
                    "launched"
                ],
                rows
            )
        )
    }
}

pub async fn run(ctx: &Ctx) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    let (stack, hosts) = tokio::try_join!(
        cfn::describe(&clients.cfn, &name),
        hosts::discover(&clients.ec2, ctx.env.app(), &ctx.env.name)
    )?;
    let mut rows = Vec::new();
    for (group, list) in &hosts.groups {
        for (index, i) in list.iter().enumerate() {
            rows.push(HostRow {
                group: group.clone(),
                index,
                id: i.id.clone(),
                state: i.state.clone(),
                private_ip: i.private_ip.clone(),
                public_ip: i.public_ip.clone(),
                launch_time: i.launch_time,
            });
        }
    }
    for i in &hosts.ungrouped {
        ctx.ui.warn(format!(
            "instance {} has the env's tags but no Group tag",
            i.id
        ));
    }
    ctx.ui.result(&Status {
        env: ctx.env.name.clone(),
        stack: name,
        status: stack
            .as_ref()
            .map_or("NOT_COMMISSIONED".to_owned(), |s| s.status.clone()),
        reason: stack.as_ref().and_then(|s| s.reason.clone()),
        outputs: stack.map(|s| s.outputs).unwrap_or_default(),
        hosts: rows,
    });
    Ok(())
}
