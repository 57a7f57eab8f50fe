//! Drift detection, which the emulator lacks: a detection that runs a while and finds hand-made
//! changes, one that fails, one that outlives its deadline, throttling on the way, and an
//! endpoint without the API.

use crate::mocks::*;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::{
    DescribeStackDriftDetectionStatusError, DescribeStackDriftDetectionStatusOutput,
};
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::{
    DetectStackDriftError, DetectStackDriftOutput,
};
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, StackDriftDetectionStatus, StackDriftStatus,
    StackResourceDrift, StackResourceDriftStatus,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::actions::drift_note::drift_note;
use manage::error::Error;
use manage::stack::drift::{detect, Drift};

const DETECTION: &str = "d1e2f3a4-drift";

fn started() -> Rule {
    mock!(Client::detect_stack_drift)
        .match_requests(|r| r.stack_name() == Some(ID))
        .then_output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id(DETECTION)
                .build()
        })
}

/// A detection that completes at the first look, DRIFTED, with the resources of `two_pages`.
fn drifted_at_once() -> Client {
    let start = started();
    let looks = mock!(Client::describe_stack_drift_detection_status)
        .then_output(|| status("DETECTION_COMPLETE", Some("DRIFTED"), None));
    let pages = two_pages();
    mocked(&[&start, &looks, &pages])
}

fn status(
    detection: &str,
    drift: Option<&str>,
    reason: Option<&str>,
) -> DescribeStackDriftDetectionStatusOutput {
    DescribeStackDriftDetectionStatusOutput::builder()
        .stack_id(ID)
        .stack_drift_detection_id(DETECTION)
        .detection_status(StackDriftDetectionStatus::from(detection))
        .set_stack_drift_status(drift.map(StackDriftStatus::from))
        .set_detection_status_reason(reason.map(str::to_owned))
        .timestamp(smithy_time(chrono::Utc::now()))
        .build()
}

