//! A known_hosts file per env under the user's config dir, so host keys are checked without
//! mixing envs. When an address comes back on a new instance (a replaced host), its old key is
//! removed first, so the new host is accepted instead of refused as a man in the middle.

use crate::error::{Error, Result};
use crate::hosts::Host;
use crate::process;
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use tokio::process::Command;

pub struct KnownHosts {
    pub file: PathBuf,
    /// address → instance id that the key in `file` belongs to.
    ids_file: PathBuf,
}

impl KnownHosts {
    /// `$XDG_CONFIG_HOME/manage/known_hosts/<app>-<env>` (or `~/.config/...`).
    pub fn for_env(app: &str, env: &str) -> Result<Self> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .ok_or_else(|| {
                Error::input("neither XDG_CONFIG_HOME nor HOME is set: cannot place known_hosts")
            })?;
        Self::at(&base.join("manage").join("known_hosts"), app, env)
    }

    /// The files for `<app>-<env>` in `dir` (created private if missing).
    pub fn at(dir: &std::path::Path, app: &str, env: &str) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::Local(format!("{}: {e}", dir.display())))?;
        Ok(Self {
            file: dir.join(format!("{app}-{env}")),
            ids_file: dir.join(format!("{app}-{env}.ids.json")),
        })
    }

    /// Drop the keys of these hosts (their root volume was replaced: new host keys).
    pub async fn forget(&self, hosts: &[Host]) -> Result<()> {
        if !self.file.exists() {
            return Ok(());
        }
        for h in hosts {
            let mut cmd = Command::new("ssh-keygen");
            cmd.arg("-R").arg(&h.address).arg("-f").arg(&self.file);
            process::capture(cmd, "ssh-keygen -R").await?;
        }
        Ok(())
    }

    /// Drop the key of every address that now belongs to another instance.
    pub async fn forget_reused(&self, hosts: &[Host]) -> Result<()> {
        let mut ids: BTreeMap<String, String> = std::fs::read_to_string(&self.ids_file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        for h in hosts {
            let known = ids.get(&h.address);
            if known.is_some_and(|id| id != &h.instance_id) && self.file.exists() {
                let mut cmd = Command::new("ssh-keygen");
                cmd.arg("-R").arg(&h.address).arg("-f").arg(&self.file);
                process::capture(cmd, "ssh-keygen -R").await?;
            }
            ids.insert(h.address.clone(), h.instance_id.clone());
        }
        let text = serde_json::to_string_pretty(&ids).unwrap_or_default();
        std::fs::write(&self.ids_file, text)
            .map_err(|e| Error::Local(format!("{}: {e}", self.ids_file.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ec2::Instance;

    fn host(ip: &str, id: &str) -> Host {
        let instance = Instance {
            id: id.into(),
            state: "running".into(),
            private_ip: Some(ip.into()),
            public_ip: None,
            private_dns: None,
            public_dns: None,
            launch_time: None,
            ..Default::default()
        };
        Host {
            name: "h".into(),
            group: "app".into(),
            number: 0,
            address: ip.into(),
            instance_id: id.into(),
            instance,
        }
    }

    #[tokio::test]
    async fn a_reused_address_loses_its_old_key_and_others_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownHosts::at(dir.path(), "argos", "qa").unwrap();
        known
            .forget_reused(&[host("10.0.0.4", "i-old"), host("10.0.0.5", "i-b")])
            .await
            .unwrap();
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq8MvPXkr3Ec0yq0dYyN1f2l1rTKSbP5dG1ZlP7x4Qb";
        std::fs::write(&known.file, format!("10.0.0.4 {key}\n10.0.0.5 {key}\n")).unwrap();
        known
            .forget_reused(&[host("10.0.0.4", "i-new"), host("10.0.0.5", "i-b")])
            .await
            .unwrap();
        let left = std::fs::read_to_string(&known.file).unwrap();
        assert!(!left.contains("10.0.0.4"), "{left}");
        assert!(left.contains("10.0.0.5"), "{left}");
    }
}
