//! Small system helpers: running `ip`, finding tools, processes, atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A prerequisite or bad input: exit code 2.
    #[error("{0}")]
    Setup(String),
    /// Anything that went wrong while running: exit code 1.
    #[error("{0}")]
    Run(String),
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn run_err(msg: impl Into<String>) -> Error {
    Error::Run(msg.into())
}

/// Absolute paths of the programs the harness runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ip: PathBuf,
    pub sshd: PathBuf,
    pub ssh_keygen: PathBuf,
}

const INSTALL: &str = "install it with `apt-get install -y openssh-server iproute2`";

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Check that we run as root and that `ip`, `sshd` and `ssh-keygen` exist.
pub fn check_prereqs() -> Result<Tools> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::Setup(
            "must run as root (it creates network namespaces, veths and routes); \
             run it with sudo or in a root container"
                .into(),
        ));
    }
    let ip = find_in_path("ip")
        .ok_or_else(|| Error::Setup(format!("`ip` (iproute2) not found; {INSTALL}")))?;
    let sshd = PathBuf::from("/usr/sbin/sshd");
    if !sshd.is_file() {
        return Err(Error::Setup(format!(
            "/usr/sbin/sshd (openssh-server) not found; {INSTALL}"
        )));
    }
    let ssh_keygen = find_in_path("ssh-keygen").ok_or_else(|| {
        Error::Setup(format!(
            "`ssh-keygen` (openssh-client) not found; {INSTALL}"
        ))
    })?;
    Ok(Tools {
        ip,
        sshd,
        ssh_keygen,
    })
}

impl Tools {
    /// Run `ip ARGS`; on failure the error holds the command and its stderr.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.ip)
            .args(args)
            .output()
            .map_err(|e| run_err(format!("cannot run {}: {e}", self.ip.display())))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(run_err(format!(
                "`ip {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Run `ip ARGS`, ignoring failure (for idempotent teardown). Returns success.
    pub fn ip_quiet(&self, args: &[&str]) -> bool {
        self.ip(args).is_ok()
    }

    /// Names of the network namespaces (`ip netns list`).
    pub fn netns_list(&self) -> Vec<String> {
        self.ip(&["netns", "list"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// Names of the links in the root namespace (`ip -o link`), without `@peer`.
    pub fn link_list(&self) -> Vec<String> {
        self.ip(&["-o", "link", "show"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .collect()
    }

    /// Every IPv4 address assigned in the root namespace.
    pub fn root_addrs(&self) -> Result<Vec<std::net::Ipv4Addr>> {
        let out = self.ip(&["-o", "-4", "addr", "show"])?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                it.find(|w| *w == "inet")?;
                it.next()?.split('/').next()?.parse().ok()
            })
            .collect())
    }

    /// Pids of the processes inside a namespace.
    pub fn netns_pids(&self, ns: &str) -> Vec<i32> {
        self.ip(&["netns", "pids", ns])
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => stat_fields(&s).map(|f| f[0] != "Z").unwrap_or(false),
        Err(_) => false,
    }
}

/// Fields of /proc/PID/stat after the `(comm)` field: index 0 is the state.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().collect())
}

/// Start time of a process (clock ticks since boot), to tell a reused pid apart.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 of stat; index 19 after the comm field (state is field 3 → index 0).
    stat_fields(&s)?.get(19)?.parse().ok()
}

pub fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// SIGTERM the pids, wait up to `grace` for them to go, then SIGKILL what is left.
pub fn terminate(pids: &[i32], grace: Duration) {
    for &p in pids {
        signal(p, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for &p in pids.iter().filter(|&&p| alive(p)) {
        signal(p, libc::SIGKILL);
    }
}

/// Write a file atomically: write a temp file beside it, then rename over it.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        run_err(format!("cannot write {}: {e}", path.display()))
    })
}

/// The short run id: this process's pid in base36, padded to 5 characters so that
/// `mh<runid><n>a` names of two runs can never be equal.
pub fn run_id(pid: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = pid;
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    while out.len() < 5 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// The pid a run id was made from, if it is one.
pub fn pid_of_run_id(id: &str) -> Option<i32> {
    if id.len() != 5 {
        return None;
    }
    i32::from_str_radix(id, 36).ok()
}
