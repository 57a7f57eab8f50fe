use super::*;
use crate::dns::{desired, DnsHost};

const MARK: &str = "\"heritage=manage,manage/app=argos,manage/env=qa\"";

fn naming() -> Naming {
    Naming::new("argos", "qa", "example.internal")
}

fn set(name: &str, kind: &str, ttl: i64, values: &[&str]) -> RecordSet {
    RecordSet {
        name: format!("{name}.qa.example.internal."),
        kind: kind.into(),
        ttl: Some(ttl),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn view(existing: &[RecordSet]) -> ZoneView {
    let hosts = [("app", 0, "10.0.0.5"), ("app", 1, "10.0.0.6")].map(|(g, n, a)| DnsHost {
        group: g.into(),
        number: n,
        address: a.into(),
    });
    let want = desired(&naming(), &hosts, 60).unwrap();
    ZoneView::new(&naming(), &want, existing)
}

fn state(v: &ZoneView, name: &str) -> Option<NameState> {
    v.at(&format!("{name}.qa.example.internal."))
        .map(|c| c.state)
}

#[test]
fn each_name_is_ok_missing_stale_or_foreign_as_a_dns_run_would_see_it() {
    let v = view(&[
        set("app-0", "A", 60, &["10.0.0.5"]),
        set("app-0", "TXT", 60, &[MARK]),
        set("app-1", "A", 60, &["10.0.0.9"]),
        set("app-1", "TXT", 60, &[MARK]),
        set("app", "A", 300, &["10.0.0.5", "10.0.0.6"]),
        set("app", "TXT", 300, &[MARK]),
        set("db-0", "A", 60, &["10.0.0.8"]),
        set("db-0", "TXT", 60, &[MARK]),
        set("worker-0", "A", 60, &["10.0.0.7"]),
    ]);
    assert_eq!(state(&v, "app-0"), Some(NameState::Ok));
    let stale = v.at("app-1.qa.example.internal.").unwrap();
    assert_eq!(stale.state, NameState::Stale);
    assert_eq!(stale.name, "app-1.qa.example.internal");
    assert_eq!(
        (stale.addresses, stale.expected),
        (vec!["10.0.0.9".to_owned()], vec!["10.0.0.6".to_owned()])
    );
    assert_eq!(state(&v, "app"), Some(NameState::Stale), "another TTL");
    assert_eq!(state(&v, "db-0"), Some(NameState::Stale), "should be gone");
    assert_eq!(state(&v, "worker-0"), Some(NameState::Foreign));
    assert_eq!(state(&v, "worker-1"), None);
}

#[test]
fn a_name_that_should_exist_and_does_not_is_missing() {
    let v = view(&[]);
    let c = v.at("app-1.qa.example.internal.").unwrap();
    assert_eq!(c.state, NameState::Missing);
    assert!(c.addresses.is_empty());
    assert_eq!(c.expected, ["10.0.0.6"]);
    assert_eq!(state(&v, "app").unwrap(), NameState::Missing);
}

#[test]
fn others_are_the_envs_own_names_that_no_host_or_group_accounts_for() {
    let other_env = RecordSet {
        name: "db-0.prod.example.internal.".into(),
        ..set(
            "x",
            "TXT",
            60,
            &["\"heritage=manage,manage/app=argos,manage/env=prod\""],
        )
    };
    let v = view(&[
        set("app-0", "A", 60, &["10.0.0.5"]),
        set("app-0", "TXT", 60, &[MARK]),
        set("db-0", "A", 60, &["10.0.0.8"]),
        set("db-0", "TXT", 60, &[MARK]),
        set("worker-0", "A", 60, &["10.0.0.7"]),
        other_env,
    ]);
    let known = vec!["app-0.qa.example.internal.".to_owned()];
    let others = v.others(&known);
    assert_eq!(others.len(), 1, "{others:?}");
    assert_eq!(others[0].name, "db-0.qa.example.internal");
    assert_eq!(others[0].state, NameState::Stale);
}
