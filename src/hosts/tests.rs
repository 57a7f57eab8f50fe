use super::*;
use chrono::TimeZone;

fn inst(id: &str, group: Option<&str>, minute: u32) -> Instance {
    Instance {
        id: id.into(),
        state: "running".into(),
        private_ip: Some(format!("10.0.0.{minute}")),
        public_ip: None,
        private_dns: None,
        public_dns: None,
        launch_time: Some(
            chrono::Utc
                .with_ymd_and_hms(2026, 1, 1, 0, minute, 0)
                .unwrap(),
        ),
        image_id: None,
        instance_type: None,
        availability_zone: None,
        tags: group
            .map(|g| [("Group".to_owned(), g.to_owned())].into())
            .unwrap_or_default(),
    }
}

fn numbered(mut i: Instance, n: &str) -> Instance {
    i.tags.insert(number::TAG.into(), n.into());
    i
}

const NAMES: (&str, &str) = ("argos", "qa");

#[test]
fn running_hosts_are_named_by_their_numbers() {
    let mut stopped = numbered(inst("i-s", Some("worker"), 0), "0");
    stopped.state = "stopped".into();
    let hosts = Hosts::from_instances(vec![
        inst("i-a", Some("app"), 1),
        inst("i-w1", Some("worker"), 2),
        inst("i-w2", Some("worker"), 3),
        stopped,
    ]);
    assert_eq!(hosts.not_running().count(), 1);
    let running = hosts.running(NAMES, AddressKind::PrivateIp).unwrap();
    let names: Vec<_> = running.iter().map(|h| h.name.as_str()).collect();
    // The stopped worker keeps 0: the running ones are 1 and 2.
    assert_eq!(
        names,
        ["argos-qa-app-0", "argos-qa-worker-1", "argos-qa-worker-2"]
    );
    assert_eq!(hosts.summary(), "app 0; worker 0 (stopped), 1, 2");
    assert_eq!(
        hosts.numbered,
        [
            ("i-a".to_owned(), 0),
            ("i-w1".to_owned(), 1),
            ("i-w2".to_owned(), 2)
        ]
    );
    assert!(hosts.running(NAMES, AddressKind::PublicIp).is_err());
}

#[test]
fn selectors_narrow_and_a_miss_lists_what_exists() {
    let hosts = Hosts::from_instances(vec![
        inst("i-a", Some("app"), 1),
        inst("i-w1", Some("worker"), 2),
        inst("i-w2", Some("worker"), 3),
        inst("i-x", None, 4),
    ]);
    let ids = |s: Selector| -> Vec<String> {
        s.pick(&hosts, NAMES)
            .unwrap()
            .into_iter()
            .map(|m| m.instance.id)
            .collect()
    };
    assert_eq!(ids(Selector::default()), ["i-a", "i-w1", "i-w2"]);
    let workers = Selector {
        groups: vec!["worker".into()],
        ..Default::default()
    };
    assert_eq!(ids(workers.clone()), ["i-w1", "i-w2"]);
    let second = Selector {
        index: Some("1".parse().unwrap()),
        ..workers.clone()
    };
    assert_eq!(ids(second), ["i-w2"]);
    let zeros = Selector {
        index: Some("0".parse().unwrap()),
        ..Default::default()
    };
    assert_eq!(ids(zeros), ["i-a", "i-w1"]);
    let by_name = Selector {
        hosts: vec!["argos-qa-worker-1".into()],
        ..Default::default()
    };
    assert_eq!(ids(by_name), ["i-w2"]);
    let by_id = Selector {
        hosts: vec!["i-a".into()],
        ..Default::default()
    };
    assert_eq!(ids(by_id), ["i-a"]);
    let miss = Selector {
        groups: vec!["db".into()],
        index: Some("5".parse().unwrap()),
        ..Default::default()
    };
    let err = miss.pick(&hosts, NAMES).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        "--group db --index 5: no such host (there are: app 0; worker 0, 1)"
    );
    assert_eq!(hosts.ungrouped.len(), 1);
    assert_eq!(hosts.count(), 4);
}
