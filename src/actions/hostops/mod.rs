//! What start, stop, reboot, terminate and revert share: choosing the hosts (the selector, then
//! the states each action applies to), refusing and confirming, doing them all at once or
//! `--serial N` at a time, and the summary at the end.

pub mod reboot;
pub mod revert;
pub mod start;
pub mod stop;
pub mod terminate;

use super::Ctx;
use crate::aws::ec2::Instance;
use crate::aws::Clients;
use crate::error::{Error, Result};
use crate::hosts::wait::Target;
pub use crate::hosts::Choice;
use crate::hosts::{Host, Hosts, Machine, Selector};
use crate::stack::Pacing;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::time::Instant;

/// An action's name and what it did: ("stop", "stopped").
#[derive(Clone, Copy)]
pub struct Verb {
    pub base: &'static str,
    pub done: &'static str,
}

/// The hosts an action will change, and the chosen ones it leaves alone (with why).
pub struct Plan {
    pub act: Vec<Machine>,
    pub skip: Vec<(Machine, String)>,
    pub hosts: Hosts,
}

/// Find the env's hosts, apply the selector, and split the chosen ones by `applies`: None to
/// act on a host in that state, or the reason to leave it alone.
pub async fn plan(
    ctx: &Ctx,
    clients: &Clients,
    selector: &Selector,
    applies: impl Fn(&str) -> Option<String>,
) -> Result<Plan> {
    let hosts = super::reach::discover(ctx, clients).await?;
    let chosen = selector.pick(&hosts, names(ctx))?;
    if chosen.is_empty() {
        return Err(Error::input(format!("env {} has no hosts", ctx.env.name)));
    }
    let (mut act, mut skip) = (Vec::new(), Vec::new());
    for m in chosen {
        match applies(&m.instance.state) {
            None => act.push(m),
            Some(why) => skip.push((m, why)),
        }
    }
    Ok(Plan { act, skip, hosts })
}

pub fn names(ctx: &Ctx) -> (&str, &str) {
    (ctx.env.app(), &ctx.env.name)
}

impl Plan {
    pub fn list(&self, ctx: &Ctx) -> String {
        let names: Vec<String> = self.act.iter().map(|m| label(ctx, m)).collect();
        names.join(", ")
    }
}

/// `argos-staging-worker-0 (i-0abc)`.
pub fn label(ctx: &Ctx, m: &Machine) -> String {
    format!(
        "{} ({})",
        m.name(ctx.env.app(), &ctx.env.name),
        m.instance.id
    )
}

/// A protected env needs --force for this action (exit 3 without it).
pub fn refuse_unless_forced(ctx: &Ctx, verb: &str, force: bool) -> Result<()> {
    if ctx.env.protected && !force {
        return Err(Error::Refused(format!(
            "env {} is protected: {verb} needs --force (and confirmation)",
            ctx.env.name
        )));
    }
    Ok(())
}

/// Type the env name (or --yes); without a terminal and without --yes, refused (exit 3).
pub fn confirm(ctx: &Ctx, verb: Verb, plan: &Plan) -> Result<()> {
    let verb = verb.base;
    if ctx.yes || ctx.dry_run || plan.act.is_empty() {
        return Ok(());
    }
    ctx.ui.confirm_typed(
        &format!("{verb} of {} host(s) in {}", plan.act.len(), ctx.env.name),
        &format!("{verb} {} in env {}?", plan.list(ctx), ctx.env.name),
        &ctx.env.name,
    )
}

/// The hosts as wait targets.
pub fn targets(ctx: &Ctx, batch: &[Machine]) -> Vec<Target> {
    batch
        .iter()
        .map(|m| Target {
            name: m.name(ctx.env.app(), &ctx.env.name),
            id: m.instance.id.clone(),
        })
        .collect()
}

