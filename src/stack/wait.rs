//! Our own poll loop: look at once, back off to a cap, stream the events of this operation,
//! and give up at a deadline. Time comes from tokio, so tests run it on a paused clock.

use super::state::is_settled;
use crate::aws::cloudformation::{self as cfn, Stack, StackEvent};
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    pub first: Duration,
    pub max: Duration,
    pub deadline: Duration,
}

impl Pacing {
    pub fn with_deadline(deadline: Duration) -> Self {
        Self {
            first: Duration::from_millis(250),
            max: Duration::from_secs(5),
            deadline,
        }
    }
}

/// Told about each new event and each look at the stack; the UI implements it.
pub trait Watch {
    fn event(&self, event: &StackEvent);
    fn status(&self, status: &str);
    /// A look failed in a way worth retrying (throttling, 5xx, network).
    fn retrying(&self, why: &str);
}

/// How the wait ended: the stack as last seen (None once a deleted stack is gone) and every
/// event of the operation, oldest first.
#[derive(Debug)]
pub struct Waited {
    pub stack: Option<Stack>,
    pub events: Vec<StackEvent>,
}

impl Waited {
    pub fn status(&self) -> &str {
        self.stack
            .as_ref()
            .map_or("DELETE_COMPLETE", |s| s.status.as_str())
    }
}

/// Where an operation starts in the stack's event history: events older than `since`, or
/// already there when the operation began, are not part of it.
#[derive(Debug, Clone)]
pub struct Mark {
    since: DateTime<Utc>,
    seen: HashSet<String>,
}

impl Mark {
    /// For a stack about to be created: every event of it is new. The margin allows for a
    /// client clock a little ahead of AWS.
    pub fn new_stack() -> Self {
        Self {
            since: Utc::now() - chrono::Duration::seconds(2),
            seen: HashSet::new(),
        }
    }

    /// Events from `since` on belong to the operation (a fixed point in time, for tests).
    pub fn since(since: DateTime<Utc>) -> Self {
        Self {
            since,
            seen: HashSet::new(),
        }
    }

    /// For an operation on an existing stack: remember the events it has now.
    pub async fn existing(client: &aws_sdk_cloudformation::Client, stack_id: &str) -> Result<Self> {
        let mut mark = Self::new_stack();
        cfn::events_since(client, stack_id, mark.since, &mut mark.seen).await?;
        Ok(mark)
    }
}

/// Wait until the stack leaves every *_IN_PROGRESS state.
pub async fn wait(
    client: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    mark: Mark,
    pacing: Pacing,
    watch: &dyn Watch,
) -> Result<Waited> {
    let started = Instant::now();
    let mut delay = pacing.first;
    let Mark { since, mut seen } = mark;
    let _in_flight = crate::interrupt::in_flight(
        format!(
            "the operation on stack {} goes on in AWS",
            stack_name(stack_id)
        ),
        None,
    );
    let mut events = Vec::new();
    loop {
        match look(client, stack_id, since, &mut seen).await {
            Ok((stack, fresh)) => {
                for e in &fresh {
                    watch.event(e);
                }
                events.extend(fresh);
                let status = stack
                    .as_ref()
                    .map_or("DELETE_COMPLETE", |s| s.status.as_str());
                watch.status(status);
                if is_settled(status) {
                    return Ok(Waited { stack, events });
                }
            }
            Err(e) if is_transient(&e) => watch.retrying(&e.to_string()),
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: format!("stack {stack_id} to finish"),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// The name in a stack ARN (`arn:aws:cloudformation:…:stack/NAME/uuid`), or the text as given.
fn stack_name(id: &str) -> &str {
    id.split('/').nth(1).unwrap_or(id)
}

async fn look(
    client: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    since: DateTime<Utc>,
    seen: &mut HashSet<String>,
) -> Result<(Option<Stack>, Vec<StackEvent>)> {
    let stack = cfn::describe(client, stack_id).await?;
    let fresh = match &stack {
        Some(_) => cfn::events_since(client, stack_id, since, seen).await?,
        None => Vec::new(),
    };
    Ok((stack, fresh))
}

/// Throttling, server errors and lost connections never end a wait; the deadline does.
pub fn is_transient(e: &Error) -> bool {
    let Error::Aws(aws) = e else { return false };
    match aws.code() {
        Some(code) => {
            code.contains("Throttl")
                || code == "RequestLimitExceeded"
                || code == "ServiceUnavailable"
                || code == "InternalFailure"
                || code == "InternalError"
        }
        None => true,
    }
}
