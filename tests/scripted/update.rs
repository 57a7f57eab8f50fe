//! `update`'s change-set steps with answers the emulator cannot give: a replacement of a
//! database, a change set CloudFormation cannot make, and a failed update with its cause.

use crate::mocks::*;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetError, CreateChangeSetOutput,
};
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Replacement,
    RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail,
    ResourceTargetDefinition,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, Rule};
use manage::actions::update::{apply, Options, Outcome, Proposal};
use serde_json::json;

const CHANGE_SET: &str = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/manage-1/abc";

fn db_replacement() -> Change {
    let target = ResourceTargetDefinition::builder()
        .attribute(ResourceAttribute::Properties)
        .name("DBInstanceClass")
        .requires_recreation(RequiresRecreation::Always)
        .build();
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id("Db")
                .physical_resource_id("argos-staging-db")
                .resource_type("AWS::RDS::DBInstance")
                .replacement(Replacement::True)
                .scope(ResourceAttribute::Properties)
                .details(ResourceChangeDetail::builder().target(target).build())
                .build(),
        )
        .build()
}

fn change_set(status: ChangeSetStatus, reason: Option<&str>, changes: Vec<Change>) -> Rule {
    let reason = reason.map(str::to_owned);
    let execution = if status == ChangeSetStatus::CreateComplete {
        ExecutionStatus::Available
    } else {
        ExecutionStatus::Unavailable
    };
    mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET)
                .change_set_name("manage-1")
                .stack_id(ID)
                .status(ChangeSetStatus::CreatePending)
                .build()
        })
        .output(move || {
            DescribeChangeSetOutput::builder()
                .change_set_id(CHANGE_SET)
                .change_set_name("manage-1")
                .stack_id(ID)
                .status(status.clone())
                .execution_status(execution.clone())
                .set_status_reason(reason.clone())
                .set_changes(Some(changes.clone()))
                .build()
        })
        .repeatedly()
        .build()
}

struct Script {
    create: Rule,
    describe_set: Rule,
    stacks: Rule,
    template: Rule,
    events: Rule,
    delete: Rule,
    execute: Rule,
}

impl Script {
    fn new(describe_set: Rule, stacks: &[&str]) -> Self {
        Self {
            create: mock!(Client::create_change_set)
                .match_requests(|r| {
                    // Every parameter is sent with its value; none relies on UsePreviousValue.
                    r.parameters()
                        .iter()
                        .all(|p| p.parameter_value().is_some() && p.use_previous_value().is_none())
                        && r.tags().len() == 2
                })
                .then_output(|| {
                    CreateChangeSetOutput::builder()
                        .id(CHANGE_SET)
                        .stack_id(ID)
                        .build()
                }),
            describe_set,
            stacks: statuses(stacks),
            template: mock!(Client::get_template).then_output(|| {
                GetTemplateOutput::builder()
                    .template_body(
                        json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance"}}}).to_string(),
                    )
                    .build()
            }),
            events: mock!(Client::describe_stack_events)
                .then_output(|| DescribeStackEventsOutput::builder().build()),
            delete: mock!(Client::delete_change_set)
                .match_requests(|r| r.change_set_name() == Some(CHANGE_SET))
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            execute: mock!(Client::execute_change_set)
                .match_requests(|r| r.change_set_name() == Some(CHANGE_SET))
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
        }
    }

    fn client(&self) -> Client {
        mocked(&[
            &self.create,
            &self.describe_set,
            &self.stacks,
            &self.template,
            &self.events,
            &self.delete,
            &self.execute,
        ])
    }
}

async fn run_apply(
    client: &Client,
    op: &Scripted,
    allow_replace: bool,
    dry_run: bool,
) -> manage::error::Result<manage::actions::update::Updated> {
    let stack = our_stack();
    let template = json!({"Resources": {"Db": {"Type": "AWS::RDS::DBInstance"}}});
    let parameters = [("DbClass".to_owned(), "db.m6i.large".to_owned())];
    let tags = [
        ("App".to_owned(), "argos".to_owned()),
        ("Env".to_owned(), "staging".to_owned()),
    ];
    let defined_in = |id: &str| (id == "Db").then(|| "formations/db.yaml:4".to_owned());
    let proposal = Proposal {
        stack: &stack,
        template_url: "https://b.s3.amazonaws.com/argos/staging/x.json",
        template: &template,
        parameters: &parameters,
        secret: &Default::default(),
        tags: &tags,
        capabilities: vec![],
        role_arn: None,
        notification_arns: &[],
        defined_in: &defined_in,
        nested_template: &|_| None,
    };
    let options = Options {
        env: "staging",
        dry_run,
        allow_replace,
        protected: false,
        pacing: pacing(600),
    };
    apply(op, client, &proposal, &options).await
}

#[tokio::test(start_paused = true)]
async fn replacing_a_database_is_refused_without_allow_replace() {
    let s = Script::new(
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![db_replacement()],
        ),
        &["UPDATE_COMPLETE"],
    );
    let client = s.client();
    let op = Scripted::new(true);
    let err = run_apply(&client, &op, false, false).await.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let line = err.to_string();
    assert!(
        line.contains("Db (AWS::RDS::DBInstance) would be replaced: it holds data"),
        "{line}"
    );
    assert!(line.contains("pass --allow-replace"), "{line}");
    assert_eq!(s.execute.num_calls(), 0, "nothing was executed");
    assert_eq!(s.delete.num_calls(), 1, "the change set was deleted");
    assert!(op.asked.borrow().is_empty(), "refused before asking");
    // The operator saw the change before the refusal.
    let said = op.transcript();
    let row = said.lines().find(|l| l.contains("Db ")).unwrap_or_default();
    for part in [
        "Modify",
        "AWS::RDS::DBInstance",
        "True",
        "db.yaml",
        "DBInstanceClass",
    ] {
        assert!(row.contains(part), "{said}");
    }
}

