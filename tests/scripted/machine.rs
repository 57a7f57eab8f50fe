//! Every branch of the stack state machine as `settle` carries it out, with scripted stacks.

use crate::mocks::*;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::operation::rollback_stack::RollbackStackOutput;
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::error::{Error, Result};
use manage::stack::settle::delete;
use manage::stack::{settle, Intent, Recovery, Settled};

fn rec<'a>(skip: &'a [String], retain: &'a [String]) -> Recovery<'a> {
    Recovery {
        env: "staging",
        no_wait: false,
        dry_run: false,
        skip,
        retain,
        role_arn: None,
        pacing: pacing(600),
    }
}

fn no_events() -> Rule {
    mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build())
}

fn resources(list: Vec<aws_sdk_cloudformation::types::StackResourceSummary>) -> Rule {
    mock!(Client::list_stack_resources).then_output(move || {
        ListStackResourcesOutput::builder()
            .set_stack_resource_summaries(Some(list.clone()))
            .build()
    })
}

async fn run(
    client: &Client,
    intent: Intent,
    rec: &Recovery<'_>,
    op: &Scripted,
) -> Result<Settled> {
    settle(client, NAME, intent, rec, op).await
}

fn status_of(s: Settled) -> String {
    match s {
        Settled::Present(s) => format!("present {}", s.status),
        Settled::Previewed(s) => format!("previewed {}", s.status),
        Settled::Absent => "absent".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn no_stack_is_created_by_commission_and_refused_by_update() {
    let describe = mock!(Client::describe_stacks).then_error(missing);
    let client = mocked(&[&describe]);
    let op = Scripted::new(true);
    let commission = run(&client, Intent::Commission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(commission), "absent");
    let err = run(&client, Intent::Update, &rec(&[], &[]), &op)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("manage staging commission"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_busy_stack_is_waited_on_or_refused_with_no_wait() {
    let describe = statuses(&[
        "UPDATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]);
    let events = no_events();
    let client = mocked(&[&describe, &events]);
    let op = Scripted::new(true);
    let refused = Recovery {
        no_wait: true,
        ..rec(&[], &[])
    };
    let err = run(&client, Intent::Update, &refused, &op)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.to_string().contains("is busy (UPDATE_IN_PROGRESS)"),
        "{err}"
    );
    assert_eq!(describe.num_calls(), 1, "looked once, then refused");

    let settled = run(&client, Intent::Update, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "present UPDATE_COMPLETE");
    let said = op.transcript();
    assert!(
        said.contains("is UPDATE_IN_PROGRESS: waiting for that operation to finish"),
        "{said}"
    );
    assert!(said.contains("it ended in UPDATE_COMPLETE"), "{said}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_is_explained_then_deleted_after_confirmation() {
    let s = "AWS::CloudFormation::Stack";
    let history = vec![
        event(ID, 1, -600, NAME, s, "CREATE_IN_PROGRESS", None),
        event(
            ID,
            2,
            -590,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some("quota exceeded"),
        ),
        event(
            ID,
            3,
            -589,
            "Web",
            "AWS::EC2::Instance",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ),
        event(ID, 4, -580, NAME, s, "ROLLBACK_COMPLETE", None),
    ];
    let events = events_over_time(history, &[]);
    // Refused: nothing is deleted.
    let describe = statuses(&["ROLLBACK_COMPLETE"]);
    let deletes = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let client_a = mocked(&[&describe, &events, &deletes]);
    let op = Scripted::new(false);
    let err = run(&client_a, Intent::Commission, &rec(&[], &[]), &op)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(deletes.num_calls(), 0);
    let said = op.transcript();
    assert!(said.contains("from an earlier failed create"), "{said}");
    assert!(
        said.contains("it failed at Db (AWS::RDS::DBInstance) CREATE_FAILED: quota exceeded"),
        "{said}"
    );

    // Agreed: deleted, waited until gone, and commission goes on to create.
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| described("ROLLBACK_COMPLETE"))
        .output(|| described("DELETE_IN_PROGRESS"))
        .output(|| described("DELETE_COMPLETE"))
        .error(missing)
        .repeatedly()
        .build();
    let client_b = mocked(&[&describe, &events, &deletes]);
    let op = Scripted::new(true);
    let settled = run(&client_b, Intent::Commission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "absent");
    assert_eq!(deletes.num_calls(), 1);
    assert_eq!(op.asked.borrow().len(), 1);

    // Update cannot go on from a failed create: it points at commission.
    let describe = statuses(&["ROLLBACK_COMPLETE"]);
    let client_c = mocked(&[&describe]);
    let err = run(&client_c, Intent::Update, &rec(&[], &[]), &op)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("is ROLLBACK_COMPLETE"), "{err}");
    assert!(
        err.to_string().contains("manage staging commission"),
        "{err}"
    );
}

fn blocked_rollback() -> Rule {
    resources(vec![
        resource("Web", "AWS::EC2::Instance", "UPDATE_COMPLETE", None),
        resource(
            "Db",
            "AWS::RDS::DBInstance",
            "UPDATE_FAILED",
            Some("Resource handler returned message: DB instance is in state storage-full"),
        ),
    ])
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_shows_the_blockers_and_continues_skipping_them() {
    let describe = statuses(&[
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]);
    let listed = blocked_rollback();
    let events = no_events();
    let continued = mock!(Client::continue_update_rollback)
        .match_requests(|r| r.resources_to_skip() == ["Db".to_owned()])
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let client = mocked(&[&describe, &listed, &events, &continued]);
    let op = Scripted::new(true);
    let skip = ["Db".to_owned()];
    let settled = run(&client, Intent::Update, &rec(&skip, &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "present UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(continued.num_calls(), 1);
    let said = op.transcript();
    assert!(
        said.contains("these resources blocked the rollback:"),
        "{said}"
    );
    assert!(
        said.contains("Db (AWS::RDS::DBInstance) UPDATE_FAILED: Resource handler returned message: DB instance is in state storage-full"),
        "{said}"
    );
    assert!(!said.contains("Web (AWS::EC2::Instance)"), "{said}");
    assert_eq!(
        op.asked.borrow().as_slice(),
        ["Continue the rollback of stack argos-staging, skipping Db?"]
    );
}

#[tokio::test(start_paused = true)]
async fn continue_rollback_refuses_unknown_skips_and_unconfirmed_runs() {
    let describe = statuses(&["UPDATE_ROLLBACK_FAILED"]);
    let listed = blocked_rollback();
    let continued = mock!(Client::continue_update_rollback)
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let client = mocked(&[&describe, &listed, &continued]);
    let skip = ["Dbb".to_owned()];
    let err = run(
        &client,
        Intent::Commission,
        &rec(&skip, &[]),
        &Scripted::new(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("--skip Dbb: not a resource that blocked the rollback (these did: Db)"),
        "{err}"
    );
    let err = run(
        &client,
        Intent::Update,
        &rec(&[], &[]),
        &Scripted::new(false),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(continued.num_calls(), 0);

    // A dry run says what it would do and stops there.
    let dry = Recovery {
        dry_run: true,
        ..rec(&[], &[])
    };
    let op = Scripted::new(true);
    let settled = run(&client, Intent::Update, &dry, &op).await.unwrap();
    assert_eq!(status_of(settled), "previewed UPDATE_ROLLBACK_FAILED");
    assert!(op.transcript().contains("would continue the rollback"));
    assert_eq!(continued.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_rollback_that_fails_again_is_a_failure_with_its_cause() {
    let describe = statuses(&[
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_FAILED",
    ]);
    let listed = blocked_rollback();
    let s = "AWS::CloudFormation::Stack";
    let events = events_over_time(
        vec![
            event(ID, 1, 1, NAME, s, "UPDATE_ROLLBACK_IN_PROGRESS", None),
            event(
                ID,
                2,
                2,
                "Db",
                "AWS::RDS::DBInstance",
                "UPDATE_FAILED",
                Some("still storage-full"),
            ),
            event(ID, 3, 3, NAME, s, "UPDATE_ROLLBACK_FAILED", None),
        ],
        &[0],
    );
    let continued = mock!(Client::continue_update_rollback)
        .then_output(|| ContinueUpdateRollbackOutput::builder().build());
    let client = mocked(&[&describe, &listed, &events, &continued]);
    let err = run(
        &client,
        Intent::Update,
        &rec(&[], &[]),
        &Scripted::new(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        "stack argos-staging ended in UPDATE_ROLLBACK_FAILED: Db (AWS::RDS::DBInstance) UPDATE_FAILED: still storage-full"
    );
    assert_eq!(continued.num_calls(), 1, "tried once, not in a loop");
}

#[tokio::test(start_paused = true)]
async fn update_failed_without_rollback_is_rolled_back() {
    let describe = statuses(&[
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]);
    let listed = resources(vec![resource(
        "Queue",
        "AWS::SQS::Queue",
        "UPDATE_FAILED",
        Some("Invalid value for VisibilityTimeout"),
    )]);
    let events = no_events();
    let rolled = mock!(Client::rollback_stack)
        .match_requests(|r| r.stack_name() == Some(ID))
        .then_output(|| RollbackStackOutput::builder().build());
    let client = mocked(&[&describe, &listed, &events, &rolled]);
    let op = Scripted::new(true);
    let settled = run(&client, Intent::Commission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "present UPDATE_ROLLBACK_COMPLETE");
    assert_eq!(rolled.num_calls(), 1);
    assert!(op
        .transcript()
        .contains("Queue (AWS::SQS::Queue) UPDATE_FAILED: Invalid value for VisibilityTimeout"));

    // Decommission deletes from there without rolling back first.
    let describe = statuses(&["UPDATE_FAILED"]);
    let client_b = mocked(&[&describe, &rolled]);
    let settled = run(&client_b, Intent::Decommission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "present UPDATE_FAILED");
    assert_eq!(rolled.num_calls(), 1);
}

fn bucket_not_empty() -> Rule {
    resources(vec![
        resource("Web", "AWS::EC2::Instance", "DELETE_COMPLETE", None),
        resource(
            "UploadsBucket",
            "AWS::S3::Bucket",
            "DELETE_FAILED",
            Some("The bucket you tried to delete is not empty"),
        ),
    ])
}

#[tokio::test(start_paused = true)]
async fn delete_failed_names_the_blockers_and_deletes_again_retaining_them() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| described("DELETE_FAILED"))
        .output(|| described("DELETE_IN_PROGRESS"))
        .output(|| described("DELETE_COMPLETE"))
        .repeatedly()
        .build();
    let listed = bucket_not_empty();
    let events = no_events();
    let deleted = mock!(Client::delete_stack)
        .match_requests(|r| r.retain_resources() == ["UploadsBucket".to_owned()])
        .then_output(|| DeleteStackOutput::builder().build());
    let client = mocked(&[&describe, &listed, &events, &deleted]);
    let op = Scripted::new(true);
    let retain = ["UploadsBucket".to_owned()];
    let settled = run(&client, Intent::Decommission, &rec(&[], &retain), &op)
        .await
        .unwrap();
    let Settled::Present(stack) = settled else {
        panic!()
    };
    assert_eq!(stack.status, "DELETE_FAILED");
    let said = op.transcript();
    assert!(
        said.contains("UploadsBucket (AWS::S3::Bucket) DELETE_FAILED: The bucket you tried to delete is not empty"),
        "{said}"
    );
    assert!(said.contains("keeping UploadsBucket"), "{said}");
    let waited = delete(
        &client,
        &op,
        &stack,
        &retain,
        None,
        pacing(600),
        &Recorder::new(),
    )
    .await
    .unwrap();
    assert_eq!(waited.status(), "DELETE_COMPLETE");
    assert_eq!(deleted.num_calls(), 1, "DeleteStack with RetainResources");
}

#[tokio::test(start_paused = true)]
async fn retain_must_name_a_blocker_and_only_applies_to_delete_failed() {
    let describe = statuses(&["DELETE_FAILED"]);
    let listed = bucket_not_empty();
    let client_a = mocked(&[&describe, &listed]);
    let retain = ["Web".to_owned()];
    let err = run(
        &client_a,
        Intent::Decommission,
        &rec(&[], &retain),
        &Scripted::new(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains(
            "--retain Web: not a resource that failed to delete (these did: UploadsBucket)"
        ),
        "{err}"
    );

    // Retaining on a healthy stack would silently delete what the operator meant to keep.
    let describe = statuses(&["CREATE_COMPLETE"]);
    let client_b = mocked(&[&describe]);
    let err = run(
        &client_b,
        Intent::Decommission,
        &rec(&[], &retain),
        &Scripted::new(true),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .contains("--retain applies only to a stack in DELETE_FAILED"),
        "{err}"
    );

    // Update refuses a half-deleted stack and points at decommission.
    let client_c = mocked(&[&statuses(&["DELETE_FAILED"])]);
    let err = run(
        &client_c,
        Intent::Update,
        &rec(&[], &[]),
        &Scripted::new(true),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Refused(_)));
    assert!(
        err.to_string().contains("manage staging decommission"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn decommission_deletes_a_create_in_progress_and_waits_for_a_delete_in_progress() {
    let client_a = mocked(&[&statuses(&["CREATE_IN_PROGRESS"])]);
    let op = Scripted::new(true);
    let settled = run(&client_a, Intent::Decommission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "present CREATE_IN_PROGRESS");

    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| described("DELETE_IN_PROGRESS"))
        .output(|| described("DELETE_IN_PROGRESS"))
        .error(missing)
        .repeatedly()
        .build();
    let events = no_events();
    let client_b = mocked(&[&describe, &events]);
    let settled = run(&client_b, Intent::Decommission, &rec(&[], &[]), &op)
        .await
        .unwrap();
    assert_eq!(status_of(settled), "absent");
}

#[tokio::test(start_paused = true)]
async fn a_status_manage_cannot_repair_is_refused() {
    let client = mocked(&[&statuses(&["IMPORT_ROLLBACK_FAILED"])]);
    for intent in [Intent::Commission, Intent::Update, Intent::Decommission] {
        let err = run(&client, intent, &rec(&[], &[]), &Scripted::new(true))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("IMPORT_ROLLBACK_FAILED"), "{err}");
    }
}
