//! Termination protection, which the emulator accepts on CreateStack but neither reports nor
//! lets anyone change: a protected env's stack is created with it, `update` brings it in step
//! with the config, and decommission's delete (after --force and the confirmation) lifts it
//! before DeleteStack, which CloudFormation refuses while it is on.

use crate::mocks::*;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_stack::{DeleteStackError, DeleteStackOutput};
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::{
    UpdateTerminationProtectionError, UpdateTerminationProtectionOutput,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, MockResponse, Rule};
use manage::config::{Config, EnvConfig};
use manage::formation::Formation;
use manage::stack::create::{create_and_wait, NewStack};
use manage::stack::protection::follow;
use manage::stack::settle::delete;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn no_events() -> Rule {
    mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build())
}

/// UpdateTerminationProtection: records the setting asked for in `now`.
fn protection_call(now: Arc<AtomicBool>) -> Rule {
    mock!(Client::update_termination_protection).then_compute_output(move |r| {
        now.store(
            r.enable_termination_protection().unwrap_or(true),
            Ordering::SeqCst,
        );
        UpdateTerminationProtectionOutput::builder()
            .stack_id(ID)
            .build()
    })
}

fn protected_stack() -> manage::aws::cloudformation::Stack {
    manage::aws::cloudformation::Stack {
        termination_protection: true,
        ..our_stack()
    }
}

#[tokio::test(start_paused = true)]
async fn the_delete_lifts_termination_protection_before_delete_stack() {
    let protected = Arc::new(AtomicBool::new(true));
    let lift = protection_call(protected.clone());
    // As CloudFormation does: DeleteStack is refused while the protection is on.
    let on = protected.clone();
    let deleted = mock!(Client::delete_stack).then_compute_response(move |_| {
        if on.load(Ordering::SeqCst) {
            MockResponse::Error(DeleteStackError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack [argos-staging] cannot be deleted while TerminationProtection is enabled")
                    .build(),
            ))
        } else {
            MockResponse::Output(DeleteStackOutput::builder().build())
        }
    });
    let describe = statuses(&["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]);
    let events = no_events();
    let client = mocked(&[&lift, &deleted, &describe, &events]);
    let op = Scripted::new(true);
    let waited = delete(
        &client,
        &op,
        &protected_stack(),
        &[],
        None,
        pacing(600),
        &Recorder::new(),
    )
    .await
    .unwrap();
    assert_eq!(waited.status(), "DELETE_COMPLETE");
    assert_eq!(lift.num_calls(), 1, "UpdateTerminationProtection");
    assert!(!protected.load(Ordering::SeqCst), "protection lifted");
    assert_eq!(deleted.num_calls(), 1, "DeleteStack");
    let said = op.transcript();
    assert!(
        said.contains("step: turning off the termination protection of stack argos-staging"),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unprotected_stack_is_deleted_without_touching_the_protection() {
    let lift = protection_call(Arc::new(AtomicBool::new(false)));
    let deleted = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let describe = statuses(&["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]);
    let events = no_events();
    let client = mocked(&[&lift, &deleted, &describe, &events]);
    let op = Scripted::new(true);
    delete(
        &client,
        &op,
        &our_stack(),
        &[],
        None,
        pacing(600),
        &Recorder::new(),
    )
    .await
    .unwrap();
    assert_eq!(lift.num_calls(), 0);
    assert_eq!(deleted.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn update_turns_protection_on_for_a_protected_env_and_off_otherwise() {
    let now = Arc::new(AtomicBool::new(false));
    let call = protection_call(now.clone());
    let client = mocked(&[&call]);
    let op = Scripted::new(true);

    // In step already: no call.
    assert_eq!(
        follow(&client, &op, &our_stack(), false, false)
            .await
            .unwrap(),
        None
    );
    assert_eq!(call.num_calls(), 0);
    // A dry run says what it would do and calls nothing.
    assert_eq!(
        follow(&client, &op, &our_stack(), true, true)
            .await
            .unwrap(),
        Some(true)
    );
    assert_eq!(call.num_calls(), 0);
    // The env became protected: on.
    assert_eq!(
        follow(&client, &op, &our_stack(), true, false)
            .await
            .unwrap(),
        Some(true)
    );
    assert!(now.load(Ordering::SeqCst));
    // It is no longer protected: off.
    assert_eq!(
        follow(&client, &op, &protected_stack(), false, false)
            .await
            .unwrap(),
        Some(false)
    );
    assert!(!now.load(Ordering::SeqCst));
    assert_eq!(call.num_calls(), 2);
    let said = op.transcript();
    assert!(
        said.contains("turning termination protection on for stack argos-staging"),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_the_call_is_a_warning_not_a_failure() {
    let call = mock!(Client::update_termination_protection).then_error(|| {
        UpdateTerminationProtectionError::generic(
            ErrorMetadata::builder()
                .code("InvalidAction")
                .message("The action UpdateTerminationProtection is not valid for this endpoint.")
                .build(),
        )
    });
    let client = mocked(&[&call]);
    let op = Scripted::new(true);
    assert_eq!(
        follow(&client, &op, &our_stack(), true, false)
            .await
            .unwrap(),
        None
    );
    let said = op.transcript();
    assert!(
        said.contains("warn: this endpoint lacks UpdateTerminationProtection")
            && said.contains("stays off"),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_protected_env_s_stack_is_created_with_termination_protection() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("formations")).unwrap();
    std::fs::write(
        dir.path().join("formations/queue.yaml"),
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"app": "argos", "region": "us-east-1", "bucket": "argos-templates", "base_ami": "ami-12345678",
            "environments": {"production": {"protected": true}, "staging": {}}}"#,
    )
    .unwrap();
    let config = Config::load(&dir.path().join("config.json")).unwrap();
    for (env, protect) in [("production", true), ("staging", false)] {
        let env = EnvConfig::new(config.clone(), env, &[]).unwrap();
        let formation = Formation::build(&env, "ami-12345678").unwrap();
        let create = mock!(Client::create_stack)
            .match_requests(move |r| r.enable_termination_protection() == protect.then_some(true))
            .then_output(|| CreateStackOutput::builder().stack_id(ID).build());
        let describe = statuses(&["CREATE_COMPLETE"]);
        let events = no_events();
        let client = mocked(&[&create, &describe, &events]);
        let new = NewStack {
            name: NAME,
            formation: &formation,
            url: "https://argos-templates.s3.amazonaws.com/argos/template.json",
            tags: &[],
            settings: &env.stack,
            protect: env.protected,
        };
        let op = Scripted::new(true);
        let stack = create_and_wait(&client, &new, pacing(600), &op)
            .await
            .unwrap();
        assert_eq!(stack.status, "CREATE_COMPLETE");
        assert_eq!(create.num_calls(), 1, "CreateStack for {}", env.name);
    }
}
