//! What the zone holds at the env's names, next to what it should hold: what `status` shows.
//! "ok" means a `dns` run would leave the name alone. No AWS, no screen.

use super::plan::{same, Naming, A, TXT};
use crate::aws::route53::RecordSet;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NameState {
    /// The env's record holds what it should.
    Ok,
    /// The name should exist and does not.
    Missing,
    /// The env's record holds other addresses (or another TTL) than it should, or should be gone.
    Stale,
    /// A record without the env's ownership mark holds the name: `dns` never changes it.
    Foreign,
}

/// One name as the zone has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCheck {
    /// Without the trailing dot.
    pub name: String,
    /// The addresses its A record holds now (none: no A record).
    pub addresses: Vec<String>,
    /// The addresses it should hold (none: the name should not exist).
    pub expected: Vec<String>,
    pub state: NameState,
}

/// The zone's record sets by name, next to the A records the env should have.
pub struct ZoneView {
    owner: String,
    env_domain: String,
    wanted: BTreeMap<String, RecordSet>,
    existing: BTreeMap<String, Vec<RecordSet>>,
}

impl ZoneView {
    /// `desired` as `plan::desired` makes it; `existing` is every record set in the zone.
    pub fn new(naming: &Naming, desired: &[RecordSet], existing: &[RecordSet]) -> Self {
        let mut by_name: BTreeMap<String, Vec<RecordSet>> = BTreeMap::new();
        for r in existing {
            by_name.entry(r.name.clone()).or_default().push(r.clone());
        }
        Self {
            owner: naming.owner(),
            env_domain: naming.env_domain(),
            wanted: desired
                .iter()
                .filter(|s| s.kind == A)
                .map(|s| (s.name.clone(), s.clone()))
                .collect(),
            existing: by_name,
        }
    }

    /// The name (absolute, as `Naming` builds it), or None when it neither exists nor should.
    pub fn at(&self, name: &str) -> Option<NameCheck> {
        let want = self.wanted.get(name);
        let sets = self.existing.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let have = sets.iter().find(|s| s.kind == A);
        let state = match (want, have) {
            _ if !sets.is_empty() && !self.owned(sets) => NameState::Foreign,
            (Some(w), Some(h)) if same(w, h) => NameState::Ok,
            (Some(_), None) => NameState::Missing,
            (None, _) if sets.is_empty() => return None,
            _ => NameState::Stale,
        };
        Some(NameCheck {
            name: name.trim_end_matches('.').to_owned(),
            addresses: have.map(|s| s.values.clone()).unwrap_or_default(),
            expected: want.map(|s| s.values.clone()).unwrap_or_default(),
            state,
        })
    }

    /// The env's own names that are not in `known`: left for a host or group that is gone.
    pub fn others(&self, known: &[String]) -> Vec<NameCheck> {
        self.existing
            .iter()
            .filter(|(name, sets)| {
                name.ends_with(&self.env_domain)
                    && self.owned(sets)
                    && !known.iter().any(|k| k == *name)
            })
            .filter_map(|(name, _)| self.at(name))
            .collect()
    }

    fn owned(&self, sets: &[RecordSet]) -> bool {
        sets.iter()
            .any(|s| s.kind == TXT && s.values.contains(&self.owner))
    }
}

#[cfg(test)]
mod tests;
