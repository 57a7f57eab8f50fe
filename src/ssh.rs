//! How `manage` reaches hosts: always through the system `ssh`, so the user's `~/.ssh/config`
//! (ProxyJump, IdentityFile, ...) applies, with one set of options shared by the readiness
//! probe, ssh, exec and Ansible: our known_hosts per env, `ssh_args` from the config, and for
//! `"transport": "ssm"` Session Manager's `AWS-StartSSHSession` as the ProxyCommand.

use crate::config::{Config, Transport};
use crate::error::{Error, Result};
use crate::hosts::Host;
use crate::process::shell_words;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct SshSettings {
    pub user: String,
    pub key_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    /// The config's `ssh_args`, passed as given.
    pub extra: Vec<String>,
    /// `"transport": "ssm"`: the ProxyCommand that opens a Session Manager session to `%h`.
    pub proxy_command: Option<String>,
    /// Where the shared connections' sockets live (see `sharing`); none when the path would
    /// be too long for a socket.
    pub control_dir: Option<PathBuf>,
}

/// How long a shared connection outlives its last use.
const PERSIST: &str = "60s";

/// Where AWS is, for the Session Manager ProxyCommand (the `aws` CLI runs it).
pub struct AwsRoute<'a> {
    pub region: &'a str,
    pub profile: Option<&'a str>,
}

impl SshSettings {
    /// The config's user, key file (made absolute, so child programs and printed commands work
    /// from any folder), `ssh_args` and transport, checked against `known_hosts`.
    pub fn from_config(config: &Config, known_hosts: PathBuf, route: &AwsRoute) -> Result<Self> {
        let key_file = config
            .ssh_key_file
            .as_deref()
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| Error::Local(format!("ssh_key_file: {e}")))?;
        let proxy_command = (config.transport == Transport::Ssm).then(|| ssm_proxy(route));
        let control_dir = control_dir(&known_hosts)?;
        Ok(Self {
            user: config.ssh_user.clone(),
            key_file,
            known_hosts,
            extra: config.ssh_args.clone(),
            proxy_command,
            control_dir,
        })
    }

    /// `-o` options: our own known_hosts, new keys accepted once, never a password prompt; the
    /// Session Manager ProxyCommand; then `ssh_args`; then connection sharing. The user's
    /// ~/.ssh/config applies after these (ssh takes the first value it sees for each option),
    /// so `ssh_args` can turn sharing off (`-o ControlPath=none`; `ControlMaster=no` alone would
    /// still use a connection an earlier run left open).
    pub fn connection_options(&self) -> Vec<String> {
        let mut opts = vec![
            "-o".to_owned(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".to_owned(),
            "StrictHostKeyChecking=accept-new".to_owned(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-o".to_owned(),
            "ConnectTimeout=10".to_owned(),
        ];
        if self.key_file.is_some() {
            opts.extend(["-o".to_owned(), "IdentitiesOnly=yes".to_owned()]);
        }
        if let Some(proxy) = &self.proxy_command {
            opts.extend(["-o".to_owned(), format!("ProxyCommand={proxy}")]);
        }
        opts.extend(self.extra.iter().cloned());
        opts.extend(self.sharing());
        opts
    }

    /// One SSH connection per host, shared (ControlMaster): the readiness probe opens it, and
    /// Ansible, `exec` and `ssh` reuse it instead of a new handshake each. Ansible keeps a
    /// ControlPath it finds among its extra args, so it shares the probe's connection too.
    fn sharing(&self) -> Vec<String> {
        let Some(dir) = &self.control_dir else {
            return Vec::new();
        };
        [
            "ControlMaster=auto".to_owned(),
            format!("ControlPath={}/%C", dir.display()),
            format!("ControlPersist={PERSIST}"),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect()
    }

    /// The connection options plus the key file.
    pub fn options(&self) -> Vec<String> {
        let mut opts = self.connection_options();
        if let Some(key) = &self.key_file {
            opts.extend(["-i".to_owned(), key.display().to_string()]);
        }
        opts
    }

    /// The full `ssh` argv to `host`, optionally running `remote`.
    pub fn argv(&self, host: &Host, remote: Option<&str>) -> Vec<String> {
        let mut argv = vec!["ssh".to_owned()];
        argv.extend(self.options());
        argv.extend(["-l".to_owned(), self.user.clone(), host.address.clone()]);
        if let Some(cmd) = remote {
            argv.extend(["--".to_owned(), cmd.to_owned()]);
        }
        argv
    }
}

/// The folder for shared connections' sockets, beside the known_hosts folder (made private).
/// None when a socket path there (the folder, `/`, and ssh's 40-character `%C` hash) would pass
/// the 104 bytes some systems allow for a socket path.
fn control_dir(known_hosts: &Path) -> Result<Option<PathBuf>> {
    let Some(base) = known_hosts.parent().and_then(Path::parent) else {
        return Ok(None);
    };
    let dir = std::path::absolute(base.join("control"))
        .map_err(|e| Error::Local(format!("SSH control folder: {e}")))?;
    if dir.as_os_str().len() + 41 > 104 {
        return Ok(None);
    }
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::Local(format!("{}: {e}", dir.display())))?;
    Ok(Some(dir))
}

/// `aws ssm start-session` with the SSH document, addressed by instance id (`%h`).
fn ssm_proxy(route: &AwsRoute) -> String {
    let mut argv: Vec<String> = [
        "aws",
        "ssm",
        "start-session",
        "--target",
        "%h",
        "--document-name",
        "AWS-StartSSHSession",
        "--parameters",
        "portNumber=%p",
        "--region",
        route.region,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(p) = route.profile {
        argv.extend(["--profile".to_owned(), p.to_owned()]);
    }
    shell_words(&argv)
}

/// Wait until `ssh` logs in to every host (through ProxyJump, ssh_args or Session Manager, as
/// every later use will). Looks at once, then backs off; past the deadline, names every host
/// that never answered with ssh's last word on it (exit 4).
pub async fn wait_until_answering(
    settings: &SshSettings,
    hosts: &[Host],
    deadline: Duration,
) -> Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for host in hosts {
        let (host, settings) = (host.clone(), settings.clone());
        set.spawn(async move { (answers_within(&settings, &host, deadline).await, host) });
    }
    let mut silent = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (answer, host) = joined.map_err(|e| Error::Local(format!("SSH wait: {e}")))?;
        if let Err(last) = answer {
            silent.push(format!("{} ({}): {last}", host.name, host.address));
        }
    }
    if silent.is_empty() {
        return Ok(());
    }
    silent.sort();
    Err(Error::Timeout {
        waiting_for: format!("SSH on {}", silent.join("; ")),
        after: deadline,
    })
}