/// The chosen hosts as they are now (after a state change), as SSH sees them.
pub fn reachable(ctx: &Ctx, batch: &[Machine], now: &[Instance]) -> Result<Vec<Host>> {
    batch
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if let Some(i) = now.iter().find(|i| i.id == m.instance.id) {
                m.instance = i.clone();
            }
            Host::of(&m, names(ctx), ctx.env.config.address)
        })
        .collect()
}

pub fn host_pacing(ctx: &Ctx) -> Pacing {
    Pacing::with_deadline(ctx.env.config.timeouts.host)
}

pub fn names_of(targets: &[Target]) -> String {
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    names.join(", ")
}

pub fn ids(targets: &[Target]) -> Vec<String> {
    targets.iter().map(|t| t.id.clone()).collect()
}

/// After a start, reboot or revert: wait until EC2's status checks pass (`timeouts.host`), then
/// until SSH answers (`timeouts.ssh`). Returns the hosts as EC2 describes them then.
pub async fn until_serving(
    ctx: &Ctx,
    clients: &Clients,
    batch: &[Machine],
    now: Vec<Instance>,
) -> Result<Vec<Instance>> {
    let ec2 = &clients.ec2;
    let targets = targets(ctx, batch);
    ctx.ui.step(format!(
        "waiting for status checks on {}",
        names_of(&targets)
    ));
    crate::hosts::wait::until_checks_pass(ec2, &targets, host_pacing(ctx)).await?;
    let hosts = reachable(ctx, batch, &now)?;
    ctx.ui
        .step(format!("waiting for SSH on {}", names_of(&targets)));
    let known = crate::known_hosts::KnownHosts::for_env(ctx.env.app(), &ctx.env.name)?;
    let route = crate::ssh::AwsRoute {
        region: &clients.region,
        profile: ctx.target.profile.as_deref(),
    };
    let settings = crate::ssh::SshSettings::from_config(&ctx.env.config, known.file, &route)?;
    crate::ssh::wait_until_answering(&settings, &hosts, ctx.env.config.timeouts.ssh).await?;
    Ok(now)
}

/// Run `step` (one batch's work, returning the hosts as they are afterwards) on all hosts at once, or `serial` at a time; stop at the first failed batch,
/// saying what was done and what was not. Then print the summary.
pub async fn run<F, Fut>(
    ctx: &Ctx,
    clients: &Clients,
    plan: Plan,
    serial: Option<u16>,
    verb: Verb,
    mut step: F,
) -> Result<()>
where
    F: FnMut(Vec<Machine>) -> Fut,
    Fut: Future<Output = Result<Vec<Instance>>>,
{
    let started = Instant::now();
    let done = verb.done;
    let mut summary = Summary::new(ctx, done, &plan);
    if ctx.dry_run {
        preview(ctx, &plan, serial, verb.base);
        return Ok(());
    }
    let size = serial.map_or(plan.act.len(), usize::from).max(1);
    let batches: Vec<Vec<Machine>> = plan.act.chunks(size).map(<[Machine]>::to_vec).collect();
    let mut finished: Vec<String> = Vec::new();
    for (n, batch) in batches.iter().enumerate() {
        let who: Vec<String> = batch.iter().map(|m| label(ctx, m)).collect();
        if batches.len() > 1 {
            ctx.ui.step(format!(
                "batch {} of {}: {}",
                n + 1,
                batches.len(),
                who.join(", ")
            ));
        }
        let named: Vec<(String, &Machine)> = batch
            .iter()
            .map(|m| (m.name(ctx.env.app(), &ctx.env.name), m))
            .collect();
        crate::history::note_hosts(named.iter().map(|(name, m)| {
            (
                name.as_str(),
                m.group.as_str(),
                m.instance.image_id.as_deref(),
            )
        }));
        match step(batch.clone()).await {
            Ok(now) => {
                summary.record(ctx, batch, &now);
                finished.extend(who);
            }
            Err(e) => {
                let rest: Vec<String> = batches[n..]
                    .iter()
                    .flatten()
                    .map(|m| label(ctx, m))
                    .collect();
                ctx.ui.warn(format!(
                    "{done}: {}; not {done}: {}",
                    if finished.is_empty() {
                        "none".to_owned()
                    } else {
                        finished.join(", ")
                    },
                    rest.join(", ")
                ));
                // The hosts that did change keep their names in step; the failure is what counts.
                if let Err(dns) = crate::actions::records::after(ctx, clients, None).await {
                    ctx.ui.warn(format!("DNS not synced: {dns}"));
                }
                return Err(e);
            }
        }
    }
    // Names follow the hosts: a stopped host's records go, a started one's come back.
    crate::actions::records::after(ctx, clients, None).await?;
    summary.seconds = started.elapsed().as_secs_f64();
    ctx.ui.result(&summary);
    Ok(())
}

