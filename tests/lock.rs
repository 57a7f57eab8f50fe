//! The env and app locks in the template bucket: refused while held (exit 3, holder named),
//! taken over from a gone holder, removed by `unlock`, released after the run and on Ctrl-C, and
//! never taken by read-only actions or dry runs.

mod common;

use common::proxy::FaultProxy;
use common::{Moto, Project};
use serde_json::json;

const BUCKET: &str = "argos-cfn-templates";

/// The lock object at `key`, if any.
async fn lock_at(moto: &Moto, key: &str) -> Option<serde_json::Value> {
    let bytes = moto.object(BUCKET, key).await?;
    Some(serde_json::from_slice(&bytes).expect("a lock object is JSON"))
}

/// Put a lock object as another run would have written it.
async fn plant_lock(moto: &Moto, key: &str, holder: serde_json::Value) {
    let s3 = moto.s3().await;
    let _ = s3.create_bucket().bucket(BUCKET).send().await;
    // As manage makes it: private (manage refuses a bucket that is not).
    let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(BUCKET)
        .public_access_block_configuration(block)
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(holder.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
}

fn holder(pid: u32, host: &str, until: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!({
        "user": "alice", "host": host, "pid": pid, "action": "commission", "env": "staging",
        "since": chrono::Utc::now() - chrono::Duration::minutes(3), "until": until, "token": "other-run"
    })
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

fn later() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::hours(1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_env_lock_refuses_a_second_run_naming_the_holder() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    // A live process on this host: this test.
    plant_lock(
        &moto,
        "argos/staging.lock",
        holder(std::process::id(), &this_host(), later()),
    )
    .await;
    for args in [
        &["staging", "commission", "--no-bake", "--no-deploy"][..],
        &["staging", "decommission", "--yes"][..],
        &["staging", "update", "--yes", "--no-deploy"][..],
    ] {
        let run = p.manage(args).code(3);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{args:?}: {}", run.stderr);
        for want in [
            "env staging is busy",
            "commission of staging by alice@",
            &format!("pid {}", std::process::id()),
            "manage staging unlock",
        ] {
            assert!(
                errors[0].contains(want),
                "{args:?} lacks {want:?}: {}",
                errors[0]
            );
        }
    }
    assert_eq!(
        moto.stack_status("argos-staging").await,
        None,
        "nothing was created"
    );
    // Read-only actions and dry runs take no lock.
    p.manage(["staging", "status"]).code(0);
    p.manage(["staging", "decommission", "--dry-run"]).code(0);
    // Another env is not locked by it.
    p.manage([
        "pr-1",
        "commission",
        "--no-bake",
        "--no-deploy",
        "--param",
        "VpcCidr=10.41.0.0/16",
        "--param",
        "SubnetCidr=10.41.1.0/24",
    ])
    .ok();
    assert_eq!(
        lock_at(&moto, "argos/pr-1.lock").await,
        None,
        "released after the run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_whose_process_is_gone_is_taken_over_and_released() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    plant_lock(
        &moto,
        "argos/staging.lock",
        holder(dead.id(), &this_host(), later()),
    )
    .await;
    let run = p
        .manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .ok();
    assert!(
        run.stderr.contains("took over the lock on env staging"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("process {} on this host is gone", dead.id())),
        "{}",
        run.stderr
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    assert_eq!(lock_at(&moto, "argos/staging.lock").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_past_its_expected_end_is_taken_over_but_not_before() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    // On another host, the pid cannot be checked: only the expected end counts.
    plant_lock(
        &moto,
        "argos/_image.lock",
        holder(1, "ci-runner-7", later()),
    )
    .await;
    let run = p.manage(["staging", "clean", "--yes"]).code(3);
    assert!(
        run.error_lines()[0].contains("the images of app argos is busy"),
        "{}",
        run.stderr
    );
    assert!(
        run.error_lines()[0].contains("alice@ci-runner-7"),
        "{}",
        run.stderr
    );
    assert!(
        run.error_lines()[0].contains("manage staging unlock --app"),
        "{}",
        run.stderr
    );
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    plant_lock(&moto, "argos/_image.lock", holder(1, "ci-runner-7", past)).await;
    let run = p.manage(["staging", "clean", "--yes"]).ok();
    assert!(
        run.stderr.contains("passed its expected end"),
        "{}",
        run.stderr
    );
    assert_eq!(lock_at(&moto, "argos/_image.lock").await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_asks_first_and_removes_the_lock() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["staging", "unlock", "--yes"])
        .ok()
        .stdout
        .contains("nothing to do");
    plant_lock(
        &moto,
        "argos/staging.lock",
        holder(std::process::id(), &this_host(), later()),
    )
    .await;
    let run = p.manage(["staging", "unlock"]).code(3);
    assert!(
        run.error_lines()[0].contains("unlock of env staging not confirmed"),
        "{}",
        run.stderr
    );
    assert!(
        lock_at(&moto, "argos/staging.lock").await.is_some(),
        "kept without confirmation"
    );
    let run = p.manage(["staging", "unlock", "--yes"]).ok();
    assert!(
        run.stdout
            .contains("removed the lock at s3://argos-cfn-templates/argos/staging.lock"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("alice@"), "{}", run.stdout);
    assert_eq!(lock_at(&moto, "argos/staging.lock").await, None);
    p.manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_wait_says_what_goes_on_releases_the_lock_and_exits_130() {
    let moto = Moto::start();
    // Every request late: the commission is still running when Ctrl-C comes.
    let proxy = FaultProxy::start(&moto.url, 1.0, 7, "delay");
    let p = Project::new(&proxy.url);
    let child = p
        .command(["staging", "commission", "--no-bake", "--no-deploy"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the lock is there, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while lock_at(&moto, "argos/staging.lock").await.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The template goes up once the lock is held: the run is under way (and on record).
    let s3 = moto.s3().await;
    loop {
        let listed = s3
            .list_objects_v2()
            .bucket("argos-cfn-templates")
            .prefix("argos/staging/")
            .send()
            .await
            .unwrap();
        if listed
            .contents()
            .iter()
            .any(|o| !o.key().unwrap().contains("/history/"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the template never went up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    unsafe_sigint(child.id());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted:"), "{stderr}");
    assert!(
        stderr.contains("manage staging commission --no-bake --no-deploy"),
        "names the command that follows: {stderr}"
    );
    assert!(
        stderr.contains("released the lock on env staging"),
        "{stderr}"
    );
    assert_eq!(lock_at(&moto, "argos/staging.lock").await, None);
    // The rerun finishes the job.
    p.manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .ok();
    // Both runs are in the history: the interrupted one (exit 130), then the one that finished.
    let history = p.manage(["staging", "history", "-o", "json"]).ok().json();
    let seen: Vec<(&str, &str, i64)> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["result"].as_str().unwrap(),
                r["exit_code"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("commission", "ok", 0), ("commission", "interrupted", 130)],
        "{history}"
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

fn unsafe_sigint(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT {pid}");
}
