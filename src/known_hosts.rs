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
        let dir = base.join("manage").join("known_hosts");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::Local(format!("{}: {e}", dir.display())))?;
        Ok(Self {
            file: dir.join(format!("{app}-{env}")),
            ids_file: dir.join(format!("{app}-{env}.ids.json")),
        })
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
