//! Eventual consistency after a stack completes: the instances it reports (its
//! AWS::EC2::Instance resources) can stay invisible to a tag search for a while. Wait until
//! every one of them is, so bake and deploy never go on with some hosts missing.

use super::wait::is_transient;
use super::Pacing;
use crate::aws::cloudformation as cfn;
use crate::aws::ec2::{self, Instance};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use tokio::time::Instant;

/// States in which an instance has left the env for good: not waited for.
const GONE: &[&str] = &["shutting-down", "terminated"];

/// Every instance carrying `tags` in one of `states`, once each instance the stack reports is
/// among them (and no longer pending), or known by id to be gone. Throttling never ends the
/// wait; past the deadline it fails naming the missing instances (exit 4).
pub async fn visible(
    cfn_client: &aws_sdk_cloudformation::Client,
    ec2_client: &aws_sdk_ec2::Client,
    stack_id: &str,
    tags: &[(&str, &str)],
    states: &[&str],
    pacing: Pacing,
) -> Result<Vec<Instance>> {
    let expected: BTreeSet<String> = cfn::resources(cfn_client, stack_id)
        .await?
        .into_iter()
        .filter(|r| r.resource_type == "AWS::EC2::Instance" && !r.status.starts_with("DELETE"))
        .filter_map(|r| r.physical_id.filter(|p| !p.is_empty()))
        .collect();
    let started = Instant::now();
    let mut delay = pacing.first;
    let mut missing = expected.clone();
    loop {
        match look(ec2_client, &expected, tags, states).await {
            Ok((found, still)) if still.is_empty() => return Ok(found),
            Ok((_, still)) => missing = still,
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            return Err(Error::Timeout {
                waiting_for: format!(
                    "instance(s) {} of stack {stack_id} to be found by tags {}",
                    missing.into_iter().collect::<Vec<_>>().join(", "),
                    tags.join(", ")
                ),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// One look: the tagged instances, and the expected ones not yet visible among them.
async fn look(
    ec2_client: &aws_sdk_ec2::Client,
    expected: &BTreeSet<String>,
    tags: &[(&str, &str)],
    states: &[&str],
) -> Result<(Vec<Instance>, BTreeSet<String>)> {
    let found = ec2::tagged_instances(ec2_client, tags, states).await?;
    let mut missing: BTreeSet<String> = expected
        .iter()
        .filter(|id| !found.iter().any(|i| &&i.id == id && i.state != "pending"))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let ids: Vec<String> = missing.iter().cloned().collect();
        for i in ec2::instances_by_id(ec2_client, &ids).await? {
            // Gone (terminated by an operator), or out of the asked states: not a lag.
            let asked = states.contains(&i.state.as_str()) || i.state == "pending";
            if GONE.contains(&i.state.as_str()) || !asked {
                missing.remove(&i.id);
            }
        }
    }
    Ok((found, missing))
}
