//! What the records should be, and the difference from what they are. No AWS, no screen.

use crate::aws::route53::{Action, RecordChange, RecordSet};
use crate::config::dns::check_label;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

pub const A: &str = "A";
pub const TXT: &str = "TXT";

/// ChangeResourceRecordSets limits per request: ResourceRecord elements, and characters in
/// all their values.
pub const MAX_RECORDS: usize = 1000;
pub const MAX_CHARS: usize = 32_000;

/// A running host as DNS sees it: its group, stable number and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsHost {
    pub group: String,
    pub number: u32,
    pub address: String,
}

/// Whose names these are and where they live.
#[derive(Debug, Clone)]
pub struct Naming {
    pub app: String,
    pub env: String,
    /// The zone's name, lower case, with the trailing dot.
    pub zone: String,
}

impl Naming {
    pub fn new(app: &str, env: &str, zone: &str) -> Self {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        Self {
            app: app.to_owned(),
            env: env.to_owned(),
            zone: format!("{zone}."),
        }
    }

    /// `<env>.<zone>.`: every name of the env ends with it.
    pub fn env_domain(&self) -> String {
        format!("{}.{}", self.env.to_ascii_lowercase(), self.zone)
    }

    pub fn host(&self, group: &str, number: u32) -> String {
        format!(
            "{}-{number}.{}",
            group.to_ascii_lowercase(),
            self.env_domain()
        )
    }

    pub fn group(&self, group: &str) -> String {
        format!("{}.{}", group.to_ascii_lowercase(), self.env_domain())
    }

    /// The TXT value (quoted, as Route53 stores it) that marks a name as this env's.
    pub fn owner(&self) -> String {
        format!(
            "\"heritage=manage,manage/app={},manage/env={}\"",
            self.app, self.env
        )
    }
}

/// Check that a group's names are valid DNS names (exit 2 naming the group otherwise).
fn check_group(naming: &Naming, group: &str, number: u32) -> Result<()> {
    let lower = group.to_ascii_lowercase();
    let label = format!("{lower}-{number}");
    let name = naming.host(group, number);
    check_label(&lower)
        .and_then(|()| check_label(&label))
        .and_then(|()| {
            (name.len() <= 254)
                .then_some(())
                .ok_or_else(|| format!("{name} is longer than 253 characters"))
        })
        .map_err(|e| {
            Error::input(format!(
                "group \"{group}\" cannot be a DNS name in zone {}: {e}; rename the group (Metadata.Group or the fragment's file name)",
                naming.zone
            ))
        })
}

