//! Route53 behaviour the emulator cannot produce: a change that stays PENDING before INSYNC,
//! one that never settles, throttling, access denied, and a plan too big for one request.

use crate::mocks::pacing;
use aws_sdk_route53::error::ErrorMetadata;
use aws_sdk_route53::operation::change_resource_record_sets::{
    ChangeResourceRecordSetsError, ChangeResourceRecordSetsOutput,
};
use aws_sdk_route53::operation::get_change::{GetChangeError, GetChangeOutput};
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus};
use aws_sdk_route53::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::aws::route53::Zone;
use manage::dns::{self, sync, DnsHost, Naming};
use std::sync::{Arc, Mutex};

fn mocked(rules: &[&Rule]) -> Client {
    crate::mocks::hand_mocked!(aws_sdk_route53, rules)
}

fn zone() -> Zone {
    Zone {
        id: "Z0123456789".into(),
        name: "example.internal.".into(),
        private: true,
    }
}

fn info(status: &str) -> ChangeInfo {
    ChangeInfo::builder()
        .id("/change/C1")
        .status(ChangeStatus::from(status))
        .submitted_at(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn accepted() -> Rule {
    mock!(Client::change_resource_record_sets).then_output(|| {
        ChangeResourceRecordSetsOutput::builder()
            .change_info(info("PENDING"))
            .build()
    })
}

fn status(s: &'static str) -> GetChangeOutput {
    GetChangeOutput::builder().change_info(info(s)).build()
}

fn throttled_change() -> ChangeResourceRecordSetsError {
    ChangeResourceRecordSetsError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

/// The plan for `n` web hosts in an empty zone.
fn plan(n: u32) -> Vec<dns::NameChange> {
    let naming = Naming::new("argos", "qa", "example.internal.");
    let hosts: Vec<DnsHost> = (0..n)
        .map(|i| DnsHost {
            group: "web".into(),
            number: i,
            address: format!("10.1.{}.{}", i / 200, i % 200 + 1),
        })
        .collect();
    let want = dns::desired(&naming, &hosts, 60).unwrap();
    dns::diff(&naming, &want, &[]).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_change_pending_for_a_while_is_waited_on_until_insync() {
    let change = accepted();
    let get = mock!(Client::get_change)
        .sequence()
        .output(|| status("PENDING"))
        .output(|| status("PENDING"))
        .output(|| status("PENDING"))
        .output(|| status("INSYNC"))
        .build();
    let client = mocked(&[&change, &get]);
    let applied = sync::apply(&client, &zone(), &plan(2), pacing(300))
        .await
        .unwrap();
    assert_eq!(applied.batches, 1);
    assert_eq!(change.num_calls(), 1);
    assert_eq!(get.num_calls(), 4, "looked at once, then until INSYNC");
}

#[tokio::test(start_paused = true)]
async fn a_change_that_never_settles_times_out_naming_it() {
    let change = accepted();
    let get = mock!(Client::get_change).then_output(|| status("PENDING"));
    let client = mocked(&[&change, &get]);
    let e = sync::apply(&client, &zone(), &plan(1), pacing(60))
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 4);
    assert!(
        e.to_string()
            .contains("Route53 change /change/C1 to be INSYNC"),
        "{e}"
    );
    assert!(get.num_calls() > 5, "kept looking: {}", get.num_calls());
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_with_backoff_until_it_passes() {
    let change = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(throttled_change)
        .error(throttled_change)
        .output(|| {
            ChangeResourceRecordSetsOutput::builder()
                .change_info(info("PENDING"))
                .build()
        })
        .build();
    let get = mock!(Client::get_change)
        .sequence()
        .error(|| {
            GetChangeError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| status("INSYNC"))
        .build();
    let client = mocked(&[&change, &get]);
    sync::apply(&client, &zone(), &plan(3), pacing(300))
        .await
        .unwrap();
    assert_eq!(change.num_calls(), 3);
    assert_eq!(get.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn access_denied_names_the_zone_and_the_permission() {
    let change = mock!(Client::change_resource_record_sets).then_error(|| {
        ChangeResourceRecordSetsError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:iam::123456789012:user/ci is not authorized")
                .build(),
        )
    });
    let client = mocked(&[&change]);
    let e = sync::apply(&client, &zone(), &plan(1), pacing(300))
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(msg.contains("example.internal."), "{msg}");
    assert!(msg.contains("route53:ChangeResourceRecordSets"), "{msg}");
    assert_eq!(change.num_calls(), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn a_plan_over_the_api_limits_goes_in_several_requests_each_within_them() {
    let seen: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let record = seen.clone();
    let change = mock!(Client::change_resource_record_sets)
        .match_requests(move |r| {
            let sets = r.change_batch().map(|b| b.changes()).unwrap_or_default();
            let values = sets
                .iter()
                .filter_map(|c| c.resource_record_set())
                .flat_map(|s| s.resource_records());
            let (n, chars) = values.fold((0, 0), |(n, c), v| (n + 1, c + v.value().len()));
            record.lock().unwrap().push((n, chars));
            true
        })
        .then_output(|| {
            ChangeResourceRecordSetsOutput::builder()
                .change_info(info("PENDING"))
                .build()
        });
    let get = mock!(Client::get_change).then_output(|| status("INSYNC"));
    let client = mocked(&[&change, &get]);
    let plan = plan(600);
    let total: usize = plan
        .iter()
        .flat_map(|c| &c.changes)
        .map(|c| c.set.values.len())
        .sum();
    let applied = sync::apply(&client, &zone(), &plan, pacing(300))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 2, "{seen:?}");
    assert_eq!(applied.batches, seen.len());
    assert_eq!(
        seen.iter().map(|(n, _)| n).sum::<usize>(),
        total,
        "every record sent once"
    );
    for (n, chars) in &seen {
        assert!(
            *n <= dns::plan::MAX_RECORDS && *chars <= dns::plan::MAX_CHARS,
            "{seen:?}"
        );
    }
    assert_eq!(get.num_calls(), seen.len(), "each request waited on");
}
