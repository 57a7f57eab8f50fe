//! Route53: hosted zones, their record sets, and changes to them. Record names are absolute
//! (with the trailing dot) and in lower case, as Route53 returns them.

use crate::error::{aws, Error, Result};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HostedZone, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Zone {
    /// The bare id (`Z0123…`), without `/hostedzone/`.
    pub id: String,
    /// With the trailing dot.
    pub name: String,
    pub private: bool,
}

/// One record set. Alias and routing-policy sets (weighted, latency, …) are never `manage`'s,
/// and come back with a `kind` that says so, so that they still count as a name being in use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordSet {
    pub name: String,
    pub kind: String,
    pub ttl: Option<i64>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    /// Replaces the set in place; counts twice toward the request limits.
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordChange {
    pub action: Action,
    pub set: RecordSet,
}

pub fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// The zones named exactly `name` (one public and one private may share a name).
pub async fn zones_named(client: &Client, name: &str) -> Result<Vec<Zone>> {
    let want = absolute(name);
    let out = client
        .list_hosted_zones_by_name()
        .dns_name(&want)
        .max_items(100)
        .send()
        .await
        .map_err(|e| {
            denied(
                aws(format!("looking up hosted zone {name}"))(e),
                name,
                "route53:ListHostedZonesByName",
            )
        })?;
    Ok(out
        .hosted_zones()
        .iter()
        .map(to_zone)
        .filter(|z| z.name.eq_ignore_ascii_case(&want))
        .collect())
}

/// The zone with this id, or None when there is none.
pub async fn zone(client: &Client, id: &str) -> Result<Option<Zone>> {
    let id = bare_zone_id(id);
    match client.get_hosted_zone().id(id).send().await {
        Ok(out) => Ok(out.hosted_zone().map(to_zone)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_hosted_zone()) =>
        {
            Ok(None)
        }
        Err(e) => Err(denied(
            aws(format!("describing hosted zone {id}"))(e),
            id,
            "route53:GetHostedZone",
        )),
    }
}

/// Route53 names a zone with the trailing dot; the emulator's GetHostedZone leaves it off.
fn to_zone(z: &HostedZone) -> Zone {
    Zone {
        id: bare_zone_id(z.id()).to_owned(),
        name: absolute(&z.name().to_ascii_lowercase()),
        private: z.config().is_some_and(|c| c.private_zone()),
    }
}

/// Every record set in the zone, following every page.
pub async fn record_sets(client: &Client, zone: &Zone) -> Result<Vec<RecordSet>> {
    let mut all = Vec::new();
    let (mut next_name, mut next_type, mut next_id) = (None, None, None);
    loop {
        let out = client
            .list_resource_record_sets()
            .hosted_zone_id(&zone.id)
            .set_start_record_name(next_name.take())
            .set_start_record_type(next_type.take())
            .set_start_record_identifier(next_id.take())
            .max_items(300)
            .send()
            .await
            .map_err(|e| {
                denied(
                    aws(format!("listing the records of zone {}", zone.name))(e),
                    &zone.name,
                    "route53:ListResourceRecordSets",
                )
            })?;
        all.extend(out.resource_record_sets().iter().map(to_record_set));
        if !out.is_truncated() || out.next_record_name().is_none() {
            return Ok(all);
        }
        next_name = out.next_record_name().map(str::to_owned);
        next_type = out.next_record_type().cloned();
        next_id = out.next_record_identifier().map(str::to_owned);
    }
}

fn to_record_set(r: &ResourceRecordSet) -> RecordSet {
    let routed = r.alias_target().is_some() || r.set_identifier().is_some();
    let kind = r.r#type().as_str();
    RecordSet {
        name: r.name().to_ascii_lowercase(),
        kind: if routed {
            format!("{kind} (alias or routing policy)")
        } else {
            kind.to_owned()
        },
        ttl: r.ttl(),
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_owned())
            .collect(),
    }
}

/// Apply the changes in one atomic batch; returns the change id to wait on.
pub async fn change(client: &Client, zone: &Zone, changes: &[RecordChange]) -> Result<String> {
    let mut batch = ChangeBatch::builder().comment("manage dns sync");
    for c in changes {
        batch = batch.changes(to_change(c)?);
    }
    let batch = batch
        .build()
        .map_err(|e| Error::Local(format!("building a Route53 change: {e}")))?;
    let out = client
        .change_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| {
            denied(
                aws(format!("changing records in zone {}", zone.name))(e),
                &zone.name,
                "route53:ChangeResourceRecordSets",
            )
        })?;
    Ok(out
        .change_info()
        .map(|c| c.id().to_owned())
        .unwrap_or_default())
}

fn to_change(c: &RecordChange) -> Result<Change> {
    let bad = |e: aws_sdk_route53::error::BuildError| {
        Error::Local(format!("building a Route53 change: {e}"))
    };
    let mut set = ResourceRecordSet::builder()
        .name(&c.set.name)
        .r#type(RrType::from(c.set.kind.as_str()))
        .set_ttl(c.set.ttl);
    for v in &c.set.values {
        set = set.resource_records(ResourceRecord::builder().value(v).build().map_err(bad)?);
    }
    Change::builder()
        .action(match c.action {
            Action::Create => ChangeAction::Create,
            Action::Upsert => ChangeAction::Upsert,
            Action::Delete => ChangeAction::Delete,
        })
        .resource_record_set(set.build().map_err(bad)?)
        .build()
        .map_err(bad)
}

/// A change's status: PENDING or INSYNC.
pub async fn change_status(client: &Client, id: &str) -> Result<String> {
    let id = id.trim_start_matches("/change/");
    let out = client.get_change().id(id).send().await.map_err(|e| {
        denied(
            aws(format!("checking change {id}"))(e),
            id,
            "route53:GetChange",
        )
    })?;
    Ok(out
        .change_info()
        .map(|c| c.status().as_str().to_owned())
        .unwrap_or_default())
}

/// Access denied names the zone and the permission that is missing (still exit 1).
fn denied(e: Error, zone: &str, permission: &str) -> Error {
    match e {
        Error::Aws(mut a) if a.code().is_some_and(|c| c.starts_with("AccessDenied")) => {
            a.message = format!(
                "access denied on hosted zone {zone}: the credentials need {permission} ({})",
                a.message
            );
            Error::Aws(a)
        }
        other => other,
    }
}

fn absolute(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}
