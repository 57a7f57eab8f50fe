//! Settings that make a deploy fast, given to ansible-playbook through its environment, each
//! only where neither the environment nor the ansible.cfg that Ansible reads already sets it:
//! the operator's own configuration always wins.

use std::path::{Path, PathBuf};

/// Most forks a run gets by default: each is a Python process on this machine.
const MAX_FORKS: usize = 50;

/// One setting: the variable we would set, the variables and `[section] key`s that mean the
/// operator has chosen already, and our value.
struct Setting {
    var: &'static str,
    also: &'static [&'static str],
    keys: &'static [(&'static str, &'static str)],
    value: String,
}

/// The ansible.cfg Ansible will read, read once for all the runs of one deploy.
pub struct Chosen {
    cfg: Option<String>,
}

fn var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|s| !s.is_empty())
}

impl Chosen {
    pub fn read() -> Self {
        let cfg = config_file(
            var("ANSIBLE_CONFIG").map(PathBuf::from),
            var("HOME").map(PathBuf::from),
        )
        .and_then(|p| std::fs::read_to_string(p).ok());
        Self { cfg }
    }

    /// The environment variables to give ansible-playbook for a run over `hosts` hosts, in
    /// view of this process's environment and the ansible.cfg.
    pub fn env(&self, hosts: usize) -> Vec<(String, String)> {
        env(hosts, &|v| var(v).is_some(), self.cfg.as_deref())
    }
}

/// The environment variables to give ansible-playbook for a run over `hosts` hosts.
fn env(hosts: usize, vars: &dyn Fn(&str) -> bool, cfg: Option<&str>) -> Vec<(String, String)> {
    let settings = [
        // One SSH round trip per task instead of several.
        Setting {
            var: "ANSIBLE_PIPELINING",
            also: &["ANSIBLE_SSH_PIPELINING"],
            keys: &[
                ("defaults", "pipelining"),
                ("connection", "pipelining"),
                ("ssh_connection", "pipelining"),
            ],
            value: "true".into(),
        },
        // Facts only for a play that says `gather_facts: true`.
        Setting {
            var: "ANSIBLE_GATHERING",
            also: &[],
            keys: &[("defaults", "gathering")],
            value: "explicit".into(),
        },
        // Every host of the run at once (Ansible's default is 5).
        Setting {
            var: "ANSIBLE_FORKS",
            also: &[],
            keys: &[("defaults", "forks")],
            value: hosts.clamp(5, MAX_FORKS).to_string(),
        },
    ];
    settings
        .into_iter()
        .filter(|s| {
            !vars(s.var)
                && !s.also.iter().any(|v| vars(v))
                && !cfg.is_some_and(|text| s.keys.iter().any(|(sec, key)| sets(text, sec, key)))
        })
        .map(|s| (s.var.to_owned(), s.value))
        .collect()
}

/// The ansible.cfg Ansible reads, in its order: `$ANSIBLE_CONFIG`, `./ansible.cfg`,
/// `~/.ansible.cfg`, `/etc/ansible/ansible.cfg`. The first that exists.
fn config_file(ansible_config: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let candidates = [
        ansible_config,
        Some(PathBuf::from("ansible.cfg")),
        home.map(|h| h.join(".ansible.cfg")),
        Some(PathBuf::from("/etc/ansible/ansible.cfg")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| Path::new(p).is_file())
}

/// Whether INI text sets `key` in `[section]` (Ansible's configparser: `key = v` or `key: v`,
/// `#` and `;` comments, section names as written).
fn sets(text: &str, section: &str, key: &str) -> bool {
    let mut current = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim();
        } else if current == section {
            let name = line.split(['=', ':']).next().unwrap_or("").trim();
            if name.eq_ignore_ascii_case(key) && line.contains(['=', ':']) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn defaults_apply_where_the_operator_chose_nothing() {
        let env = env(20, &none, None);
        assert_eq!(
            env,
            [
                ("ANSIBLE_PIPELINING".into(), "true".into()),
                ("ANSIBLE_GATHERING".into(), "explicit".into()),
                ("ANSIBLE_FORKS".into(), "20".into()),
            ]
        );
        assert_eq!(self::env(2, &none, None)[2].1, "5");
        assert_eq!(self::env(400, &none, None)[2].1, "50");
    }

    #[test]
    fn the_environment_and_ansible_cfg_win() {
        let cfg = "[defaults]\n# forks = 3\nforks: 10\n\n[ssh_connection]\npipelining = False\n";
        let env = env(20, &|v| v == "ANSIBLE_GATHERING", Some(cfg));
        assert!(env.is_empty(), "{env:?}");
        let only_comment = "[defaults]\n; gathering = smart\n";
        assert_eq!(self::env(3, &none, Some(only_comment)).len(), 3);
        let other_section = "[inventory]\nforks = 2\n";
        assert_eq!(self::env(3, &none, Some(other_section)).len(), 3);
    }
}
