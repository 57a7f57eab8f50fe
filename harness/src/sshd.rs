//! The per-host sshd: its config, host key, process and readiness check.

use crate::sys::{run_err, Result, Tools};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Quote a value for sshd_config; `%` is a token prefix in AuthorizedKeysFile.
fn quote(p: &Path, percent: bool) -> String {
    let mut s = p.display().to_string();
    if percent {
        s = s.replace('%', "%%");
    }
    format!("\"{s}\"")
}

/// Who may log in: the one key, as root, and with `allow_from` only from that address (a host
/// behind a bastion).
#[derive(Debug, Clone)]
pub struct Login {
    pub authorized_key: PathBuf,
    pub allow_from: Option<Ipv4Addr>,
}

/// Write sshd_config into `dir` and return its path. The host key belongs to the instance and
/// is kept in the state dir's `host-keys/`, so a host that comes back (a stopped instance
/// started again, a restarted harness) shows the same key, as a real machine would.
pub fn prepare(
    tools: &Tools,
    dir: &Path,
    instance_id: &str,
    ip: Ipv4Addr,
    login: &Login,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| run_err(format!("cannot create {}: {e}", dir.display())))?;
    // sshd needs its privilege-separation directory.
    std::fs::create_dir_all("/run/sshd")
        .map_err(|e| run_err(format!("cannot create /run/sshd: {e}")))?;
    let keys = dir.parent().unwrap_or(dir).join("host-keys");
    std::fs::create_dir_all(&keys)
        .map_err(|e| run_err(format!("cannot create {}: {e}", keys.display())))?;
    let key = keys.join(instance_id);
    if !key.exists() {
        generate_key(tools, &key)?;
    }
    let conf = format!(
        "# written by realhosts\n\
         ListenAddress {ip}\n\
         Port 22\n\
         HostKey {key}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {ak}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         UseDNS no\n\
         PrintMotd no\n\
         Subsystem sftp internal-sftp\n\
         LogLevel INFO\n\
         {allow}",
        key = quote(&key, false),
        pid = quote(&dir.join("sshd.pid"), false),
        ak = quote(&login.authorized_key, true),
        allow = login
            .allow_from
            .map(|from| format!("AllowUsers root@{from}\n"))
            .unwrap_or_default(),
    );
    let path = dir.join("sshd_config");
    std::fs::write(&path, conf)
        .map_err(|e| run_err(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

fn generate_key(tools: &Tools, key: &Path) -> Result<()> {
    let out = Command::new(&tools.ssh_keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "realhosts", "-f"])
        .arg(key)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| run_err(format!("cannot run ssh-keygen: {e}")))?;
    if !out.status.success() {
        return Err(run_err(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The login shell's startup file of root on this machine, and the distribution's default one.
const ROOT_BASHRC: &str = "/root/.bashrc";
const DEFAULT_BASHRC: &str = "/etc/skel/.bashrc";

/// Start `ip netns exec NS sshd -D -e -f CONF` as our child. `ip netns exec` execs
/// sshd, so the child's pid is sshd's. The child gets SIGTERM if we die (PDEATHSIG),
/// and its own process group so a terminal's Ctrl-C reaches only us.
///
/// The hosts share this machine's filesystem, so root on a host would run this machine's
/// ~/.bashrc for every command ssh runs (bash reads it for ssh commands); a developer's may
/// start pyenv or nvm, a fifth of a second per command, which no fresh host pays. So sshd gets
/// the distribution's default .bashrc (which returns at once for a non-interactive shell)
/// bind-mounted over root's, inside the mount namespace that `ip netns exec` makes for it:
/// the machine's own file is untouched.
pub fn spawn(tools: &Tools, ns: &str, conf: &Path, dir: &Path) -> Result<Child> {
    let log = std::fs::File::create(dir.join("sshd.log"))
        .map_err(|e| run_err(format!("cannot create sshd.log in {}: {e}", dir.display())))?;
    let mut cmd = Command::new(&tools.ip);
    cmd.args(["netns", "exec", ns]);
    if Path::new(ROOT_BASHRC).is_file() && Path::new(DEFAULT_BASHRC).is_file() {
        cmd.args([
            "/bin/sh",
            "-c",
            "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"",
            "sh",
            DEFAULT_BASHRC,
            ROOT_BASHRC,
        ]);
    }
    cmd.arg(&tools.sshd)
        .args(["-D", "-e", "-f"])
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // SAFETY: only async-signal-safe calls (prctl, setpgid) run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            );
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| run_err(format!("cannot start sshd in {ns}: {e}")))
}

/// Wait until `ip:22` accepts a TCP connection from the root namespace.
pub fn wait_ready(child: &mut Child, ip: Ipv4Addr, dir: &Path, timeout: Duration) -> Result<()> {
    let addr = SocketAddr::from((ip, 22));
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(run_err(format!(
                "sshd for {ip} exited ({status}) before it listened: {}",
                log_tail(dir)
            )));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(run_err(format!(
                "sshd for {ip} did not accept connections on port 22 within {} ms: {}",
                timeout.as_millis(),
                log_tail(dir)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().rev().take(3).collect();
    if lines.is_empty() {
        "(sshd.log is empty)".into()
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

/// Whether `pid` is an sshd started by realhosts with its config in `dir`.
pub fn is_ours(pid: i32, dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    !dir.as_os_str().is_empty() && cmdline.contains(&*dir.to_string_lossy())
}
