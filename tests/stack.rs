//! End to end: the real binary against moto. Commission, status, events, push, decommission.

mod common;

use common::{Moto, Project};
use std::collections::BTreeMap;

/// Every instance of the emulator with its state and tags.
async fn instances(moto: &Moto) -> Vec<(String, String, BTreeMap<String, String>)> {
    let out = moto.ec2().await.describe_instances().send().await.unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let tags = i
                .tags()
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
                .collect();
            (
                i.instance_id().unwrap().to_owned(),
                i.state().unwrap().name().unwrap().as_str().to_owned(),
                tags,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn commission_creates_a_tagged_stack_and_a_rerun_changes_nothing() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let run = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert!(
        run.stdout.contains("argos-staging CREATE_COMPLETE"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("AppPrivateIp"),
        "outputs are printed: {}",
        run.stdout
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // Every instance carries App/Env/Group/Name with the right values.
    let all = instances(&moto).await;
    assert_eq!(all.len(), 3);
    let mut groups: Vec<_> = all.iter().map(|(_, _, t)| t["Group"].clone()).collect();
    groups.sort();
    assert_eq!(groups, ["app", "worker", "worker"]);
    for (id, state, tags) in &all {
        assert_eq!(state, "running", "{id}");
        assert_eq!(tags["App"], "argos", "{id}");
        assert_eq!(tags["Env"], "staging", "{id}");
        assert_eq!(
            tags["Name"],
            format!("argos-staging-{}", tags["Group"]),
            "{id}"
        );
    }

    // The template is in the bucket under its hash, and the bucket is private and encrypted.
    let s3 = moto.s3().await;
    let objects = s3
        .list_objects_v2()
        .bucket("argos-cfn-templates")
        .send()
        .await
        .unwrap();
    // (Beside it, the run's history record: see tests/history.rs.)
    let keys: Vec<_> = objects
        .contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .filter(|k| !k.starts_with("argos/staging/history/"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("argos/staging/") && keys[0].ends_with(".json"),
        "{keys:?}"
    );
    let block = s3
        .get_public_access_block()
        .bucket("argos-cfn-templates")
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let enc = s3
        .get_bucket_encryption()
        .bucket("argos-cfn-templates")
        .send()
        .await
        .unwrap();
    assert!(enc.server_side_encryption_configuration().is_some());

    // A second commission reports the stack and creates nothing.
    let again = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert!(
        again.stdout.contains("already commissioned"),
        "{}",
        again.stdout
    );
    assert_eq!(instances(&moto).await.len(), 3);
    let events = moto
        .cfn()
        .await
        .describe_stack_events()
        .stack_name("argos-staging")
        .send()
        .await
        .unwrap();
    assert_eq!(events.stack_events().len(), 2, "no new stack operation ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_changes_nothing() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let run = p
        .manage([
            "staging",
            "commission",
            "--no-deploy",
            "--no-bake",
            "--dry-run",
        ])
        .ok();
    assert!(
        run.stdout
            .starts_with("dry run: would create stack argos-staging from https://"),
        "the plan is the result: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("VpcCidr") && run.stdout.contains("10.20.0.0/16"),
        "the plan shows parameters: {}",
        run.stdout
    );
    let plan = p
        .manage([
            "staging",
            "commission",
            "--no-deploy",
            "--no-bake",
            "--dry-run",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(moto.stack_status("argos-staging").await, None);
    let buckets = moto.s3().await.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "dry run made a bucket");

    p.manage(["staging", "config", "push", "--dry-run"]).ok();
    assert!(moto
        .s3()
        .await
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .is_empty());

    // The real run does what the dry run said: the same stack, template, image, parameters, tags.
    let real = p
        .manage([
            "staging",
            "commission",
            "--no-deploy",
            "--no-bake",
            "--output",
            "json",
        ])
        .ok()
        .json();
    for key in ["stack", "template_url", "image_id", "parameters", "tags"] {
        assert_eq!(
            plan[key], real[key],
            "{key}: dry run {plan}\nreal run {real}"
        );
    }
    assert!(plan["template_url"].is_string(), "{plan}");
    let run = p.manage(["staging", "decommission", "--dry-run"]).ok();
    assert!(
        run.stdout
            .contains("dry run: would delete stack argos-staging")
            && run.stdout.contains("would retain UploadsBucket"),
        "{}",
        run.stdout
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_events_as_text_and_json() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let before = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    assert_eq!(before["status"], "NOT_COMMISSIONED");
    assert_eq!(before["hosts"].as_array().unwrap().len(), 0);

    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    assert_eq!(status["stack"], "argos-staging");
    assert_eq!(status["status"], "CREATE_COMPLETE");
    let hosts = status["hosts"].as_array().unwrap();
    let summary: Vec<_> = hosts
        .iter()
        .map(|h| (h["group"].as_str().unwrap(), h["number"].as_u64().unwrap()))
        .collect();
    assert_eq!(summary, [("app", 0), ("worker", 0), ("worker", 1)]);
    assert!(hosts
        .iter()
        .all(|h| h["private_ip"].as_str().unwrap().starts_with("10.20.1.")));
    let outputs = status["outputs"].as_array().unwrap();
    assert!(outputs.iter().any(|o| o["key"] == "UploadsBucketName"));

    let text = p.manage(["staging", "status"]).ok();
    assert!(
        text.stdout.contains("CREATE_COMPLETE") && text.stdout.contains("worker"),
        "{}",
        text.stdout
    );

    let events = p
        .manage(["staging", "events", "--output", "json"])
        .ok()
        .json();
    let list = events["events"].as_array().unwrap();
    assert_eq!(list[0]["status"], "CREATE_COMPLETE", "newest first");
    assert!(events["failures"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn decommission_needs_confirmation_then_removes_everything() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();

    let refused = p.manage(["staging", "decommission"]).code(3);
    assert_eq!(refused.error_lines().len(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    let run = p.manage(["staging", "decommission", "--yes"]).ok();
    assert!(
        run.stdout.contains("argos-staging deleted"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("UploadsBucket") && run.stdout.contains("Retain"),
        "retained resources are reported: {}",
        run.stdout
    );
    assert_eq!(moto.stack_status("argos-staging").await, None);
    let states: Vec<_> = instances(&moto)
        .await
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    assert_eq!(states, ["terminated"; 3]);

    // An instance with the env's tags that no stack owns (launched by hand, say).
    let stray = moto
        .launch("ami-785db401", &[("App", "argos"), ("Env", "staging")])
        .await;

    // A rerun (as after a run killed once the stack was gone) still says what the delete kept,
    // and names what no stack owns.
    let again = p.manage(["staging", "decommission", "--yes"]).ok();
    assert!(
        again
            .stdout
            .contains("nothing to decommission (it was deleted at "),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("that delete retained") && again.stdout.contains("UploadsBucket"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("instances still tagged with this env")
            && again.stdout.contains(&format!("{stray} (running)")),
        "{}",
        again.stdout
    );
    let json = p
        .manage(["staging", "decommission", "--yes", "--output", "json"])
        .ok()
        .json();
    assert_eq!(json["deleted"], false);
    assert_eq!(json["retained"][0]["logical_id"], "UploadsBucket");
    assert_eq!(json["instances_left"][0]["instance_id"], stray.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_protected_env_also_needs_force() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["production", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let refused = p.manage(["production", "decommission", "--yes"]).code(3);
    assert!(
        refused.stderr.contains("protected") && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        moto.stack_status("argos-production").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    let status = p.manage(["production", "status"]).ok();
    assert!(
        status.stdout.contains("termination protection  on"),
        "{}",
        status.stdout
    );
    let refused = p.manage(["production", "decommission", "--force"]).code(3);
    assert!(
        refused.stderr.contains("not confirmed"),
        "{}",
        refused.stderr
    );
    // Protection on the stack (set by hand, or by an earlier config) needs --force too.
    p.edit_config(|c| c["environments"]["production"]["protected"] = false.into());
    let refused = p.manage(["production", "decommission", "--yes"]).code(3);
    assert!(
        refused
            .stderr
            .contains("stack argos-production has termination protection on: add --force"),
        "{}",
        refused.stderr
    );
    // The emulator lacks UpdateTerminationProtection (and does not enforce the protection):
    // the lift is a warning and the delete goes on. Lift-then-delete against CloudFormation's
    // refusal is proven with scripted answers (tests/scripted/protection.rs).
    let gone = p
        .manage(["production", "decommission", "--yes", "--force"])
        .ok();
    assert!(
        gone.stderr
            .contains("turning off the termination protection of stack argos-production"),
        "{}",
        gone.stderr
    );
    assert_eq!(moto.stack_status("argos-production").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_create_is_reported_and_a_rerun_recovers() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    // A subnet in a VPC that does not exist: the emulator fails CreateStack itself and
    // leaves the stack in CREATE_IN_PROGRESS.
    p.write(
        "formations/broken.yaml",
        "Resources:\n  StraySubnet:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: vpc-0000dead\n      CidrBlock: 10.20.9.0/24\n",
    );
    let failed = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .code(1);
    let errors = failed.error_lines();
    assert_eq!(errors.len(), 1, "{}", failed.stderr);
    assert!(
        errors[0].contains("creating stack argos-staging")
            && errors[0].contains("InvalidVpcID.NotFound"),
        "{}",
        errors[0]
    );

    std::fs::remove_file(p.path("formations/broken.yaml")).unwrap();
    let run = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert!(run.stdout.contains("CREATE_COMPLETE"), "{}", run.stdout);
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_stuck_in_progress_times_out_and_decommission_clears_it() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    // Someone else's failed create left argos-staging stuck in CREATE_IN_PROGRESS.
    let bad = r#"{"Resources": {"S": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-0000dead", "CidrBlock": "10.9.0.0/24"}}}}"#;
    let _ = moto
        .cfn()
        .await
        .create_stack()
        .stack_name("argos-staging")
        .template_body(bad)
        .send()
        .await;
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_IN_PROGRESS")
    );
    p.edit_config(|c| c["timeouts"]["stack"] = 1.into());

    let waited = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .code(4);
    assert!(
        waited.stderr.contains("CREATE_IN_PROGRESS: waiting"),
        "says what it waits for: {}",
        waited.stderr
    );
    let errors = waited.error_lines();
    assert_eq!(errors.len(), 1, "{}", waited.stderr);
    assert!(
        errors[0].contains("timed out") && errors[0].contains("argos-staging"),
        "{}",
        errors[0]
    );

    p.manage(["staging", "decommission", "--yes"]).ok();
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_push_uploads_once_and_prints_the_url() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let first = p
        .manage(["staging", "config", "push", "--output", "json"])
        .ok()
        .json();
    assert_eq!(first["uploaded"], true);
    let url = first["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://argos-cfn-templates.s3.amazonaws.com/argos/staging/"),
        "{url}"
    );
    let second = p.manage(["staging", "config", "push"]).ok();
    assert!(
        second.stdout.contains(url) && second.stdout.contains("not uploaded again"),
        "{}",
        second.stdout
    );

    let image = p.manage(["staging", "config", "push", "image"]).ok();
    assert!(
        image.stdout.starts_with("image: https://"),
        "{}",
        image.stdout
    );
    let objects = moto
        .s3()
        .await
        .list_objects_v2()
        .bucket("argos-cfn-templates")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.contents().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_reach_the_stack_but_never_the_output() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let secret = "s3cr3t-Value-42";
    p.write(
        "formations/secret.yaml",
        "Parameters:\n  SessionKey:\n    Type: String\n    NoEcho: true\n",
    );
    p.edit_config(|c| {
        c["parameters"]["SessionKey"] = serde_json::json!({"env": "ARGOS_SESSION_KEY"})
    });
    std::env::set_var("ARGOS_SESSION_KEY", secret);
    let plan = p
        .manage([
            "staging",
            "commission",
            "--no-deploy",
            "--no-bake",
            "--dry-run",
            "-v",
        ])
        .ok();
    assert!(
        plan.stdout.contains("SessionKey") && plan.stdout.contains("****"),
        "{}",
        plan.stdout
    );
    let run = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake", "-v"])
        .ok();
    let status = p.manage(["staging", "status", "-v"]).ok();
    for out in [
        &plan.stdout,
        &plan.stderr,
        &run.stdout,
        &run.stderr,
        &status.stdout,
        &status.stderr,
    ] {
        assert!(!out.contains(secret), "secret leaked: {out}");
    }
    // The emulator does not mask NoEcho values, so it shows what the stack received.
    let stack = moto.stack("argos-staging").await.expect("the stack exists");
    let given = stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("SessionKey"))
        .and_then(|p| p.parameter_value())
        .map(str::to_owned);
    assert_eq!(given.as_deref(), Some(secret), "the stack got the secret");
}

/// CreateTopic on the emulator (the tests have no SNS client): the emulator publishes the
/// stack's events to its notification topics and fails a create whose topic does not exist.
fn create_topic(moto: &Moto, name: &str) -> String {
    let answer = moto.query(
        "sns",
        &format!("Action=CreateTopic&Name={name}&Version=2010-03-31"),
    );
    let arn = answer
        .split("<TopicArn>")
        .nth(1)
        .and_then(|rest| rest.split("</TopicArn>").next())
        .unwrap_or_else(|| panic!("CreateTopic answered: {answer}"));
    arn.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn stack_policy_role_and_topics_reach_the_stack_and_status() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let topic = create_topic(&moto, "argos-stack-events");
    let role = "arn:aws:iam::123456789012:role/argos-cfn";
    let first =
        r#"{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}"#;
    p.write("policies/stack.json", first);
    p.edit_config(|c| {
        c["stack_policy"] = "policies/stack.json".into();
        c["environments"]["staging"]["role_arn"] = role.into();
        c["environments"]["staging"]["notification_arns"] = serde_json::json!([topic]);
    });
    let status = p.manage(["staging", "status"]).ok();
    assert!(
        !status.stdout.contains("termination protection"),
        "{}",
        status.stdout
    );

    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let cfn = moto.cfn().await;
    let policy = |cfn: aws_sdk_cloudformation::Client| async move {
        cfn.get_stack_policy()
            .stack_name("argos-staging")
            .send()
            .await
            .unwrap()
            .stack_policy_body()
            .map(str::to_owned)
    };
    assert_eq!(policy(cfn.clone()).await.as_deref(), Some(first));
    // The emulator keeps the role and the topics as they were sent.
    let stack = moto.stack("argos-staging").await.unwrap();
    assert_eq!(stack.role_arn(), Some(role));
    assert_eq!(stack.notification_arns(), std::slice::from_ref(&topic));
    assert_eq!(stack.enable_termination_protection(), Some(false));

    let json = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    let protection = &json["protection"];
    assert_eq!(protection["termination_protection"], false);
    assert_eq!(protection["stack_policy"], true);
    assert_eq!(protection["role_arn"], role);
    assert_eq!(protection["notification_arns"], serde_json::json!([topic]));
    let text = p.manage(["staging", "status"]).ok();
    assert!(
        text.stdout.contains("stack policy            set")
            && text
                .stdout
                .contains(&format!("service role            {role}"))
            && text
                .stdout
                .contains(&format!("notifications           {topic}")),
        "{}",
        text.stdout
    );

    // update sets the policy file's new text, and sends the role and topics again.
    let second = r#"{"Statement":[{"Effect":"Deny","Action":"Update:Delete","Principal":"*","Resource":"*"}]}"#;
    p.write("policies/stack.json", second);
    p.write(
        "formations/audit.yaml",
        "Resources:\n  AuditGroup:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: audit\n      VpcId: !Ref Vpc\n",
    );
    p.manage(["staging", "update", "--yes", "--no-deploy"]).ok();
    assert_eq!(policy(cfn.clone()).await.as_deref(), Some(second));
    let stack = moto.stack("argos-staging").await.unwrap();
    assert_eq!(stack.role_arn(), Some(role));
    // The emulator keeps the create's topics (it does not apply a change set's).
    assert_eq!(stack.notification_arns(), std::slice::from_ref(&topic));

    p.manage(["staging", "decommission", "--yes"]).ok();
    assert_eq!(moto.stack_status("argos-staging").await, None);
}
