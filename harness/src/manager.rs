//! The hosts of this run: reconcile them with the emulator, record them, tear them down.

use crate::host::{self, Host, HostSpec};
use crate::registry::{self, RunRecord};
use crate::sshd::Login;
use crate::sys::{self, Result, Tools};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One entry of STATE_DIR/hosts.json.
#[derive(Serialize)]
struct ReadyHost<'a> {
    instance_id: &'a str,
    ip: Ipv4Addr,
    namespace: &'a str,
    ready: bool,
}

pub struct Manager {
    tools: Tools,
    pid: u32,
    run_id: String,
    state_dir: PathBuf,
    login: Login,
    ready_timeout: Duration,
    record: RunRecord,
    hosts: BTreeMap<String, Host>,
    next_n: u32,
    /// Instances whose host could not be made (not retried while they keep running).
    failed: BTreeSet<String>,
    /// Instances skipped with a warning (IP busy); warned once.
    warned: BTreeSet<String>,
    /// The host being torn down: listed as not ready until it is gone.
    leaving: Option<String>,
}

impl Manager {
    /// Record the run (before anything is made) and write an empty hosts.json.
    pub fn new(
        tools: Tools,
        state_dir: PathBuf,
        login: Login,
        ready_timeout: Duration,
    ) -> Result<Self> {
        let pid = std::process::id();
        let run_id = sys::run_id(pid);
        let record = RunRecord {
            pid: pid as i32,
            start_time: sys::start_time(pid as i32),
            state_dir: state_dir.clone(),
            hosts: Vec::new(),
        };
        let m = Manager {
            tools,
            pid,
            run_id,
            state_dir,
            login,
            ready_timeout,
            record,
            hosts: BTreeMap::new(),
            next_n: 0,
            failed: BTreeSet::new(),
            warned: BTreeSet::new(),
            leaving: None,
        };
        m.record.save(&m.run_id)?;
        m.write_state()?;
        Ok(m)
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn save_record(&mut self) -> Result<()> {
        self.record.hosts = self.hosts.values().map(|h| h.spec.clone()).collect();
        self.record.save(&self.run_id)
    }

    fn write_state(&self) -> Result<()> {
        let list: Vec<ReadyHost> = self
            .hosts
            .values()
            .map(|h| ReadyHost {
                instance_id: &h.spec.instance_id,
                ip: h.spec.ip,
                namespace: &h.spec.namespace,
                ready: self.leaving.as_deref() != Some(h.spec.instance_id.as_str()),
            })
            .collect();
        let mut json = serde_json::to_vec_pretty(&list)
            .map_err(|e| sys::run_err(format!("cannot encode hosts.json: {e}")))?;
        json.push(b'\n');
        sys::write_atomic(&self.state_dir.join("hosts.json"), &json)
    }

    /// Make the hosts match the running instances (instance id → private IP).
    pub fn reconcile(&mut self, running: &BTreeMap<String, Ipv4Addr>) -> Result<()> {
        let gone: Vec<String> = self
            .hosts
            .iter()
            .filter(|(id, h)| running.get(*id) != Some(&h.spec.ip))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.remove(id)?;
        }
        self.failed.retain(|id| running.contains_key(id));
        self.warned.retain(|id| running.contains_key(id));
        for (id, ip) in running {
            if self.hosts.contains_key(id) || self.failed.contains(id) {
                continue;
            }
            if let Some(other) = self.hosts.values().find(|h| h.spec.ip == *ip) {
                if self.warned.insert(id.clone()) {
                    eprintln!(
                        "warning: skipping {id}: its IP {ip} is already held by host {} ({}); \
                         give each environment its own subnet CIDR",
                        other.spec.instance_id, other.spec.namespace
                    );
                }
                continue;
            }
            if let Some(why) = host::ip_taken_on_machine(&self.tools, *ip)? {
                if self.warned.insert(id.clone()) {
                    eprintln!("warning: skipping {id}: {why}");
                }
                continue;
            }
            self.warned.remove(id);
            self.add(id, *ip)?;
        }
        Ok(())
    }

    fn add(&mut self, id: &str, ip: Ipv4Addr) -> Result<()> {
        let started = Instant::now();
        let n = self.next_n;
        self.next_n += 1;
        let ll = host::pick_link_local(&self.tools, self.pid, n)?;
        let mut spec = HostSpec::new(&self.run_id, n, id, ip, ll);
        spec.dir = self.state_dir.join(&spec.namespace);
        // Record first, so a crash in the middle still leaves a record for --cleanup.
        self.record.hosts.push(spec.clone());
        self.record.save(&self.run_id)?;
        let (record, run_id) = (&mut self.record, self.run_id.as_str());
        let mut on_spawn = |s: &HostSpec| {
            if let Some(slot) = record.hosts.iter_mut().find(|h| h.namespace == s.namespace) {
                *slot = s.clone();
            }
            let _ = record.save(run_id);
        };
        match host::create(
            &self.tools,
            spec.clone(),
            &self.login,
            self.ready_timeout,
            &mut on_spawn,
        ) {
            Ok(h) => {
                eprintln!(
                    "host up: {id} {ip} ns {} ({} ms)",
                    spec.namespace,
                    started.elapsed().as_millis()
                );
                self.hosts.insert(id.to_string(), h);
                self.save_record()?;
                self.write_state()
            }
            Err(e) => {
                eprintln!("host failed: {id} {ip} ns {}: {e}", spec.namespace);
                self.failed.insert(id.to_string());
                self.save_record()
            }
        }
    }

    fn remove(&mut self, id: &str) -> Result<()> {
        if !self.hosts.contains_key(id) {
            return Ok(());
        }
        // hosts.json first: a host about to vanish must not look ready. It leaves the list
        // only when its sshd and network are gone, so a reader never sees a half-gone host.
        self.leaving = Some(id.to_string());
        self.write_state()?;
        if let Some(mut h) = self.hosts.remove(id) {
            host::teardown(&self.tools, &mut h);
            eprintln!("host down: {id} {} ns {}", h.spec.ip, h.spec.namespace);
        }
        self.leaving = None;
        self.save_record()?;
        self.write_state()?;
        Ok(())
    }

    /// Tear down every host and drop the run record. Safe to call twice.
    pub fn shutdown(&mut self) {
        let ids: Vec<String> = self.hosts.keys().cloned().collect();
        for id in ids {
            if let Some(mut h) = self.hosts.remove(&id) {
                host::teardown(&self.tools, &mut h);
                eprintln!("host down: {id} {} ns {}", h.spec.ip, h.spec.namespace);
            }
        }
        // Hosts recorded but never finished (failed mid-way) are already removed; make sure.
        for spec in std::mem::take(&mut self.record.hosts) {
            host::remove_net(&self.tools, &spec);
        }
        let _ = self.write_state();
        let _ = std::fs::remove_file(registry::path_for(&self.run_id));
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.shutdown();
    }
}
