//! The selector every host action takes: `--group G` (repeatable), `--index SPEC` (`2`, `1,3`,
//! `0-2` or a mix) and a host name (`argos-qa-api-1`) or instance id. The parts narrow each
//! other; no part selects every host.

use super::{Hosts, Machine};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::fmt;

/// A set of host numbers, parsed from `--index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec(pub BTreeSet<u32>);

/// The largest number `--index` accepts, so that `0-4000000000` cannot eat memory.
const MAX_NUMBER: u32 = 9999;

impl std::str::FromStr for IndexSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let number = |p: &str| -> Result<u32, String> {
            let p = p.trim();
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "\"{p}\" is not a host number (use e.g. 2, 1,3 or 0-2)"
                ));
            }
            match p.parse::<u32>() {
                Ok(n) if n <= MAX_NUMBER => Ok(n),
                _ => Err(format!("{p} is larger than {MAX_NUMBER}")),
            }
        };
        let mut set = BTreeSet::new();
        for part in s.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (number(a)?, number(b)?);
                    if a > b {
                        return Err(format!("range {a}-{b} goes backwards (write {b}-{a})"));
                    }
                    set.extend(a..=b);
                }
                None => {
                    set.insert(number(part)?);
                }
            }
        }
        Ok(IndexSpec(set))
    }
}

impl fmt::Display for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(u32::to_string).collect();
        write!(f, "{}", list.join(","))
    }
}

/// Which hosts (the selector) and how many at a time (`--serial N`; all at once by default).
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub selector: Selector,
    pub serial: Option<u16>,
}

/// Which hosts an action works on. Empty: every host of the env.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub groups: Vec<String>,
    pub index: Option<IndexSpec>,
    /// Host names (`<app>-<env>-<group>-<number>`) or instance ids; any of them.
    pub hosts: Vec<String>,
}

impl Selector {
    /// Exactly these hosts (names or instance ids).
    pub fn hosts(hosts: impl IntoIterator<Item = String>) -> Self {
        Selector {
            hosts: hosts.into_iter().collect(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.index.is_none() && self.hosts.is_empty()
    }

    fn matches(&self, m: &Machine, names: (&str, &str)) -> bool {
        (self.groups.is_empty() || self.groups.contains(&m.group))
            && self.index.as_ref().is_none_or(|s| s.0.contains(&m.number))
            && (self.hosts.is_empty()
                || self
                    .hosts
                    .iter()
                    .any(|h| *h == m.instance.id || *h == m.name(names.0, names.1)))
    }

    /// The chosen hosts, in group then number order. A selector that matches nothing is bad
    /// input (exit 2) naming the groups and numbers there are; an empty selector on an env
    /// without hosts is an empty list.
    pub fn pick(&self, hosts: &Hosts, names: (&str, &str)) -> Result<Vec<Machine>> {
        let chosen: Vec<Machine> = hosts
            .machines
            .iter()
            .filter(|m| self.matches(m, names))
            .cloned()
            .collect();
        if chosen.is_empty() && !self.is_empty() {
            return Err(Error::input(format!(
                "{self}: no such host (there are: {})",
                hosts.summary()
            )));
        }
        Ok(chosen)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.groups.iter().map(|g| format!("--group {g}")).collect();
        if let Some(i) = &self.index {
            parts.push(format!("--index {i}"));
        }
        for h in &self.hosts {
            parts.push(format!("host {h}"));
        }
        if parts.is_empty() {
            parts.push("every host".into());
        }
        write!(f, "{}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_specs_parse_and_malformed_ones_say_why() {
        let set = |s: &str| {
            s.parse::<IndexSpec>()
                .map(|i| i.0.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(set("2").unwrap(), [2]);
        assert_eq!(set("1,3").unwrap(), [1, 3]);
        assert_eq!(set("0-2").unwrap(), [0, 1, 2]);
        assert_eq!(set("0-1,5, 3").unwrap(), [0, 1, 3, 5]);
        for bad in ["", "a", "1,", "-1", "1-", "3-1", "1-2-3", "1.5", "99999"] {
            assert!(set(bad).is_err(), "{bad:?} parsed");
        }
        assert!(set("3-1").unwrap_err().contains("backwards"));
        assert_eq!("0-2,5".parse::<IndexSpec>().unwrap().to_string(), "0,1,2,5");
    }
}
