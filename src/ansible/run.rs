//! Running ansible-playbook: which playbooks cover which groups, the command line (with the
//! speed settings of `tuning`), and the runs themselves, several at once, each line prefixed.

use super::mitogen::Mitogen;
use super::tuning;
use crate::error::{Error, Result};
use crate::hosts::Host;
use crate::process::{self, shell_words};
use crate::ssh::SshSettings;
use crate::ui::Ui;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::process::Command;

/// How many groups' playbooks run at once unless `--parallel` says otherwise.
pub const DEFAULT_PARALLEL: usize = 4;

/// One ansible-playbook run: a playbook, the inventory groups or hosts it is limited to, and
/// how many hosts that is.
#[derive(Debug, Clone)]
pub struct PlaybookRun {
    pub label: String,
    pub playbook: PathBuf,
    pub limit: Vec<String>,
    pub hosts: usize,
}

/// `site.yml` when present (one run over the chosen hosts' groups); otherwise `<group>.yml` for
/// each group that has one. Each run is limited to whole groups, or with `by_host` to the chosen
/// hosts by name (Ansible's --limit). Returns the runs and the groups that have no playbook.
pub fn plan(dir: &Path, chosen: &[Host], by_host: bool) -> (Vec<PlaybookRun>, Vec<String>) {
    let find = |stem: &str| {
        ["yml", "yaml"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
    };
    let mut groups: Vec<&str> = Vec::new();
    for h in chosen {
        if !groups.contains(&h.group.as_str()) {
            groups.push(&h.group);
        }
    }
    let run = |label: &str, playbook: PathBuf, of: &[&str]| {
        let hosts: Vec<&Host> = chosen
            .iter()
            .filter(|h| of.contains(&h.group.as_str()))
            .collect();
        let limit = if by_host {
            hosts.iter().map(|h| h.name.clone()).collect()
        } else {
            of.iter().map(|g| g.to_string()).collect()
        };
        PlaybookRun {
            label: label.to_owned(),
            playbook,
            limit,
            hosts: hosts.len(),
        }
    };
    if let Some(site) = find("site") {
        return (vec![run("site", site, &groups)], Vec::new());
    }
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for g in groups {
        match find(g) {
            Some(playbook) => runs.push(run(g, playbook, &[g])),
            None => skipped.push(g.to_owned()),
        }
    }
    (runs, skipped)
}

fn playbook_command(
    run: &PlaybookRun,
    setup: &Setup,
    color: bool,
    chosen: &tuning::Chosen,
) -> Command {
    let ssh = setup.ssh;
    let mut cmd = Command::new("ansible-playbook");
    cmd.arg("-i")
        .arg(setup.inventory)
        .arg("--limit")
        .arg(run.limit.join(":"));
    cmd.arg("-u").arg(&ssh.user);
    if let Some(key) = &ssh.key_file {
        cmd.arg("--private-key").arg(key);
    }
    // Extra, not common, args: the user's ansible.cfg ssh_args and ssh_common_args still apply.
    cmd.arg("--ssh-extra-args")
        .arg(shell_words(&ssh.connection_options()));
    cmd.arg("-e").arg(format!("@{}", setup.vars.display()));
    cmd.args(setup.extra);
    cmd.arg(&run.playbook);
    cmd.envs(chosen.env(run.hosts));
    cmd.env("PYTHONUNBUFFERED", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
        .env(
            if color {
                "ANSIBLE_FORCE_COLOR"
            } else {
                "ANSIBLE_NOCOLOR"
            },
            "1",
        );
    cmd
}

#[derive(Serialize, Clone)]
pub struct PlaybookResult {
    pub label: String,
    pub playbook: String,
    pub exit_code: i32,
    pub seconds: f64,
}

/// What the runs of one deploy share.
pub struct Setup<'a> {
    pub ssh: &'a SshSettings,
    /// The static inventory and the extra-vars file (both private temp files).
    pub inventory: &'a Path,
    pub vars: &'a Path,
    /// More ansible-playbook arguments: `--check`, `--diff`, `--tags`.
    pub extra: &'a [String],
    /// Mitogen, when the config turns it on (`crate::preflight::mitogen`).
    pub mitogen: Option<Mitogen>,
}

/// Run the playbooks, at most `parallel` at once, each line prefixed by its group.
pub async fn run_playbooks(
    ui: &Ui,
    setup: Setup<'_>,
    runs: Vec<PlaybookRun>,
    parallel: usize,
) -> Result<Vec<PlaybookResult>> {
    let slots = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let color = ui.stderr_tty;
    let mut set = tokio::task::JoinSet::new();
    let chosen = tuning::Chosen::read(setup.mitogen.clone());
    for run in runs {
        let cmd = playbook_command(&run, &setup, color, &chosen);
        let (ui, slots) = (ui.clone(), slots.clone());
        set.spawn(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .map_err(|e| Error::Local(e.to_string()))?;
            let started = Instant::now();
            let code =
                process::stream(cmd, "ansible-playbook", |l| ui.prefixed(&run.label, l)).await?;
            let playbook = run
                .playbook
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok::<_, Error>(PlaybookResult {
                label: run.label,
                playbook,
                exit_code: code,
                seconds: started.elapsed().as_secs_f64(),
            })
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        results.push(joined.map_err(|e| Error::Local(format!("playbook task: {e}")))??);
    }
    results.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(results)
}

/// A JSON file only we can read (mode 0600), removed when dropped.
pub fn private_json(prefix: &str, value: &serde_json::Value) -> Result<tempfile::NamedTempFile> {
    let io = |e: std::io::Error| Error::Local(format!("writing a temporary file: {e}"));
    let mut file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(".json")
        .tempfile()
        .map_err(io)?;
    file.write_all(value.to_string().as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(file)
}
