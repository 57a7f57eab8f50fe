//! Host selection and stable numbers, end to end against the emulator (no real hosts needed):
//! the `Number` tags on the instances, what `status` shows, and what a selector picks.

mod common;

use common::{Moto, Project};
use std::collections::BTreeMap;

/// (group, number) → instance id, from `manage status --output json`.
fn numbers(p: &Project, extra: &[&str]) -> BTreeMap<(String, u64), String> {
    let mut args = vec!["staging", "status", "--output", "json"];
    args.extend(extra);
    let status = p.manage(args).ok().json();
    status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let key = (
                h["group"].as_str().unwrap().to_owned(),
                h["number"].as_u64().unwrap(),
            );
            (key, h["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// instance id → its Number tag, as the emulator holds it (live instances only).
async fn number_tags(moto: &Moto) -> BTreeMap<String, String> {
    let out = moto
        .ec2()
        .await
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("running")
                .values("stopped")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut tags = BTreeMap::new();
    for r in out.reservations() {
        for i in r.instances() {
            let n = i.tags().iter().find(|t| t.key() == Some("Number"));
            tags.insert(
                i.instance_id().unwrap().to_owned(),
                n.and_then(|t| t.value()).unwrap_or("none").to_owned(),
            );
        }
    }
    tags
}

fn key(g: &str, n: u64) -> (String, u64) {
    (g.to_owned(), n)
}

#[tokio::test]
async fn numbers_are_tagged_and_never_shift() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let first = numbers(&p, &[]);
    let groups: Vec<_> = first.keys().cloned().collect();
    assert_eq!(groups, [key("app", 0), key("worker", 0), key("worker", 1)]);
    // The numbers live on the instances themselves.
    let tags = number_tags(&moto).await;
    for ((_, n), id) in &first {
        assert_eq!(tags[id], n.to_string(), "{id}");
    }

    // Stop worker 0: worker 1 stays 1, and worker 0 is listed stopped with its number.
    let w0 = first[&key("worker", 0)].clone();
    let w1 = first[&key("worker", 1)].clone();
    let ec2 = moto.ec2().await;
    ec2.stop_instances().instance_ids(&w0).send().await.unwrap();
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    let stopped = status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == w0.as_str())
        .unwrap();
    assert_eq!(
        (stopped["state"].as_str(), stopped["number"].as_u64()),
        (Some("stopped"), Some(0))
    );
    assert_eq!(
        numbers(&p, &["--group", "worker", "--index", "1"]),
        [(key("worker", 1), w1.clone())].into()
    );
    assert_eq!(
        numbers(&p, &["argos-staging-worker-1"]),
        [(key("worker", 1), w1.clone())].into()
    );
    assert_eq!(numbers(&p, &["--index", "0"]).len(), 2);

    // A selection that matches nothing lists what there is, with no host changed.
    let miss = p.manage(["staging", "status", "--group", "db"]).code(2);
    assert_eq!(
        miss.error_lines(),
        ["error: --group db: no such host (there are: app 0; worker 0 (stopped), 1)"]
    );
    p.write("keys/argos.pem", "exec checks that the key file exists");
    // As ssh, manage refuses a key that others can read.
    std::fs::set_permissions(
        p.path("keys/argos.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let miss = p
        .manage(["staging", "exec", "--index", "7", "--", "true"])
        .code(2);
    assert!(
        miss.error_lines()[0].contains("--index 7: no such host"),
        "{}",
        miss.stderr
    );

    // Terminate worker 0; a new worker takes the lowest free number (0), and 1 keeps 1.
    ec2.terminate_instances()
        .instance_ids(&w0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        numbers(&p, &["--group", "worker"]),
        [(key("worker", 1), w1.clone())].into()
    );
    let new = launch_worker(&moto).await;
    let after = numbers(&p, &["--group", "worker"]);
    assert_eq!(
        after,
        [(key("worker", 0), new.clone()), (key("worker", 1), w1)].into()
    );
    assert_eq!(number_tags(&moto).await[&new], "0");
}

#[tokio::test]
async fn two_concurrent_runs_agree_on_new_numbers() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    numbers(&p, &[]);
    let mut launched = Vec::new();
    for _ in 0..3 {
        launched.push(launch_worker(&moto).await);
    }
    // Two runs at once see the same untagged hosts and must write the same numbers.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| numbers(&p, &["--group", "worker"]));
        let b = s.spawn(|| numbers(&p, &["--group", "worker"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, b);
    let tags = number_tags(&moto).await;
    let new: std::collections::BTreeSet<&str> =
        launched.iter().map(|id| tags[id].as_str()).collect();
    assert_eq!(new, ["2", "3", "4"].into());
    assert_eq!(numbers(&p, &["--group", "worker"]), a);
}

#[test]
fn deploy_with_a_selector_limits_ansible_to_the_chosen_host() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    p.write("keys/argos.pem", "deploy checks that the key file exists");
    // As ssh, manage refuses a key that others can read.
    std::fs::set_permissions(
        p.path("keys/argos.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let run = p
        .manage([
            "staging",
            "deploy",
            "--group",
            "worker",
            "--index",
            "1",
            "--dry-run",
        ])
        .ok();
    assert!(
        run.stderr.contains("would run") && run.stderr.contains("on argos-staging-worker-1\n"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("worker-0"), "{}", run.stderr);
    let by_name = p
        .manage(["staging", "deploy", "argos-staging-app-0", "--dry-run"])
        .ok();
    assert!(
        by_name.stderr.contains("on argos-staging-app-0\n"),
        "{}",
        by_name.stderr
    );
}

/// A worker launched outside the stack (as an Auto Scaling group would), with the env's tags
/// and no Number.
async fn launch_worker(moto: &Moto) -> String {
    let tags = [("App", "argos"), ("Env", "staging"), ("Group", "worker")];
    moto.launch("ami-785db401", &tags).await
}
