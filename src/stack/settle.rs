//! Carry out the state machine's decision: look at the stack, then wait, recover (after the
//! operator agrees) or refuse, until the action can go on. Every action that touches the env's
//! stack starts here.

use super::machine::{decide, Intent, Next};
use super::operator::Operator;
use super::{failure, wait, Mark, Pacing, Waited, Watch};
use crate::aws::cloudformation::{self as cfn, Stack, StackResource};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;

/// The operator's choices for a stack found busy or stuck.
#[derive(Debug, Clone)]
pub struct Recovery<'a> {
    /// The env, for the commands a message suggests.
    pub env: &'a str,
    /// Refuse (exit 3) instead of waiting for a running operation.
    pub no_wait: bool,
    /// Describe recoveries instead of doing them.
    pub dry_run: bool,
    /// ResourcesToSkip for ContinueUpdateRollback.
    pub skip: &'a [String],
    /// RetainResources for deleting a stack in DELETE_FAILED (decommission only).
    pub retain: &'a [String],
    /// The service role CloudFormation deletes with (config key `role_arn`).
    pub role_arn: Option<&'a str>,
    pub pacing: Pacing,
}

/// Where the stack stands once the action can go on.
#[derive(Debug)]
pub enum Settled {
    /// No stack: commission creates one; decommission has nothing to do.
    Absent,
    /// The stack, in a state the action works from.
    Present(Stack),
    /// A dry run stopped at a recovery it described but did not make.
    Previewed(Stack),
}

/// A bound on look-act rounds: each round ends an operation or fails, so a few suffice.
const MAX_ROUNDS: usize = 8;

