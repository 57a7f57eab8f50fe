//! `status [SELECTOR]`: the stack's status and outputs, then the chosen hosts by group and
//! number, stopped ones included: group, number, state, type, image (marked when it is not the
//! image the stack names), zone, addresses, launch time and EC2's status checks; then, with
//! `dns` set, the env's names as Route53 has them (see `names`).

mod names;

use super::write_outputs;
use super::Ctx;
use crate::aws::cloudformation::{self as cfn, StackOutput};
use crate::aws::ec2::power::{self, Checks};
use crate::dns::look::NameCheck;
use crate::error::Result;
use crate::hosts::{Machine, Selector};
use crate::ui::table;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Serialize)]
pub struct Status {
    pub env: String,
    pub stack: String,
    /// The stack status, or NOT_COMMISSIONED when there is no stack.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The image the stack names (its image parameter), when there is a stack.
    pub image: Option<String>,
    pub outputs: Vec<StackOutput>,
    /// The stack's guards and wiring; None when there is no stack.
    pub protection: Option<Protection>,
    pub hosts: Vec<HostRow>,
    /// None when the env has no `dns` (or its zone is a stack output and there is no stack).
    pub dns: Option<names::StatusDns>,
}

/// What guards the stack and what it acts and reports with, as CloudFormation has them.
#[derive(Serialize)]
pub struct Protection {
    /// EnableTerminationProtection (DescribeStacks).
    pub termination_protection: bool,
    /// Whether the stack has a stack policy (GetStackPolicy).
    pub stack_policy: bool,
    /// The CloudFormation service role, if any.
    pub role_arn: Option<String>,
    pub notification_arns: Vec<String>,
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |b: bool| if b { "on" } else { "off" };
        writeln!(
            f,
            "  termination protection  {}",
            on_off(self.termination_protection)
        )?;
        let policy = if self.stack_policy { "set" } else { "none" };
        writeln!(f, "  stack policy            {policy}")?;
        writeln!(
            f,
            "  service role            {}",
            self.role_arn.as_deref().unwrap_or("none")
        )?;
        let topics = if self.notification_arns.is_empty() {
            "none".to_owned()
        } else {
            self.notification_arns.join(", ")
        };
        writeln!(f, "  notifications           {topics}")
    }
}

#[derive(Serialize)]
pub struct HostRow {
    pub name: String,
    pub group: String,
    pub number: u32,
    pub id: String,
    pub state: String,
    pub instance_type: Option<String>,
    pub image_id: Option<String>,
    /// True when the host runs another image than the stack names (see `revert`).
    pub image_differs: bool,
    pub availability_zone: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    /// EC2's system and instance status checks (`ok`, `initializing`, `impaired`, …);
    /// absent for a host that is not running.
    pub checks: Option<Checks>,
    /// The host's DNS name as the zone has it; None without `dns`, when the zone could not be
    /// read, or when the host neither has a name nor should have one (it is not running).
    pub dns: Option<NameCheck>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: stack {} {}", self.env, self.stack, self.status)?;
        if let Some(r) = &self.reason {
            write!(f, " ({r})")?;
        }
        writeln!(f)?;
        if let Some(image) = &self.image {
            writeln!(f, "  image  {image}")?;
        }
        if let Some(p) = &self.protection {
            write!(f, "{p}")?;
        }
        write_outputs(f, &self.outputs)?;
        if !self.outputs.is_empty() {
            writeln!(f)?;
        }
        if self.hosts.is_empty() {
            write!(f, "no hosts")?;
            return match &self.dns {
                Some(dns) if dns.error.is_some() || !dns.others.is_empty() => {
                    names::write(f, &self.env, dns, &[])
                }
                _ => Ok(()),
            };
        }
        let rows = self.hosts.iter().map(row_cells);
        let header = [
            "name",
            "group",
            "number",
            "instance",
            "state",
            "type",
            "image",
            "az",
            "private ip",
            "public ip",
            "launched",
            "checks",
        ];
        write!(f, "{}", table(&header, rows))?;
        if self.hosts.iter().any(|h| h.image_differs) {
            write!(
                f,
                "\n* not the stack's image: `revert` puts a host back on it"
            )?;
        }
        if let Some(dns) = &self.dns {
            names::write(f, &self.env, dns, &self.hosts)?;
        }
        Ok(())
    }
}

