//! Deploy history on the emulator: every recorded action leaves one object under
//! `<app>/<env>/history/` in the template bucket, and `history` lists them newest first, as a
//! table or JSON, `-n` at a time. (The history of a deploy to real hosts is in tests/deploy.rs.)

mod common;

use common::{Moto, Project};
use std::os::unix::fs::PermissionsExt;

fn history(p: &Project, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["staging", "history", "-o", "json"];
    args.extend(extra);
    let out = p.manage(args).ok().json();
    out["records"].as_array().unwrap().clone()
}

async fn history_keys(moto: &Moto) -> Vec<String> {
    let out = moto
        .s3()
        .await
        .list_objects_v2()
        .bucket("argos-cfn-templates")
        .prefix("argos/staging/history/")
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .map(|o| o.key().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn commission_and_host_actions_are_recorded_and_listed_newest_first() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    // The playbooks in git: the record names their commit, and then their uncommitted change.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(p.dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    git(&["add", "playbooks"]);
    git(&["commit", "-q", "-m", "playbooks"]);
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).trim().to_owned();

    // Nothing yet: no bucket, no records, exit 0.
    assert!(history(&p, &[]).is_empty());
    assert!(p
        .manage(["staging", "history"])
        .ok()
        .stdout
        .contains("no recorded runs"));

    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    // Not confirmed: refused (exit 3), and recorded as such.
    p.manage(["staging", "stop", "--group", "worker", "--index", "0"])
        .code(3);
    p.write("playbooks/worker.yml", "- hosts: worker\n  tasks: []\n");
    p.manage([
        "staging", "stop", "--group", "worker", "--index", "0", "--yes",
    ])
    .ok();
    // A dry run changes nothing and is not recorded; nor is a read-only action.
    p.manage(["staging", "start", "--dry-run"]).ok();
    p.manage(["staging", "status"]).ok();

    let records = history(&p, &[]);
    let actions: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [("stop", "ok"), ("stop", "refused"), ("commission", "ok")]
    );
    let (stop, refused, commission) = (&records[0], &records[1], &records[2]);
    assert_eq!(stop["hosts"], serde_json::json!(["argos-staging-worker-0"]));
    assert_eq!(stop["groups"], serde_json::json!(["worker"]));
    assert_eq!(stop["images"], serde_json::json!(["ami-785db401"]));
    assert_eq!(stop["exit_code"], 0);
    assert_eq!(stop["error"], serde_json::Value::Null);
    assert_eq!(stop["playbooks_commit"], commit.as_str());
    assert_eq!(stop["playbooks_dirty"], true);
    assert_eq!(commission["playbooks_dirty"], false);
    assert_eq!(commission["images"], serde_json::json!(["ami-785db401"]));
    assert_eq!(
        commission["options"],
        serde_json::json!(["--no-deploy", "--no-bake"])
    );
    assert_eq!(refused["exit_code"], 3);
    assert!(
        refused["error"].as_str().unwrap().contains("not confirmed"),
        "{refused}"
    );
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    for r in &records {
        assert!(
            r["by"].as_str().unwrap().starts_with(&format!("{user}@")),
            "{r}"
        );
        assert_eq!(r["env"], "staging");
        assert!(
            r["aws_identity"].as_str().unwrap().starts_with("arn:aws:"),
            "{r}"
        );
        assert!(r["finished"].as_str() >= r["started"].as_str(), "{r}");
    }
    // One object per run, under the env's prefix.
    assert_eq!(history_keys(&moto).await.len(), 3);

    // -n: the newest only.
    let one = history(&p, &["-n", "1"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], records[0]);

    // The table: a header, one row per run, newest first, then the error lines.
    let text = p.manage(["staging", "history"]).ok().stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("STARTED") && lines[0].contains("RESULT"),
        "{text}"
    );
    assert!(
        lines[1].contains("stop") && lines[1].contains(" ok "),
        "{text}"
    );
    assert!(lines[1].contains(&format!("{commit}+dirty")), "{text}");
    assert!(lines[2].contains("refused (3)"), "{text}");
    assert!(lines[3].contains("commission"), "{text}");
    assert!(
        lines[4].contains("stop: ") && lines[4].contains("not confirmed"),
        "{text}"
    );

    // The history outlives the env: a decommission is recorded too, and listed after it.
    p.manage(["staging", "decommission", "--yes"]).ok();
    let after = history(&p, &[]);
    assert_eq!(after.len(), 4);
    assert_eq!(
        (after[0]["action"].as_str(), after[0]["result"].as_str()),
        (Some("decommission"), Some("ok"))
    );
    assert_eq!(after[1..], records[..]);
}

#[test]
fn a_failed_deploy_is_recorded_with_its_error_line_and_exit_code() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.edit_config(|c| c["timeouts"]["ssh"] = 1.into());
    let key = p.path("keys/argos.pem");
    p.write("keys/argos.pem", "not a key\n");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    // The emulator's hosts never answer: the deploy times out (exit 4).
    let run = p
        .manage(["staging", "deploy", "--check", "-e", "TOKEN=s3cr3t-v4lue"])
        .code(4);
    let records = history(&p, &["-n", "1"]);
    let deploy = &records[0];
    assert_eq!(deploy["action"], "deploy");
    assert_eq!(deploy["result"], "failed");
    assert_eq!(deploy["exit_code"], 4);
    assert_eq!(deploy["groups"], serde_json::json!(["app", "worker"]));
    assert_eq!(deploy["hosts"].as_array().unwrap().len(), 3, "{deploy}");
    let error = run.error_lines()[0]
        .trim_start_matches("error: ")
        .to_owned();
    assert_eq!(deploy["error"], error.as_str());
    // Flags are recorded, a variable's value never.
    assert_eq!(
        deploy["options"],
        serde_json::json!(["--check", "-e TOKEN"])
    );
    assert!(!deploy.to_string().contains("s3cr3t"), "{deploy}");
    let text = p.manage(["staging", "history"]).ok().stdout;
    assert!(
        text.lines().nth(1).unwrap().contains("failed (4)"),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().contains("deploy: timed out"),
        "{text}"
    );
}

#[test]
fn a_history_record_that_cannot_be_written_is_a_warning_and_the_action_keeps_its_exit_code() {
    let moto = Moto::start();
    // Every request for a history object is refused (403); everything else goes through.
    let proxy = common::proxy::FaultProxy::failing_only(&moto.url, "denied", "/history/");
    let p = Project::new(&proxy.url);
    let run = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].starts_with("warning: could not record this run in the history (s3://argos-cfn-templates/argos/staging/history/")
            && warnings[0].contains("AccessDenied"),
        "{}",
        warnings[0]
    );
    assert!(run.error_lines().is_empty(), "{}", run.stderr);
    // The lock is released all the same.
    let lock = p.manage(["staging", "unlock", "--yes"]).ok();
    assert!(
        lock.stdout.contains("no lock") || lock.stderr.contains("no lock"),
        "{}{}",
        lock.stdout,
        lock.stderr
    );
}
