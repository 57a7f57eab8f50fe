//! The root cause of a failed stack operation: the first failure event of the operation that
//! is not a cancellation caused by another failure.

use crate::aws::cloudformation::StackEvent;
use crate::error::RootCause;

/// `events` oldest first. `defined_in` maps a logical id to "fragment:line" when known.
pub fn root_cause(
    events: &[StackEvent],
    stack_name: &str,
    defined_in: impl Fn(&str) -> Option<String>,
) -> Option<RootCause> {
    let is_cancel = |e: &StackEvent| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("cancelled"))
    };
    let first = events
        .iter()
        .filter(|e| e.is_failure() && !is_cancel(e))
        .find(|e| e.logical_id != stack_name)
        .or_else(|| events.iter().find(|e| e.is_failure()))?;
    Some(RootCause {
        logical_id: first.logical_id.clone(),
        resource_type: first.resource_type.clone(),
        status: first.status.clone(),
        reason: first
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".to_owned()),
        defined_in: defined_in(&first.logical_id),
    })
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
