//! The root cause of a failed stack operation: the first failure event of the operation that
//! is not a cancellation caused by another failure, followed into nested stacks.

use super::Waited;
use crate::aws::cloudformation::{self as cfn, StackEvent};
use crate::error::{Error, RootCause, StackFailure};
use std::collections::HashSet;

const NESTED_STACK: &str = "AWS::CloudFormation::Stack";
/// How deep nested stacks are followed.
const MAX_DEPTH: usize = 5;

/// `events` oldest first. `defined_in` maps a logical id to "fragment:line" when known.
pub fn root_cause(
    events: &[StackEvent],
    stack_name: &str,
    defined_in: impl Fn(&str) -> Option<String>,
) -> Option<RootCause> {
    let first = first_failure(events, stack_name)?;
    Some(RootCause {
        logical_id: first.logical_id.clone(),
        resource_type: first.resource_type.clone(),
        status: first.status.clone(),
        reason: reason_of(first),
        defined_in: defined_in(&first.logical_id),
    })
}

/// The first failure that is not a cancellation, preferring a resource's over the stack's own.
fn first_failure<'a>(events: &'a [StackEvent], stack_name: &str) -> Option<&'a StackEvent> {
    let is_cancel = |e: &StackEvent| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("cancelled"))
    };
    events
        .iter()
        .filter(|e| e.is_failure() && !is_cancel(e))
        .find(|e| e.logical_id != stack_name)
        .or_else(|| events.iter().find(|e| e.is_failure()))
}

fn reason_of(e: &StackEvent) -> String {
    e.reason
        .clone()
        .unwrap_or_else(|| "no reason given".to_owned())
}

/// The error for an operation that ended in `waited`'s state: its root cause, followed into
/// nested stacks (their events are read from the operation's start on), and the final status.
pub async fn explain(
    client: &aws_sdk_cloudformation::Client,
    stack_name: &str,
    waited: &Waited,
    defined_in: impl Fn(&str) -> Option<String>,
) -> Error {
    let mut root = root_cause(&waited.events, stack_name, &defined_in);
    if let (Some(cause), Some(start)) = (root.as_mut(), waited.events.first()) {
        let first = first_failure(&waited.events, stack_name);
        if let Some(nested) = first.filter(|e| e.resource_type == NESTED_STACK) {
            follow_nested(client, nested, start.time, cause).await;
        }
    }
    Error::StackFailed(Box::new(StackFailure {
        stack: stack_name.to_owned(),
        status: waited.status().to_owned(),
        reason: waited.stack.as_ref().and_then(|s| s.reason.clone()),
        root_cause: root,
    }))
}

/// Replace a nested stack's failure by the first failure inside it, naming the path
/// (`DbStack/Db`); the fragment stays the one that defines the outer nested stack. A nested
/// stack whose events cannot be read leaves the outer cause as it is.
async fn follow_nested(
    client: &aws_sdk_cloudformation::Client,
    outer: &StackEvent,
    since: chrono::DateTime<chrono::Utc>,
    cause: &mut RootCause,
) {
    let mut path = vec![outer.logical_id.clone()];
    let mut current = outer.clone();
    for _ in 0..MAX_DEPTH {
        let Some(id) = current.physical_id.clone() else {
            break;
        };
        if current.resource_type != NESTED_STACK {
            break;
        }
        let margin = chrono::Duration::seconds(2);
        let Ok(events) = cfn::events_since(client, &id, since - margin, &mut HashSet::new()).await
        else {
            break;
        };
        // A nested stack's own events carry its name, the second part of its ARN.
        let name = id.split('/').nth(1).unwrap_or(&id);
        match first_failure(&events, name) {
            Some(inner) if inner.logical_id != name => {
                path.push(inner.logical_id.clone());
                current = inner.clone();
            }
            _ => break,
        }
    }
    if path.len() > 1 {
        cause.logical_id = path.join("/");
        cause.resource_type = current.resource_type.clone();
        cause.status = current.status.clone();
        cause.reason = reason_of(&current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: format!("{id}-{status}"),
            time: chrono::Utc::now(),
            logical_id: id.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(Into::into),
            physical_id: None,
        }
    }

    #[test]
    fn first_real_failure_wins_over_cancellations() {
        let events = vec![
            ev(
                "argos-staging",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                None,
            ),
            ev("Vpc", "AWS::EC2::VPC", "CREATE_COMPLETE", None),
            ev(
                "Queue",
                "AWS::SQS::Queue",
                "CREATE_FAILED",
                Some("Resource creation cancelled"),
            ),
            ev(
                "Db",
                "AWS::RDS::DBInstance",
                "CREATE_FAILED",
                Some("DB quota exceeded"),
            ),
            ev(
                "Web",
                "AWS::EC2::Instance",
                "CREATE_FAILED",
                Some("later failure"),
            ),
            ev(
                "argos-staging",
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [Db]."),
            ),
        ];
        let c = root_cause(&events, "argos-staging", |id| {
            (id == "Db").then(|| "db:7".to_owned())
        })
        .unwrap();
        assert_eq!(c.logical_id, "Db");
        assert_eq!(c.resource_type, "AWS::RDS::DBInstance");
        assert_eq!(c.reason, "DB quota exceeded");
        assert_eq!(c.defined_in.as_deref(), Some("db:7"));
    }

    #[test]
    fn stack_level_failure_when_no_resource_failed() {
        let events = vec![ev(
            "s",
            "AWS::CloudFormation::Stack",
            "UPDATE_FAILED",
            Some("role missing"),
        )];
        assert_eq!(
            root_cause(&events, "s", |_| None).unwrap().reason,
            "role missing"
        );
        assert!(root_cause(&[], "s", |_| None).is_none());
    }
}
