//! Host waits the emulator cannot produce: a root-volume replacement task that is pending and
//! then succeeds, fails, or never ends; an endpoint without ReplaceRootVolume; status checks
//! that initialize and then pass, or stay impaired; throttling in the middle of a wait.

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::create_replace_root_volume_task::{
    CreateReplaceRootVolumeTaskError, CreateReplaceRootVolumeTaskOutput,
};
use aws_sdk_ec2::operation::describe_instance_status::{
    DescribeInstanceStatusError, DescribeInstanceStatusOutput,
};
use aws_sdk_ec2::operation::describe_replace_root_volume_tasks::DescribeReplaceRootVolumeTasksOutput;
use aws_sdk_ec2::types::{
    InstanceStatus, InstanceStatusSummary, ReplaceRootVolumeTask, ReplaceRootVolumeTaskState,
    SummaryStatus,
};
use aws_sdk_ec2::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::actions::hostops::revert;
use manage::hosts::wait::{self, Target};
use manage::stack::Pacing;
use std::time::Duration;

const TASK: &str = "replacevol-0123456789abcdef0";

fn ec2(rules: &[&Rule]) -> Client {
    crate::mocks::hand_mocked!(aws_sdk_ec2, rules)
}

fn target() -> Target {
    Target {
        name: "argos-staging-app-0".into(),
        id: "i-0aaa".into(),
    }
}

fn pacing(secs: u64) -> Pacing {
    Pacing::with_deadline(Duration::from_secs(secs))
}

fn created() -> Rule {
    mock!(Client::create_replace_root_volume_task)
        .match_requests(|r| {
            r.instance_id() == Some("i-0aaa")
                && r.image_id() == Some("ami-0stack")
                && r.delete_replaced_root_volume() == Some(true)
        })
        .then_output(|| {
            CreateReplaceRootVolumeTaskOutput::builder()
                .replace_root_volume_task(
                    ReplaceRootVolumeTask::builder()
                        .replace_root_volume_task_id(TASK)
                        .task_state(ReplaceRootVolumeTaskState::Pending)
                        .build(),
                )
                .build()
        })
}

fn task(state: &str) -> DescribeReplaceRootVolumeTasksOutput {
    DescribeReplaceRootVolumeTasksOutput::builder()
        .replace_root_volume_tasks(
            ReplaceRootVolumeTask::builder()
                .replace_root_volume_task_id(TASK)
                .instance_id("i-0aaa")
                .task_state(ReplaceRootVolumeTaskState::from(state))
                .build(),
        )
        .build()
}

/// DescribeReplaceRootVolumeTasks answering these states in turn, then the last for ever.
fn task_states(list: &[&'static str]) -> Rule {
    let mut seq = mock!(Client::describe_replace_root_volume_tasks)
        .match_requests(|r| {
            r.replace_root_volume_task_ids().first().map(String::as_str) == Some(TASK)
        })
        .sequence();
    for &s in list {
        seq = seq.output(move || task(s));
    }
    seq.repeatedly().build()
}

#[tokio::test(start_paused = true)]
async fn revert_waits_for_a_pending_task_until_it_succeeds() {
    let create = created();
    let describe = task_states(&["pending", "in-progress", "in-progress", "succeeded"]);
    let client = ec2(&[&create, &describe]);
    let started = tokio::time::Instant::now();
    revert::replace_roots(&client, &[target()], "ami-0stack", pacing(60))
        .await
        .unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(describe.num_calls(), 4);
    // Looks at 0, 0.25, 0.75 and 1.75 s: no fixed sleep, backing off from 0.25 s.
    assert_eq!(started.elapsed().as_millis(), 1750);
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_is_a_failure_naming_the_host() {
    let create = created();
    let describe = task_states(&["pending", "failing", "failed"]);
    let client = ec2(&[&create, &describe]);
    let err = revert::replace_roots(&client, &[target()], "ami-0stack", pacing(60))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        format!("replacing the root volume of argos-staging-app-0 (i-0aaa) failed: task {TASK} is failed")
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_that_never_ends_times_out_naming_the_host() {
    let create = created();
    let describe = task_states(&["in-progress"]);
    let client = ec2(&[&create, &describe]);
    let err = revert::replace_roots(&client, &[target()], "ami-0stack", pacing(30))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string().contains(&format!(
            "the root volume of argos-staging-app-0 to be replaced (task {TASK} in-progress)"
        )),
        "{err}"
    );
    // 0, 0.25, 0.75, 1.75, 3.75, 7.75, then every 5 s until 27.75.
    assert_eq!(describe.num_calls(), 10);
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_replace_root_volume_is_one_clear_line() {
    let create = mock!(Client::create_replace_root_volume_task).then_error(|| {
        CreateReplaceRootVolumeTaskError::generic(
            ErrorMetadata::builder()
                .code("InvalidAction")
                .message(
                    "The action CreateReplaceRootVolumeTask is not valid for this web service.",
                )
                .build(),
        )
    });
    let client = ec2(&[&create]);
    let err = revert::replace_roots(&client, &[target()], "ami-0stack", pacing(30))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let line = err.to_string();
    assert!(
        line.starts_with("this EC2 endpoint does not support ReplaceRootVolume")
            && line.contains("nothing was changed on argos-staging-app-0")
            && !line.contains('\n'),
        "{line}"
    );
}

fn checks(system: SummaryStatus, instance: SummaryStatus) -> DescribeInstanceStatusOutput {
    let summary = |s: SummaryStatus| InstanceStatusSummary::builder().status(s).build();
    DescribeInstanceStatusOutput::builder()
        .instance_statuses(
            InstanceStatus::builder()
                .instance_id("i-0aaa")
                .system_status(summary(system))
                .instance_status(summary(instance))
                .build(),
        )
        .build()
}

fn throttled() -> DescribeInstanceStatusError {
    DescribeInstanceStatusError::generic(
        ErrorMetadata::builder()
            .code("RequestLimitExceeded")
            .message("Request limit exceeded.")
            .build(),
    )
}

#[tokio::test(start_paused = true)]
async fn start_waits_until_status_checks_pass_through_throttling() {
    use SummaryStatus::{Initializing, Ok};
    let status = mock!(Client::describe_instance_status)
        .match_requests(|r| r.include_all_instances() == Some(true))
        .sequence()
        .output(|| checks(Initializing, Initializing))
        .error(throttled)
        .output(|| checks(Ok, Initializing))
        .output(|| checks(Ok, Ok))
        .build();
    let client = ec2(&[&status]);
    wait::until_checks_pass(&client, &[target()], pacing(60))
        .await
        .unwrap();
    assert_eq!(status.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn impaired_status_checks_time_out_naming_the_host_and_checks() {
    let status = mock!(Client::describe_instance_status)
        .then_output(|| checks(SummaryStatus::Ok, SummaryStatus::Impaired));
    let client = ec2(&[&status]);
    let err = wait::until_checks_pass(&client, &[target()], pacing(20))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4);
    assert!(
        err.to_string().contains(
            "waiting for status checks to pass on argos-staging-app-0 (system ok, instance impaired)"
        ),
        "{err}"
    );
}
