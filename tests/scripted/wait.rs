//! The poll loop: progress, backoff, deadline, throttling, paging, and the root cause.

use crate::mocks::*;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::mock;
use manage::aws::cloudformation as cfn;
use manage::error::Error;
use manage::stack::{self, failure, Mark};
use std::collections::HashSet;

const CANCELLED: &str = "Resource creation cancelled";

/// A create that fails at Db, cancels what was still running, and rolls back.
fn rolled_back_create() -> Vec<aws_sdk_cloudformation::types::StackEvent> {
    let s = "AWS::CloudFormation::Stack";
    let reason = "The following resource(s) failed to create: [Db]. Rollback requested by user.";
    vec![
        event(
            ID,
            1,
            0,
            NAME,
            s,
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        event(ID, 2, 1, "Vpc", "AWS::EC2::VPC", "CREATE_IN_PROGRESS", None),
        event(
            ID,
            3,
            1,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_IN_PROGRESS",
            None,
        ),
        event(ID, 4, 2, "Vpc", "AWS::EC2::VPC", "CREATE_COMPLETE", None),
        event(
            ID,
            5,
            3,
            "Queue",
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            Some(CANCELLED),
        ),
        event(
            ID,
            6,
            3,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some("DBInstance quota exceeded (Service: Rds, Status Code: 400)"),
        ),
        event(
            ID,
            7,
            4,
            "Web",
            "AWS::EC2::Instance",
            "CREATE_FAILED",
            Some(CANCELLED),
        ),
        event(ID, 8, 4, NAME, s, "ROLLBACK_IN_PROGRESS", Some(reason)),
        event(ID, 9, 5, "Vpc", "AWS::EC2::VPC", "DELETE_COMPLETE", None),
        event(ID, 10, 6, NAME, s, "ROLLBACK_COMPLETE", None),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_create_that_rolls_back_names_the_first_real_failure_and_its_fragment() {
    let describe = statuses(&[
        "CREATE_IN_PROGRESS",
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_COMPLETE",
    ]);
    let events = events_over_time(rolled_back_create(), &[1, 4, 8]);
    let client = mocked(&[&describe, &events]);
    let watch = Recorder::new();
    let waited = stack::wait(&client, ID, Mark::new_stack(), pacing(60), &watch)
        .await
        .unwrap();
    assert_eq!(waited.status(), "ROLLBACK_COMPLETE");
    // Every event is streamed once, in order, as it appears.
    let seen = watch.lines("event: ");
    assert_eq!(seen.len(), 10, "{seen:?}");
    assert!(seen[0].starts_with("argos-staging CREATE_IN_PROGRESS"));
    assert!(seen[9].starts_with("argos-staging ROLLBACK_COMPLETE"));
    assert_eq!(describe.num_calls(), 4);

    let defined_in = |id: &str| (id == "Db").then(|| "formations/db.yaml:3".to_owned());
    let err = failure::explain(&client, NAME, &waited, defined_in).await;
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        "stack argos-staging ended in ROLLBACK_COMPLETE: Db (AWS::RDS::DBInstance) CREATE_FAILED: \
         DBInstance quota exceeded (Service: Rds, Status Code: 400) [defined in formations/db.yaml:3]"
    );
    let Error::StackFailed(f) = err else { panic!() };
    let json = serde_json::to_value(&*f).unwrap();
    assert_eq!(json["root_cause"]["logical_id"], "Db");
    assert_eq!(json["status"], "ROLLBACK_COMPLETE");
}

#[tokio::test(start_paused = true)]
async fn throttling_and_server_errors_mid_wait_do_not_end_it() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| described("UPDATE_IN_PROGRESS"))
        .error(throttled)
        .times(2)
        .http_status(503, None)
        .output(|| described("UPDATE_IN_PROGRESS"))
        .output(|| described("UPDATE_COMPLETE"))
        .repeatedly()
        .build();
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mocked(&[&describe, &events]);
    let watch = Recorder::new();
    let started = tokio::time::Instant::now();
    let waited = stack::wait(&client, ID, Mark::new_stack(), pacing(60), &watch)
        .await
        .unwrap();
    assert_eq!(waited.status(), "UPDATE_COMPLETE");
    let retries = watch.lines("retrying: ");
    assert_eq!(retries.len(), 3, "{retries:?}");
    assert!(retries[0].contains("Throttling"), "{retries:?}");
    assert_eq!(describe.num_calls(), 6);
    // Backoff from 0.25 s, doubling: 0.25 + 0.5 + 1 + 2 + 4 seconds of (paused) waiting.
    assert_eq!(started.elapsed().as_millis(), 7750);
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_never_ends_stops_at_its_deadline_with_capped_backoff() {
    let describe = statuses(&["UPDATE_IN_PROGRESS"]);
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mocked(&[&describe, &events]);
    let err = stack::wait(&client, ID, Mark::new_stack(), pacing(30), &Recorder::new())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string()
            .contains(&format!("waiting for stack {ID} to finish")),
        "{err}"
    );
    // Looks at 0, 0.25, 0.75, 1.75, 3.75, 7.75, then every 5 s (the cap) until 27.75;
    // one more would pass the 30 s deadline.
    assert_eq!(describe.num_calls(), 10);
}

