//! Checks on this machine that need no AWS call: the programs `manage` runs and the SSH key
//! file. The actions run them before any request; `doctor` runs each of them on its own.

use crate::ansible::mitogen::{self, Mitogen};
use crate::config::{Config, Transport};
use crate::error::{Error, Result};
use crate::process;
use std::path::PathBuf;

pub fn ansible() -> Result<PathBuf> {
    process::find(
        "ansible-playbook",
        "install Ansible (pip install ansible-core)",
    )
}

/// Mitogen, when the config turns it on: where it is for the Python that runs ansible-playbook.
pub async fn mitogen(config: &Config) -> Result<Option<Mitogen>> {
    if !config.mitogen {
        return Ok(None);
    }
    Ok(Some(mitogen::locate(&config.path, &ansible()?).await?))
}

pub fn ssh_client() -> Result<PathBuf> {
    process::find(
        "ssh",
        "install OpenSSH's client (apt-get install openssh-client)",
    )
}

/// Session Manager's programs, when the transport is ssm: the programs found (none for ssh).
pub fn transport_tools(config: &Config) -> Result<Vec<PathBuf>> {
    if config.transport != Transport::Ssm {
        return Ok(vec![]);
    }
    let why = "\"transport\": \"ssm\" needs it";
    Ok(vec![
        process::find(
            "aws",
            &format!("{why}: install the AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)"),
        )?,
        process::find(
            "session-manager-plugin",
            &format!("{why}: install the Session Manager plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html)"),
        )?,
    ])
}

/// The SSH key file exists and is private (ssh itself refuses a key that group or others may
/// read, which would look like a host that never answers). None when none is configured.
pub fn key_file(config: &Config) -> Result<Option<(PathBuf, u32)>> {
    use std::os::unix::fs::PermissionsExt;
    let Some(key) = &config.ssh_key_file else {
        return Ok(None);
    };
    let path = config.path.display();
    if !key.is_file() {
        return Err(Error::input(format!(
            "{path}: key \"ssh_key_file\": {} not found: put the private key of the hosts' key pair there (chmod 600), or change \"ssh_key_file\"",
            key.display()
        )));
    }
    let mode = std::fs::metadata(key)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        return Err(Error::input(format!(
            "{path}: key \"ssh_key_file\": {} has mode {mode:04o}, readable by group or others: run chmod 600 {}",
            key.display(),
            key.display()
        )));
    }
    Ok(Some((key.clone(), mode)))
}
