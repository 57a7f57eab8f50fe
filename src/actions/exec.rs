//! `exec -- CMD`: run a command on the chosen hosts in parallel over SSH and print each host's
//! output under its name. Fails (exit 1) when any host fails, naming them.

use super::reach::{self, Reach};
use super::Ctx;
use crate::error::{Error, Result};
use crate::hosts::{Host, Selector};
use crate::process;
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct HostOutput {
    pub host: String,
    pub address: String,
    pub instance_id: String,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Serialize)]
pub struct Executed {
    pub command: String,
    pub hosts: Vec<HostOutput>,
}

impl fmt::Display for Executed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, h) in self.hosts.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "==> {} ({}) exit {}", h.host, h.address, h.exit_code)?;
            for line in h.stdout.lines().chain(h.stderr.lines()) {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

/// `selector` chooses the hosts; `command` is what follows `--`.
pub async fn run(ctx: &Ctx, selector: &Selector, command: &[String]) -> Result<()> {
    reach::preflight(ctx)?;
    let command = command.join(" ");
    let clients = ctx.clients().await?;
    let reach = Reach::load(ctx, &clients).await?;
    let chosen = reach.choose(ctx, selector)?;
    if chosen.is_empty() {
        return Err(Error::input(format!(
            "env {} has no running hosts to run on",
            ctx.env.name
        )));
    }
    if ctx.dry_run {
        for h in &chosen {
            ctx.ui.info(format!(
                "would run on {} ({}): {command}",
                h.name, h.address
            ));
        }
        return Ok(());
    }
    reach.prepare(ctx, &chosen).await?;
    let mut set = tokio::task::JoinSet::new();
    for host in chosen {
        let argv = reach.ssh.argv(&host, Some(&command));
        set.spawn(async move { (on_host(&argv).await, host) });
    }
    let mut outputs = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (captured, host) = joined.map_err(|e| Error::Local(format!("exec task: {e}")))?;
        outputs.push(to_output(host, captured?));
    }
    outputs.sort_by(|a, b| a.host.cmp(&b.host));
    let failed: Vec<String> = outputs
        .iter()
        .filter(|o| o.exit_code != 0)
        .map(|o| o.host.clone())
        .collect();
    let total = outputs.len();
    ctx.ui.result(&Executed {
        command,
        hosts: outputs,
    });
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Child {
        what: format!(
            "exec on {} of {total} hosts ({})",
            failed.len(),
            failed.join(", ")
        ),
        code: 1,
        hint: None,
    })
}

async fn on_host(argv: &[String]) -> Result<process::Captured> {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    process::capture(cmd, "ssh").await
}

fn to_output(host: Host, c: process::Captured) -> HostOutput {
    HostOutput {
        host: host.name,
        address: host.address,
        instance_id: host.instance_id,
        exit_code: c.code,
        stdout: c.stdout,
        stderr: c.stderr,
    }
}
