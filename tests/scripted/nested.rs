//! `update` of a stack with a nested stack: the change set is made with IncludeNestedStacks,
//! and the nested stack's own change set (which the emulator does not make) is read, shown and
//! judged by the data guard.

use crate::mocks::*;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, ResourceAttribute,
    ResourceChange,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::actions::update::{apply, Options, Outcome, Proposal, Updated};
use serde_json::json;

const PARENT_SET: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/manage-1/abc";
const NESTED_SET: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:changeSet/manage-1-Jobs/def";
const NESTED_STACK: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/argos-staging-Jobs-1X2Y/9a8b";

fn change(action: ChangeAction, id: &str, ty: &str, nested_set: Option<&str>) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(action)
                .logical_resource_id(id)
                .resource_type(ty)
                .scope(ResourceAttribute::Properties)
                .set_change_set_id(nested_set.map(str::to_owned))
                .build(),
        )
        .build()
}

fn described(id: &str, stack: &str, changes: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(id)
        .change_set_name("manage-1")
        .stack_id(stack)
        .status(ChangeSetStatus::CreateComplete)
        .execution_status(ExecutionStatus::Available)
        .set_changes(Some(changes))
        .build()
}

struct Script {
    create: Rule,
    parent: Rule,
    nested: Rule,
    parent_template: Rule,
    template: Rule,
    delete: Rule,
    execute: Rule,
}

/// The parent's change set: `action` on the nested stack `Jobs`, with its own change set.
fn parent(action: ChangeAction, nested_set: Option<&'static str>) -> Rule {
    mock!(Client::describe_change_set)
        .match_requests(|r| r.change_set_name() == Some(PARENT_SET))
        .then_output(move || {
            let jobs = "AWS::CloudFormation::Stack";
            described(
                PARENT_SET,
                ID,
                vec![change(action.clone(), "Jobs", jobs, nested_set)],
            )
        })
}

impl Script {
    /// The nested stack `Jobs` changes: inside it, `inner` happens.
    fn new(inner: Change) -> Self {
        Self {
            create: mock!(Client::create_change_set)
                .match_requests(|r| r.include_nested_stacks() == Some(true))
                .then_output(|| {
                    CreateChangeSetOutput::builder()
                        .id(PARENT_SET)
                        .stack_id(ID)
                        .build()
                }),
            parent: parent(ChangeAction::Modify, Some(NESTED_SET)),
            nested: mock!(Client::describe_change_set)
                .match_requests(|r| r.change_set_name() == Some(NESTED_SET))
                .then_output(move || described(NESTED_SET, NESTED_STACK, vec![inner.clone()])),
            parent_template: mock!(Client::get_template)
                .match_requests(|r| r.stack_name() == Some(ID))
                .then_output(|| GetTemplateOutput::builder().template_body("{}").build()),
            template: mock!(Client::get_template)
                .match_requests(|r| r.stack_name() == Some(NESTED_STACK))
                .then_output(|| {
                    GetTemplateOutput::builder()
                        .template_body(
                            json!({"Resources": {"Uploads": {"Type": "AWS::S3::Bucket"}}})
                                .to_string(),
                        )
                        .build()
                }),
            delete: mock!(Client::delete_change_set)
                .match_requests(|r| r.change_set_name() == Some(PARENT_SET))
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            execute: mock!(Client::execute_change_set)
                .match_requests(|r| r.change_set_name() == Some(PARENT_SET))
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
        }
    }

    fn client(&self, stacks: &Rule) -> Client {
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        mocked(&[
            &self.create,
            &self.parent,
            &self.nested,
            &self.template,
            &self.parent_template,
            &self.delete,
            &self.execute,
            stacks,
            &events,
        ])
    }
}

