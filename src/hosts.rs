//! An env's hosts, found from the cloud by their App/Env tags and grouped by their Group tag.
//! Inside a group, hosts are ordered by launch time, then id, so `--index N` is stable.

use crate::aws::ec2::{self, Instance};
use crate::config::AddressKind;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The instance states that count as an env's machines (terminated ones do not).
pub const LIVE_STATES: &[&str] = &["pending", "running", "stopping", "stopped", "shutting-down"];

#[derive(Debug, Default)]
pub struct Hosts {
    pub groups: BTreeMap<String, Vec<Instance>>,
    /// Instances with the env's tags but no Group tag: reported, never silently dropped.
    pub ungrouped: Vec<Instance>,
}

impl Hosts {
    pub fn from_instances(instances: Vec<Instance>) -> Self {
        let mut hosts = Hosts::default();
        for i in instances {
            match i.tags.get("Group").filter(|g| !g.is_empty()) {
                Some(g) => hosts.groups.entry(g.clone()).or_default().push(i),
                None => hosts.ungrouped.push(i),
            }
        }
        for list in hosts.groups.values_mut() {
            list.sort_by(|a, b| (a.launch_time, &a.id).cmp(&(b.launch_time, &b.id)));
        }
        hosts
    }

    pub fn count(&self) -> usize {
        self.groups.values().map(Vec::len).sum::<usize>() + self.ungrouped.len()
    }
}

/// One running host of the env, as Ansible, ssh and exec see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Host {
    /// `<app>-<env>-<group>-<index>`: the inventory host name.
    pub name: String,
    pub group: String,
    pub index: usize,
    pub address: String,
    pub instance_id: String,
    #[serde(skip)]
    pub instance: Instance,
}

impl Hosts {
    /// The running hosts, each with the address `kind` picks. A running host without that
    /// address is an error naming it: it cannot be reached.
    pub fn running(&self, naming: (&str, &str), kind: AddressKind) -> Result<Vec<Host>> {
        let (app, env) = naming;
        let mut hosts = Vec::new();
        for (group, list) in &self.groups {
            let running = list.iter().filter(|i| i.state == "running");
            for (index, i) in running.enumerate() {
                let address = address_of(i, kind).ok_or_else(|| {
                    Error::Local(format!(
                        "host {} ({group}) has no {kind:?} address; set \"address\" in the config",
                        i.id
                    ))
                })?;
                hosts.push(Host {
                    name: format!("{app}-{env}-{group}-{index}"),
                    group: group.clone(),
                    index,
                    address,
                    instance_id: i.id.clone(),
                    instance: i.clone(),
                });
            }
        }
        Ok(hosts)
    }

    /// Instances that are not running (stopped, pending, …): reported, never used.
    pub fn not_running(&self) -> impl Iterator<Item = &Instance> {
        self.groups
            .values()
            .flatten()
            .filter(|i| i.state != "running")
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

/// Keep the hosts of `groups` (all when empty) and, with `index`, only that one per group.
/// An unknown group or index is bad input naming what there is.
pub fn select(hosts: Vec<Host>, groups: &[String], index: Option<usize>) -> Result<Vec<Host>> {
    for g in groups {
        if !hosts.iter().any(|h| &h.group == g) {
            let mut known: Vec<_> = hosts.iter().map(|h| h.group.as_str()).collect();
            known.dedup();
            return Err(Error::input(format!(
                "--group {g}: no running host in that group (groups: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let chosen: Vec<Host> = hosts
        .into_iter()
        .filter(|h| groups.is_empty() || groups.contains(&h.group))
        .filter(|h| index.is_none_or(|n| h.index == n))
        .collect();
    if chosen.is_empty() {
        if let Some(n) = index {
            return Err(Error::input(format!("--index {n}: no host has that index")));
        }
    }
    Ok(chosen)
}

pub async fn discover(ec2: &aws_sdk_ec2::Client, app: &str, env: &str) -> Result<Hosts> {
    let instances = ec2::tagged_instances(ec2, &[("App", app), ("Env", env)], LIVE_STATES).await?;
    Ok(Hosts::from_instances(instances))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn inst(id: &str, group: Option<&str>, minute: u32) -> Instance {
        Instance {
            id: id.into(),
            state: "running".into(),
            private_ip: None,
            public_ip: None,
            private_dns: None,
            public_dns: None,
            launch_time: Some(
                chrono::Utc
                    .with_ymd_and_hms(2026, 1, 1, 0, minute, 0)
                    .unwrap(),
            ),
            image_id: None,
            tags: group
                .map(|g| [("Group".to_owned(), g.to_owned())].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn running_hosts_are_named_and_selected() {
        let mut stopped = inst("i-s", Some("worker"), 0);
        stopped.state = "stopped".into();
        let mut list = vec![
            inst("i-a", Some("app"), 1),
            inst("i-w1", Some("worker"), 2),
            inst("i-w2", Some("worker"), 3),
            stopped,
        ];
        for (n, i) in list.iter_mut().enumerate() {
            i.private_ip = Some(format!("10.0.0.{n}"));
        }
        let hosts = Hosts::from_instances(list);
        assert_eq!(hosts.not_running().count(), 1);
        let running = hosts
            .running(("argos", "qa"), AddressKind::PrivateIp)
            .unwrap();
        let names: Vec<_> = running.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["argos-qa-app-0", "argos-qa-worker-0", "argos-qa-worker-1"]
        );
        let workers = select(running.clone(), &["worker".into()], None).unwrap();
        assert_eq!(workers.len(), 2);
        let second = select(running.clone(), &["worker".into()], Some(1)).unwrap();
        assert_eq!(second[0].instance_id, "i-w2");
        let err = select(running.clone(), &["db".into()], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--group db") && err.contains("app, worker"),
            "{err}"
        );
        assert!(select(running.clone(), &[], Some(5)).is_err());
        assert!(hosts
            .running(("argos", "qa"), AddressKind::PublicIp)
            .is_err());
    }

    #[test]
    fn groups_ordered_by_launch_then_id() {
        let hosts = Hosts::from_instances(vec![
            inst("i-c", Some("worker"), 5),
            inst("i-b", Some("worker"), 1),
            inst("i-a", Some("worker"), 5),
            inst("i-z", Some("app"), 9),
            inst("i-x", None, 0),
        ]);
        let ids = |g: &str| {
            hosts.groups[g]
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("worker"), ["i-b", "i-a", "i-c"]);
        assert_eq!(ids("app"), ["i-z"]);
        assert_eq!(hosts.ungrouped.len(), 1);
        assert_eq!(hosts.count(), 5);
    }
}
