//! `ssh [GROUP [INDEX]]`: replace this process with the system `ssh`, with the right user, key,
//! known_hosts and address. `--print` prints the command instead.

use super::reach::{self, Reach};
use super::Ctx;
use crate::error::{Error, Result};
use crate::hosts;
use crate::process::shell_words;

/// `group` and `index` as typed (`ssh [GROUP [INDEX]]`); `print` shows the command instead.
pub async fn run(ctx: &Ctx, group: Option<&str>, index: Option<usize>, print: bool) -> Result<()> {
    reach::preflight(ctx)?;
    let clients = ctx.clients().await?;
    let reach = Reach::load(ctx, &clients).await?;
    let mut groups: Vec<&str> = reach.hosts.iter().map(|h| h.group.as_str()).collect();
    groups.dedup();
    let group = match (group, groups.as_slice()) {
        (Some(g), _) => g.to_owned(),
        (None, [only]) => (*only).to_owned(),
        (None, []) => {
            return Err(Error::input(format!(
                "env {} has no running hosts",
                ctx.env.name
            )))
        }
        (None, many) => {
            return Err(Error::input(format!(
                "argument GROUP: choose one of {}",
                many.join(", ")
            )))
        }
    };
    let host = hosts::select(reach.hosts.clone(), &[group], Some(index.unwrap_or(0)))?.remove(0);
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
