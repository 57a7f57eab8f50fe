//! AWS's eventual consistency and throttling around EC2, which the emulator never shows: new
//! instances missing from a tag search, throttling in the image wait, snapshots still in use
//! after their image is deregistered, and more than one page of stack events.

use crate::mocks::*;
use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
use aws_sdk_cloudformation::types::StackResourceSummary;
use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::delete_snapshot::{DeleteSnapshotError, DeleteSnapshotOutput};
use aws_sdk_ec2::operation::deregister_image::DeregisterImageOutput;
use aws_sdk_ec2::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Image, ImageState, Instance, InstanceState,
    InstanceStateName, Reservation, Tag,
};
use aws_smithy_mocks::{mock, Rule};
use manage::error::Error;
use manage::hosts::LIVE_STATES;
use manage::image;
use manage::stack::instances;

type Ec2 = aws_sdk_ec2::Client;
type Cfn = aws_sdk_cloudformation::Client;

fn ec2_mocked(rules: &[&Rule]) -> Ec2 {
    crate::mocks::hand_mocked!(aws_sdk_ec2, rules)
}

fn ec2_error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} (scripted)"))
        .build()
}

fn instance(id: &str, state: &str) -> Instance {
    Instance::builder()
        .instance_id(id)
        .state(
            InstanceState::builder()
                .name(InstanceStateName::from(state))
                .build(),
        )
        .private_ip_address("10.0.0.9")
        .tags(Tag::builder().key("App").value("argos").build())
        .tags(Tag::builder().key("Env").value("staging").build())
        .tags(Tag::builder().key("Group").value("app").build())
        .build()
}

fn reservations(list: &[Instance]) -> DescribeInstancesOutput {
    DescribeInstancesOutput::builder()
        .reservations(
            Reservation::builder()
                .set_instances(Some(list.to_vec()))
                .build(),
        )
        .build()
}

/// The stack reports two instances.
fn stack_instances(cfn_rules: &mut Vec<Rule>) -> Cfn {
    let summary = |id: &str| {
        StackResourceSummary::builder()
            .logical_resource_id(format!("Host{id}"))
            .physical_resource_id(id)
            .resource_type("AWS::EC2::Instance")
            .resource_status(aws_sdk_cloudformation::types::ResourceStatus::CreateComplete)
            .last_updated_timestamp(smithy_time(chrono::Utc::now()))
            .build()
    };
    let list = vec![summary("i-1"), summary("i-2")];
    let rule = mock!(aws_sdk_cloudformation::Client::list_stack_resources).then_output(move || {
        ListStackResourcesOutput::builder()
            .set_stack_resource_summaries(Some(list.clone()))
            .build()
    });
    cfn_rules.push(rule);
    let refs: Vec<&Rule> = cfn_rules.iter().collect();
    mocked(&refs)
}

const TAGS: &[(&str, &str)] = &[("App", "argos"), ("Env", "staging")];

