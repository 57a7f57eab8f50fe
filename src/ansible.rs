//! Ansible's view of an env: the inventory (dynamic-inventory protocol and a static file),
//! the variables every playbook gets; running ansible-playbook is in `run`.

pub mod mitogen;
mod run;
mod tuning;

pub use run::{
    plan, private_json, run_playbooks, PlaybookResult, PlaybookRun, Setup, DEFAULT_PARALLEL,
};

use crate::aws::cloudformation::StackOutput;
use crate::hosts::Host;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub struct Inventory {
    pub hosts: Vec<Host>,
    /// app, env, each stack output by name, `stack_outputs`, `group_addresses` and
    /// `group_private_ips`.
    pub vars: Map<String, Value>,
}

impl Inventory {
    pub fn new(hosts: Vec<Host>, app: &str, env: &str, outputs: &[StackOutput]) -> Self {
        let mut vars = Map::new();
        vars.insert("app".into(), app.into());
        vars.insert("env".into(), env.into());
        let mut by_name = Map::new();
        for o in outputs {
            by_name.insert(o.key.clone(), o.value.clone().into());
            vars.insert(o.key.clone(), o.value.clone().into());
        }
        vars.insert("stack_outputs".into(), Value::Object(by_name));
        // Where manage reaches each host, and where hosts reach each other (inside the VPC).
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut private: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for h in &hosts {
            groups.entry(&h.group).or_default().push(&h.address);
            if let Some(ip) = &h.instance.private_ip {
                private.entry(&h.group).or_default().push(ip);
            }
        }
        vars.insert("group_addresses".into(), json!(groups));
        vars.insert("group_private_ips".into(), json!(private));
        Self { hosts, vars }
    }

    pub fn hostvars(h: &Host) -> Value {
        let i = &h.instance;
        json!({
            "ansible_host": h.address,
            "instance_id": i.id,
            "group": h.group,
            "number": h.number,
            "index": h.number,
            "private_ip": i.private_ip,
            "public_ip": i.public_ip,
            "private_dns": i.private_dns,
            "public_dns": i.public_dns,
            "launch_time": i.launch_time.map(|t| t.to_rfc3339()),
            "image_id": i.image_id,
            "ec2_tags": i.tags,
        })
    }

    fn groups(&self) -> BTreeMap<&str, Vec<&Host>> {
        let mut groups: BTreeMap<&str, Vec<&Host>> = BTreeMap::new();
        for h in &self.hosts {
            groups.entry(&h.group).or_default().push(h);
        }
        groups
    }

    /// `--list` of the dynamic-inventory protocol.
    pub fn list(&self) -> Value {
        let mut out = Map::new();
        let groups = self.groups();
        for (g, hosts) in &groups {
            out.insert(
                (*g).to_owned(),
                json!({ "hosts": hosts.iter().map(|h| &h.name).collect::<Vec<_>>() }),
            );
        }
        out.insert(
            "all".into(),
            json!({ "children": groups.keys().collect::<Vec<_>>(), "vars": self.vars }),
        );
        let hostvars: Map<String, Value> = self
            .hosts
            .iter()
            .map(|h| (h.name.clone(), Self::hostvars(h)))
            .collect();
        out.insert("_meta".into(), json!({ "hostvars": hostvars }));
        Value::Object(out)
    }

    /// `--host NAME`: that host's variables (an empty object for an unknown host, as the
    /// protocol expects).
    pub fn host(&self, name: &str) -> Value {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .map_or_else(|| json!({}), Self::hostvars)
    }

