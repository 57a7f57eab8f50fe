//! Find the env's zone, read it, and apply a plan: the changes in as few batches as the API
//! allows, each waited on until Route53 reports it INSYNC (our own poll loop, with a deadline).

use super::plan::{batches, desired, diff, DnsHost, NameChange, Naming};
use crate::aws::cloudformation::StackOutput;
use crate::aws::route53::{self, Zone};
use crate::config::{DnsSettings, ZoneRef};
use crate::error::{Error, Result};
use crate::stack::Pacing;
use aws_sdk_route53::Client;
use tokio::time::Instant;

/// The env's zone: by name (exactly one, or the one `private` picks), or by the id in a stack
/// output. A zone that does not exist is bad input (exit 2).
pub async fn find_zone(
    client: &Client,
    settings: &DnsSettings,
    outputs: Option<&[StackOutput]>,
) -> Result<Zone> {
    match &settings.zone {
        ZoneRef::Name(name) => {
            let found: Vec<Zone> = route53::zones_named(client, name)
                .await?
                .into_iter()
                .filter(|z| settings.private.is_none_or(|p| z.private == p))
                .collect();
            match found.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(Error::input(format!(
                    "dns.zone \"{name}\": no {}hosted zone of that name in this account; create it or fix the config",
                    match settings.private {
                        Some(true) => "private ",
                        Some(false) => "public ",
                        None => "",
                    }
                ))),
                many => Err(Error::input(format!(
                    "dns.zone \"{name}\": {} hosted zones have that name ({}); set dns.private to true or false to pick one",
                    many.len(),
                    many.iter()
                        .map(|z| format!("{} {}", z.id, if z.private { "private" } else { "public" }))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        ZoneRef::Output(key) => {
            let Some(outputs) = outputs else {
                return Err(Error::input(format!(
                    "dns.zone_output \"{key}\": the env has no stack to read it from; commission it first"
                )));
            };
            let id = outputs
                .iter()
                .find(|o| &o.key == key)
                .map(|o| o.value.clone())
                .ok_or_else(|| {
                    Error::input(format!(
                        "dns.zone_output \"{key}\": the stack has no such output (outputs: {})",
                        names_of(outputs)
                    ))
                })?;
            route53::zone(client, &id).await?.ok_or_else(|| {
                Error::input(format!(
                    "dns.zone_output \"{key}\": hosted zone {id} does not exist"
                ))
            })
        }
    }
}

fn names_of(outputs: &[StackOutput]) -> String {
    if outputs.is_empty() {
        return "none".into();
    }
    outputs
        .iter()
        .map(|o| o.key.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The changes that bring the zone in step with these running hosts.
pub async fn plan(
    client: &Client,
    zone: &Zone,
    naming: &Naming,
    hosts: &[DnsHost],
    ttl: u32,
) -> Result<Vec<NameChange>> {
    let want = desired(naming, hosts, ttl)?;
    let existing = route53::record_sets(client, zone).await?;
    diff(naming, &want, &existing)
}

/// What applying took: how many requests, and how long until INSYNC.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Applied {
    pub batches: usize,
    pub seconds: f64,
}

/// Apply the plan, batch by batch, each waited on until INSYNC.
pub async fn apply(
    client: &Client,
    zone: &Zone,
    plan: &[NameChange],
    pacing: Pacing,
) -> Result<Applied> {
    let started = Instant::now();
    let split = batches(plan);
    for batch in &split {
        let id = retrying(pacing, "Route53 to accept the change", move || {
            route53::change(client, zone, batch)
        })
        .await?;
        wait_insync(client, &id, pacing).await?;
    }
    Ok(Applied {
        batches: split.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Poll GetChange at once, then back off, until INSYNC or the deadline (exit 4).
pub async fn wait_insync(client: &Client, change_id: &str, pacing: Pacing) -> Result<()> {
    let started = Instant::now();
    let mut delay = pacing.first;
    loop {
        match route53::change_status(client, change_id).await {
            Ok(status) if status == "INSYNC" => return Ok(()),
            Ok(_) => {}
            Err(e) if transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: format!("Route53 change {change_id} to be INSYNC"),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// Call `f` until it succeeds or fails for good: throttling and server errors are retried with
/// the poll loop's backoff until the deadline.
async fn retrying<T, F, Fut>(pacing: Pacing, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut delay = pacing.first;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if transient(&e) => {
                if started.elapsed() + delay > pacing.deadline {
                    return Err(Error::Timeout {
                        waiting_for: format!("{what} (last: {e})"),
                        after: started.elapsed(),
                    });
                }
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// Route53 also answers PriorRequestNotComplete while an earlier change to the zone settles.
fn transient(e: &Error) -> bool {
    crate::stack::wait::is_transient(e)
        || matches!(e, Error::Aws(a) if a.code() == Some("PriorRequestNotComplete"))
}
