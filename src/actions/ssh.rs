//! `ssh [HOST | GROUP [NUMBER]]`: replace this process with the system `ssh`, with the right
//! user, key, known_hosts and address. `--print` prints the command instead.

use super::reach::{self, Reach};
use super::Ctx;
use crate::error::{Error, Result};
use crate::hosts::{IndexSpec, Selector};
use crate::process::shell_words;

/// `target` and `number` as typed (`ssh [HOST | GROUP [NUMBER]]`), narrowing `select` (the
/// flags); `print` shows the command instead.
pub async fn run(
    ctx: &Ctx,
    target: Option<&str>,
    number: Option<u32>,
    select: &Selector,
    print: bool,
) -> Result<()> {
    reach::preflight(ctx)?;
    let clients = ctx.clients().await?;
    let reach = Reach::load(ctx, &clients).await?;
    let selector = selector(&reach, target, number, select);
    let chosen = reach.choose(ctx, &selector)?;
    let mut groups: Vec<&str> = chosen.iter().map(|h| h.group.as_str()).collect();
    groups.dedup();
    let host = match groups.as_slice() {
        [] => {
            return Err(Error::input(format!(
                "env {}: {selector} has no running host (there are: {})",
                ctx.env.name,
                reach.found.summary()
            )))
        }
        // The lowest-numbered running host of the one group.
        [_] => chosen[0].clone(),
        many => {
            return Err(Error::input(format!(
                "argument GROUP: choose one of {}",
                many.join(", ")
            )))
        }
    };
    let argv = reach.ssh.argv(&host, None);
    if print || ctx.dry_run {
        println!("{}", shell_words(&argv));
        return Ok(());
    }
    reach.forget_reused().await?;
    ctx.ui
        .step(format!("ssh to {} ({})", host.name, host.address));
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(&argv[0]).args(&argv[1..]).exec();
    Err(Error::Local(format!("cannot run ssh: {err}")))
}

/// The positional TARGET is a host name or instance id when a host has it, else a group;
/// NUMBER narrows that group like `--index`.
fn selector(
    reach: &Reach,
    target: Option<&str>,
    number: Option<u32>,
    select: &Selector,
) -> Selector {
    let mut selector = select.clone();
    if let Some(t) = target {
        let is_group = reach.found.machines.iter().any(|m| m.group == t);
        if is_group {
            selector.groups.push(t.to_owned());
        } else {
            selector.hosts.push(t.to_owned());
        }
    }
    if let Some(n) = number {
        selector.index = Some(IndexSpec([n].into()));
    }
    selector
}
