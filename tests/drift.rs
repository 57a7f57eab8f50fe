//! End to end: `drift` and the drift step of `update` on an endpoint without the drift API.
//! The emulator has none (DetectStackDrift answers HTTP 500), which is what these prove; what a
//! detection finds is proven with scripted answers (tests/scripted/drift.rs).

mod common;

use common::{Moto, Project, AUDIT};

const COMMISSION: [&str; 4] = ["staging", "commission", "--no-deploy", "--no-bake"];

#[tokio::test(flavor = "multi_thread")]
async fn without_the_api_drift_says_so_in_one_line_and_update_goes_on() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    p.write("formations/audit.yaml", AUDIT);

    // No stack yet: bad input, before any drift call.
    let run = p.manage(["staging", "drift"]).code(2);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("commission it first"), "{}", run.stderr);

    p.manage(COMMISSION).ok();

    let run = p.manage(["staging", "drift"]).code(1);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("no drift detection") && errors[0].contains("DetectStackDrift"),
        "{}",
        errors[0]
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        !run.stderr.contains("<html") && !run.stderr.contains("<!doctype"),
        "{}",
        run.stderr
    );

    // The same with --output json: nothing on stdout that a script could take for "no drift".
    let run = p.manage(["staging", "drift", "--output", "json"]).code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // update says in one line that drift could not be checked, then updates.
    let run = p
        .manage([
            "staging",
            "update",
            "--yes",
            "--no-deploy",
            "--param",
            "AuditLabel=second",
            "--output",
            "json",
        ])
        .ok();
    let notes: Vec<_> = run
        .stderr
        .lines()
        .filter(|l| l.contains("drift could not be checked"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].starts_with("warning:"), "{}", notes[0]);
    let json = run.json();
    assert_eq!(json["outcome"], "updated");
    assert!(json["drift"].is_null(), "{json}");
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("UPDATE_COMPLETE")
    );
}
