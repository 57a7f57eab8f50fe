//! An env's hosts, found from the cloud by their App/Env tags and grouped by their Group tag.
//! Inside a group, hosts are ordered by launch time, then id, so `--index N` is stable.

use crate::aws::ec2::{self, Instance};
use crate::error::Result;
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
