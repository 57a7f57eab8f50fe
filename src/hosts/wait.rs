//! Waiting for hosts: an instance state, EC2's status checks, a root-volume replacement task.
//! Our own poll loop (look at once, back off to a cap, give up at the deadline); throttling and
//! server errors never end a wait, the deadline does, and the timeout names the hosts that did
//! not get there.

use crate::aws::ec2::{power, Instance};
use crate::error::{Error, Result};
use crate::stack::wait::is_transient;
use crate::stack::Pacing;
use std::future::Future;
use tokio::time::Instant;

/// A host to wait for: its name (for messages) and instance id.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub id: String,
}

/// What one look found: done with a value, or still waiting for what the text says.
pub enum Look<T> {
    Done(T),
    Waiting(String),
}

/// Look until done. Past the deadline: exit 4 with what the last look was waiting for.
pub async fn poll<T, F, Fut>(pacing: Pacing, mut look: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T>>>,
{
    let started = Instant::now();
    let mut delay = pacing.first;
    let mut waiting = String::from("the first answer from EC2");
    loop {
        match look().await {
            Ok(Look::Done(v)) => return Ok(v),
            Ok(Look::Waiting(what)) => waiting = what,
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: waiting,
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// Wait until every target is in `state` (`running`, `stopped`, `terminated`); returns them as
/// EC2 describes them then (a started host may have a new public address). A host that ends
/// up terminated while we wait for anything else is a failure naming it.
pub async fn until_state(
    ec2: &aws_sdk_ec2::Client,
    targets: &[Target],
    state: &str,
    pacing: Pacing,
) -> Result<Vec<Instance>> {
    let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let ids = &ids;
    poll(pacing, || async move {
        let found = power::describe(ec2, ids).await?;
        let mut behind = Vec::new();
        for t in targets {
            match found
                .iter()
                .find(|i| i.id == t.id)
                .map(|i| i.state.as_str())
            {
                Some(s) if s == state => {}
                Some("terminated") => {
                    return Err(Error::Local(format!(
                        "host {} ({}) was terminated while waiting for it to be {state}",
                        t.name, t.id
                    )))
                }
                Some(s) => behind.push(format!("{} ({s})", t.name)),
                None => behind.push(format!("{} (not visible yet)", t.name)),
            }
        }
        if behind.is_empty() {
            Ok(Look::Done(found))
        } else {
            Ok(Look::Waiting(format!(
                "{} to be {state}",
                behind.join(", ")
            )))
        }
    })
    .await
}

/// Wait until both of EC2's status checks pass on every target.
pub async fn until_checks_pass(
    ec2: &aws_sdk_ec2::Client,
    targets: &[Target],
    pacing: Pacing,
) -> Result<()> {
    let ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let ids = &ids;
    poll(pacing, || async move {
        let checks = power::checks(ec2, ids).await?;
        let behind: Vec<String> = targets
            .iter()
            .filter_map(|t| match checks.get(&t.id) {
                Some(c) if c.passed() => None,
                Some(c) => Some(format!(
                    "{} (system {}, instance {})",
                    t.name, c.system, c.instance
                )),
                None => Some(format!("{} (no status yet)", t.name)),
            })
            .collect();
        if behind.is_empty() {
            Ok(Look::Done(()))
        } else {
            Ok(Look::Waiting(format!(
                "status checks to pass on {}",
                behind.join(", ")
            )))
        }
    })
    .await
}

/// Wait until a root-volume replacement task succeeds; a failed task is a failure (exit 1).
pub async fn until_replaced(
    ec2: &aws_sdk_ec2::Client,
    target: &Target,
    task: &str,
    pacing: Pacing,
) -> Result<()> {
    poll(pacing, || async move {
        let state = power::replace_root_volume_state(ec2, task).await?;
        match state.as_deref() {
            Some("succeeded") => Ok(Look::Done(())),
            Some(s @ ("failed" | "failed-detached")) => Err(Error::Local(format!(
                "replacing the root volume of {} ({}) failed: task {task} is {s}",
                target.name, target.id
            ))),
            s => Ok(Look::Waiting(format!(
                "the root volume of {} to be replaced (task {task} {})",
                target.name,
                s.unwrap_or("not visible yet")
            ))),
        }
    })
    .await
}