/// The record sets that should exist: an A per running host, an A per group with its running
/// hosts' addresses, and the ownership TXT beside each name. Sorted by name, then type.
pub fn desired(naming: &Naming, hosts: &[DnsHost], ttl: u32) -> Result<Vec<RecordSet>> {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in hosts {
        check_group(naming, &h.group, h.number)?;
        by_name
            .entry(naming.host(&h.group, h.number))
            .or_default()
            .push(h.address.clone());
        by_name
            .entry(naming.group(&h.group))
            .or_default()
            .push(h.address.clone());
    }
    let ttl = Some(i64::from(ttl));
    let mut out = Vec::new();
    for (name, mut values) in by_name {
        values.sort();
        values.dedup();
        out.push(RecordSet {
            name: name.clone(),
            kind: A.into(),
            ttl,
            values,
        });
        out.push(RecordSet {
            name,
            kind: TXT.into(),
            ttl,
            values: vec![naming.owner()],
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Add,
    Update,
    Remove,
}

/// One name's change: its A values before and after, and the Route53 changes, which always go
/// in one batch together.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NameChange {
    pub name: String,
    pub verb: Verb,
    pub before: Vec<String>,
    pub after: Vec<String>,
    #[serde(skip)]
    pub changes: Vec<RecordChange>,
}

/// The changes that turn `existing` (every record set in the zone) into `desired`, touching
/// only names that carry this env's ownership mark. A desired name that exists without the
/// mark is refused (exit 3) naming the record. A new name is a CREATE, which Route53 refuses if
/// someone made it meanwhile; a changed A set of an owned name is an UPSERT (as external-dns does).
pub fn diff(
    naming: &Naming,
    desired: &[RecordSet],
    existing: &[RecordSet],
) -> Result<Vec<NameChange>> {
    let owner = naming.owner();
    let mut at: BTreeMap<&str, Vec<&RecordSet>> = BTreeMap::new();
    for r in existing {
        at.entry(r.name.as_str()).or_default().push(r);
    }
    let owned = |sets: &[&RecordSet]| {
        sets.iter()
            .any(|s| s.kind == TXT && s.values.contains(&owner))
    };
    let find = |sets: &[&RecordSet], kind: &str| {
        sets.iter().find(|s| s.kind == kind).map(|s| (*s).clone())
    };
    let mut out = Vec::new();
    let mut wanted: BTreeMap<&str, Vec<&RecordSet>> = BTreeMap::new();
    for r in desired {
        wanted.entry(r.name.as_str()).or_default().push(r);
    }
    for (name, want) in &wanted {
        let want_a = want.iter().find(|s| s.kind == A).map(|s| (*s).clone());
        let want_txt = want.iter().find(|s| s.kind == TXT).map(|s| (*s).clone());
        let sets = at.get(name).cloned().unwrap_or_default();
        if !sets.is_empty() && !owned(&sets) {
            return Err(Error::Refused(foreign(name, &sets)));
        }
        let have_a = find(&sets, A);
        let mut changes = Vec::new();
        if sets.is_empty() {
            changes.extend(want_txt.map(create));
        }
        match (&have_a, &want_a) {
            (Some(h), Some(w)) if same(h, w) => {}
            (Some(_), Some(w)) => changes.push(RecordChange {
                action: Action::Upsert,
                set: w.clone(),
            }),
            (None, Some(w)) => changes.push(create(w.clone())),
            (Some(h), None) => changes.push(delete(h.clone())),
            (None, None) => {}
        }
        if changes.is_empty() {
            continue;
        }
        out.push(NameChange {
            name: name.to_string(),
            verb: if have_a.is_some() || !sets.is_empty() {
                Verb::Update
            } else {
                Verb::Add
            },
            before: have_a.map(|s| s.values).unwrap_or_default(),
            after: want_a.map(|s| s.values).unwrap_or_default(),
            changes,
        });
    }
    for (name, sets) in &at {
        if wanted.contains_key(name) || !owned(sets) {
            continue;
        }
        let have_a = find(sets, A);
        let mut changes: Vec<RecordChange> = have_a.iter().cloned().map(delete).collect();
        changes.extend(find(sets, TXT).map(delete));
        out.push(NameChange {
            name: name.to_string(),
            verb: Verb::Remove,
            before: have_a.map(|s| s.values).unwrap_or_default(),
            after: vec![],
            changes,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The same TTL and the same values in any order: a sync leaves it alone.
pub(crate) fn same(a: &RecordSet, b: &RecordSet) -> bool {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    a.ttl == b.ttl && sorted(&a.values) == sorted(&b.values)
}

fn create(set: RecordSet) -> RecordChange {
    RecordChange {
        action: Action::Create,
        set,
    }
}

fn delete(set: RecordSet) -> RecordChange {
    RecordChange {
        action: Action::Delete,
        set,
    }
}

/// The refusal for a name someone else holds: who, when another env's mark says so.
fn foreign(name: &str, sets: &[&RecordSet]) -> String {
    let mark = sets
        .iter()
        .filter(|s| s.kind == TXT)
        .flat_map(|s| &s.values)
        .find(|v| v.trim_matches('"').starts_with("heritage=manage,"));
    let kinds: Vec<&str> = sets.iter().map(|s| s.kind.as_str()).collect();
    match mark {
        Some(m) => format!(
            "record {name} ({}) belongs to another env ({}); manage never changes it: pick another zone or env name",
            kinds.join(", "),
            m.trim_matches('"')
        ),
        None => format!(
            "record {name} ({}) exists and was not created by manage (no ownership TXT record); manage never changes it: remove it or pick another zone",
            kinds.join(", ")
        ),
    }
}

/// Split the changes into ChangeResourceRecordSets requests within the API's limits (an
/// UPSERT counts twice), never splitting one name's changes. A single name over the limits
/// goes alone (Route53 then says why).
pub fn batches(names: &[NameChange]) -> Vec<Vec<RecordChange>> {
    let size = |n: &NameChange| {
        n.changes.iter().fold((0, 0), |(r, c), ch| {
            let weight = if ch.action == Action::Upsert { 2 } else { 1 };
            (
                r + weight * ch.set.values.len(),
                c + weight * ch.set.values.iter().map(String::len).sum::<usize>(),
            )
        })
    };
    let mut out: Vec<Vec<RecordChange>> = Vec::new();
    let (mut records, mut chars) = (0, 0);
    for n in names {
        let (r, c) = size(n);
        if out.is_empty() || records + r > MAX_RECORDS || chars + c > MAX_CHARS {
            out.push(Vec::new());
            (records, chars) = (0, 0);
        }
        records += r;
        chars += c;
        out.last_mut()
            .expect("pushed above")
            .extend(n.changes.iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests;