async fn answers_within(
    settings: &SshSettings,
    host: &Host,
    deadline: Duration,
) -> std::result::Result<(), String> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        let last = match login(settings, host).await {
            Ok(()) => return Ok(()),
            Err(last) => last,
        };
        if started.elapsed() + delay > deadline {
            return Err(last);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// One `ssh ... true`: Ok once it logs in, else ssh's last line on stderr.
async fn login(settings: &SshSettings, host: &Host) -> std::result::Result<(), String> {
    let argv = settings.argv(host, Some("true"));
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match tokio::time::timeout(Duration::from_secs(30), cmd.output()).await {
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("ssh gave no reason")
            .trim()
            .to_owned()),
        Ok(Err(e)) => Err(format!("cannot run ssh: {e}")),
        Err(_) => Err("ssh did not finish within 30s".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssm_reaches_hosts_by_instance_id_through_start_ssh_session() {
        let proxy = ssm_proxy(&AwsRoute {
            region: "eu-west-1",
            profile: Some("ops"),
        });
        assert_eq!(
            proxy,
            "aws ssm start-session --target '%h' --document-name AWS-StartSSHSession --parameters 'portNumber=%p' --region eu-west-1 --profile ops"
        );
        let settings = SshSettings {
            user: "ec2-user".into(),
            key_file: None,
            known_hosts: "/k".into(),
            extra: vec!["-J".into(), "bastion".into()],
            proxy_command: Some(proxy.clone()),
            control_dir: Some("/run/c".into()),
        };
        let opts = settings.connection_options();
        let at = opts
            .iter()
            .position(|o| o.starts_with("ProxyCommand="))
            .unwrap();
        assert_eq!(opts[at], format!("ProxyCommand={proxy}"));
        // ssh_args before sharing: ssh takes the first value, so the operator's choice wins.
        assert_eq!(
            &opts[opts.len() - 8..],
            [
                "-J",
                "bastion",
                "-o",
                "ControlMaster=auto",
                "-o",
                "ControlPath=/run/c/%C",
                "-o",
                "ControlPersist=60s"
            ]
        );
    }
}
