//! One real host: a network namespace with the instance's IP on a veth, plus its sshd.

use crate::sshd;
use crate::sys::{self, run_err, Result, Tools};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

/// Everything a host is made of, recorded before it is made so that a dead run's
/// leftovers can be found and removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostSpec {
    pub instance_id: String,
    pub ip: Ipv4Addr,
    pub namespace: String,
    pub veth_root: String,
    pub veth_ns: String,
    pub link_local: Ipv4Addr,
    /// Per-host files (sshd config, host key, pid file, log).
    pub dir: PathBuf,
    #[serde(default)]
    pub sshd_pid: Option<i32>,
}

impl HostSpec {
    pub fn new(run_id: &str, n: u32, instance_id: &str, ip: Ipv4Addr, ll: Ipv4Addr) -> Self {
        let namespace = format!("mh{run_id}-{n}");
        HostSpec {
            instance_id: instance_id.to_string(),
            ip,
            veth_root: format!("mh{run_id}{n}a"),
            veth_ns: format!("mh{run_id}{n}b"),
            link_local: ll,
            dir: PathBuf::new(),
            namespace,
            sshd_pid: None,
        }
    }
}

/// A live host owned by this run.
pub struct Host {
    pub spec: HostSpec,
    pub sshd: Option<Child>,
}

/// Pick a link-local address for the root end of a veth that no interface here uses.
/// The start point depends on the pid and host number, so concurrent runs rarely
/// even try the same one; the check against `ip -o addr` settles the rest.
/// 169.254.0.x, 169.254.169.x (cloud metadata) and 169.254.255.x are never used.
pub fn pick_link_local(tools: &Tools, pid: u32, n: u32) -> Result<Ipv4Addr> {
    let used = tools.root_addrs()?;
    const SPACE: u64 = 253 * 254;
    let start = (u64::from(pid) * 7919 + u64::from(n) * 104_729) % SPACE;
    for k in 0..SPACE {
        let i = (start + k) % SPACE;
        let third = (i / 254 + 1) as u8;
        let fourth = (i % 254 + 1) as u8;
        if third == 169 {
            continue;
        }
        let a = Ipv4Addr::new(169, 254, third, fourth);
        if !used.contains(&a) {
            return Ok(a);
        }
    }
    Err(run_err("no free link-local address in 169.254.0.0/16"))
}

/// Whether the machine already routes or owns `ip` (another run's host, a real interface).
pub fn ip_taken_on_machine(tools: &Tools, ip: Ipv4Addr) -> Result<Option<String>> {
    if tools.root_addrs()?.contains(&ip) {
        return Ok(Some(format!("{ip} is an address of this machine")));
    }
    let r = tools.ip(&["-o", "route", "show", "exact", &format!("{ip}/32")])?;
    if let Some(line) = r.lines().next() {
        return Ok(Some(format!(
            "a route for {ip}/32 exists already ({}); another run may hold it",
            line.trim()
        )));
    }
    Ok(None)
}

/// Build the network side, following the recipe in TESTING.md.
fn make_net(tools: &Tools, s: &HostSpec) -> Result<()> {
    let (ns, va, vb) = (
        s.namespace.as_str(),
        s.veth_root.as_str(),
        s.veth_ns.as_str(),
    );
    let ll = s.link_local.to_string();
    let ip32 = format!("{}/32", s.ip);
    tools.ip(&["netns", "add", ns])?;
    tools.ip(&["link", "add", va, "type", "veth", "peer", "name", vb])?;
    tools.ip(&["link", "set", vb, "netns", ns])?;
    tools.ip(&["addr", "add", &format!("{ll}/32"), "dev", va])?;
    tools.ip(&["link", "set", va, "up"])?;
    let inside = |args: &[&str]| {
        let mut all = vec!["-n", ns];
        all.extend_from_slice(args);
        tools.ip(&all)
    };
    inside(&["addr", "add", &ip32, "dev", vb])?;
    inside(&["link", "set", vb, "up"])?;
    inside(&["link", "set", "lo", "up"])?;
    inside(&["route", "add", &ll, "dev", vb])?;
    inside(&["route", "add", "default", "via", &ll, "dev", vb])?;
    tools.ip(&["route", "add", &ip32, "dev", va])?;
    Ok(())
}

/// Create the host: namespace, veth, routes, sshd; wait until port 22 answers.
/// On failure everything made so far is removed again.
pub fn create(
    tools: &Tools,
    mut spec: HostSpec,
    login: &sshd::Login,
    ready_timeout: Duration,
    on_spawn: &mut dyn FnMut(&HostSpec),
) -> Result<Host> {
    let mut host = Host {
        spec: spec.clone(),
        sshd: None,
    };
    let res = (|| {
        make_net(tools, &spec)?;
        let conf = sshd::prepare(tools, &spec.dir, &spec.instance_id, spec.ip, login)?;
        let child = sshd::spawn(tools, &spec.namespace, &conf, &spec.dir)?;
        spec.sshd_pid = Some(child.id() as i32);
        host.spec = spec.clone();
        host.sshd = Some(child);
        on_spawn(&host.spec);
        if let Some(child) = host.sshd.as_mut() {
            sshd::wait_ready(child, spec.ip, &spec.dir, ready_timeout)?;
        }
        Ok(())
    })();
    match res {
        Ok(()) => Ok(host),
        Err(e) => {
            teardown(tools, &mut host);
            Err(e)
        }
    }
}

/// Tear a live host down: stop every process in its namespace (sshd and its
/// sessions), reap our sshd child, then remove the network side and the files.
pub fn teardown(tools: &Tools, host: &mut Host) {
    let mut pids = tools.netns_pids(&host.spec.namespace);
    if let Some(child) = host.sshd.as_ref() {
        pids.push(child.id() as i32);
    }
    sys::terminate(&pids, Duration::from_secs(2));
    if let Some(mut child) = host.sshd.take() {
        let _ = child.wait();
    }
    remove_net(tools, &host.spec);
}

/// Remove the network side and files of a host (idempotent; used for dead runs too).
pub fn remove_net(tools: &Tools, s: &HostSpec) {
    // Processes left inside (a dead run's sshd sessions) would keep the namespace alive.
    let pids = tools.netns_pids(&s.namespace);
    if !pids.is_empty() {
        sys::terminate(&pids, Duration::from_secs(2));
    }
    if let Some(pid) = s.sshd_pid {
        if sshd::is_ours(pid, &s.dir) {
            sys::terminate(&[pid], Duration::from_secs(2));
        }
    }
    tools.ip_quiet(&["route", "del", &format!("{}/32", s.ip), "dev", &s.veth_root]);
    // Deleting either end of the veth deletes both; then the namespace.
    tools.ip_quiet(&["link", "del", &s.veth_root]);
    tools.ip_quiet(&["netns", "del", &s.namespace]);
    if !s.dir.as_os_str().is_empty() {
        let _ = std::fs::remove_dir_all(&s.dir);
    }
}
