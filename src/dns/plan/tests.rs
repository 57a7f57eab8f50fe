use super::*;

fn naming() -> Naming {
    Naming::new("argos", "qa", "Example.Internal.")
}

fn host(group: &str, number: u32, ip: &str) -> DnsHost {
    DnsHost {
        group: group.into(),
        number,
        address: ip.into(),
    }
}

fn set(name: &str, kind: &str, values: &[&str]) -> RecordSet {
    RecordSet {
        name: name.into(),
        kind: kind.into(),
        ttl: Some(60),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

const MARK: &str = "\"heritage=manage,manage/app=argos,manage/env=qa\"";

fn three() -> Vec<DnsHost> {
    vec![
        host("app", 0, "10.0.0.5"),
        host("worker", 1, "10.0.0.7"),
        host("worker", 0, "10.0.0.6"),
    ]
}

#[test]
fn every_running_host_and_group_gets_an_a_record_and_an_owner_mark() {
    let want = desired(&naming(), &three(), 60).unwrap();
    let a: Vec<(&str, Vec<&str>)> = want
        .iter()
        .filter(|s| s.kind == A)
        .map(|s| {
            (
                s.name.as_str(),
                s.values.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        a,
        [
            ("app-0.qa.example.internal.", vec!["10.0.0.5"]),
            ("app.qa.example.internal.", vec!["10.0.0.5"]),
            ("worker-0.qa.example.internal.", vec!["10.0.0.6"]),
            ("worker-1.qa.example.internal.", vec!["10.0.0.7"]),
            ("worker.qa.example.internal.", vec!["10.0.0.6", "10.0.0.7"]),
        ]
    );
    let txt: Vec<_> = want.iter().filter(|s| s.kind == TXT).collect();
    assert_eq!(txt.len(), 5);
    assert!(txt.iter().all(|s| s.values == [MARK] && s.ttl == Some(60)));
}

#[test]
fn an_empty_zone_gets_every_name_created_with_its_mark() {
    let n = naming();
    let want = desired(&n, &three(), 60).unwrap();
    let plan = diff(&n, &want, &[]).unwrap();
    assert_eq!(plan.len(), 5);
    assert!(plan.iter().all(|c| c.verb == Verb::Add));
    let all: Vec<_> = plan.iter().flat_map(|c| &c.changes).collect();
    assert_eq!(all.len(), 10);
    assert!(all.iter().all(|c| c.action == Action::Create));
}

#[test]
fn in_step_means_no_changes() {
    let n = naming();
    let want = desired(&n, &three(), 60).unwrap();
    assert!(diff(&n, &want, &want).unwrap().is_empty());
}

#[test]
fn a_stopped_host_loses_its_names_and_its_group_shrinks() {
    let n = naming();
    let before = desired(&n, &three(), 60).unwrap();
    let after = desired(&n, &three()[..2], 60).unwrap();
    let plan = diff(&n, &after, &before).unwrap();
    let names: Vec<_> = plan.iter().map(|c| (c.name.as_str(), c.verb)).collect();
    assert_eq!(
        names,
        [
            ("worker-0.qa.example.internal.", Verb::Remove),
            ("worker.qa.example.internal.", Verb::Update),
        ]
    );
    // The removal deletes the A and TXT sets exactly as they are.
    let removed = &plan[0].changes;
    assert!(removed.iter().all(|c| c.action == Action::Delete));
    assert_eq!(
        removed[0].set,
        set("worker-0.qa.example.internal.", A, &["10.0.0.6"])
    );
    assert_eq!(
        removed[1].set,
        set("worker-0.qa.example.internal.", TXT, &[MARK])
    );
    // The group's set is replaced in place.
    let group = &plan[1];
    assert_eq!(group.before, ["10.0.0.6", "10.0.0.7"]);
    assert_eq!(group.after, ["10.0.0.7"]);
    assert_eq!(group.changes.len(), 1);
    assert_eq!(group.changes[0].action, Action::Upsert);
    assert_eq!(
        group.changes[0].set,
        set("worker.qa.example.internal.", A, &["10.0.0.7"])
    );
}

#[test]
fn a_ttl_change_updates_the_a_records() {
    let n = naming();
    let before = desired(&n, &three()[..1], 60).unwrap();
    let after = desired(&n, &three()[..1], 300).unwrap();
    let plan = diff(&n, &after, &before).unwrap();
    assert_eq!(plan.len(), 2);
    assert!(plan.iter().all(|c| c.verb == Verb::Update));
}

#[test]
fn records_of_others_are_never_touched() {
    let n = naming();
    let want = desired(&n, &three()[..1], 60).unwrap();
    let existing = vec![
        set("example.internal.", "SOA", &["ns. admin. 1 2 3 4 5"]),
        set("db.qa.example.internal.", A, &["10.9.9.9"]),
        set("old-0.qa.example.internal.", A, &["10.1.1.1"]),
        set(
            "old-0.qa.example.internal.",
            TXT,
            &["\"heritage=manage,manage/app=argos,manage/env=prod\""],
        ),
    ];
    let plan = diff(&n, &want, &existing).unwrap();
    assert!(plan.iter().all(|c| c.verb == Verb::Add), "{plan:?}");
    assert!(plan
        .iter()
        .flat_map(|c| &c.changes)
        .all(|c| !c.set.name.starts_with("db.") && !c.set.name.starts_with("old-")));
}

#[test]
fn a_desired_name_held_by_someone_else_is_refused_naming_the_record() {
    let n = naming();
    let want = desired(&n, &three(), 60).unwrap();
    let existing = vec![set("app.qa.example.internal.", A, &["10.9.9.9"])];
    let e = diff(&n, &want, &existing).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let msg = e.to_string();
    assert!(msg.contains("record app.qa.example.internal. (A)"), "{msg}");
    assert!(msg.contains("not created by manage"), "{msg}");
    let other = vec![set(
        "app.qa.example.internal.",
        TXT,
        &["\"heritage=manage,manage/app=argos,manage/env=QA\""],
    )];
    let msg = diff(&n, &want, &other).unwrap_err().to_string();
    assert!(
        msg.contains("another env (heritage=manage,manage/app=argos,manage/env=QA)"),
        "{msg}"
    );
}

#[test]
fn a_group_that_is_no_dns_label_is_bad_input() {
    let e = desired(&naming(), &[host("web_app.v2", 0, "10.0.0.1")], 60).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("group \"web_app.v2\""), "{e}");
    let long = "g".repeat(62);
    let e = desired(&naming(), &[host(&long, 10, "10.0.0.1")], 60).unwrap_err();
    assert!(e.to_string().contains("longer than 63"), "{e}");
}

#[test]
fn batches_stay_within_the_api_limits_and_keep_a_name_whole() {
    let n = naming();
    let hosts: Vec<DnsHost> = (0..700)
        .map(|i| host("web", i, &format!("10.0.{}.{}", i / 250, i % 250)))
        .collect();
    let want = desired(&n, &hosts, 60).unwrap();
    let plan = diff(&n, &want, &[]).unwrap();
    let split = batches(&plan);
    assert!(split.len() >= 2, "{} batches", split.len());
    let total: usize = split.iter().map(Vec::len).sum();
    assert_eq!(total, plan.iter().map(|c| c.changes.len()).sum::<usize>());
    for b in &split {
        let records: usize = b.iter().map(|c| c.set.values.len()).sum();
        let chars: usize = b.iter().flat_map(|c| &c.set.values).map(String::len).sum();
        assert!(
            records <= MAX_RECORDS && chars <= MAX_CHARS,
            "{records} {chars}"
        );
        // Each name's A and TXT travel together.
        for c in b {
            assert_eq!(b.iter().filter(|o| o.set.name == c.set.name).count(), 2);
        }
    }
    assert_eq!(batches(&[]).len(), 0);
}
