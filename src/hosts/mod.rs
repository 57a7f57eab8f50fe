//! An env's hosts, found from the cloud by their App/Env tags, grouped by their Group tag and
//! numbered by their `Number` tag (see `number`): a host's number never changes while it
//! exists, whatever happens to it or to the other hosts.

pub mod number;
pub mod select;
pub mod wait;

pub use select::{Choice, IndexSpec, Selector};

use crate::aws::ec2::{self, Instance};
use crate::config::AddressKind;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The instance states that count as an env's machines (terminated ones do not).
pub const LIVE_STATES: &[&str] = &["pending", "running", "stopping", "stopped", "shutting-down"];

/// One of the env's instances, in any live state, with its group and stable number.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub group: String,
    pub number: u32,
    #[serde(skip)]
    pub instance: Instance,
}

impl Machine {
    /// `<app>-<env>-<group>-<number>`: the host's name in the inventory and in output.
    pub fn name(&self, app: &str, env: &str) -> String {
        format!("{app}-{env}-{}-{}", self.group, self.number)
    }
}

#[derive(Debug, Default)]
pub struct Hosts {
    /// Every live instance with a Group tag, in group then number order.
    pub machines: Vec<Machine>,
    /// Instances with the env's tags but no Group tag: reported, never silently dropped.
    pub ungrouped: Vec<Instance>,
    /// Number tags this discovery wrote (or, on a dry run, would write): (instance id, number).
    pub numbered: Vec<(String, u32)>,
}

impl Hosts {
    /// Number the instances (each group on its own). Returns the hosts and the Number tags
    /// that must be written for the numbers to hold.
    pub fn from_instances(instances: Vec<Instance>) -> Self {
        let mut by_group: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
        let mut hosts = Hosts::default();
        for i in instances {
            match i.tags.get("Group").filter(|g| !g.is_empty()) {
                Some(g) => by_group.entry(g.clone()).or_default().push(i),
                None => hosts.ungrouped.push(i),
            }
        }
        for (group, list) in by_group {
            let (numbers, writes) = number::assign(&list);
            let mut machines: Vec<Machine> = list
                .into_iter()
                .map(|mut instance| {
                    let number = numbers[&instance.id];
                    instance.tags.insert(number::TAG.into(), number.to_string());
                    Machine {
                        group: group.clone(),
                        number,
                        instance,
                    }
                })
                .collect();
            machines.sort_by_key(|m| m.number);
            hosts.machines.extend(machines);
            hosts.numbered.extend(writes);
        }
        hosts
    }

    pub fn count(&self) -> usize {
        self.machines.len() + self.ungrouped.len()
    }

    /// The hosts by group, each group in number order.
    pub fn groups(&self) -> BTreeMap<&str, Vec<&Machine>> {
        let mut out: BTreeMap<&str, Vec<&Machine>> = BTreeMap::new();
        for m in &self.machines {
            out.entry(m.group.as_str()).or_default().push(m);
        }
        out
    }

    /// `app 0; worker 0, 1 (stopped)`: what a selector can name.
    pub fn summary(&self) -> String {
        if self.machines.is_empty() {
            return "no hosts".into();
        }
        let groups = self.groups();
        let parts: Vec<String> = groups
            .iter()
            .map(|(g, list)| {
                let numbers: Vec<String> = list
                    .iter()
                    .map(|m| match m.instance.state.as_str() {
                        "running" => m.number.to_string(),
                        other => format!("{} ({other})", m.number),
                    })
                    .collect();
                format!("{g} {}", numbers.join(", "))
            })
            .collect();
        parts.join("; ")
    }

    /// The running hosts, each with the address `kind` picks. A running host without that
    /// address is an error naming it: it cannot be reached.
    pub fn running(&self, naming: (&str, &str), kind: AddressKind) -> Result<Vec<Host>> {
        self.machines
            .iter()
            .filter(|m| m.instance.state == "running")
            .map(|m| Host::of(m, naming, kind))
            .collect()
    }

    /// Instances that are not running (stopped, pending, …): reported, never used.
    pub fn not_running(&self) -> impl Iterator<Item = &Machine> {
        self.machines
            .iter()
            .filter(|m| m.instance.state != "running")
    }
}

/// One running host of the env, as Ansible, ssh and exec see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Host {
    /// `<app>-<env>-<group>-<number>`: the inventory host name.
    pub name: String,
    pub group: String,
    /// The host's stable number in its group (its `Number` tag).
    pub number: u32,
    pub address: String,
    pub instance_id: String,
    #[serde(skip)]
    pub instance: Instance,
}

impl Host {
    pub fn of(m: &Machine, naming: (&str, &str), kind: AddressKind) -> Result<Host> {
        let address = address_of(&m.instance, kind).ok_or_else(|| {
            Error::Local(format!(
                "host {} ({}) has no {kind:?} address; set \"address\" in the config",
                m.instance.id, m.group
            ))
        })?;
        Ok(Host {
            name: m.name(naming.0, naming.1),
            group: m.group.clone(),
            number: m.number,
            address,
            instance_id: m.instance.id.clone(),
            instance: m.instance.clone(),
        })
    }
}

pub fn address_of(i: &Instance, kind: AddressKind) -> Option<String> {
    match kind {
        AddressKind::PrivateIp => i.private_ip.clone(),
        AddressKind::PublicIp => i.public_ip.clone(),
        AddressKind::PrivateDns => i.private_dns.clone(),
        AddressKind::PublicDns => i.public_dns.clone(),
        AddressKind::InstanceId => Some(i.id.clone()),
    }
}

/// The env's live instances, grouped and numbered; hosts without a number get their `Number`
/// tag here, and the hosts are read again to confirm the numbers held against a concurrent
/// run (which computes the same numbers from the same view).
pub async fn discover(ec2: &aws_sdk_ec2::Client, app: &str, env: &str) -> Result<Hosts> {
    let mut written = Vec::new();
    for _ in 0..3 {
        let mut hosts = look(ec2, app, env).await?;
        // Tags just written but not visible yet (AWS is eventually consistent) are no change.
        if hosts.numbered.iter().all(|w| written.contains(w)) {
            hosts.numbered = written;
            return Ok(hosts);
        }
        for (id, n) in &hosts.numbered {
            ec2::tag(
                ec2,
                std::slice::from_ref(id),
                &[(number::TAG.to_owned(), n.to_string())],
            )
            .await?;
        }
        written.extend(hosts.numbered);
    }
    Err(Error::Local(format!(
        "the Number tags of env {env}'s hosts kept changing while they were assigned; run again"
    )))
}

/// As `discover`, without writing any tag (for dry runs): `numbered` lists what would be written.
pub async fn look(ec2: &aws_sdk_ec2::Client, app: &str, env: &str) -> Result<Hosts> {
    let instances = ec2::tagged_instances(ec2, &[("App", app), ("Env", env)], LIVE_STATES).await?;
    Ok(Hosts::from_instances(instances))
}

#[cfg(test)]
mod tests;
