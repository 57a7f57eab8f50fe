//! What `dns`, commission, update, deploy, the host actions and decommission share: bring the
//! env's Route53 records in step with its running hosts, showing the difference first.

use super::Ctx;
use crate::aws::cloudformation::StackOutput;
use crate::aws::Clients;
use crate::config::{DnsSettings, ZoneRef};
use crate::dns::{sync, DnsHost, NameChange, Naming, Verb};
use crate::error::Result;
use crate::hosts::{self, Hosts};
use crate::stack::Pacing;
use serde::Serialize;
use std::fmt;

/// The outcome of one sync: the zone, the names that change, and what applying took (None on
/// a dry run or when nothing changes).
#[derive(Serialize)]
pub struct Synced {
    pub env: String,
    pub zone: String,
    pub zone_id: String,
    pub changes: Vec<NameChange>,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<sync::Applied>,
}

impl fmt::Display for Synced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return write!(f, "{}: DNS in zone {}: no changes", self.env, self.zone);
        }
        match (&self.applied, self.dry_run) {
            (_, true) => write!(
                f,
                "{}\ndry run: nothing was changed",
                changes_text(&self.changes)
            ),
            (Some(a), _) => write!(
                f,
                "{}: DNS in zone {}: {} name(s) changed in {} request(s), INSYNC after {:.1}s",
                self.env,
                self.zone,
                self.changes.len(),
                a.batches,
                a.seconds
            ),
            (None, _) => Ok(()),
        }
    }
}

/// One line per name: `+ app-0.qa.example.internal. A 10.0.0.5`, `~ … (was …)`, `- …`.
pub fn changes_text(changes: &[NameChange]) -> String {
    changes
        .iter()
        .map(|c| match c.verb {
            Verb::Add => format!("+ {} A {}", c.name, c.after.join(", ")),
            Verb::Update => format!(
                "~ {} A {} (was {})",
                c.name,
                c.after.join(", "),
                if c.before.is_empty() {
                    "none".to_owned()
                } else {
                    c.before.join(", ")
                }
            ),
            Verb::Remove => format!("- {} A {}", c.name, c.before.join(", ")),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn pacing(ctx: &Ctx) -> Pacing {
    Pacing::with_deadline(ctx.env.config.timeouts.dns)
}

/// The running hosts with the address the records carry. A running host without one is left
/// out with a warning (it has no such address to publish).
pub fn dns_hosts(ctx: &Ctx, found: &Hosts, settings: &DnsSettings) -> Vec<DnsHost> {
    let mut out = Vec::new();
    // Each host's stable number (its Number tag), so a name never moves to another host.
    for m in found
        .machines
        .iter()
        .filter(|m| m.instance.state == "running")
    {
        let (group, i) = (&m.group, &m.instance);
        match hosts::address_of(i, settings.address) {
            Some(address) => out.push(DnsHost {
                group: group.clone(),
                number: m.number,
                address,
            }),
            None => ctx.ui.warn(format!(
                "host {} ({group}) has no {:?} address: it gets no DNS name",
                i.id, settings.address
            )),
        }
    }
    out
}

/// Bring the records in step with the env's running hosts (none, with `hosts` None: the env is
/// going away). Shows the difference, then applies it unless this is a dry run. Returns None
/// when the config has no `dns`.
pub async fn sync(
    ctx: &Ctx,
    clients: &Clients,
    outputs: Option<&[StackOutput]>,
    hosts: Option<&Hosts>,
) -> Result<Option<Synced>> {
    let Some(settings) = &ctx.env.dns else {
        return Ok(None);
    };
    let zone = sync::find_zone(&clients.route53, settings, outputs).await?;
    let wanted = hosts
        .map(|h| dns_hosts(ctx, h, settings))
        .unwrap_or_default();
    let naming = Naming::new(ctx.env.app(), &ctx.env.name, &zone.name);
    let changes = sync::plan(&clients.route53, &zone, &naming, &wanted, settings.ttl).await?;
    let mut synced = Synced {
        env: ctx.env.name.clone(),
        zone: zone.name.clone(),
        zone_id: zone.id.clone(),
        changes,
        dry_run: ctx.dry_run,
        applied: None,
    };
    if !synced.changes.is_empty() && !ctx.dry_run {
        ctx.ui.step(format!("updating DNS in zone {}", zone.name));
        ctx.ui.info(changes_text(&synced.changes));
        synced.applied =
            Some(sync::apply(&clients.route53, &zone, &synced.changes, pacing(ctx)).await?);
    }
    Ok(Some(synced))
}

/// Before an action changes the stack: a `dns.zone` given by name must exist (exit 2 otherwise),
/// so that a wrong zone stops the run before anything is created. A zone from a stack output
/// can only be looked up once the stack has it.
pub async fn preflight(ctx: &Ctx, clients: &Clients) -> Result<()> {
    match &ctx.env.dns {
        Some(settings) if matches!(settings.zone, ZoneRef::Name(_)) => {
            sync::find_zone(&clients.route53, settings, None).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The step after an action that changed hosts: look at the hosts, sync, and say what changed
/// (on stderr: the action's own result stays the only thing on stdout).
pub async fn after(ctx: &Ctx, clients: &Clients, outputs: Option<&[StackOutput]>) -> Result<()> {
    if ctx.env.dns.is_none() {
        return Ok(());
    }
    let found = hosts::discover(&clients.ec2, ctx.env.app(), &ctx.env.name).await?;
    if let Some(s) = sync(ctx, clients, outputs, Some(&found)).await? {
        report(ctx, &s);
    }
    Ok(())
}

fn report(ctx: &Ctx, s: &Synced) {
    match (&s.applied, s.changes.is_empty()) {
        (_, true) => ctx.ui.info(format!("DNS in zone {}: no changes", s.zone)),
        (Some(a), _) => ctx.ui.info(format!(
            "DNS in zone {}: {} name(s) changed, INSYNC after {:.1}s",
            s.zone,
            s.changes.len(),
            a.seconds
        )),
        (None, _) => {
            ctx.ui
                .step(format!("dry run: DNS changes in zone {}", s.zone));
            ctx.ui.info(changes_text(&s.changes));
        }
    }
}