fn throttled_status() -> DescribeStackDriftDetectionStatusError {
    DescribeStackDriftDetectionStatusError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

fn drift(
    id: &str,
    ty: &str,
    physical: &str,
    status: &str,
    diffs: &[(&str, &str, &str, &str)],
) -> StackResourceDrift {
    let mut b = StackResourceDrift::builder()
        .stack_id(ID)
        .logical_resource_id(id)
        .physical_resource_id(physical)
        .resource_type(ty)
        .stack_resource_drift_status(StackResourceDriftStatus::from(status))
        .timestamp(smithy_time(chrono::Utc::now()));
    for (path, expected, actual, kind) in diffs {
        b = b.property_differences(
            PropertyDifference::builder()
                .property_path(*path)
                .expected_value(*expected)
                .actual_value(*actual)
                .difference_type(DifferenceType::from(*kind))
                .build(),
        );
    }
    b.build()
}

/// Two pages: a security group and an instance changed by hand, then a deleted queue.
fn two_pages() -> Rule {
    mock!(Client::describe_stack_resource_drifts)
        .match_requests(|r| {
            r.stack_name() == Some(ID)
                && r.stack_resource_drift_status_filters()
                    == [
                        StackResourceDriftStatus::Modified,
                        StackResourceDriftStatus::Deleted,
                    ]
        })
        .sequence()
        .output(|| {
            DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(drift(
                    "WebSg",
                    "AWS::EC2::SecurityGroup",
                    "sg-0abc",
                    "MODIFIED",
                    &[
                        (
                            "/SecurityGroupIngress/0/CidrIp",
                            "10.0.0.0/16",
                            "0.0.0.0/0",
                            "NOT_EQUAL",
                        ),
                        ("/SecurityGroupIngress/1", "", "{\"FromPort\":22}", "ADD"),
                    ],
                ))
                .stack_resource_drifts(drift(
                    "Web1",
                    "AWS::EC2::Instance",
                    "i-0123",
                    "MODIFIED",
                    &[("/InstanceType", "t3.micro", "t3.large", "NOT_EQUAL")],
                ))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeStackResourceDriftsOutput::builder()
                .stack_resource_drifts(drift(
                    "Jobs",
                    "AWS::SQS::Queue",
                    "https://sqs/jobs",
                    "DELETED",
                    &[],
                ))
                .build()
        })
        .build()
}

fn no_drifts() -> Rule {
    mock!(Client::describe_stack_resource_drifts).then_output(|| {
        DescribeStackResourceDriftsOutput::builder()
            .set_stack_resource_drifts(Some(vec![]))
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_detection_in_progress_then_complete_lists_every_hand_made_change_from_every_page() {
    let start = started();
    let looks = mock!(Client::describe_stack_drift_detection_status)
        .match_requests(|r| r.stack_drift_detection_id() == Some(DETECTION))
        .sequence()
        .output(|| status("DETECTION_IN_PROGRESS", None, None))
        .times(2)
        .output(|| status("DETECTION_COMPLETE", Some("DRIFTED"), None))
        .build();
    let pages = two_pages();
    let client = mocked(&[&start, &looks, &pages]);
    let t0 = tokio::time::Instant::now();
    let Drift::Drifted(found) = detect(&client, ID, pacing(1800)).await.unwrap() else {
        panic!("expected drift");
    };
    assert_eq!(
        (start.num_calls(), looks.num_calls(), pages.num_calls()),
        (1, 3, 2)
    );
    // Looked at once, then after 0.25 s and 0.5 s more: the backoff of every other wait.
    assert_eq!(t0.elapsed(), std::time::Duration::from_millis(750));
    let ids: Vec<_> = found
        .iter()
        .map(|r| (r.logical_id.as_str(), r.drift.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("WebSg", "MODIFIED"),
            ("Web1", "MODIFIED"),
            ("Jobs", "DELETED")
        ]
    );
    let sg = &found[0];
    assert_eq!(sg.physical_id.as_deref(), Some("sg-0abc"));
    assert_eq!(sg.resource_type, "AWS::EC2::SecurityGroup");
    assert_eq!(sg.differences.len(), 2);
    let d = &sg.differences[0];
    assert_eq!(
        (
            d.path.as_str(),
            d.expected.as_str(),
            d.actual.as_str(),
            d.difference.as_str()
        ),
        (
            "/SecurityGroupIngress/0/CidrIp",
            "10.0.0.0/16",
            "0.0.0.0/0",
            "NOT_EQUAL"
        )
    );
    assert!(found[2].differences.is_empty());
    let table = manage::ui::drift::render(&found);
    assert!(
        table.contains("Web1") && table.contains("t3.micro") && table.contains("t3.large"),
        "{table}"
    );
    let json = serde_json::to_value(&found).unwrap();
    assert_eq!(json[1]["differences"][0]["actual"], "t3.large");
    assert_eq!(json[2]["drift"], "DELETED");
}

#[tokio::test(start_paused = true)]
async fn a_failed_detection_is_an_error_with_cloudformations_reason() {
    let start = started();
    let looks = mock!(Client::describe_stack_drift_detection_status)
        .sequence()
        .output(|| status("DETECTION_IN_PROGRESS", None, None))
        .output(|| {
            status(
                "DETECTION_FAILED",
                None,
                Some("Failed to detect drift on resource [Web1]: not authorized to perform ec2:DescribeInstances"),
            )
        })
        .build();
    let pages = no_drifts();
    let client = mocked(&[&start, &looks, &pages]);
    let e = detect(&client, ID, pacing(1800)).await.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let line = e.to_string();
    assert!(
        line.contains("drift detection of stack") && line.contains("ec2:DescribeInstances"),
        "{line}"
    );
    assert_eq!(
        pages.num_calls(),
        0,
        "a failed detection's results were read"
    );
}

#[tokio::test(start_paused = true)]
async fn a_detection_still_running_at_the_deadline_times_out() {
    let start = started();
    let looks = mock!(Client::describe_stack_drift_detection_status)
        .then_output(|| status("DETECTION_IN_PROGRESS", None, None));
    let pages = no_drifts();
    let client = mocked(&[&start, &looks, &pages]);
    let t0 = tokio::time::Instant::now();
    let e = detect(&client, ID, pacing(60)).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert_eq!(e.exit_code(), 4);
    assert!(t0.elapsed() <= std::time::Duration::from_secs(60));
    // 0.25, 0.5, 1, 2, 4, then every 5 s: not one look a second.
    assert!(looks.num_calls() < 20, "{} looks", looks.num_calls());
    assert_eq!(pages.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn throttling_is_answered_by_waiting_then_the_detection_succeeds() {
    let start = mock!(Client::detect_stack_drift)
        .sequence()
        .error(|| {
            DetectStackDriftError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| {
            DetectStackDriftOutput::builder()
                .stack_drift_detection_id(DETECTION)
                .build()
        })
        .build();
    let looks = mock!(Client::describe_stack_drift_detection_status)
        .sequence()
        .error(throttled_status)
        .times(2)
        .output(|| status("DETECTION_COMPLETE", Some("IN_SYNC"), None))
        .build();
    let pages = no_drifts();
    let client = mocked(&[&start, &looks, &pages]);
    let found = detect(&client, ID, pacing(1800)).await.unwrap();
    assert!(matches!(found, Drift::InSync), "{found:?}");
    assert_eq!(
        (start.num_calls(), looks.num_calls(), pages.num_calls()),
        (2, 3, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_the_api_is_unsupported_not_an_error() {
    // What moto answers: HTTP 500 with an HTML page, no AWS error.
    let html = mock!(Client::detect_stack_drift)
        .sequence()
        .http_status(
            500,
            Some("<!doctype html><title>500 Internal Server Error</title>".into()),
        )
        .repeatedly()
        .build();
    let client = mocked(&[&html]);
    let found = detect(&client, ID, pacing(1800)).await.unwrap();
    let Drift::Unsupported(what) = found else {
        panic!("expected unsupported, got {found:?}");
    };
    assert!(what.contains("HTTP 500"), "{what}");
    assert_eq!(html.num_calls(), 3, "retried more than twice");

    // An endpoint that names the action unknown.
    let unknown = mock!(Client::detect_stack_drift).then_error(|| {
        DetectStackDriftError::generic(
            ErrorMetadata::builder()
                .code("InvalidAction")
                .message("The action DetectStackDrift is not valid for this web service.")
                .build(),
        )
    });
    let client = mocked(&[&unknown]);
    assert!(matches!(
        detect(&client, ID, pacing(1800)).await.unwrap(),
        Drift::Unsupported(_)
    ));

    // A real refusal stays an error.
    let denied = mock!(Client::detect_stack_drift).then_error(|| {
        DetectStackDriftError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform cloudformation:DetectStackDrift")
                .build(),
        )
    });
    let client = mocked(&[&denied]);
    let e = detect(&client, ID, pacing(1800)).await.unwrap_err();
    assert!(e.to_string().contains("AccessDenied"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn update_shows_the_drifted_resources_it_will_overwrite() {
    let client = drifted_at_once();
    let op = Scripted::new(true);
    let found = drift_note(&op, &client, &our_stack(), pacing(1800), &[]).await;
    assert_eq!(found.map(|r| r.len()), Some(3));
    let said = op.said.borrow();
    let warn = said
        .iter()
        .position(|l| {
            l == "warn: 3 resource(s) of stack argos-staging were changed by hand; the update overwrites them:"
        })
        .unwrap_or_else(|| panic!("no drift warning:\n{}", said.join("\n")));
    let table = &said[warn + 1];
    for part in [
        "info: ",
        "WebSg",
        "sg-0abc",
        "/SecurityGroupIngress/0/CidrIp",
        "0.0.0.0/0",
        "Jobs",
        "DELETED",
    ] {
        assert!(table.contains(part), "{part} missing from:\n{table}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_secret_value_in_a_drifted_property_never_shows() {
    let client = drifted_at_once();
    let op = Scripted::new(true);
    // Say the open CIDR came from a secret parameter.
    let secrets = ["0.0.0.0/0".to_owned()];
    let found = drift_note(&op, &client, &our_stack(), pacing(1800), &secrets)
        .await
        .unwrap();
    let said = op.said.borrow().join("\n");
    assert!(!said.contains("0.0.0.0/0"), "{said}");
    assert!(said.contains("****"), "{said}");
    let json = serde_json::to_string(&found).unwrap();
    assert!(!json.contains("0.0.0.0/0"), "{json}");
}

#[tokio::test(start_paused = true)]
async fn update_says_in_one_line_when_drift_cannot_be_checked_and_goes_on() {
    let failed = mock!(Client::describe_stack_drift_detection_status).then_output(|| {
        status(
            "DETECTION_FAILED",
            None,
            Some("Stack is in UPDATE_IN_PROGRESS"),
        )
    });
    let start = started();
    let client = mocked(&[&start, &failed]);
    let op = Scripted::new(true);
    assert!(drift_note(&op, &client, &our_stack(), pacing(1800), &[])
        .await
        .is_none());
    let warns: Vec<_> = op
        .said
        .borrow()
        .iter()
        .filter(|l| l.starts_with("warn: "))
        .cloned()
        .collect();
    assert_eq!(warns.len(), 1, "{warns:?}");
    assert!(
        warns[0].starts_with("warn: drift could not be checked: ")
            && warns[0].contains("UPDATE_IN_PROGRESS")
            && warns[0].ends_with("; going on"),
        "{}",
        warns[0]
    );

    let in_sync_start = started();
    let in_sync = mock!(Client::describe_stack_drift_detection_status)
        .then_output(|| status("DETECTION_COMPLETE", Some("IN_SYNC"), None));
    let pages = no_drifts();
    let client = mocked(&[&in_sync_start, &in_sync, &pages]);
    let op = Scripted::new(true);
    assert_eq!(
        drift_note(&op, &client, &our_stack(), pacing(1800), &[])
            .await
            .map(|r| r.len()),
        Some(0)
    );
    assert!(
        op.transcript().contains("info: no drift"),
        "{}",
        op.transcript()
    );
    assert!(!op.transcript().contains("warn:"), "{}", op.transcript());
}

#[tokio::test(start_paused = true)]
async fn the_drift_report_has_the_fields_the_readme_names() {
    use manage::actions::drift::{Report, Status};
    let client = drifted_at_once();
    let Drift::Drifted(resources) = detect(&client, ID, pacing(1800)).await.unwrap() else {
        panic!("expected drift");
    };
    let report = Report {
        stack: NAME.to_owned(),
        status: Status::Drifted,
        resources,
    };
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "drifted");
    let keys = keys_of(&json["resources"][0]);
    assert_eq!(
        keys,
        [
            "differences",
            "drift",
            "logical_id",
            "physical_id",
            "resource_type"
        ]
    );
    let diff = keys_of(&json["resources"][0]["differences"][0]);
    assert_eq!(diff, ["actual", "difference", "expected", "path"]);
    let text = report.to_string();
    assert!(
        text.ends_with(
            "argos-staging: 3 resource(s) changed by hand; the next update overwrites them"
        ),
        "{text}"
    );
    let in_sync = Report {
        stack: NAME.to_owned(),
        status: Status::InSync,
        resources: vec![],
    };
    assert_eq!(in_sync.to_string(), "argos-staging: no drift");
    assert_eq!(serde_json::to_value(&in_sync).unwrap()["status"], "in_sync");
}

/// A JSON object's keys, sorted.
fn keys_of(v: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}
