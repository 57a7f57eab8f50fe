//! End to end against the emulator: the env's Route53 names follow its running hosts, records
//! that `manage` did not create are never touched, and bad zones are refused before any change.

mod common;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use common::{Moto, Project};
use std::collections::BTreeMap;

const MARK: &str = "\"heritage=manage,manage/app=argos,manage/env=staging\"";

/// Create a zone and return its bare id.
async fn create_zone(moto: &Moto, name: &str) -> String {
    let out = moto
        .route53()
        .await
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("test-{name}"))
        .send()
        .await
        .unwrap();
    out.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned()
}

/// Write a record set as someone other than manage would.
async fn put_record(moto: &Moto, zone: &str, name: &str, kind: &str, value: &str) {
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(kind))
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Create)
        .resource_record_set(set)
        .build()
        .unwrap();
    moto.route53()
        .await
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// Every record set in the zone: (name, type) → sorted values.
async fn records(moto: &Moto, zone: &str) -> BTreeMap<(String, String), Vec<String>> {
    let out = moto
        .route53()
        .await
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    assert!(!out.is_truncated());
    out.resource_record_sets()
        .iter()
        .map(|s| {
            let mut values: Vec<String> = s
                .resource_records()
                .iter()
                .map(|r| r.value().to_owned())
                .collect();
            values.sort();
            (
                (s.name().to_owned(), s.r#type().as_str().to_owned()),
                values,
            )
        })
        .collect()
}

/// The A records of the env's names, without the zone's own.
async fn env_a(moto: &Moto, zone: &str) -> BTreeMap<String, Vec<String>> {
    records(moto, zone)
        .await
        .into_iter()
        .filter(|((name, kind), _)| kind == "A" && name.ends_with(".staging.example.internal."))
        .map(|((name, _), v)| {
            (
                name.trim_end_matches(".staging.example.internal.")
                    .to_owned(),
                v,
            )
        })
        .collect()
}

/// Running instances of the env by group, each group's private IPs in launch order.
async fn ips(moto: &Moto) -> BTreeMap<String, Vec<(String, String)>> {
    let out = moto.ec2().await.describe_instances().send().await.unwrap();
    let mut by_group: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        if i.state().unwrap().name().unwrap().as_str() != "running" {
            continue;
        }
        let group = i
            .tags()
            .iter()
            .find(|t| t.key() == Some("Group"))
            .and_then(|t| t.value())
            .unwrap()
            .to_owned();
        by_group.entry(group).or_default().push((
            i.instance_id().unwrap().to_owned(),
            i.private_ip_address().unwrap().to_owned(),
        ));
    }
    by_group
}

fn with_zone(p: &Project, zone: &str) {
    p.edit_config(|c| c["dns"] = serde_json::json!({"zone": zone, "ttl": 30}));
}