async fn run(
    client: &Client,
    op: &Scripted,
    allow_replace: bool,
) -> manage::error::Result<Updated> {
    let stack = our_stack();
    let template = json!({"Resources": {"Jobs": {"Type": "AWS::CloudFormation::Stack",
        "Properties": {"TemplateURL": "https://b.s3.amazonaws.com/argos/staging/c.json"}}}});
    let defined_in = |id: &str| match id {
        "Jobs" => Some("formations/jobs.yaml:2".to_owned()),
        "Jobs/Worker" => Some("formations/nested/jobs.yaml:5".to_owned()),
        _ => None,
    };
    let nested_template = |path: &str| {
        (path == "Jobs").then(|| json!({"Resources": {"Worker": {"Type": "AWS::EC2::VPC"}}}))
    };
    let proposal = Proposal {
        stack: &stack,
        template_url: "https://b.s3.amazonaws.com/argos/staging/x.json",
        template: &template,
        parameters: &[],
        secret: &Default::default(),
        tags: &[],
        capabilities: vec![],
        role_arn: None,
        notification_arns: &[],
        defined_in: &defined_in,
        nested_template: &nested_template,
    };
    let options = Options {
        env: "staging",
        dry_run: false,
        allow_replace,
        protected: false,
        pacing: pacing(600),
    };
    apply(op, client, &proposal, &options).await
}

#[tokio::test(start_paused = true)]
async fn removing_a_bucket_inside_a_nested_stack_is_refused() {
    let s = Script::new(change(
        ChangeAction::Remove,
        "Uploads",
        "AWS::S3::Bucket",
        None,
    ));
    let client = s.client(&statuses(&["UPDATE_COMPLETE"]));
    let op = Scripted::new(true);
    let err = run(&client, &op, false).await.unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(
        err.to_string()
            .contains("Jobs/Uploads (AWS::S3::Bucket) would be removed: it holds data"),
        "{err}"
    );
    assert_eq!(s.create.num_calls(), 1, "made with IncludeNestedStacks");
    assert_eq!(s.nested.num_calls(), 1, "the nested change set was read");
    assert_eq!(
        s.template.num_calls(),
        1,
        "the nested stack's running template"
    );
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 1));
    let said = op.transcript();
    assert!(
        said.lines().any(|l| l.contains("Remove")
            && l.contains("Jobs/Uploads")
            && l.contains("AWS::S3::Bucket")),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_nested_change_is_shown_with_its_child_file_and_runs_once_confirmed() {
    let s = Script::new(change(ChangeAction::Add, "Worker", "AWS::EC2::VPC", None));
    let client = s.client(&statuses(&[
        "UPDATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]));
    let op = Scripted::new(true);
    let updated = run(&client, &op, false).await.unwrap();
    assert_eq!(updated.outcome, Outcome::Updated);
    assert!(updated.needs_allow_replace.is_empty());
    assert_eq!(
        s.template.num_calls(),
        0,
        "an addition needs no running template"
    );
    assert_eq!(s.execute.num_calls(), 1);
    let json = serde_json::to_value(&updated).unwrap();
    assert_eq!(json["changes"][0]["logical_id"], "Jobs");
    assert_eq!(json["changes"][0]["change_set_id"], NESTED_SET);
    assert_eq!(json["changes"][1]["logical_id"], "Jobs/Worker");
    assert_eq!(json["changes"][1]["fragment"], "jobs.yaml");
    assert_eq!(
        json["changes"][1]["defined_in"],
        "formations/nested/jobs.yaml:5"
    );
}

#[tokio::test(start_paused = true)]
async fn removing_a_whole_nested_stack_needs_allow_replace() {
    let mut s = Script::new(change(ChangeAction::Add, "Worker", "AWS::EC2::VPC", None));
    s.parent = parent(ChangeAction::Remove, None);
    let client = s.client(&statuses(&["UPDATE_COMPLETE"]));
    let err = run(&client, &Scripted::new(true), false).await.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.to_string().contains(
            "Jobs (AWS::CloudFormation::Stack) would be removed: a nested stack: every resource in it is deleted"
        ),
        "{err}"
    );
    assert_eq!(
        s.nested.num_calls(),
        0,
        "a removed nested stack has no change set"
    );
}