#[tokio::test(start_paused = true)]
async fn with_allow_replace_and_confirmation_the_replacement_runs() {
    let s = Script::new(
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![db_replacement()],
        ),
        &["UPDATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"],
    );
    let client = s.client();
    let op = Scripted::new(true);
    let updated = run_apply(&client, &op, true, false).await.unwrap();
    assert_eq!(updated.outcome, Outcome::Updated);
    assert_eq!(updated.status, "UPDATE_COMPLETE");
    assert_eq!(s.execute.num_calls(), 1);
    assert_eq!(s.delete.num_calls(), 0);
    assert_eq!(op.asked.borrow().len(), 1);
    assert!(op.transcript().contains("(allowed by --allow-replace)"));
    let json = serde_json::to_value(&updated).unwrap();
    assert_eq!(json["changes"][0]["replacement"], "True");
    assert_eq!(json["changes"][0]["fragment"], "db.yaml");
    assert_eq!(json["changes"][0]["changed"][0], "DBInstanceClass");
    assert_eq!(json["needs_allow_replace"][0]["logical_id"], "Db");

    // Not confirmed: refused, and the change set is deleted.
    let s = Script::new(
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![db_replacement()],
        ),
        &["UPDATE_COMPLETE"],
    );
    let client = s.client();
    let err = run_apply(&client, &Scripted::new(false), true, false)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_shows_the_replacement_and_deletes_the_change_set() {
    let s = Script::new(
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![db_replacement()],
        ),
        &["UPDATE_COMPLETE"],
    );
    let client = s.client();
    let updated = run_apply(&client, &Scripted::new(false), false, true)
        .await
        .unwrap();
    assert_eq!(updated.outcome, Outcome::DryRun);
    assert_eq!(updated.needs_allow_replace.len(), 1);
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 1));
    let text = updated.to_string();
    assert!(
        text.contains("needs --allow-replace: Db (AWS::RDS::DBInstance) would be replaced"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_changes_is_success_and_a_change_set_that_cannot_be_made_is_a_failure() {
    let s = Script::new(
        change_set(
            ChangeSetStatus::Failed,
            Some("No updates are to be performed."),
            vec![],
        ),
        &["UPDATE_COMPLETE"],
    );
    let client = s.client();
    let updated = run_apply(&client, &Scripted::new(false), false, false)
        .await
        .unwrap();
    assert_eq!(updated.outcome, Outcome::NoChanges);
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 1));

    // CreateChangeSet itself may answer so (the emulator does): there is no change set then.
    let mut s = Script::new(
        change_set(ChangeSetStatus::CreateComplete, None, vec![]),
        &["UPDATE_COMPLETE"],
    );
    s.create = mock!(Client::create_change_set).then_error(|| {
        CreateChangeSetError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("No updates are to be performed.")
                .build(),
        )
    });
    let client = s.client();
    let updated = run_apply(&client, &Scripted::new(false), false, false)
        .await
        .unwrap();
    assert_eq!(updated.outcome, Outcome::NoChanges);
    assert_eq!(updated.change_set, None);
    assert_eq!(s.describe_set.num_calls(), 0);
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 0));

    let s = Script::new(
        change_set(
            ChangeSetStatus::Failed,
            Some("Template error: instance of Fn::GetAtt references undefined resource Nope"),
            vec![],
        ),
        &["UPDATE_COMPLETE"],
    );
    let client = s.client();
    let err = run_apply(&client, &Scripted::new(true), false, false)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string()
            .contains("references undefined resource Nope"),
        "{err}"
    );
    assert_eq!((s.execute.num_calls(), s.delete.num_calls()), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn an_update_that_rolls_back_reports_its_cause_and_fragment() {
    let s = Script::new(
        change_set(
            ChangeSetStatus::CreateComplete,
            None,
            vec![db_replacement()],
        ),
        &[
            "UPDATE_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
        ],
    );
    let st = "AWS::CloudFormation::Stack";
    let events = events_over_time(
        vec![
            event(ID, 1, -3600, NAME, st, "UPDATE_COMPLETE", None),
            event(
                ID,
                2,
                1,
                NAME,
                st,
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
            ),
            event(
                ID,
                3,
                2,
                "Db",
                "AWS::RDS::DBInstance",
                "UPDATE_FAILED",
                Some("DBInstanceClass not available"),
            ),
            event(ID, 4, 3, NAME, st, "UPDATE_ROLLBACK_IN_PROGRESS", None),
            event(ID, 5, 4, NAME, st, "UPDATE_ROLLBACK_COMPLETE", None),
        ],
        &[1, 3],
    );
    let client = mocked(&[
        &s.create,
        &s.describe_set,
        &s.stacks,
        &s.template,
        &events,
        &s.delete,
        &s.execute,
    ]);
    let op = Scripted::new(true);
    let err = run_apply(&client, &op, true, false).await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        "stack argos-staging ended in UPDATE_ROLLBACK_COMPLETE: Db (AWS::RDS::DBInstance) UPDATE_FAILED: DBInstanceClass not available [defined in formations/db.yaml:4]"
    );
    // Progress named the fragment of each event, and nothing from before the update.
    let said = op.transcript();
    assert!(
        said.contains("event: Db UPDATE_FAILED formations/db.yaml:4"),
        "{said}"
    );
    assert!(
        !said.contains("event: argos-staging UPDATE_COMPLETE"),
        "{said}"
    );
}
