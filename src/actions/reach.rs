//! What deploy, inventory, exec and ssh share: the env's stack outputs, its running hosts found
//! by their tags, and how to reach them over SSH.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, Stack};
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::{self, Host};
use crate::known_hosts::KnownHosts;
use crate::ssh::{self, SshSettings};

pub struct Reach {
    pub stack: Stack,
    /// Running hosts of every group, in group then launch order.
    pub hosts: Vec<Host>,
    pub ssh: SshSettings,
    known: KnownHosts,
}

/// Checks that need no AWS call: the SSH key file exists.
pub fn preflight(ctx: &Ctx) -> Result<()> {
    if let Some(key) = &ctx.env.config.ssh_key_file {
        if !key.is_file() {
            return Err(Error::input(format!(
                "{}: key \"ssh_key_file\": {} not found",
                ctx.env.config.path.display(),
                key.display()
            )));
        }
    }
    Ok(())
}

impl Reach {
    pub async fn load(ctx: &Ctx, clients: &Clients) -> Result<Self> {
        Self::for_stack(ctx, clients, None).await
    }

    /// As `load`, for a caller that has just looked at (or made) the stack: it is not
    /// described again.
    pub async fn for_stack(ctx: &Ctx, clients: &Clients, known: Option<Stack>) -> Result<Self> {
        let name = ctx.env.stack_name();
        let describe = async {
            match known {
                Some(stack) => Ok(Some(stack)),
                None => cfn::describe(&clients.cfn, &name).await,
            }
        };
        let (stack, found) = tokio::try_join!(
            describe,
            hosts::discover(&clients.ec2, ctx.env.app(), &ctx.env.name)
        )?;
        let stack = stack.ok_or_else(|| {
            Error::input(format!(
                "stack {name} does not exist: commission it first (manage {} commission)",
                ctx.env.name
            ))
        })?;
        for i in found.not_running() {
            let group = i.tags.get("Group").map_or("", String::as_str);
            ctx.ui
                .warn(format!("host {} ({group}) is {}: left out", i.id, i.state));
        }
        for i in &found.ungrouped {
            ctx.ui.warn(format!(
                "instance {} has the env's tags but no Group tag: left out",
                i.id
            ));
        }
        let hosts = found.running((ctx.env.app(), &ctx.env.name), ctx.env.config.address)?;
        let known = KnownHosts::for_env(ctx.env.app(), &ctx.env.name)?;
        let ssh = SshSettings::from_config(&ctx.env.config, known.file.clone())?;
        Ok(Self {
            stack,
            hosts,
            ssh,
            known,
        })
    }

    /// Forget the keys of replaced hosts, then wait until `chosen` answer on SSH.
    pub async fn prepare(&self, ctx: &Ctx, chosen: &[Host]) -> Result<()> {
        self.known.forget_reused(&self.hosts).await?;
        ctx.ui
            .step(format!("waiting for SSH on {} host(s)", chosen.len()));
        ssh::wait_until_answering(chosen, ctx.env.config.timeouts.ssh).await
    }

    /// Forget the keys of replaced hosts (for a session that does its own waiting).
    pub async fn forget_reused(&self) -> Result<()> {
        self.known.forget_reused(&self.hosts).await
    }
}
