//! Scripted CloudFormation answers (aws-smithy-mocks) and a scripted operator, for sequences
//! the emulator cannot produce.

use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::types::{
    ResourceStatus, Stack, StackEvent, StackResourceSummary, StackStatus,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::{DateTime, Utc};
use manage::aws::cloudformation as ours;
use manage::error::{Error, Result};
use manage::stack::{Operator, Origin, Pacing, Watch};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

pub const NAME: &str = "argos-staging";
pub const ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/argos-staging/0f1e2d3c";

/// A client answering only from `rules`, in any order; the SDK's own retries are off so that
/// throttling reaches our poll loop.
pub fn mocked(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules, |c| c
        .retry_config(
            aws_sdk_cloudformation::config::retry::RetryConfig::disabled()
        ))
}

/// A client of an SDK crate answering only from `rules`, in any order, with the SDK's own
/// retries off so that throttling reaches our loops. Built by hand, because `mock_client!`
/// needs the crate's test-util feature, which would rebuild the largest SDK crates.
macro_rules! hand_mocked {
    ($krate:ident, $rules:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode(aws_smithy_mocks::RuleMode::MatchAny);
        for r in $rules {
            interceptor = interceptor.with_rule(r);
        }
        let conf = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(interceptor)
            .retry_config($krate::config::retry::RetryConfig::disabled())
            .build();
        $krate::Client::from_conf(conf)
    }};
}
pub(crate) use hand_mocked;

/// The pacing real runs use, with a deadline of `secs`.
pub fn pacing(secs: u64) -> Pacing {
    Pacing::with_deadline(Duration::from_secs(secs))
}

pub fn smithy_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

pub fn stack(status: &str) -> Stack {
    Stack::builder()
        .stack_id(ID)
        .stack_name(NAME)
        .stack_status(StackStatus::from(status))
        .creation_time(smithy_time(Utc::now() - chrono::Duration::hours(1)))
        .build()
}

/// The same stack as manage's own `Stack`, UPDATE_COMPLETE, as the actions hold it.
pub fn our_stack() -> ours::Stack {
    ours::Stack {
        id: ID.into(),
        name: NAME.into(),
        status: "UPDATE_COMPLETE".into(),
        ..ours::Stack::default()
    }
}

pub fn described(status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(stack(status))
        .build()
}

/// DescribeStacks answering these statuses in turn, then the last one for ever.
pub fn statuses(list: &[&str]) -> Rule {
    let mut seq = mock!(Client::describe_stacks).sequence();
    for s in list {
        let s = s.to_string();
        seq = seq.output(move || described(&s));
    }
    seq.repeatedly().build()
}

/// DescribeStacks for a stack that is gone (how CloudFormation reports it by name).
pub fn missing() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message(format!("Stack with id {NAME} does not exist"))
            .build(),
    )
}

pub fn throttled() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

/// One event; `secs` is its time relative to now (negative: before now).
pub fn event(
    stack_id: &str,
    n: u32,
    secs: i64,
    id: &str,
    ty: &str,
    status: &str,
    reason: Option<&str>,
) -> StackEvent {
    let mut b = StackEvent::builder()
        .stack_id(stack_id)
        .stack_name(stack_id.split('/').nth(1).unwrap_or(NAME))
        .event_id(format!("{id}-{status}-{n}"))
        .timestamp(smithy_time(Utc::now() + chrono::Duration::seconds(secs)))
        .logical_resource_id(id)
        .resource_type(ty)
        .resource_status(ResourceStatus::from(status));
    if let Some(r) = reason {
        b = b.resource_status_reason(r);
    }
    b.build()
}

/// A page of events, newest first, as the API returns them.
pub fn page(mut events: Vec<StackEvent>, next: Option<&str>) -> DescribeStackEventsOutput {
    events.reverse();
    DescribeStackEventsOutput::builder()
        .set_stack_events(Some(events))
        .set_next_token(next.map(str::to_owned))
        .build()
}

/// DescribeStackEvents for the env's stack: the first `shown[0]` events of `all` (oldest
/// first) on the first call, the first `shown[1]` on the second, and so on; then all of them.
pub fn events_over_time(all: Vec<StackEvent>, shown: &[usize]) -> Rule {
    let mut seq = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(ID))
        .sequence();
    for n in shown {
        let some = all[..*n].to_vec();
        seq = seq.output(move || page(some.clone(), None));
    }
    seq.output(move || page(all.clone(), None))
        .repeatedly()
        .build()
}

pub fn resource(id: &str, ty: &str, status: &str, reason: Option<&str>) -> StackResourceSummary {
    StackResourceSummary::builder()
        .logical_resource_id(id)
        .physical_resource_id(format!("{id}-physical"))
        .resource_type(ty)
        .resource_status(ResourceStatus::from(status))
        .set_resource_status_reason(reason.map(str::to_owned))
        .last_updated_timestamp(smithy_time(Utc::now()))
        .build()
}

/// The operator: answers every confirmation with `agree`, and writes down everything said.
pub struct Scripted {
    pub agree: bool,
    pub said: Rc<RefCell<Vec<String>>>,
    pub asked: RefCell<Vec<String>>,
}

impl Scripted {
    pub fn new(agree: bool) -> Self {
        Self {
            agree,
            said: Rc::default(),
            asked: RefCell::default(),
        }
    }

    pub fn transcript(&self) -> String {
        self.said.borrow().join("\n")
    }
}

impl Operator for Scripted {
    fn step(&self, msg: &str) {
        self.said.borrow_mut().push(format!("step: {msg}"));
    }

    fn info(&self, msg: &str) {
        self.said.borrow_mut().push(format!("info: {msg}"));
    }

    fn warn(&self, msg: &str) {
        self.said.borrow_mut().push(format!("warn: {msg}"));
    }

    fn confirm(&self, what: &str, question: &str) -> Result<()> {
        self.asked.borrow_mut().push(question.to_owned());
        if self.agree {
            Ok(())
        } else {
            Err(Error::Refused(format!("{what} not confirmed")))
        }
    }

    fn watch(&self, _stack: &str, origin: Origin) -> Box<dyn Watch> {
        Box::new(Recorder {
            said: self.said.clone(),
            origin,
        })
    }
}

/// Writes each event, status and retry of a wait into the transcript.
pub struct Recorder {
    pub said: Rc<RefCell<Vec<String>>>,
    pub origin: Origin,
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            said: Rc::default(),
            origin: Box::new(|_| None),
        }
    }

    pub fn lines(&self, prefix: &str) -> Vec<String> {
        self.said
            .borrow()
            .iter()
            .filter_map(|l| l.strip_prefix(prefix).map(str::to_owned))
            .collect()
    }
}

impl Watch for Recorder {
    fn event(&self, e: &ours::StackEvent) {
        let from = (self.origin)(&e.logical_id).unwrap_or_default();
        self.said
            .borrow_mut()
            .push(format!("event: {} {} {from}", e.logical_id, e.status));
    }

    fn status(&self, status: &str) {
        self.said.borrow_mut().push(format!("status: {status}"));
    }

    fn retrying(&self, why: &str) {
        self.said.borrow_mut().push(format!("retrying: {why}"));
    }
}