#[tokio::test(start_paused = true)]
async fn deploy_waits_until_every_instance_of_the_stack_is_visible_by_tags() {
    let mut rules = Vec::new();
    let cfn = stack_instances(&mut rules);
    // The tag search first misses i-2, then is throttled, then sees both.
    let search = mock!(Ec2::describe_instances)
        .match_requests(|r| r.instance_ids().is_empty())
        .sequence()
        .output(|| reservations(&[instance("i-1", "running")]))
        .error(|| DescribeInstancesError::generic(ec2_error("RequestLimitExceeded")))
        .output(|| reservations(&[instance("i-1", "running"), instance("i-2", "pending")]))
        .output(|| reservations(&[instance("i-1", "running"), instance("i-2", "running")]))
        .build();
    // By id, the new instance is not known yet either.
    let by_id = mock!(Ec2::describe_instances)
        .match_requests(|r| !r.instance_ids().is_empty())
        .then_error(|| DescribeInstancesError::generic(ec2_error("InvalidInstanceID.NotFound")));
    let ec2 = ec2_mocked(&[&search, &by_id]);
    let found = instances::visible(&cfn, &ec2, ID, TAGS, LIVE_STATES, pacing(300))
        .await
        .unwrap();
    let mut ids: Vec<_> = found.iter().map(|i| i.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["i-1", "i-2"]);
    assert_eq!(search.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_host_that_never_shows_up_fails_the_wait_naming_it() {
    let mut rules = Vec::new();
    let cfn = stack_instances(&mut rules);
    let search = mock!(Ec2::describe_instances)
        .match_requests(|r| r.instance_ids().is_empty())
        .then_output(|| reservations(&[instance("i-1", "running")]));
    let by_id = mock!(Ec2::describe_instances)
        .match_requests(|r| !r.instance_ids().is_empty())
        .then_output(|| reservations(&[instance("i-2", "running")]));
    let ec2 = ec2_mocked(&[&search, &by_id]);
    let err = instances::visible(&cfn, &ec2, ID, TAGS, LIVE_STATES, pacing(60))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("instance(s) i-2 of stack"), "{msg}");
    assert!(msg.contains("App=argos, Env=staging"), "{msg}");
}

#[tokio::test(start_paused = true)]
async fn a_terminated_instance_the_stack_still_lists_is_not_waited_for() {
    let mut rules = Vec::new();
    let cfn = stack_instances(&mut rules);
    let search = mock!(Ec2::describe_instances)
        .match_requests(|r| r.instance_ids().is_empty())
        .then_output(|| reservations(&[instance("i-1", "running")]));
    let by_id = mock!(Ec2::describe_instances)
        .match_requests(|r| !r.instance_ids().is_empty())
        .then_output(|| reservations(&[instance("i-2", "terminated")]));
    let ec2 = ec2_mocked(&[&search, &by_id]);
    let found = instances::visible(&cfn, &ec2, ID, TAGS, LIVE_STATES, pacing(60))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(search.num_calls(), 1);
}

fn image_in(state: &str) -> DescribeImagesOutput {
    DescribeImagesOutput::builder()
        .images(
            Image::builder()
                .image_id("ami-new")
                .name("argos-image")
                .state(ImageState::from(state))
                .block_device_mappings(
                    BlockDeviceMapping::builder()
                        .device_name("/dev/sda1")
                        .ebs(EbsBlockDevice::builder().snapshot_id("snap-1").build())
                        .build(),
                )
                .build(),
        )
        .build()
}

fn deregister() -> Rule {
    mock!(Ec2::deregister_image).then_output(|| DeregisterImageOutput::builder().build())
}

#[tokio::test(start_paused = true)]
async fn throttling_in_the_image_wait_never_deregisters_the_new_image() {
    let throttled = || DescribeImagesError::generic(ec2_error("RequestLimitExceeded"));
    let describe = mock!(Ec2::describe_images)
        .sequence()
        .output(|| image_in("pending"))
        .error(throttled)
        .error(throttled)
        .error(throttled)
        .output(|| image_in("pending"))
        .output(|| image_in("available"))
        .build();
    let dereg = deregister();
    let ec2 = ec2_mocked(&[&describe, &dereg]);
    let image = image::wait::available(&ec2, "ami-new", pacing(600))
        .await
        .unwrap();
    assert_eq!(image.state, "available");
    assert_eq!(image.snapshot_ids, ["snap-1"]);
    assert_eq!(dereg.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_image_is_deregistered_and_its_snapshot_deleted_once_released() {
    let describe = mock!(Ec2::describe_images)
        .sequence()
        .output(|| image_in("pending"))
        .output(|| image_in("failed"))
        .output(|| image_in("failed"))
        .build();
    let dereg = deregister();
    let delete = snapshot_in_use_twice();
    let ec2 = ec2_mocked(&[&describe, &dereg, &delete]);
    let err = image::wait::available(&ec2, "ami-new", pacing(600))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("ended in state failed"), "{msg}");
    assert!(msg.contains("deregistered"), "{msg}");
    assert_eq!(dereg.num_calls(), 1);
    assert_eq!(delete.num_calls(), 3);
}

/// DeleteSnapshot answers InvalidSnapshot.InUse twice, then deletes.
fn snapshot_in_use_twice() -> Rule {
    let in_use = || DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.InUse"));
    mock!(Ec2::delete_snapshot)
        .sequence()
        .error(in_use)
        .error(in_use)
        .output(|| DeleteSnapshotOutput::builder().build())
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_in_use_is_retried_until_deleted_and_a_gone_one_counts_as_deleted() {
    let delete = snapshot_in_use_twice();
    let ec2 = ec2_mocked(&[&delete]);
    image::wait::delete_snapshots(&ec2, &["snap-1".into()], pacing(600))
        .await
        .unwrap();
    assert_eq!(delete.num_calls(), 3);

    let gone = mock!(Ec2::delete_snapshot)
        .then_error(|| DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.NotFound")));
    let ec2 = ec2_mocked(&[&gone]);
    image::wait::delete_snapshots(&ec2, &["snap-1".into()], pacing(600))
        .await
        .unwrap();

    // Still in use at the deadline: a timeout that says to run clean again (exit 4).
    let stuck = mock!(Ec2::delete_snapshot)
        .then_error(|| DeleteSnapshotError::generic(ec2_error("InvalidSnapshot.InUse")));
    let ec2 = ec2_mocked(&[&stuck]);
    let err = image::wait::delete_snapshots(&ec2, &["snap-1".into()], pacing(30))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("run clean again"), "{err}");
    assert!(stuck.num_calls() > 3);
}

#[tokio::test(start_paused = true)]
async fn the_root_cause_of_a_failed_create_is_found_past_the_newest_hundred_events() {
    let s = "AWS::CloudFormation::Stack";
    let mut history = vec![
        event(
            ID,
            0,
            -900,
            NAME,
            s,
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
        ),
        event(
            ID,
            1,
            -899,
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some("quota exceeded"),
        ),
    ];
    // 150 resources cancelled and rolled back after Db failed: the failure is on page 2.
    for n in 0..150 {
        let id = format!("Queue{n}");
        let t = -800 + i64::from(n);
        history.push(event(
            ID,
            2,
            t,
            &id,
            "AWS::SQS::Queue",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
        ));
    }
    history.push(event(ID, 3, -10, NAME, s, "ROLLBACK_COMPLETE", None));
    let newest: Vec<_> = history[history.len() - 100..].to_vec();
    let older: Vec<_> = history[..history.len() - 100].to_vec();
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || page(newest.clone(), Some("page-2")));
    let events_2 = mock!(aws_sdk_cloudformation::Client::describe_stack_events)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || page(older.clone(), None));
    let describe = statuses(&["ROLLBACK_COMPLETE"]);
    let client = mocked(&[&describe, &events, &events_2]);
    let op = Scripted::new(false);
    let rec = manage::stack::Recovery {
        env: "staging",
        no_wait: false,
        dry_run: false,
        skip: &[],
        retain: &[],
        role_arn: None,
        pacing: pacing(600),
    };
    let err = manage::stack::settle(&client, NAME, manage::stack::Intent::Commission, &rec, &op)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(events_2.num_calls(), 1);
    let said = op.transcript();
    assert!(
        said.contains("it failed at Db (AWS::RDS::DBInstance) CREATE_FAILED: quota exceeded"),
        "{said}"
    );
}
