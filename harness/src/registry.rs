//! Run records in /run/realhosts/<runid>.json, and cleanup of dead runs' leftovers.

use crate::host::{self, HostSpec};
use crate::sys::{self, run_err, Result, Tools};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DIR: &str = "/run/realhosts";

/// What one run made. Written before anything is created, so it is never behind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub pid: i32,
    /// Start time of the pid (/proc/PID/stat field 22), to tell a reused pid apart.
    pub start_time: Option<u64>,
    pub state_dir: PathBuf,
    pub hosts: Vec<HostSpec>,
}

pub fn path_for(run_id: &str) -> PathBuf {
    Path::new(DIR).join(format!("{run_id}.json"))
}

impl RunRecord {
    pub fn save(&self, run_id: &str) -> Result<()> {
        std::fs::create_dir_all(DIR).map_err(|e| run_err(format!("cannot create {DIR}: {e}")))?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| run_err(format!("cannot encode run record: {e}")))?;
        sys::write_atomic(&path_for(run_id), &json)
    }

    /// Whether the process that wrote this record is still running.
    pub fn owner_alive(&self) -> bool {
        sys::alive(self.pid)
            && match self.start_time {
                Some(t) => sys::start_time(self.pid) == Some(t),
                None => true,
            }
    }
}

fn load(path: &Path) -> Option<RunRecord> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// `mh<runid>-<n>` → runid
fn ns_run_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("mh")?;
    let (id, n) = rest.split_once('-')?;
    (id.len() == 5 && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// `mh<runid><n>a` / `b` → runid
fn veth_run_id(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("mh")?;
    let body = rest.strip_suffix('a').or_else(|| rest.strip_suffix('b'))?;
    if body.len() < 6 || !body[5..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    body.get(..5)
}

/// Whether the run with this id is alive: its record exists and its owner runs.
fn run_alive(run_id: &str) -> bool {
    load(&path_for(run_id)).is_some_and(|r| r.owner_alive())
}

#[derive(Default, Debug)]
pub struct Removed {
    pub runs: usize,
    pub namespaces: usize,
    pub veths: usize,
}

/// Remove everything dead runs left: hosts listed in their records, then any
/// `mh<runid>-<n>` namespace or `mh<runid><n>a` veth whose run is not alive.
/// `except` is the caller's own run id (its record may not exist yet).
pub fn cleanup_dead(tools: &Tools, except: Option<&str>) -> Removed {
    let mut removed = Removed::default();
    let netns_before = tools.netns_list();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(DIR)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        let Some(id) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.extension().and_then(|e| e.to_str()) != Some("json") || Some(&*id) == except {
            continue;
        }
        let Some(rec) = load(&path) else {
            // Unreadable record: if its pid (from the name) is gone, drop it.
            if sys::pid_of_run_id(&id).is_none_or(|p| !sys::alive(p)) {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        };
        if rec.owner_alive() {
            continue;
        }
        for h in &rec.hosts {
            if netns_before.contains(&h.namespace) {
                removed.namespaces += 1;
            }
            host::remove_net(tools, h);
        }
        let hosts_json = rec.state_dir.join("hosts.json");
        if hosts_json.exists() {
            let _ = sys::write_atomic(&hosts_json, b"[]\n");
        }
        let _ = std::fs::remove_file(&path);
        removed.runs += 1;
        eprintln!(
            "cleanup: removed run {id} (pid {} is gone, {} host(s))",
            rec.pid,
            rec.hosts.len()
        );
    }
    // Orphans with no record (or a record that lost track of them).
    let dead = |id: &str| Some(id) != except && !run_alive(id);
    for ns in tools.netns_list() {
        if ns_run_id(&ns).is_some_and(dead) {
            let pids = tools.netns_pids(&ns);
            sys::terminate(&pids, std::time::Duration::from_secs(2));
            if tools.ip_quiet(&["netns", "del", &ns]) {
                removed.namespaces += 1;
                eprintln!("cleanup: removed namespace {ns}");
            }
        }
    }
    for link in tools.link_list() {
        if veth_run_id(&link).is_some_and(dead) && tools.ip_quiet(&["link", "del", &link]) {
            removed.veths += 1;
            eprintln!("cleanup: removed veth {link}");
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_back_to_run_ids() {
        assert_eq!(ns_run_id("mh0ab12-0"), Some("0ab12"));
        assert_eq!(ns_run_id("mh0ab12-"), None);
        assert_eq!(ns_run_id("other"), None);
        assert_eq!(veth_run_id("mh0ab1217a"), Some("0ab12"));
        assert_eq!(veth_run_id("mh0ab12a"), None);
        assert_eq!(veth_run_id("eth0"), None);
        let id = sys::run_id(4_194_304);
        assert_eq!(id.len(), 5);
        assert_eq!(sys::pid_of_run_id(&id), Some(4_194_304));
        assert_eq!(sys::run_id(1), "00001");
    }
}
