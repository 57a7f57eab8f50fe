//! Settings that make a deploy fast, given to ansible-playbook through its environment, each
//! only where neither the environment nor the ansible.cfg that Ansible reads already sets it:
//! the operator's own configuration always wins.

use super::mitogen::{self, Mitogen};
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

/// The ansible.cfg Ansible will read, read once for all the runs of one deploy, and Mitogen
/// when the config turns it on.
pub struct Chosen {
    cfg: Option<String>,
    mitogen: Option<Mitogen>,
}

fn var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|s| !s.is_empty())
}

impl Chosen {
    pub fn read(mitogen: Option<Mitogen>) -> Self {
        let cfg = config_file(
            var("ANSIBLE_CONFIG").map(PathBuf::from),
            var("HOME").map(PathBuf::from),
        )
        .and_then(|p| std::fs::read_to_string(p).ok());
        Self { cfg, mitogen }
    }

    /// The environment variables to give ansible-playbook for a run over `hosts` hosts, in
    /// view of this process's environment and the ansible.cfg.
    pub fn env(&self, hosts: usize) -> Vec<(String, String)> {
        env(
            hosts,
            &|v| var(v).is_some(),
            self.cfg.as_deref(),
            self.mitogen.as_ref(),
        )
    }
}

/// The environment variables to give ansible-playbook for a run over `hosts` hosts.
fn env(
    hosts: usize,
    vars: &dyn Fn(&str) -> bool,
    cfg: Option<&str>,
    mitogen: Option<&Mitogen>,
) -> Vec<(String, String)> {
    let mut settings = vec![
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
    // Mitogen's strategy and where it is, as one: an operator who names a strategy or a
    // strategy folder of their own keeps both.
    const STRATEGY_VARS: &[&str] = &["ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS"];
    const STRATEGY_KEYS: &[(&str, &str)] =
        &[("defaults", "strategy"), ("defaults", "strategy_plugins")];
    if let Some(m) = mitogen {
        settings.extend([
            Setting {
                var: "ANSIBLE_STRATEGY_PLUGINS",
                also: STRATEGY_VARS,
                keys: STRATEGY_KEYS,
                value: m.strategy_plugins.display().to_string(),
            },
            Setting {
                var: "ANSIBLE_STRATEGY",
                also: STRATEGY_VARS,
                keys: STRATEGY_KEYS,
                value: mitogen::STRATEGY.into(),
            },
        ]);
    }
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
        let env = env(20, &none, None, None);
        assert_eq!(
            env,
            [
                ("ANSIBLE_PIPELINING".into(), "true".into()),
                ("ANSIBLE_GATHERING".into(), "explicit".into()),
                ("ANSIBLE_FORKS".into(), "20".into()),
            ]
        );
        assert_eq!(self::env(2, &none, None, None)[2].1, "5");
        assert_eq!(self::env(400, &none, None, None)[2].1, "50");
    }

    #[test]
    fn the_environment_and_ansible_cfg_win() {
        let cfg = "[defaults]\n# forks = 3\nforks: 10\n\n[ssh_connection]\npipelining = False\n";
        let env = env(20, &|v| v == "ANSIBLE_GATHERING", Some(cfg), None);
        assert!(env.is_empty(), "{env:?}");
        let only_comment = "[defaults]\n; gathering = smart\n";
        assert_eq!(self::env(3, &none, Some(only_comment), None).len(), 3);
        let other_section = "[inventory]\nforks = 2\n";
        assert_eq!(self::env(3, &none, Some(other_section), None).len(), 3);
    }

    #[test]
    fn mitogen_brings_its_strategy_unless_the_operator_named_one() {
        let m = Mitogen {
            strategy_plugins: PathBuf::from("/venv/ansible_mitogen/plugins/strategy"),
            version: "0.3.54".into(),
            python: "/venv/bin/python3".into(),
        };
        let env = env(3, &none, None, Some(&m));
        assert_eq!(
            env[3..],
            [
                (
                    "ANSIBLE_STRATEGY_PLUGINS".into(),
                    "/venv/ansible_mitogen/plugins/strategy".into()
                ),
                ("ANSIBLE_STRATEGY".into(), "mitogen_linear".into()),
            ]
        );
        let theirs = |v: &str| v == "ANSIBLE_STRATEGY";
        assert_eq!(self::env(3, &theirs, None, Some(&m)).len(), 3);
        let cfg = "[defaults]\nstrategy_plugins = /opt/plugins\n";
        assert_eq!(self::env(3, &none, Some(cfg), Some(&m)).len(), 3);
        let cfg = "[defaults]\nstrategy = free\n";
        assert_eq!(self::env(3, &none, Some(cfg), Some(&m)).len(), 3);
    }
}