/// `status` that could not read the names: the hosts still show, the names table says they are
/// unknown, and exactly one error line follows, returned.
fn names_unknown<'a>(run: &'a common::Run, zone: &str) -> &'a str {
    assert!(run.stdout.contains("argos-staging-app-0"), "{}", run.stdout);
    let unknown = format!("DNS names in zone {zone}: unknown (see the error below)");
    assert!(run.stdout.contains(&unknown), "{}", run.stdout);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    errors[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn names_follow_the_running_hosts_and_foreign_records_are_never_touched() {
    let moto = Moto::start();
    let zone = create_zone(&moto, "example.internal").await;
    put_record(&moto, &zone, "db.staging.example.internal", "A", "10.9.9.9").await;
    let p = Project::new(&moto.url);
    with_zone(&p, "example.internal");
    let run = p
        .manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    assert!(
        run.stderr
            .contains("updating DNS in zone example.internal."),
        "{}",
        run.stderr
    );
    let running = ips(&moto).await;
    let app = running["app"][0].1.clone();
    assert!(
        run.stderr
            .contains(&format!("+ app-0.staging.example.internal. A {app}")),
        "{}",
        run.stderr
    );

    // Every running host and group has its name, with the right addresses and the mark.
    let a = env_a(&moto, &zone).await;
    let workers: Vec<String> = running["worker"].iter().map(|(_, ip)| ip.clone()).collect();
    let mut both = workers.clone();
    both.sort();
    assert_eq!(a["app-0"], [app.as_str()]);
    assert_eq!(a["app"], [app.as_str()]);
    assert_eq!(a["worker"], both);
    let mut hosts: Vec<String> = ["worker-0", "worker-1"]
        .iter()
        .map(|n| a[*n][0].clone())
        .collect();
    hosts.sort();
    assert_eq!(hosts, both);
    assert_eq!(a["db"], ["10.9.9.9"], "the foreign record is untouched");
    let all = records(&moto, &zone).await;
    for name in ["app-0", "app", "worker-0", "worker-1", "worker"] {
        let key = (
            format!("{name}.staging.example.internal."),
            "TXT".to_owned(),
        );
        assert_eq!(all.get(&key), Some(&vec![MARK.to_owned()]), "{name}");
    }
    assert!(!all.contains_key(&("db.staging.example.internal.".into(), "TXT".into())));

    let again = p.manage(["staging", "dns"]).ok();
    assert!(again.stdout.contains("no changes"), "{}", again.stdout);

    // Stop the worker that has the highest number: its names go, the group shrinks.
    let last = a
        .iter()
        .filter(|(n, _)| n.starts_with("worker-"))
        .max()
        .map(|(n, v)| (n.clone(), v[0].clone()))
        .unwrap();
    let id = running["worker"]
        .iter()
        .find(|(_, ip)| *ip == last.1)
        .unwrap()
        .0
        .clone();
    moto.ec2()
        .await
        .stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let dry = p.manage(["staging", "dns", "--dry-run"]).ok();
    assert!(
        dry.stdout.contains(&format!(
            "- {}.staging.example.internal. A {}",
            last.0, last.1
        )),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("dry run: nothing was changed"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        env_a(&moto, &zone).await.len(),
        6,
        "the dry run changed nothing"
    );
    p.manage(["staging", "dns"]).ok();
    let a = env_a(&moto, &zone).await;
    assert!(!a.contains_key(&last.0), "{a:?}");
    let rest: Vec<String> = both.iter().filter(|ip| **ip != last.1).cloned().collect();
    assert_eq!(a["worker"], rest);
    let all = records(&moto, &zone).await;
    assert!(!all.contains_key(&(
        format!("{}.staging.example.internal.", last.0),
        "TXT".into()
    )));

    // Started again: its names come back.
    moto.ec2()
        .await
        .start_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    p.manage(["staging", "dns"]).ok();
    let a = env_a(&moto, &zone).await;
    assert_eq!(a[&last.0], [last.1.as_str()]);
    assert_eq!(a["worker"], both);
    assert_eq!(a["db"], ["10.9.9.9"]);

    // `manage stop` keeps the names in step by itself: no `dns` run needed.
    p.manage([
        "staging",
        "stop",
        &format!("argos-staging-{}", last.0),
        "--yes",
    ])
    .ok();
    let a = env_a(&moto, &zone).await;
    assert!(!a.contains_key(&last.0), "{a:?}");
    assert_eq!(a["worker"], rest);
    let again = p.manage(["staging", "dns"]).ok();
    assert!(again.stdout.contains("no changes"), "{}", again.stdout);

    // Decommission: none of the env's records remain; the foreign one does.
    p.manage(["staging", "decommission", "--yes"]).ok();
    let left: Vec<_> = records(&moto, &zone)
        .await
        .into_keys()
        .filter(|(name, _)| name.ends_with(".staging.example.internal."))
        .collect();
    assert_eq!(
        left,
        [("db.staging.example.internal.".to_owned(), "A".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_someone_else_holds_is_refused_and_nothing_changes() {
    let moto = Moto::start();
    let zone = create_zone(&moto, "example.internal").await;
    put_record(
        &moto,
        &zone,
        "worker.staging.example.internal",
        "A",
        "10.9.9.9",
    )
    .await;
    let p = Project::new(&moto.url);
    with_zone(&p, "example.internal");
    let before = records(&moto, &zone).await;
    for args in [
        &["staging", "commission", "--no-deploy", "--no-bake"][..],
        &["staging", "dns"],
    ] {
        let run = p.manage(args).code(3);
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(
            errors[0].contains("record worker.staging.example.internal. (A)"),
            "{}",
            errors[0]
        );
        assert_eq!(records(&moto, &zone).await, before, "nothing changed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_that_does_not_exist_is_bad_input() {
    let moto = Moto::start();
    create_zone(&moto, "example.internal").await;
    let p = Project::new(&moto.url);
    with_zone(&p, "nosuch.internal");
    let one_line = |run: common::Run| {
        let errors = run.error_lines();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(
            errors[0].contains("dns.zone \"nosuch.internal\": no hosted zone"),
            "{}",
            errors[0]
        );
    };
    one_line(p.manage(["staging", "dns"]).code(2));
    // Commission and update stop before they change the stack.
    one_line(
        p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
            .code(2),
    );
    assert!(moto.stack_status("argos-staging").await.is_none());
    with_zone(&p, "example.internal");
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    with_zone(&p, "nosuch.internal");
    let run = p
        .manage(["staging", "update", "--yes", "--no-deploy"])
        .code(2);
    assert!(
        !run.stderr.contains("pushing the template"),
        "{}",
        run.stderr
    );
    one_line(run);
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

/// The example's `dns.yaml` creates the env's private zone (`staging.argos.internal`); export
/// its id so that `dns.zone_output` can name it.
fn with_zone_output(p: &Project) {
    let fragment = std::fs::read_to_string(p.path("formations/dns.yaml")).unwrap();
    assert!(fragment
        .trim_end()
        .ends_with("Value: !Sub \"app.${EnvName}.${AppName}.internal\""));
    p.write(
        "formations/dns.yaml",
        &format!(
            "{}\n  ZoneId:\n    Value: !Ref PrivateZone\n",
            fragment.trim_end()
        ),
    );
    p.edit_config(|c| c["dns"] = serde_json::json!({"zone_output": "ZoneId"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn names_land_in_the_zone_a_fragment_creates_and_decommission_reports_it_left_behind() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    with_zone_output(&p);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let stack = moto.stack("argos-staging").await.unwrap();
    let zone = stack
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("ZoneId"))
        .and_then(|o| o.output_value())
        .unwrap()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let domain = ".staging.staging.argos.internal.";
    let env_names = |all: &BTreeMap<(String, String), Vec<String>>| -> Vec<(String, String)> {
        all.keys()
            .filter(|(name, _)| name.ends_with(domain))
            .cloned()
            .collect()
    };

    // The names are in the stack's zone, with the hosts' addresses and the marks.
    let running = ips(&moto).await;
    let all = records(&moto, &zone).await;
    let app = running["app"][0].1.clone();
    let name = |n: &str| format!("{n}{domain}");
    assert_eq!(all[&(name("app-0"), "A".into())], [app.as_str()]);
    assert_eq!(all[&(name("app"), "A".into())], [app.as_str()]);
    assert_eq!(all[&(name("worker"), "A".into())].len(), 2);
    let mark = "\"heritage=manage,manage/app=argos,manage/env=staging\"";
    assert_eq!(all[&(name("worker-1"), "TXT".into())], [mark]);
    assert_eq!(env_names(&all).len(), 10, "{all:?}");
    let again = p.manage(["staging", "dns"]).ok();
    assert!(again.stdout.contains("no changes"), "{}", again.stdout);
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    assert_eq!(status["dns"]["zone"], "staging.argos.internal");
    assert_eq!(status["dns"]["zone_id"], zone.as_str());
    for h in status["hosts"].as_array().unwrap() {
        assert_eq!(h["dns"]["state"], "ok", "{h}");
        assert!(h["dns"]["name"]
            .as_str()
            .unwrap()
            .ends_with(".staging.staging.argos.internal"));
    }

    // Decommission: the names go before the stack, and the zone that stays is reported.
    let run = p
        .manage(["staging", "decommission", "--yes", "--output", "json"])
        .ok();
    let removed = run
        .stderr
        .find(&format!("- app-0{domain} A {app}"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let deleting = run.stderr.find("deleting stack argos-staging").unwrap();
    assert!(removed < deleting, "{}", run.stderr);
    assert!(
        moto.stack_status("argos-staging").await.is_none(),
        "the stack is gone"
    );
    assert!(env_names(&records(&moto, &zone).await).is_empty());
    let json = run.json();
    let left = json["zones_left"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{json}");
    assert_eq!(left[0]["id"], zone.as_str());
    assert_eq!(left[0]["name"], "staging.argos.internal.");

    // The text report says what to do.
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let text = p.manage(["staging", "decommission", "--yes"]).ok();
    let lines: Vec<&str> = text
        .stdout
        .lines()
        .filter(|l| l.contains("hosted zone"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", text.stdout);
    assert!(
        lines[0].contains(
            "(staging.argos.internal.) that the stack created is still there: delete it by hand"
        ),
        "{}",
        lines[0]
    );

    // A zone kept on purpose (DeletionPolicy Retain) is listed once, with what was retained.
    let fragment = std::fs::read_to_string(p.path("formations/dns.yaml")).unwrap();
    p.write(
        "formations/dns.yaml",
        &fragment.replace(
            "    Type: AWS::Route53::HostedZone\n",
            "    Type: AWS::Route53::HostedZone\n    DeletionPolicy: Retain\n",
        ),
    );
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let zone = moto
        .stack("argos-staging")
        .await
        .unwrap()
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("ZoneId"))
        .and_then(|o| o.output_value())
        .unwrap()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let text = p.manage(["staging", "decommission", "--yes"]).ok();
    let mentions: Vec<&str> = text.stdout.lines().filter(|l| l.contains(&zone)).collect();
    assert_eq!(mentions.len(), 1, "{}", text.stdout);
    assert!(
        mentions[0].contains("PrivateZone AWS::Route53::HostedZone")
            && mentions[0].contains("(Retain)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("retained (delete these by hand"),
        "{}",
        text.stdout
    );
}

/// The row of the DNS names table that starts with `what` in `status`'s text: its cells.
fn name_row(stdout: &str, what: &str) -> Vec<String> {
    let table = stdout
        .split("DNS names in zone example.internal (as Route53 has them):")
        .nth(1)
        .unwrap_or_else(|| panic!("no DNS names table:\n{stdout}"));
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{what}  ")))
        .unwrap_or_else(|| panic!("no row for {what}:\n{stdout}"));
    line.strip_prefix(what)
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_each_hosts_name_as_route53_has_it() {
    let moto = Moto::start();
    let zone = create_zone(&moto, "example.internal").await;
    let p = Project::new(&moto.url);
    with_zone(&p, "example.internal");
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let running = ips(&moto).await;
    let app = running["app"][0].1.clone();
    let mut workers: Vec<String> = running["worker"].iter().map(|(_, ip)| ip.clone()).collect();
    workers.sort();

    // In step: every host and group has its name, read from the zone.
    let json = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    assert_eq!(json["dns"]["zone"], "example.internal");
    assert_eq!(json["dns"]["zone_id"], zone.as_str());
    for h in json["hosts"].as_array().unwrap() {
        let name = format!(
            "{}-{}.staging.example.internal",
            h["group"].as_str().unwrap(),
            h["number"]
        );
        assert_eq!(h["dns"]["name"], name.as_str(), "{h}");
        assert_eq!(h["dns"]["addresses"], serde_json::json!([h["private_ip"]]));
        assert_eq!(h["dns"]["state"], "ok");
    }
    let groups = json["dns"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1]["group"], "worker");
    assert_eq!(groups[1]["dns"]["name"], "worker.staging.example.internal");
    assert_eq!(groups[1]["dns"]["addresses"], serde_json::json!(workers));
    let text = p.manage(["staging", "status"]).ok();
    assert!(
        text.stdout
            .contains("NAME                    GROUP   NUMBER"),
        "{}",
        text.stdout
    );
    assert_eq!(
        name_row(&text.stdout, "argos-staging-app-0"),
        ["app-0.staging.example.internal", &app, "ok"]
    );
    assert_eq!(
        name_row(&text.stdout, "group worker"),
        ["worker.staging.example.internal", &workers.join(", "), "ok"]
    );

    // A worker stopped behind manage's back: status shows the record that should be gone.
    let (id, ip) = running["worker"][1].clone();
    let ec2 = moto.ec2().await;
    ec2.stop_instances().instance_ids(&id).send().await.unwrap();
    let text = p.manage(["staging", "status", "--group", "worker"]).ok();
    let host = text
        .stdout
        .lines()
        .find(|l| l.contains(&id))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let own = name_row(&text.stdout, &host);
    assert_eq!(
        own[1..],
        [ip.as_str(), "stale (should be gone)"],
        "{}",
        text.stdout
    );
    let rest: Vec<&String> = workers.iter().filter(|w| **w != ip).collect();
    assert_eq!(
        name_row(&text.stdout, "group worker")[2],
        format!("stale (should be {})", rest[0])
    );
    assert!(text
        .stdout
        .contains("`manage staging dns` brings the names in step"));
    assert!(
        !text.stdout.contains("argos-staging-app-0"),
        "the selection holds"
    );

    // Once synced, the stopped host has no name: `-`.
    p.manage(["staging", "dns"]).ok();
    let text = p.manage(["staging", "status"]).ok();
    assert_eq!(name_row(&text.stdout, &host), ["-", "-", "-"]);
    let json = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    let stopped = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id.as_str())
        .unwrap();
    assert!(stopped["dns"].is_null(), "{stopped}");

    // Started behind manage's back: its name is missing. A name of the env's that no host
    // accounts for shows as one to go.
    ec2.start_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    put_record(
        &moto,
        &zone,
        "worker-7.staging.example.internal",
        "A",
        "10.9.9.7",
    )
    .await;
    put_record(
        &moto,
        &zone,
        "worker-7.staging.example.internal",
        "TXT",
        MARK,
    )
    .await;
    let text = p.manage(["staging", "status"]).ok();
    assert_eq!(
        name_row(&text.stdout, &host)[1..],
        ["-".to_owned(), format!("missing (should be {ip})")]
    );
    assert_eq!(
        name_row(&text.stdout, "-"),
        [
            "worker-7.staging.example.internal",
            "10.9.9.7",
            "stale (should be gone)"
        ]
    );

    // Names that cannot be read are an error, never "no name": the hosts still show.
    let proxy = common::proxy::FaultProxy::failing_only(&moto.url, "denied", "/rrset");
    let run = p
        .manage_with(
            ["staging", "status"],
            &[("AWS_ENDPOINT_URL", Some(&proxy.url))],
        )
        .code(1);
    let errors = [names_unknown(&run, "example.internal")];
    assert!(
        errors[0].contains("access denied on hosted zone example.internal.")
            && errors[0].contains("route53:ListResourceRecordSets"),
        "{}",
        errors[0]
    );
    assert!(proxy.stats().faults >= 1);
    with_zone(&p, "gone.internal");
    let run = p.manage(["staging", "status"]).code(2);
    let errors = [names_unknown(&run, "gone.internal")];
    assert!(
        errors[0].contains("dns.zone \"gone.internal\": no hosted zone"),
        "{}",
        errors[0]
    );
    let json = p
        .manage(["staging", "status", "--output", "json"])
        .code(2)
        .json();
    assert!(json["dns"]["error"]
        .as_str()
        .unwrap()
        .contains("gone.internal"));
    assert!(json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["dns"].is_null()));
}
