//! `deploy`: find the env's running hosts by their tags, wait until each answers on SSH, write a
//! private inventory and variables file, and run each group's playbook (or site.yml), several
//! groups at once. Ansible's exit code passes through, naming the group that failed.

use super::reach::{self, Reach};
use super::Ctx;
use crate::ansible::{self, Inventory, PlaybookResult};
use crate::aws::cloudformation::Stack;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::Selector;
use crate::stack::Settled;
use serde::Serialize;
use std::fmt;
use std::time::Instant;

#[derive(Serialize)]
pub struct Deployed {
    pub env: String,
    pub hosts: usize,
    pub playbooks: Vec<PlaybookResult>,
    pub skipped_groups: Vec<String>,
    pub seconds: f64,
}

impl fmt::Display for Deployed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: deployed to {} host(s) in {:.1}s",
            self.env, self.hosts, self.seconds
        )?;
        for p in &self.playbooks {
            write!(
                f,
                "\n  {:<10} {} ok ({:.1}s)",
                p.label, p.playbook, p.seconds
            )?;
        }
        for g in &self.skipped_groups {
            write!(f, "\n  {g:<10} no playbook; skipped")?;
        }
        Ok(())
    }
}

/// What `deploy` hands to the playbooks beyond the env: `-e KEY=VALUE` (after the config's
/// `vars`), and `--check`, `--diff`, `--tags` for ansible-playbook.
#[derive(Debug, Default, Clone)]
pub struct Passthrough {
    pub extra_vars: Vec<String>,
    pub check: bool,
    pub diff: bool,
    pub tags: Vec<String>,
}

impl Passthrough {
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.check {
            args.push("--check".to_owned());
        }
        if self.diff {
            args.push("--diff".to_owned());
        }
        if !self.tags.is_empty() {
            args.extend(["--tags".to_owned(), self.tags.join(",")]);
        }
        args
    }
}

/// The variables file's content: the env's (app, env, outputs, ...), then config `vars`
/// (secrets read now), then `-e`. It is written 0600 and never printed.
fn playbook_vars(
    ctx: &Ctx,
    base: &serde_json::Map<String, serde_json::Value>,
    pass: &Passthrough,
) -> Result<serde_json::Value> {
    let mut vars = base.clone();
    for (name, source) in &ctx.env.vars {
        let value = source
            .resolve(name)
            .map_err(|e| Error::input(format!("{}: vars: {e}", ctx.env.config.path.display())))?;
        vars.insert(name.clone(), value);
    }
    for kv in &pass.extra_vars {
        let (k, v) = kv
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| Error::input(format!("argument -e \"{kv}\": expected KEY=VALUE")))?;
        vars.insert(k.to_owned(), v.into());
    }
    Ok(serde_json::Value::Object(vars))
}

pub async fn run(
    ctx: &Ctx,
    selector: &Selector,
    parallel: usize,
    pass: &Passthrough,
) -> Result<()> {
    reach::playbooks_preflight(ctx).await?;
    playbook_vars(ctx, &Default::default(), pass)?;
    let clients = ctx.clients().await?;
    // Waits for a busy stack; refuses one that was never created or is half deleted.
    let any = super::settle::StackFlags::default();
    let settled =
        super::settle::settle(ctx, &clients, crate::stack::Intent::Deploy, &any, &[]).await?;
    let stack = match settled {
        Settled::Present(s) | Settled::Previewed(s) => Some(s),
        Settled::Absent => None,
    };
    deploy(ctx, &clients, selector, parallel, stack, pass).await
}

pub async fn deploy(
    ctx: &Ctx,
    clients: &Clients,
    selector: &Selector,
    parallel: usize,
    stack: Option<Stack>,
    pass: &Passthrough,
) -> Result<()> {
    let started = Instant::now();
    let reach = Reach::for_stack(ctx, clients, stack).await?;
    // Names first: they should follow the hosts even when a playbook fails.
    super::records::after(ctx, clients, Some(&reach.stack.outputs)).await?;
    let chosen = reach.choose(ctx, selector)?;
    let by_host = selector.index.is_some() || !selector.hosts.is_empty();
    let (runs, skipped) = ansible::plan(&ctx.env.config.playbooks, &chosen, by_host);
    for g in &skipped {
        ctx.ui
            .info(format!("group {g} has no playbook ({g}.yml): skipped"));
    }
    if ctx.dry_run || runs.is_empty() {
        for r in &runs {
            ctx.ui.info(format!(
                "would run {} on {}",
                r.playbook.display(),
                r.limit.join(", ")
            ));
        }
        if chosen.is_empty() {
            ctx.ui.warn(format!(
                "env {} has no running hosts: nothing to deploy",
                ctx.env.name
            ));
        }
        return Ok(());
    }
    reach.prepare(ctx, &chosen).await?;
    let inventory = Inventory::new(
        reach.hosts.clone(),
        ctx.env.app(),
        &ctx.env.name,
        &reach.stack.outputs,
    );
    let inventory_file = ansible::private_json("manage-inventory-", &inventory.static_file())?;
    let vars_file =
        ansible::private_json("manage-vars-", &playbook_vars(ctx, &inventory.vars, pass)?)?;
    ctx.ui.step(format!(
        "running {} playbook(s) on {} host(s)",
        runs.len(),
        chosen.len()
    ));
    let extra = pass.args();
    let setup = ansible::Setup {
        ssh: &reach.ssh,
        inventory: inventory_file.path(),
        vars: vars_file.path(),
        extra: &extra,
        mitogen: reach::mitogen(ctx).await?,
    };
    let results = ansible::run_playbooks(&ctx.ui, setup, runs, parallel).await?;
    if let Some(failed) = results.iter().find(|r| r.exit_code != 0) {
        return Err(Error::Child {
            what: format!("playbook {} for group {}", failed.playbook, failed.label),
            code: failed.exit_code,
            hint: None,
        });
    }
    ctx.ui.result(&Deployed {
        env: ctx.env.name.clone(),
        hosts: chosen.len(),
        playbooks: results,
        skipped_groups: skipped,
        seconds: started.elapsed().as_secs_f64(),
    });
    Ok(())
}
