//! How `manage` reaches hosts over SSH: one set of options shared by ssh, exec and Ansible,
//! a known_hosts file per env, and a wait until every host answers.

use crate::error::{Error, Result};
use crate::hosts::Host;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::time::{timeout, Instant};

#[derive(Debug, Clone)]
pub struct SshSettings {
    pub user: String,
    pub key_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
}

impl SshSettings {
    /// The config's user and key file (made absolute, so child programs and printed commands
    /// work from any folder), checked against `known_hosts`.
    pub fn from_config(config: &crate::config::Config, known_hosts: PathBuf) -> Result<Self> {
        let key_file = config
            .ssh_key_file
            .as_deref()
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| Error::Local(format!("ssh_key_file: {e}")))?;
        Ok(Self {
            user: config.ssh_user.clone(),
            key_file,
            known_hosts,
        })
    }

    /// `-o` options: our own known_hosts, new keys accepted once, never a password prompt.
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
        opts
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

/// Wait until every host accepts a TCP connection on port 22 and sends an SSH banner. Looks
/// at once, then backs off; past the deadline, names every host that never answered (exit 4).
pub async fn wait_until_answering(hosts: &[Host], deadline: Duration) -> Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for host in hosts {
        let host = host.clone();
        set.spawn(async move { (answers_within(&host.address, deadline).await, host) });
    }
    let mut silent = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (ok, host) = joined.map_err(|e| Error::Local(format!("SSH wait: {e}")))?;
        if !ok {
            silent.push(format!("{} ({})", host.name, host.address));
        }
    }
    if silent.is_empty() {
        return Ok(());
    }
    silent.sort();
    Err(Error::Timeout {
        waiting_for: format!("SSH on {}", silent.join(", ")),
        after: deadline,
    })
}

async fn answers_within(address: &str, deadline: Duration) -> bool {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        if banner(address).await {
            return true;
        }
        if started.elapsed() + delay > deadline {
            return false;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

async fn banner(address: &str) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect((address, 22)).await.ok()?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.ok()?;
        (&buf == b"SSH-").then_some(())
    };
    matches!(timeout(Duration::from_secs(3), attempt).await, Ok(Some(())))
}