fn preview(ctx: &Ctx, plan: &Plan, serial: Option<u16>, verb: &str) {
    let size = serial.map_or(plan.act.len(), usize::from).max(1);
    for (n, batch) in plan.act.chunks(size).enumerate() {
        let who: Vec<String> = batch.iter().map(|m| label(ctx, m)).collect();
        ctx.ui.info(format!(
            "would {verb} (batch {}): {}",
            n + 1,
            who.join(", ")
        ));
    }
    for (m, why) in &plan.skip {
        ctx.ui.info(format!("would leave {}: {why}", label(ctx, m)));
    }
    if plan.act.is_empty() {
        ctx.ui.info("nothing to do");
    }
}

#[derive(Serialize)]
pub struct Summary {
    pub env: String,
    /// What was done: started, stopped, rebooted, terminated, reverted.
    pub action: String,
    pub hosts: Vec<Row>,
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct Row {
    pub name: String,
    pub group: String,
    pub number: u32,
    pub instance_id: String,
    /// The state before the action.
    pub before: String,
    /// The state after it (the same as before for a skipped host).
    pub after: String,
    /// Why a chosen host was left alone; absent for the hosts acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Summary {
    fn new(ctx: &Ctx, done: &str, plan: &Plan) -> Self {
        let hosts = plan
            .skip
            .iter()
            .map(|(m, why)| row(ctx, m, &m.instance.state, Some(why.clone())))
            .collect();
        Summary {
            env: ctx.env.name.clone(),
            action: done.to_owned(),
            hosts,
            seconds: 0.0,
        }
    }

    fn record(&mut self, ctx: &Ctx, batch: &[Machine], now: &[Instance]) {
        for m in batch {
            let after = now
                .iter()
                .find(|i| i.id == m.instance.id)
                .map_or("unknown", |i| i.state.as_str());
            self.hosts.push(row(ctx, m, after, None));
        }
        self.hosts
            .sort_by(|a, b| (&a.group, a.number).cmp(&(&b.group, b.number)));
    }
}

fn row(ctx: &Ctx, m: &Machine, after: &str, skipped: Option<String>) -> Row {
    Row {
        name: m.name(ctx.env.app(), &ctx.env.name),
        group: m.group.clone(),
        number: m.number,
        instance_id: m.instance.id.clone(),
        before: m.instance.state.clone(),
        after: after.to_owned(),
        skipped,
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let acted = self.hosts.iter().filter(|h| h.skipped.is_none()).count();
        write!(
            f,
            "{}: {} {acted} host(s) in {:.1}s",
            self.env, self.action, self.seconds
        )?;
        let width = self.hosts.iter().map(|h| h.name.len()).max().unwrap_or(0);
        for h in &self.hosts {
            let what = match &h.skipped {
                Some(why) => format!("left alone: {why}"),
                None => format!("{} -> {}", h.before, h.after),
            };
            write!(f, "\n  {:<width$}  {}  {what}", h.name, h.instance_id)?;
        }
        Ok(())
    }
}
