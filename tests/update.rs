//! End to end: `update` and `events --since`, the real binary against moto. The emulator
//! computes change sets for added and removed resources and for parameters (not
//! replacements, which tests/scripted covers).

mod common;

use common::{Moto, Project, AUDIT};
use std::collections::BTreeMap;

const COMMISSION: [&str; 4] = ["staging", "commission", "--no-deploy", "--no-bake"];

async fn parameters(moto: &Moto, name: &str) -> BTreeMap<String, String> {
    let stack = moto.stack(name).await.expect("the stack exists");
    stack
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_owned(),
                p.parameter_value().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn outputs(moto: &Moto, name: &str) -> BTreeMap<String, String> {
    let stack = moto.stack(name).await.expect("the stack exists");
    stack
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_owned(),
                o.output_value().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn resources(moto: &Moto, name: &str) -> Vec<String> {
    let out = moto
        .cfn()
        .await
        .list_stack_resources()
        .stack_name(name)
        .send()
        .await
        .unwrap();
    out.stack_resource_summaries()
        .iter()
        .map(|r| r.logical_resource_id().unwrap().to_owned())
        .collect()
}

/// Change sets left behind. CloudFormation drops a stack's change sets once one is executed;
/// the emulator keeps the executed one, which is not left behind.
async fn change_sets(moto: &Moto, name: &str) -> usize {
    let out = moto
        .cfn()
        .await
        .list_change_sets()
        .stack_name(name)
        .send()
        .await
        .unwrap();
    out.summaries()
        .iter()
        .filter(|s| s.execution_status().map(|e| e.as_str()) != Some("EXECUTE_COMPLETE"))
        .count()
}

async fn event_count(moto: &Moto, name: &str) -> usize {
    let out = moto
        .cfn()
        .await
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await
        .unwrap();
    out.stack_events().len()
}

/// The tags of every security group tagged Group=audit.
async fn audit_groups(moto: &Moto) -> Vec<BTreeMap<String, String>> {
    let out = moto
        .ec2()
        .await
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Group")
                .values("audit")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.security_groups()
        .iter()
        .map(|g| {
            g.tags()
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn update_adds_a_fragment_tagged_and_removing_it_removes_its_resources() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();

    p.write("formations/audit.yaml", AUDIT);
    let run = p.manage(["staging", "update", "--yes", "--no-deploy"]).ok();
    let row = run
        .stderr
        .lines()
        .find(|l| l.contains("AuditGroup"))
        .unwrap_or_else(|| panic!("no change row for AuditGroup:\n{}", run.stderr));
    for part in ["Add", "AWS::EC2::SecurityGroup", "audit.yaml"] {
        assert!(row.contains(part), "{row}");
    }
    assert!(
        run.stdout.contains("argos-staging UPDATE_COMPLETE"),
        "{}",
        run.stdout
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
    let groups = audit_groups(&moto).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let tags = &groups[0];
    assert_eq!(tags["App"], "argos");
    assert_eq!(tags["Env"], "staging");
    assert_eq!(tags["Name"], "argos-staging-audit");
    assert_eq!(tags["Label"], "first");
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);

    std::fs::remove_file(p.path("formations/audit.yaml")).unwrap();
    let run = p
        .manage([
            "staging",
            "update",
            "--yes",
            "--no-deploy",
            "--output",
            "json",
        ])
        .ok();
    let json = run.json();
    assert_eq!(json["outcome"], "updated");
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["action"], "Remove");
    assert_eq!(changes[0]["logical_id"], "AuditGroup");
    assert!(!resources(&moto, "argos-staging")
        .await
        .contains(&"AuditGroup".to_owned()));
    assert!(audit_groups(&moto).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_parameter_is_shown_and_applied() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.write("formations/audit.yaml", AUDIT);
    p.manage(COMMISSION).ok();
    assert_eq!(
        outputs(&moto, "argos-staging").await["AuditLabelValue"],
        "first"
    );

    let run = p
        .manage([
            "staging",
            "update",
            "--yes",
            "--no-deploy",
            "--param",
            "AuditLabel=second",
        ])
        .ok();
    let row = run
        .stderr
        .lines()
        .find(|l| l.starts_with("    AuditLabel"))
        .unwrap_or_else(|| panic!("the parameter change is not shown:\n{}", run.stderr));
    assert!(
        row.split_whitespace().collect::<Vec<_>>() == ["AuditLabel", "first", "second"],
        "{row}"
    );
    // The emulator keeps a stack's outputs as they were first read, so the new value is
    // checked on the stack's parameters and on the resource that uses it.
    assert_eq!(
        parameters(&moto, "argos-staging").await["AuditLabel"],
        "second"
    );
    let groups = audit_groups(&moto).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["Label"], "second");
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_changes_exits_0_and_leaves_no_change_set() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();
    let before = event_count(&moto, "argos-staging").await;

    let run = p.manage(["staging", "update", "--yes", "--no-deploy"]).ok();
    assert!(
        run.stdout
            .contains("argos-staging: no changes; the change set was deleted"),
        "{}",
        run.stdout
    );
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);
    assert_eq!(event_count(&moto, "argos-staging").await, before);
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    // Without --yes too: there is nothing to confirm.
    let json = p
        .manage(["staging", "update", "--no-deploy", "--output", "json"])
        .ok()
        .json();
    assert_eq!(json["outcome"], "no_changes");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_the_change_set_and_changes_nothing() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();
    let before = event_count(&moto, "argos-staging").await;
    p.write("formations/audit.yaml", AUDIT);

    let run = p
        .manage(["staging", "update", "--dry-run", "--no-deploy"])
        .ok();
    let row = run
        .stdout
        .lines()
        .find(|l| l.contains("AuditGroup"))
        .unwrap_or_else(|| panic!("no change row:\n{}", run.stdout));
    assert!(
        row.starts_with("Add") && row.contains("audit.yaml"),
        "{row}"
    );
    assert!(run.stdout.contains("dry run"), "{}", run.stdout);
    let json = p
        .manage([
            "staging",
            "update",
            "--dry-run",
            "--no-deploy",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(json["outcome"], "dry_run");
    assert_eq!(json["changes"][0]["action"], "Add");
    assert_eq!(json["changes"][0]["logical_id"], "AuditGroup");
    assert_eq!(
        json["changes"][0]["resource_type"],
        "AWS::EC2::SecurityGroup"
    );
    assert_eq!(json["changes"][0]["fragment"], "audit.yaml");
    assert_eq!(json["parameters"][0]["name"], "AuditLabel");

    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(event_count(&moto, "argos-staging").await, before);
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);
    assert!(audit_groups(&moto).await.is_empty());

    // The real run makes the changes the dry run listed, with the same parameters and image.
    let real = p
        .manage([
            "staging",
            "update",
            "--yes",
            "--no-deploy",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(real["outcome"], "updated");
    let rows = |j: &serde_json::Value| -> Vec<(String, String)> {
        j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["action"].as_str().unwrap().to_owned(),
                    c["logical_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(rows(&real), rows(&json));
    assert_eq!(real["parameters"], json["parameters"]);
    assert_eq!(real["image"], json["image"]);
    assert_eq!(audit_groups(&moto).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_update_is_refused_and_changes_nothing() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();
    p.write("formations/audit.yaml", AUDIT);

    let refused = p.manage(["staging", "update", "--no-deploy"]).code(3);
    let errors = refused.error_lines();
    assert_eq!(errors.len(), 1, "{}", refused.stderr);
    assert!(
        errors[0].contains("update of staging not confirmed") && errors[0].contains("--yes"),
        "{}",
        errors[0]
    );
    assert!(refused.stderr.contains("AuditGroup"), "shown before asking");
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);
    assert!(audit_groups(&moto).await.is_empty());
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_what_is_kept_on_delete_needs_allow_replace() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();
    std::fs::remove_file(p.path("formations/storage.json")).unwrap();

    let refused = p
        .manage(["staging", "update", "--yes", "--no-deploy"])
        .code(3);
    let errors = refused.error_lines();
    assert_eq!(errors.len(), 1, "{}", refused.stderr);
    assert!(
        errors[0].contains(
            "UploadsBucket (AWS::S3::Bucket) would be removed: it holds data, DeletionPolicy Retain"
        ) && errors[0].contains("--allow-replace"),
        "{}",
        errors[0]
    );
    assert!(resources(&moto, "argos-staging")
        .await
        .contains(&"UploadsBucket".to_owned()));
    assert_eq!(change_sets(&moto, "argos-staging").await, 0);

    p.manage([
        "staging",
        "update",
        "--yes",
        "--no-deploy",
        "--allow-replace",
    ])
    .ok();
    assert!(!resources(&moto, "argos-staging")
        .await
        .contains(&"UploadsBucket".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_protected_env_any_removal_needs_allow_replace() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.write("formations/audit.yaml", AUDIT);
    p.manage(["production", "commission", "--no-deploy", "--no-bake"])
        .ok();
    std::fs::remove_file(p.path("formations/audit.yaml")).unwrap();

    let refused = p
        .manage(["production", "update", "--yes", "--no-deploy"])
        .code(3);
    assert!(
        refused.stderr.contains(
            "AuditGroup (AWS::EC2::SecurityGroup) would be removed: the env is protected"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(audit_groups(&moto).await.len(), 1);
    p.manage([
        "production",
        "update",
        "--yes",
        "--no-deploy",
        "--allow-replace",
    ])
    .ok();
    assert!(audit_groups(&moto).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn update_without_a_stack_says_to_commission_first() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let run = p
        .manage(["staging", "update", "--yes", "--no-deploy"])
        .code(2);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("stack argos-staging does not exist")
            && errors[0].contains("manage staging commission"),
        "{}",
        errors[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_since_limits_the_range() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(COMMISSION).ok();
    p.write("formations/audit.yaml", AUDIT);
    p.manage(["staging", "update", "--yes", "--no-deploy"]).ok();

    let all = p
        .manage(["staging", "events", "--since", "1h", "--output", "json"])
        .ok()
        .json();
    let statuses: Vec<_> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("UPDATE_COMPLETE"),
        "newest first: {statuses:?}"
    );
    assert!(
        statuses.contains(&"CREATE_COMPLETE".to_owned()),
        "{statuses:?}"
    );

    let limited = p
        .manage([
            "staging", "events", "--since", "1h", "-n", "1", "--output", "json",
        ])
        .ok()
        .json();
    assert_eq!(limited["events"].as_array().unwrap().len(), 1);

    let future = p
        .manage([
            "staging",
            "events",
            "--since",
            "2099-01-01",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert!(future["events"].as_array().unwrap().is_empty());

    let bad = p
        .manage(["staging", "events", "--since", "yesterday"])
        .code(2);
    let errors = bad.error_lines();
    assert_eq!(errors.len(), 1, "{}", bad.stderr);
    assert!(errors[0].contains("neither a duration"), "{}", errors[0]);
}
