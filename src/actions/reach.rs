//! What deploy, inventory, exec and ssh share: the env's stack outputs, its running hosts found
//! by their tags, and how to reach them over SSH.

use super::Ctx;
use crate::ansible::mitogen::Mitogen;
use crate::aws::cloudformation::{self as cfn, Stack};
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::{self, Host, Hosts, Selector};
use crate::known_hosts::KnownHosts;
use crate::ssh::{self, SshSettings};
use crate::stack::{instances, Pacing};

pub struct Reach {
    pub stack: Stack,
    /// Every live host, numbered, whatever its state.
    pub found: Hosts,
    /// Running hosts of every group, in group then launch order.
    pub hosts: Vec<Host>,
    pub ssh: SshSettings,
    known: KnownHosts,
}

/// Checks made before any AWS call by what runs playbooks: the playbooks folder exists, and
/// (unless a dry run) Ansible is installed, Mitogen is there when the config turns it on, and
/// `preflight` passes.
pub async fn playbooks_preflight(ctx: &Ctx) -> Result<()> {
    let dir = &ctx.env.config.playbooks;
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "{}: playbooks folder not found (key \"playbooks\" in the config)",
            dir.display()
        )));
    }
    if ctx.dry_run {
        // A dry run runs no playbook and reaches no host: it needs neither Ansible nor the key.
        return Ok(());
    }
    crate::preflight::ansible()?;
    mitogen(ctx).await?;
    preflight(ctx)
}

/// Mitogen for this run's playbooks when the config turns it on, looked up once per run.
pub async fn mitogen(ctx: &Ctx) -> Result<Option<Mitogen>> {
    if let Some(found) = ctx.mitogen.get() {
        return Ok(found.clone());
    }
    let found = crate::preflight::mitogen(&ctx.env.config).await?;
    Ok(ctx.mitogen.get_or_init(|| found).clone())
}

/// Checks that need no AWS call: ssh is installed, the SSH key file exists and is private
/// (ssh itself refuses a key that group or others may read), and Session
/// Manager's programs are there when the transport is ssm.
pub fn preflight(ctx: &Ctx) -> Result<()> {
    crate::preflight::ssh_client()?;
    crate::preflight::transport_tools(&ctx.env.config)?;
    crate::preflight::key_file(&ctx.env.config)?;
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
        let stack = match known {
            Some(stack) => Some(stack),
            None => cfn::describe(&clients.cfn, &name).await?,
        };
        let stack = stack.ok_or_else(|| {
            Error::input(format!(
                "stack {name} does not exist: commission it first (manage {} commission)",
                ctx.env.name
            ))
        })?;
        // Right after a create, a tag search can miss new instances: wait for the stack's own.
        let _visible = instances::visible(
            &clients.cfn,
            &clients.ec2,
            &stack.id,
            &[("App", ctx.env.app()), ("Env", &ctx.env.name)],
            hosts::LIVE_STATES,
            Pacing::with_deadline(ctx.env.config.timeouts.ssh),
        )
        .await?;
        let found = discover(ctx, clients).await?;
        for i in &found.ungrouped {
            ctx.ui.warn(format!(
                "instance {} has the env's tags but no Group tag: left out",
                i.id
            ));
        }
        let hosts = found.running((ctx.env.app(), &ctx.env.name), ctx.env.config.address)?;
        let known = KnownHosts::for_env(ctx.env.app(), &ctx.env.name)?;
        let route = ssh::AwsRoute {
            region: &clients.region,
            profile: ctx.target.profile.as_deref(),
        };
        let ssh = SshSettings::from_config(&ctx.env.config, known.file.clone(), &route)?;
        Ok(Self {
            stack,
            found,
            hosts,
            ssh,
            known,
        })
    }

    /// The running hosts the selector picks. Picked hosts that are not running are left out
    /// with a warning; a selector that picks no host at all is bad input naming what exists.
    pub fn choose(&self, ctx: &Ctx, selector: &Selector) -> Result<Vec<Host>> {
        let picked = selector.pick(&self.found, (ctx.env.app(), &ctx.env.name))?;
        let mut chosen = Vec::new();
        for m in picked {
            match self.hosts.iter().find(|h| h.instance_id == m.instance.id) {
                Some(h) => chosen.push(h.clone()),
                None => ctx.ui.warn(format!(
                    "host {} ({}) is {}: left out",
                    m.name(ctx.env.app(), &ctx.env.name),
                    m.instance.id,
                    m.instance.state
                )),
            }
        }
        Ok(chosen)
    }

    /// Forget the keys of replaced hosts, then wait until `chosen` answer on SSH. The chosen
    /// hosts go on the run's history record (deploy keeps one).
    pub async fn prepare(&self, ctx: &Ctx, chosen: &[Host]) -> Result<()> {
        crate::history::note_hosts(chosen.iter().map(|h| {
            (
                h.name.as_str(),
                h.group.as_str(),
                h.instance.image_id.as_deref(),
            )
        }));
        self.known.forget_reused(&self.hosts).await?;
        ctx.ui
            .step(format!("waiting for SSH on {} host(s)", chosen.len()));
        ssh::wait_until_answering(&self.ssh, chosen, ctx.env.config.timeouts.ssh).await
    }

    /// Forget the keys of replaced hosts (for a session that does its own waiting).
    pub async fn forget_reused(&self) -> Result<()> {
        self.known.forget_reused(&self.hosts).await
    }
}

/// The env's hosts, numbered; a dry run computes the numbers but writes no tag.
pub async fn discover(ctx: &Ctx, clients: &Clients) -> Result<Hosts> {
    let (ec2, app, env) = (&clients.ec2, ctx.env.app(), ctx.env.name.as_str());
    if ctx.dry_run {
        hosts::look(ec2, app, env).await
    } else {
        hosts::discover(ec2, app, env).await
    }
}