#[tokio::test]
async fn paging_events_stops_at_the_operation_start() {
    let start = chrono::Utc::now();
    let s = "AWS::CloudFormation::Stack";
    let newest = vec![
        event(
            ID,
            3,
            3,
            "Web",
            "AWS::EC2::Instance",
            "UPDATE_IN_PROGRESS",
            None,
        ),
        event(
            ID,
            4,
            4,
            "Web",
            "AWS::EC2::Instance",
            "UPDATE_COMPLETE",
            None,
        ),
        event(ID, 5, 5, NAME, s, "UPDATE_COMPLETE", None),
    ];
    let older = vec![
        event(ID, 1, -3600, NAME, s, "CREATE_COMPLETE", None),
        event(
            ID,
            2,
            1,
            NAME,
            s,
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
    ];
    let first = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || page(newest.clone(), Some("page-2")));
    let second = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || page(older.clone(), Some("page-3")));
    let third = mock!(Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("page-3"))
        .then_output(|| page(vec![], None));
    let client = mocked(&[&first, &second, &third]);
    let since = start - chrono::Duration::seconds(2);
    let events = cfn::events_since(&client, ID, since, &mut HashSet::new())
        .await
        .unwrap();
    let ids: Vec<_> = events
        .iter()
        .map(|e| format!("{} {}", e.logical_id, e.status))
        .collect();
    assert_eq!(
        ids,
        [
            "argos-staging UPDATE_IN_PROGRESS",
            "Web UPDATE_IN_PROGRESS",
            "Web UPDATE_COMPLETE",
            "argos-staging UPDATE_COMPLETE"
        ],
        "oldest first, nothing from before the operation"
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    assert_eq!(third.num_calls(), 0, "paging went past the operation start");
}

#[tokio::test]
async fn a_failure_inside_a_nested_stack_is_followed_to_its_resource() {
    let nested_id =
        "arn:aws:cloudformation:us-east-1:123456789012:stack/argos-staging-DbStack-1X2Y/77aa";
    let s = "AWS::CloudFormation::Stack";
    let nested_failed = aws_sdk_cloudformation::types::StackEvent::builder()
        .stack_id(ID)
        .stack_name(NAME)
        .event_id("nested-failed")
        .timestamp(smithy_time(chrono::Utc::now() + chrono::Duration::seconds(5)))
        .logical_resource_id("DbStack")
        .physical_resource_id(nested_id)
        .resource_type(s)
        .resource_status(aws_sdk_cloudformation::types::ResourceStatus::CreateFailed)
        .resource_status_reason("Embedded stack was not successfully created: The following resource(s) failed to create: [Db].")
        .build();
    let parent = vec![
        event(ID, 1, 0, NAME, s, "CREATE_IN_PROGRESS", None),
        nested_failed,
        event(ID, 3, 6, NAME, s, "ROLLBACK_COMPLETE", None),
    ];
    let inner = vec![
        event(
            nested_id,
            1,
            1,
            "argos-staging-DbStack-1X2Y",
            s,
            "CREATE_IN_PROGRESS",
            None,
        ),
        event(
            nested_id,
            2,
            2,
            "Subnets",
            "AWS::RDS::DBSubnetGroup",
            "CREATE_FAILED",
            Some(CANCELLED),
        ),
        event(
            nested_id,
            3,
            3,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some("storage quota"),
        ),
        event(
            nested_id,
            4,
            4,
            "argos-staging-DbStack-1X2Y",
            s,
            "CREATE_FAILED",
            Some("[Db] failed"),
        ),
    ];
    let describe = statuses(&["ROLLBACK_COMPLETE"]);
    let outer_events = events_over_time(parent, &[]);
    let nested_events = mock!(Client::describe_stack_events)
        .match_requests(move |r| r.stack_name() == Some(nested_id))
        .then_output(move || page(inner.clone(), None));
    let client = mocked(&[&describe, &outer_events, &nested_events]);
    let waited = stack::wait(&client, ID, Mark::new_stack(), pacing(60), &Recorder::new())
        .await
        .unwrap();
    let defined_in = |id: &str| (id == "DbStack").then(|| "formations/db.yaml:2".to_owned());
    let err = failure::explain(&client, NAME, &waited, defined_in).await;
    let Error::StackFailed(f) = err else {
        panic!("{err}")
    };
    let cause = f.root_cause.unwrap();
    assert_eq!(cause.logical_id, "DbStack/Db");
    assert_eq!(cause.resource_type, "AWS::RDS::DBInstance");
    assert_eq!(cause.reason, "storage quota");
    assert_eq!(cause.defined_in.as_deref(), Some("formations/db.yaml:2"));
    assert_eq!(nested_events.num_calls(), 1);
}

#[tokio::test]
async fn every_client_retries_throttling_many_times_without_a_rate_limiter() {
    // One policy for every client (aws::setup): standard mode, so a fault does not slow every
    // later call, and enough attempts to ride through throttling during long waits.
    let retry = manage::aws::setup::retry_config();
    assert_eq!(retry.mode(), aws_smithy_types::retry::RetryMode::Standard);
    assert_eq!(retry.max_attempts(), manage::aws::setup::MAX_ATTEMPTS);
    assert!(retry.max_attempts() >= 8, "{retry:?}");
}