    /// A static inventory (read by Ansible's yaml plugin, which takes .json files). The vars go
    /// separately as extra vars, so playbooks' group_vars cannot shadow them.
    pub fn static_file(&self) -> Value {
        let children: Map<String, Value> = self
            .groups()
            .into_iter()
            .map(|(g, hosts)| {
                let hosts: Map<String, Value> = hosts
                    .iter()
                    .map(|h| (h.name.clone(), Self::hostvars(h)))
                    .collect();
                (g.to_owned(), json!({ "hosts": hosts }))
            })
            .collect();
        json!({ "all": { "children": children } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ec2::Instance;

    fn host(group: &str, index: u32, ip: &str) -> Host {
        Host {
            name: format!("argos-qa-{group}-{index}"),
            group: group.into(),
            number: index,
            address: ip.into(),
            instance_id: format!("i-{group}{index}"),
            instance: Instance {
                id: format!("i-{group}{index}"),
                state: "running".into(),
                private_ip: Some(ip.into()),
                public_ip: None,
                private_dns: None,
                public_dns: None,
                launch_time: None,
                image_id: Some("ami-1".into()),
                tags: [("Group".to_owned(), group.to_owned())].into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn hosts_reach_each_other_at_their_private_ips_whatever_the_address() {
        let mut worker = host("worker", 0, "10.0.0.5");
        worker.address = "198.51.100.5".into();
        let inv = Inventory::new(vec![worker], "argos", "qa", &[]);
        assert_eq!(
            inv.vars["group_addresses"]["worker"],
            json!(["198.51.100.5"])
        );
        assert_eq!(inv.vars["group_private_ips"]["worker"], json!(["10.0.0.5"]));
    }

    #[test]
    fn list_follows_the_dynamic_inventory_protocol() {
        let outputs = [StackOutput {
            key: "UploadsBucketName".into(),
            value: "b-1".into(),
            description: None,
        }];
        let inv = Inventory::new(
            vec![
                host("app", 0, "10.0.0.4"),
                host("worker", 0, "10.0.0.5"),
                host("worker", 1, "10.0.0.6"),
            ],
            "argos",
            "qa",
            &outputs,
        );
        let list = inv.list();
        assert_eq!(
            list["worker"]["hosts"],
            json!(["argos-qa-worker-0", "argos-qa-worker-1"])
        );
        assert_eq!(list["all"]["children"], json!(["app", "worker"]));
        assert_eq!(list["all"]["vars"]["env"], "qa");
        assert_eq!(list["all"]["vars"]["UploadsBucketName"], "b-1");
        assert_eq!(
            list["all"]["vars"]["group_addresses"]["worker"],
            json!(["10.0.0.5", "10.0.0.6"])
        );
        let hv = &list["_meta"]["hostvars"]["argos-qa-app-0"];
        assert_eq!(hv["ansible_host"], "10.0.0.4");
        assert_eq!(hv["instance_id"], "i-app0");
        assert_eq!(inv.host("argos-qa-worker-1")["private_ip"], "10.0.0.6");
        assert_eq!(inv.host("nope"), json!({}));
        assert_eq!(
            inv.static_file()["all"]["children"]["app"]["hosts"]["argos-qa-app-0"]["ansible_host"],
            "10.0.0.4"
        );
    }

    #[test]
    fn plan_prefers_site_yml_and_reports_groups_without_playbooks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.yml"), "[]").unwrap();
        let chosen = [
            host("app", 0, "10.0.0.4"),
            host("worker", 0, "10.0.0.5"),
            host("worker", 1, "10.0.0.6"),
        ];
        let (runs, skipped) = plan(dir.path(), &chosen, false);
        assert_eq!(runs.len(), 1);
        assert_eq!(
            (runs[0].limit.as_slice(), runs[0].hosts),
            (&["app".to_owned()][..], 1)
        );
        assert_eq!(skipped, ["worker"]);
        std::fs::write(dir.path().join("site.yml"), "[]").unwrap();
        let (runs, skipped) = plan(dir.path(), &chosen, false);
        assert_eq!(
            (
                runs[0].label.as_str(),
                runs[0].limit.len(),
                runs[0].hosts,
                skipped.len()
            ),
            ("site", 2, 3, 0)
        );
        // A selection of hosts: the run is limited to them by name.
        let (runs, _) = plan(dir.path(), &chosen[2..], true);
        assert_eq!(runs[0].limit, ["argos-qa-worker-1"]);
        assert_eq!(runs[0].hosts, 1);
    }
}