fn row_cells(h: &HostRow) -> Vec<String> {
    let dash = || "-".to_owned();
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(dash);
    let image = match (&h.image_id, h.image_differs) {
        (Some(i), true) => format!("{i} *"),
        (i, _) => or_dash(i),
    };
    let checks = h.checks.as_ref().map_or_else(dash, |c| {
        if c.passed() {
            "ok".to_owned()
        } else {
            format!("system {}, instance {}", c.system, c.instance)
        }
    });
    vec![
        h.name.clone(),
        h.group.clone(),
        h.number.to_string(),
        h.id.clone(),
        h.state.clone(),
        or_dash(&h.instance_type),
        image,
        or_dash(&h.availability_zone),
        or_dash(&h.private_ip),
        or_dash(&h.public_ip),
        h.launch_time
            .map_or_else(dash, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        checks,
    ]
}

pub async fn run(ctx: &Ctx, selector: &Selector) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    let (stack, hosts) = tokio::try_join!(
        cfn::describe(&clients.cfn, &name),
        super::reach::discover(ctx, &clients)
    )?;
    let chosen = selector.pick(&hosts, (ctx.env.app(), &ctx.env.name))?;
    let running: Vec<String> = chosen
        .iter()
        .filter(|m| m.instance.state == "running")
        .map(|m| m.instance.id.clone())
        .collect();
    let image = async {
        match &stack {
            Some(_) => Ok::<_, crate::error::Error>(
                cfn::stack_parameters(&clients.cfn, &name)
                    .await?
                    .into_iter()
                    .find(|(k, _)| *k == ctx.env.config.image_parameter)
                    .map(|(_, v)| v),
            ),
            None => Ok(None),
        }
    };
    let checks = async {
        if running.is_empty() {
            return Ok(BTreeMap::new());
        }
        power::checks(&clients.ec2, &running).await
    };
    let policy = async {
        match &stack {
            Some(s) => cfn::stack_policy(&clients.cfn, &s.id)
                .await
                .map(|p| p.is_some()),
            None => Ok(false),
        }
    };
    let outputs = stack.as_ref().map(|s| s.outputs.as_slice());
    let (image, checks, policy, looked) = tokio::join!(
        image,
        checks,
        policy,
        names::look(ctx, &clients, outputs, &hosts)
    );
    let (image, checks, policy) = (image?, checks?, policy?);
    let protection = stack.as_ref().map(|s| Protection {
        termination_protection: s.termination_protection,
        stack_policy: policy,
        role_arn: s.role_arn.clone(),
        notification_arns: s.notification_arns.clone(),
    });
    let mut rows: Vec<HostRow> = chosen
        .iter()
        .map(|m| host_row(ctx, m, image.as_deref(), &checks))
        .collect();
    let (dns, failed) = names::attach(ctx, looked, &mut rows, &chosen, selector.is_empty());
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
        image,
        outputs: stack.map(|s| s.outputs).unwrap_or_default(),
        protection,
        hosts: rows,
        dns,
    });
    failed.map_or(Ok(()), Err)
}

fn host_row(
    ctx: &Ctx,
    m: &Machine,
    image: Option<&str>,
    checks: &BTreeMap<String, Checks>,
) -> HostRow {
    let i = &m.instance;
    HostRow {
        name: m.name(ctx.env.app(), &ctx.env.name),
        group: m.group.clone(),
        number: m.number,
        id: i.id.clone(),
        state: i.state.clone(),
        instance_type: i.instance_type.clone(),
        image_id: i.image_id.clone(),
        image_differs: matches!((image, &i.image_id), (Some(want), Some(have)) if want != have.as_str()),
        availability_zone: i.availability_zone.clone(),
        private_ip: i.private_ip.clone(),
        public_ip: i.public_ip.clone(),
        launch_time: i.launch_time,
        checks: (i.state == "running")
            .then(|| checks.get(&i.id).cloned())
            .flatten(),
        dns: None,
    }
}
