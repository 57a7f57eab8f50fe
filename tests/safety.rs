//! End to end against moto: a secret's value is never printed by `update`, old or new, in
//! text or JSON, real or dry run; a changed secret is listed as "changed (secret)". The
//! template CloudFormation reads is the one manage merged, and a public bucket is refused.

mod common;

use common::{Moto, Project};
use std::os::unix::fs::PermissionsExt;

/// A parameter that is not NoEcho, so only the config says it is a secret. (No resource uses
/// it: the merge's tags do not fit AWS::SSM::Parameter on the emulator.)
const DB: &str = "\
Parameters:
  DbPassword:
    Type: String
";

const FIRST: &str = "S3cr3tFileValue7Qx9";
const SECOND: &str = "N3wS3cretValue5Kp2";

fn write_secret(p: &Project, value: &str) {
    p.write("secrets/db", &format!("{value}\n"));
    std::fs::set_permissions(p.path("secrets/db"), std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn no_secret_in(outputs: &[&str]) {
    for out in outputs {
        for secret in [FIRST, SECOND] {
            assert!(!out.contains(secret), "secret leaked:\n{out}");
        }
    }
}

async fn db_password(moto: &Moto) -> String {
    let stack = moto.stack("argos-staging").await.unwrap();
    stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("DbPassword"))
        .and_then(|p| p.parameter_value())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_or_dropped_secret_is_listed_but_never_shown() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.write("formations/db.yaml", DB);
    p.edit_config(|c| c["parameters"]["DbPassword"] = serde_json::json!({"file": "secrets/db"}));
    write_secret(&p, FIRST);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert_eq!(db_password(&moto).await, FIRST);

    // Changed: listed as such, in text and JSON, dry run and real run.
    write_secret(&p, SECOND);
    let dry = p.manage(["staging", "update", "--dry-run"]).ok();
    let row = dry
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("DbPassword"))
        .unwrap_or_else(|| panic!("the secret's change is not listed:\n{}", dry.stdout));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["DbPassword", "****", "changed", "(secret)"]
    );
    let json = p
        .manage(["staging", "update", "--dry-run", "--output", "json"])
        .ok();
    let change = json.json()["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "DbPassword")
        .cloned()
        .expect("listed in JSON");
    assert_eq!(change["secret"], true);
    assert_eq!(change["old"], "****");
    assert_eq!(change["new"], "****");
    let real = p.manage(["staging", "update", "--yes", "--no-deploy"]).ok();
    assert!(real.stderr.contains("changed (secret)"), "{}", real.stderr);
    assert_eq!(db_password(&moto).await, SECOND);
    no_secret_in(&[
        &dry.stdout,
        &dry.stderr,
        &json.stdout,
        &json.stderr,
        &real.stdout,
        &real.stderr,
    ]);

    // No fragment declares it any more: its old value stays hidden.
    std::fs::remove_file(p.path("formations/db.yaml")).unwrap();
    let dry = p.manage(["staging", "update", "--dry-run"]).ok();
    let row = dry
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("DbPassword"))
        .unwrap_or_else(|| panic!("the dropped parameter is not listed:\n{}", dry.stdout));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["DbPassword", "****", "(none)"]
    );
    let json = p
        .manage(["staging", "update", "--dry-run", "--output", "json"])
        .ok();
    no_secret_in(&[&dry.stdout, &dry.stderr, &json.stdout, &json.stderr]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_that_was_no_echo_stays_hidden_when_it_no_longer_is() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.write("formations/db.yaml", &format!("{DB}    NoEcho: true\n"));
    p.edit_config(|c| c["parameters"]["DbPassword"] = serde_json::json!(FIRST));
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    // Now a plain parameter with a new value: the old one was NoEcho, so it is not shown.
    p.write("formations/db.yaml", DB);
    p.edit_config(|c| c["parameters"]["DbPassword"] = serde_json::json!("plain-now"));
    let dry = p.manage(["staging", "update", "--dry-run"]).ok();
    assert!(!dry.stdout.contains(FIRST), "{}", dry.stdout);
    assert!(!dry.stderr.contains(FIRST), "{}", dry.stderr);
}

#[test]
fn the_example_project_keeps_config_keys_and_secrets_out_of_git() {
    for path in [
        "config.json",
        "keys/argos.pem",
        "secrets/db",
        "config.example.json",
    ] {
        let ignored = std::process::Command::new("git")
            .args(["check-ignore", "-q", "--no-index", path])
            .current_dir(common::ROOT)
            .status()
            .expect("git is needed for this test");
        assert_eq!(
            ignored.success(),
            path != "config.example.json",
            "{path}: ignored by .gitignore?"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replaced_template_object_is_uploaded_again_and_a_public_bucket_is_refused() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let first = p
        .manage(["staging", "config", "push", "--output", "json"])
        .ok()
        .json();
    let uri = first["s3_uri"].as_str().unwrap().to_owned();
    let (bucket, key) = uri
        .trim_start_matches("s3://")
        .split_once('/')
        .map(|(b, k)| (b.to_owned(), k.to_owned()))
        .unwrap();
    let s3 = moto.s3().await;
    let read = || async { String::from_utf8(moto.object(&bucket, &key).await.unwrap()).unwrap() };
    let good = read().await;
    let again = p
        .manage(["staging", "config", "push", "--output", "json"])
        .ok()
        .json();
    assert_eq!(again["uploaded"], false, "{again}");

    // Someone overwrites the object: the next push notices and puts the merged template back.
    let evil = r#"{"Resources":{"Backdoor":{"Type":"AWS::IAM::User"}}}"#;
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(evil.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let run = p
        .manage(["staging", "config", "push", "--output", "json"])
        .ok();
    assert_eq!(run.json()["replaced"], true, "{}", run.stdout);
    assert!(
        run.stderr.contains("did not match its SHA-256"),
        "{}",
        run.stderr
    );
    assert_eq!(read().await, good);

    // A bucket that does not block public access is refused, unless allowed.
    s3.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    for args in [
        vec!["staging", "config", "push"],
        vec!["staging", "commission", "--no-deploy", "--no-bake"],
    ] {
        let refused = p.manage(&args).code(3);
        let errors = refused.error_lines();
        assert_eq!(errors.len(), 1, "{}", refused.stderr);
        assert!(
            errors[0].contains(&bucket) && errors[0].contains("--allow-public-bucket"),
            "{}",
            errors[0]
        );
    }
    assert!(moto.stack_status("argos-staging").await.is_none());
    p.manage(["staging", "config", "push", "--allow-public-bucket"])
        .ok();
}
