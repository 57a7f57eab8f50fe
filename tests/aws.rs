//! End to end against moto: what real accounts need that the emulator can show. Which region
//! wins, the account a mutating action names first, a template bucket in another region.

mod common;

use common::{Moto, Project};

#[tokio::test(flavor = "multi_thread")]
async fn region_precedence_account_line_and_a_bucket_in_another_region() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.edit_config(|c| c["region"] = "eu-west-1".into());
    let push = ["staging", "config", "push", "image"];

    // AWS_REGION wins over config.json; the account and region come first.
    let run = p
        .manage_with(push, &[("AWS_REGION", Some("us-west-2"))])
        .ok();
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("account 123456789012") && first.contains("region us-west-2"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(".s3.us-west-2.amazonaws.com/"),
        "{}",
        run.stdout
    );

    // --region wins over AWS_REGION. The bucket is in us-west-2: named with its region, exit 2.
    let run = p
        .manage_with(
            [
                "--region",
                "us-east-1",
                "staging",
                "config",
                "push",
                "image",
            ],
            &[("AWS_REGION", Some("us-west-2"))],
        )
        .code(2);
    assert!(run.stderr.contains("region us-east-1"), "{}", run.stderr);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("bucket argos-cfn-templates is in region us-west-2, not us-east-1"),
        "{}",
        errors[0]
    );

    // With no region in the AWS chain, config.json's applies.
    let run = p
        .manage_with(
            push,
            &[
                ("AWS_REGION", None),
                ("AWS_DEFAULT_REGION", None),
                ("AWS_CONFIG_FILE", Some("/nonexistent/aws-config")),
            ],
        )
        .code(2);
    assert!(run.stderr.contains("region eu-west-1"), "{}", run.stderr);

    // Read-only actions name no account.
    let run = p.manage(["staging", "validate"]).ok();
    assert!(!run.stderr.contains("account "), "{}", run.stderr);
}
