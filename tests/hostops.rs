//! Host actions with real hosts: stop, start, reboot and terminate move real sshd hosts (the
//! harness follows the emulator's instance states), numbers never shift, and a deploy with a
//! selector touches only the chosen host. Needs root (see tests/common/hosts.rs).

mod common;

use common::hosts::{reachable_project, RealHosts};
use common::{Moto, Project};

/// (name, instance id, state) of every host `status` lists.
fn hosts_of(p: &Project) -> Vec<(String, String, String)> {
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let s = |k: &str| h[k].as_str().unwrap().to_owned();
            (s("name"), s("id"), s("state"))
        })
        .collect()
}

fn id_of(p: &Project, name: &str) -> String {
    hosts_of(p)
        .into_iter()
        .find(|h| h.0 == name)
        .unwrap_or_else(|| panic!("no host {name}"))
        .1
}

/// The instance id that `exec` reaches with these selector arguments (exactly one host).
fn reached(p: &Project, selector: &[&str]) -> String {
    let mut args = vec!["staging", "exec", "--output", "json"];
    args.extend(selector);
    args.extend(["--", "true"]);
    let out = p.manage(args).ok().json();
    let list = out["hosts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{out}");
    list[0]["instance_id"].as_str().unwrap().to_owned()
}

/// An sshd greets with its banner. A bare TCP connect proves nothing: some networks (this
/// sandbox's, for one) accept any connection to any address.
fn answers_ssh(ip: &str) -> bool {
    use std::io::Read;
    let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 22);
    let timeout = std::time::Duration::from_secs(2);
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let mut banner = [0u8; 4];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-"
}

#[test]
fn stop_start_and_reboot_move_real_hosts_and_keep_every_number() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 121);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let ready = hosts.wait_for(3);
    let w0 = id_of(&p, "argos-staging-worker-0");
    let w1 = id_of(&p, "argos-staging-worker-1");
    let w0_ip = ready
        .iter()
        .find(|h| h.instance_id == w0)
        .unwrap()
        .ip
        .clone();
    assert_eq!(reached(&p, &["--group", "worker", "--index", "1"]), w1);

    // Without a terminal and without --yes: refused, nothing stopped.
    let refused = p
        .manage(["staging", "stop", "--group", "worker", "--index", "0"])
        .code(3);
    assert!(
        refused.error_lines()[0].contains("pass --yes"),
        "{}",
        refused.stderr
    );
    // A dry run says what it would do and changes nothing.
    let dry = p
        .manage(["staging", "stop", "argos-staging-worker-0", "--dry-run"])
        .ok();
    assert!(
        dry.stderr.contains(&format!(
            "would stop (batch 1): argos-staging-worker-0 ({w0})"
        )),
        "{}",
        dry.stderr
    );
    assert!(hosts_of(&p).iter().all(|h| h.2 == "running"));

    let stopped = p
        .manage([
            "staging", "stop", "--group", "worker", "--index", "0", "--yes", "--output", "json",
        ])
        .ok()
        .json();
    assert_eq!(stopped["action"], "stopped");
    assert_eq!(stopped["hosts"][0]["instance_id"], w0.as_str());
    assert_eq!(stopped["hosts"][0]["after"], "stopped");
    // The harness follows the stop: the stopped host's sshd is gone.
    hosts.wait_for(2);
    assert!(!answers_ssh(&w0_ip), "sshd of stopped {w0} still answers");
    // The other worker keeps its number: --index 1 reaches the same instance as before.
    assert_eq!(reached(&p, &["--group", "worker", "--index", "1"]), w1);
    let listed = hosts_of(&p);
    assert!(
        listed.contains(&(
            "argos-staging-worker-0".into(),
            w0.clone(),
            "stopped".into()
        )),
        "{listed:?}"
    );
    // Stopping it again is no change.
    let again = p
        .manage(["staging", "stop", "argos-staging-worker-0", "--yes"])
        .ok();
    assert!(
        again.stdout.contains("left alone: already stopped"),
        "{}",
        again.stdout
    );

    // start waits for status checks and SSH: the harness has brought sshd back by then.
    let started = p
        .manage(["staging", "start", "argos-staging-worker-0"])
        .ok();
    assert!(
        started.stdout.starts_with("staging: started 1 host(s)"),
        "{}",
        started.stdout
    );
    assert!(answers_ssh(&w0_ip));
    assert_eq!(reached(&p, &["--group", "worker", "--index", "0"]), w0);
    hosts.wait_for(3);

    let rebooted = p.manage(["staging", "reboot", "--group", "app"]).ok();
    assert!(
        rebooted.stdout.starts_with("staging: rebooted 1 host(s)"),
        "{}",
        rebooted.stdout
    );

    // --serial 1: one batch at a time, in number order, each stopped before the next.
    let serial = p
        .manage([
            "staging", "stop", "--group", "worker", "--serial", "1", "--yes",
        ])
        .ok();
    let first = serial
        .stderr
        .find("batch 1 of 2: argos-staging-worker-0")
        .expect(&serial.stderr);
    let second = serial
        .stderr
        .find("batch 2 of 2: argos-staging-worker-1")
        .expect(&serial.stderr);
    assert!(first < second, "{}", serial.stderr);
    hosts.wait_for(1);
    p.manage(["staging", "start", "--group", "worker"]).ok();
    hosts.wait_for(3);
    assert_eq!(reached(&p, &["argos-staging-worker-1"]), w1);
    hosts.stop_and_check();
}

#[test]
fn terminate_needs_force_for_stack_hosts_and_deploy_limits_to_the_selection() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 122);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    let w1 = id_of(&p, "argos-staging-worker-1");

    // deploy with a selector runs the playbooks on that host only.
    p.manage(["staging", "deploy", "--group", "worker", "--index", "0"])
        .ok();
    assert!(p
        .path("hostfs/argos-staging-worker-0/etc/argos.conf")
        .exists());
    assert!(!p.path("hostfs/argos-staging-worker-1").exists());
    assert!(!p.path("hostfs/argos-staging-app-0").exists());

    // The workers belong to the stack: refused without --force (exit 3), nothing changed.
    let refused = p
        .manage(["staging", "terminate", "argos-staging-worker-1", "--yes"])
        .code(3);
    assert!(
        refused.error_lines()[0].contains("argos-staging-worker-1")
            && refused.error_lines()[0].contains("--force"),
        "{}",
        refused.stderr
    );
    assert_eq!(hosts_of(&p).len(), 3);
    let gone = p
        .manage([
            "staging",
            "terminate",
            "argos-staging-worker-1",
            "--yes",
            "--force",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(gone["hosts"][0]["after"], "terminated");
    assert_eq!(gone["hosts"][0]["instance_id"], w1.as_str());
    hosts.wait_for(2);
    let names: Vec<String> = hosts_of(&p).into_iter().map(|h| h.0).collect();
    assert_eq!(names, ["argos-staging-app-0", "argos-staging-worker-0"]);

    // A protected env needs --force even with --yes.
    p.edit_config(|c| c["environments"]["staging"]["protected"] = true.into());
    let protected = p
        .manage(["staging", "terminate", "argos-staging-worker-0", "--yes"])
        .code(3);
    assert!(
        protected.error_lines()[0].contains("protected"),
        "{}",
        protected.stderr
    );
    hosts.stop_and_check();
}
