//! The DNS part of `status`: the env's names as Route53 has them (the zone's record sets, read
//! once), next to what they should hold, so that a missing or stale record shows.

use super::HostRow;
use crate::actions::{records, Ctx};
use crate::aws::cloudformation::StackOutput;
use crate::aws::route53::{self, Zone};
use crate::aws::Clients;
use crate::config::ZoneRef;
use crate::dns::look::{NameCheck, NameState, ZoneView};
use crate::dns::{desired, sync, Naming};
use crate::error::{Error, Result};
use crate::hosts::{Hosts, Machine};
use crate::ui::table;
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct StatusDns {
    /// The zone's name (no trailing dot), when known.
    pub zone: Option<String>,
    pub zone_id: Option<String>,
    /// Why the names could not be read; then no name is shown, and `status` exits non-zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The group names of the chosen hosts' groups.
    pub groups: Vec<GroupName>,
    /// With the whole env chosen: the env's own names that no host or group accounts for.
    pub others: Vec<NameCheck>,
}

#[derive(Serialize)]
pub struct GroupName {
    pub group: String,
    /// None when the name neither exists nor should (no running host).
    pub dns: Option<NameCheck>,
}

/// The zone and what it holds at the env's names.
pub struct Looked {
    zone: Zone,
    naming: Naming,
    view: ZoneView,
}

/// Read the zone once. None when the env has no DNS, or its zone is a stack output and there
/// is no stack (so no zone).
pub async fn look(
    ctx: &Ctx,
    clients: &Clients,
    outputs: Option<&[StackOutput]>,
    hosts: &Hosts,
) -> Option<Result<Looked>> {
    let settings = ctx.env.dns.as_ref()?;
    if matches!(settings.zone, ZoneRef::Output(_)) && outputs.is_none() {
        return None;
    }
    let read = async {
        let zone = sync::find_zone(&clients.route53, settings, outputs).await?;
        let naming = Naming::new(ctx.env.app(), &ctx.env.name, &zone.name);
        let running = records::dns_hosts(ctx, hosts, settings);
        let want = desired(&naming, &running, settings.ttl)?;
        let existing = route53::record_sets(&clients.route53, &zone).await?;
        Ok(Looked {
            view: ZoneView::new(&naming, &want, &existing),
            zone,
            naming,
        })
    };
    Some(read.await)
}

impl Looked {
    fn host(&self, m: &Machine) -> Option<NameCheck> {
        self.view.at(&self.naming.host(&m.group, m.number))
    }

    /// The group names of the chosen hosts, and (with `all` of the env's hosts chosen) the
    /// env's names that belong to none of them.
    fn report(&self, chosen: &[Machine], all: bool) -> StatusDns {
        let mut groups: Vec<&str> = chosen.iter().map(|m| m.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        let others = if all {
            let known: Vec<String> = chosen
                .iter()
                .map(|m| self.naming.host(&m.group, m.number))
                .chain(groups.iter().map(|g| self.naming.group(g)))
                .collect();
            self.view.others(&known)
        } else {
            vec![]
        };
        StatusDns {
            zone: Some(self.zone.name.trim_end_matches('.').to_owned()),
            zone_id: Some(self.zone.id.clone()),
            error: None,
            groups: groups
                .into_iter()
                .map(|g| GroupName {
                    group: g.to_owned(),
                    dns: self.view.at(&self.naming.group(g)),
                })
                .collect(),
            others,
        }
    }
}

/// Put each chosen host's name on its row, and say what the zone holds for its groups. Names
/// that could not be read are reported, and the error is returned to fail the run once the
/// rest is shown.
pub fn attach(
    ctx: &Ctx,
    looked: Option<Result<Looked>>,
    rows: &mut [HostRow],
    chosen: &[Machine],
    all: bool,
) -> (Option<StatusDns>, Option<Error>) {
    match looked {
        None => (None, None),
        Some(Ok(looked)) => {
            for (row, m) in rows.iter_mut().zip(chosen) {
                row.dns = looked.host(m);
            }
            (Some(looked.report(chosen, all)), None)
        }
        Some(Err(e)) => (Some(unread(ctx, &e)), Some(e)),
    }
}

/// What `status` says when the names could not be read: the error, never "no name".
fn unread(ctx: &Ctx, e: &Error) -> StatusDns {
    let zone = ctx.env.dns.as_ref().and_then(|s| match &s.zone {
        ZoneRef::Name(n) => Some(n.clone()),
        ZoneRef::Output(_) => None,
    });
    StatusDns {
        zone,
        zone_id: None,
        error: Some(e.to_string()),
        groups: vec![],
        others: vec![],
    }
}

/// The names table under the hosts: one row per chosen host, then per group, then the env's
/// names that belong to no host or group.
pub fn write(
    f: &mut fmt::Formatter<'_>,
    env: &str,
    dns: &StatusDns,
    hosts: &[HostRow],
) -> fmt::Result {
    let zone = dns.zone.as_deref().unwrap_or("(from the stack output)");
    if dns.error.is_some() {
        return write!(
            f,
            "\n\nDNS names in zone {zone}: unknown (see the error below)"
        );
    }
    writeln!(f, "\n\nDNS names in zone {zone} (as Route53 has them):")?;
    let rows = hosts
        .iter()
        .map(|h| cells(&h.name, h.dns.as_ref()))
        .chain(
            dns.groups
                .iter()
                .map(|g| cells(&format!("group {}", g.group), g.dns.as_ref())),
        )
        .chain(dns.others.iter().map(|c| cells("-", Some(c))));
    write!(
        f,
        "{}",
        table(&["for", "dns name", "addresses", "record"], rows)
    )?;
    let all = hosts
        .iter()
        .filter_map(|h| h.dns.as_ref())
        .chain(dns.groups.iter().filter_map(|g| g.dns.as_ref()))
        .chain(&dns.others);
    let (mut off, mut foreign) = (false, false);
    for c in all {
        off |= matches!(c.state, NameState::Missing | NameState::Stale);
        foreign |= c.state == NameState::Foreign;
    }
    if off {
        write!(f, "\n`manage {env} dns` brings the names in step")?;
    }
    if foreign {
        write!(
            f,
            "\na record without manage's ownership mark holds a name: manage never changes it"
        )?;
    }
    Ok(())
}

fn cells(what: &str, c: Option<&NameCheck>) -> Vec<String> {
    let Some(c) = c else {
        return vec![what.to_owned(), "-".into(), "-".into(), "-".into()];
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let record = match c.state {
        NameState::Ok => "ok".to_owned(),
        NameState::Missing => format!("missing (should be {})", list(&c.expected)),
        NameState::Stale if c.expected.is_empty() => "stale (should be gone)".to_owned(),
        NameState::Stale => format!("stale (should be {})", list(&c.expected)),
        NameState::Foreign => "not manage's".to_owned(),
    };
    vec![what.to_owned(), c.name.clone(), list(&c.addresses), record]
}