pub async fn settle(
    client: &Client,
    name: &str,
    intent: Intent,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<Settled> {
    let mut skipped = false;
    for _ in 0..MAX_ROUNDS {
        let stack = cfn::describe(client, name).await?;
        let status = stack.as_ref().map(|s| s.status.clone());
        let next = decide(intent, status.as_deref());
        let Some(stack) = stack.filter(|s| s.status != "DELETE_COMPLETE") else {
            return match next {
                Next::NotCommissioned => Err(Error::input(format!(
                    "stack {name} does not exist: commission it first (manage {} commission)",
                    rec.env
                ))),
                _ => Ok(Settled::Absent),
            };
        };
        match next {
            Next::Proceed => return proceed(intent, stack, rec, skipped, op),
            Next::RetryDelete => return retry_delete(client, stack, rec, op).await,
            Next::NotCommissioned => unreachable!("a stack that exists is commissioned"),
            Next::Refuse(why) => {
                return Err(Error::Refused(format!(
                    "stack {name} is {}: {}",
                    stack.status,
                    why.hint(rec.env)
                )))
            }
            Next::Wait => wait_for_other(client, &stack, rec, op).await?,
            Next::Recreate => {
                if !delete_failed_create(client, &stack, rec, op).await? {
                    return Ok(Settled::Absent);
                }
            }
            Next::ContinueRollback => {
                if !continue_rollback(client, &stack, rec, op).await? {
                    return Ok(Settled::Previewed(stack));
                }
                skipped = true;
            }
            Next::Rollback => {
                if !roll_back(client, &stack, rec, op).await? {
                    return Ok(Settled::Previewed(stack));
                }
            }
        }
    }
    Err(Error::Refused(format!(
        "stack {name} keeps changing state; see `manage {} events`",
        rec.env
    )))
}

fn proceed(
    intent: Intent,
    stack: Stack,
    rec: &Recovery<'_>,
    skipped: bool,
    op: &dyn Operator,
) -> Result<Settled> {
    if !rec.retain.is_empty() {
        // Deleting what the operator asked to keep would be worse than refusing.
        return Err(Error::input(format!(
            "--retain applies only to a stack in DELETE_FAILED; stack {} is {}",
            stack.name, stack.status
        )));
    }
    if !rec.skip.is_empty() && !skipped {
        op.warn(&format!(
            "--skip {} not used: stack {} is {}, not UPDATE_ROLLBACK_FAILED",
            rec.skip.join(", "),
            stack.name,
            stack.status
        ));
    }
    if intent == Intent::Deploy && super::classify(Some(&stack.status)) != super::State::Ready {
        op.warn(&format!(
            "stack {} is {}: its last update failed, so hosts may not match the fragments",
            stack.name, stack.status
        ));
    }
    Ok(Settled::Present(stack))
}

/// Someone else's operation is running: wait for it, unless told not to.
async fn wait_for_other(
    client: &Client,
    stack: &Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<()> {
    if rec.no_wait || rec.dry_run {
        let instead = if rec.no_wait {
            "or leave out --no-wait to wait for it"
        } else {
            "the dry run does not wait"
        };
        return Err(Error::Refused(format!(
            "stack {} is busy ({}): another operation is running; run again when it has finished ({instead})",
            stack.name, stack.status
        )));
    }
    op.step(&format!(
        "stack {} is {}: waiting for that operation to finish",
        stack.name, stack.status
    ));
    let mark = Mark::existing(client, &stack.id).await?;
    let watch = op.watch(&stack.name, Box::new(|_| None));
    let waited = wait(client, &stack.id, mark, rec.pacing, watch.as_ref()).await?;
    op.info(&format!("it ended in {}", waited.status()));
    Ok(())
}

/// A stack left by a failed create can only be deleted. Returns false for a dry run.
async fn delete_failed_create(
    client: &Client,
    stack: &Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<bool> {
    op.warn(&format!(
        "stack {} is {} from an earlier failed create ({})",
        stack.name,
        stack.status,
        stack.reason.as_deref().unwrap_or("no reason given")
    ));
    let events = cfn::operation_events(client, &stack.id).await?;
    if let Some(c) = failure::root_cause(&events, &stack.name, |_| None) {
        op.info(&format!(
            "it failed at {} ({}) {}: {}",
            c.logical_id, c.resource_type, c.status, c.reason
        ));
    }
    if rec.dry_run {
        op.info(&format!(
            "would delete stack {} and create it again",
            stack.name
        ));
        return Ok(false);
    }
    op.confirm(
        &format!("replacing the failed stack {}", stack.name),
        &format!("Delete stack {} and create it again?", stack.name),
    )?;
    op.step(&format!("deleting stack {}", stack.name));
    let watch = op.watch(&stack.name, Box::new(|_| None));
    delete(
        client,
        op,
        stack,
        &[],
        rec.role_arn,
        rec.pacing,
        watch.as_ref(),
    )
    .await?;
    Ok(true)
}

/// UPDATE_ROLLBACK_FAILED: show what blocked the rollback and continue it, skipping what the
/// operator names. Returns false for a dry run.
async fn continue_rollback(
    client: &Client,
    stack: &Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<bool> {
    op.warn(&format!(
        "stack {} is UPDATE_ROLLBACK_FAILED: an update failed, and so did its rollback",
        stack.name
    ));
    let blockers = failed_resources(client, stack, "blocked the rollback", op).await?;
    check_named("--skip", rec.skip, &blockers, "blocked the rollback")?;
    let skipping = if rec.skip.is_empty() {
        op.info("a resource that cannot be rolled back can be skipped with --skip RESOURCE (then fix it by hand)");
        String::new()
    } else {
        format!(", skipping {}", rec.skip.join(", "))
    };
    if rec.dry_run {
        op.info(&format!("would continue the rollback{skipping}"));
        return Ok(false);
    }
    op.confirm(
        &format!("continuing the rollback of {}", stack.name),
        &format!("Continue the rollback of stack {}{skipping}?", stack.name),
    )?;
    op.step(&format!("continuing the rollback of stack {}", stack.name));
    let action = cfn::continue_update_rollback(client, &stack.id, rec.skip);
    run_to(client, stack, rec, op, action, "UPDATE_ROLLBACK_COMPLETE").await?;
    Ok(true)
}

/// UPDATE_FAILED with rollback disabled: roll back to the last working state. Returns false
/// for a dry run.
async fn roll_back(
    client: &Client,
    stack: &Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<bool> {
    op.warn(&format!(
        "stack {} is UPDATE_FAILED: an update failed and was not rolled back",
        stack.name
    ));
    failed_resources(client, stack, "failed", op).await?;
    if rec.dry_run {
        op.info("would roll the stack back to its last working state");
        return Ok(false);
    }
    op.confirm(
        &format!("rolling back {}", stack.name),
        &format!("Roll stack {} back to its last working state?", stack.name),
    )?;
    op.step(&format!("rolling back stack {}", stack.name));
    let action = cfn::rollback_stack(client, &stack.id);
    run_to(client, stack, rec, op, action, "UPDATE_ROLLBACK_COMPLETE").await?;
    Ok(true)
}

/// DELETE_FAILED, for decommission: name what failed to delete and why; the delete that
/// follows retains what the operator names.
async fn retry_delete(
    client: &Client,
    stack: Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
) -> Result<Settled> {
    op.warn(&format!(
        "stack {} is DELETE_FAILED: an earlier delete could not remove everything",
        stack.name
    ));
    let blockers = failed_resources(client, &stack, "failed to delete", op).await?;
    check_named("--retain", rec.retain, &blockers, "failed to delete")?;
    if rec.retain.is_empty() {
        op.info("the delete is tried again; to keep a resource that cannot be deleted, add --retain RESOURCE");
    } else {
        op.info(&format!(
            "the delete is tried again, keeping {}",
            rec.retain.join(", ")
        ));
    }
    Ok(Settled::Present(stack))
}

/// The stack's resources in a *_FAILED state, each shown with its reason.
async fn failed_resources(
    client: &Client,
    stack: &Stack,
    what: &str,
    op: &dyn Operator,
) -> Result<Vec<StackResource>> {
    let failed: Vec<_> = cfn::resources(client, &stack.id)
        .await?
        .into_iter()
        .filter(|r| r.status.ends_with("_FAILED"))
        .collect();
    if failed.is_empty() {
        op.info(&format!("no resource is marked as having {what}"));
    } else {
        op.info(&format!("these resources {what}:"));
    }
    for r in &failed {
        op.info(&format!(
            "  {} ({}) {}: {}",
            r.logical_id,
            r.resource_type,
            r.status,
            r.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    Ok(failed)
}

/// Names given with --skip or --retain must be among the resources that failed (a nested
/// stack's resource, `Stack.Resource`, is passed through for CloudFormation to check).
fn check_named(flag: &str, names: &[String], failed: &[StackResource], what: &str) -> Result<()> {
    for name in names.iter().filter(|n| !n.contains('.')) {
        if !failed.iter().any(|r| &r.logical_id == name) {
            let known: Vec<_> = failed.iter().map(|r| r.logical_id.as_str()).collect();
            let known = if known.is_empty() {
                "none did".to_owned()
            } else {
                known.join(", ")
            };
            return Err(Error::input(format!(
                "{flag} {name}: not a resource that {what} (these did: {known})"
            )));
        }
    }
    Ok(())
}

/// A recovery that did not reach the state it should have is a failed operation.
/// Start a recovery (`action` runs only once the events before it are marked), wait for it,
/// and fail with its root cause unless the stack reaches `goal`.
async fn run_to(
    client: &Client,
    stack: &Stack,
    rec: &Recovery<'_>,
    op: &dyn Operator,
    action: impl std::future::Future<Output = Result<()>>,
    goal: &str,
) -> Result<()> {
    let mark = Mark::existing(client, &stack.id).await?;
    action.await?;
    let watch = op.watch(&stack.name, Box::new(|_| None));
    let waited = wait(client, &stack.id, mark, rec.pacing, watch.as_ref()).await?;
    expect(client, stack, &waited, goal).await
}

async fn expect(client: &Client, stack: &Stack, waited: &Waited, want: &str) -> Result<()> {
    if waited.status() == want {
        return Ok(());
    }
    Err(failure::explain(client, &stack.name, waited, |_| None).await)
}

/// Delete the stack and wait until it is gone. `retain` is sent only for a stack in
/// DELETE_FAILED (CloudFormation refuses it otherwise); a delete already running is waited on.
/// Termination protection is lifted first: the caller has asked (decommission needs --force
/// for a protected stack, and the stuck-state machine deletes only what a failed create left).
pub async fn delete(
    client: &Client,
    op: &dyn Operator,
    stack: &Stack,
    retain: &[String],
    role_arn: Option<&str>,
    pacing: Pacing,
    watch: &dyn Watch,
) -> Result<Waited> {
    let mark = Mark::existing(client, &stack.id).await?;
    if stack.status != "DELETE_IN_PROGRESS" {
        if stack.termination_protection {
            super::protection::lift(client, op, stack).await?;
        }
        let retain = if stack.status == "DELETE_FAILED" {
            retain
        } else {
            &[]
        };
        cfn::delete(client, &stack.id, retain, role_arn).await?;
    }
    let waited = wait(client, &stack.id, mark, pacing, watch).await?;
    if waited.status() != "DELETE_COMPLETE" {
        return Err(failure::explain(client, &stack.name, &waited, |_| None).await);
    }
    Ok(waited)
}
