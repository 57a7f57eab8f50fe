//! End to end with real hosts: moto, the real binary, and the harness's sshd hosts in network
//! namespaces. Each test has its own emulator, harness and address range.

mod common;

use common::hosts::{reachable_project, RealHosts};
use common::{Moto, Project};
use std::collections::BTreeMap;

/// group → addresses, from `manage status --output json`.
fn addresses(p: &Project) -> BTreeMap<String, Vec<String>> {
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in status["hosts"].as_array().unwrap() {
        out.entry(h["group"].as_str().unwrap().to_owned())
            .or_default()
            .push(h["private_ip"].as_str().unwrap().to_owned());
    }
    out
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `changed=N` counts of every PLAY RECAP line.
fn changed_counts(stderr: &str) -> Vec<u32> {
    stderr
        .lines()
        .filter_map(|l| l.split("changed=").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

/// `exec hostname -I` on every host: `hosts` answers, each with its own address, exit 0.
fn exec_answers_from_each_host(p: &Project, hosts: usize) {
    let out = p
        .manage([
            "staging", "exec", "--output", "json", "--", "hostname", "-I",
        ])
        .ok()
        .json();
    let list = out["hosts"].as_array().unwrap();
    assert_eq!(list.len(), hosts);
    for h in list {
        assert_eq!(
            h["stdout"].as_str().unwrap().trim(),
            h["address"].as_str().unwrap(),
            "{h}"
        );
        assert_eq!(h["exit_code"], 0);
    }
}

fn http_get(address: &str, port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect((address, port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// A whole `commission` (bake included) ends deployed to the example's 3 hosts.
fn commission_deploys_to_three_hosts(p: &Project, hosts: &mut RealHosts) {
    let run = p.manage(["staging", "commission"]).ok();
    assert!(
        run.stdout.contains("deployed to 3 host(s)"),
        "{}",
        run.stdout
    );
    hosts.wait_for(3);
}

#[test]
fn commission_deploys_real_hosts_and_a_second_deploy_changes_nothing() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 101);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    commission_deploys_to_three_hosts(&p, &mut hosts);

    let addr = addresses(&p);
    let bucket = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json()["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "UploadsBucketName")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = read(&p, "hostfs/argos-staging-app-0/etc/argos.conf");
    assert!(
        app.contains("app = argos\n") && app.contains("env = staging\n"),
        "{app}"
    );
    assert!(
        app.contains(&format!("uploads_bucket = {bucket}\n")),
        "{app}"
    );
    assert!(
        app.contains(&format!("worker_hosts = {}\n", addr["worker"].join(","))),
        "{app}"
    );
    assert!(
        app.contains(&format!("listen = {}:8080\n", addr["app"][0])),
        "{app}"
    );
    for n in 0..2 {
        let worker = read(
            &p,
            &format!("hostfs/argos-staging-worker-{n}/etc/argos.conf"),
        );
        assert!(
            worker.contains("role = worker\n")
                && worker.contains(&format!("app_hosts = {}\n", addr["app"][0])),
            "{worker}"
        );
    }
    // The app's HTTP service answers on the app host's own address.
    let page = http_get(&addr["app"][0], 8080, "/health");
    assert!(
        page.contains("200") && page.ends_with("ok argos staging\n"),
        "{page}"
    );

    let again = p.manage(["staging", "deploy"]).ok();
    let counts = changed_counts(&again.stderr);
    assert_eq!(
        counts,
        [0, 0, 0],
        "second deploy changed something:\n{}",
        again.stderr
    );

    // Both runs are in the env's history, newest first, with the hosts they deployed to.
    let history = p.manage(["staging", "history", "-o", "json"]).ok().json();
    let records = history["records"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("deploy", "ok"), ("commission", "ok")], "{history}");
    let names = serde_json::json!([
        "argos-staging-app-0",
        "argos-staging-worker-0",
        "argos-staging-worker-1"
    ]);
    for r in records {
        assert_eq!(r["hosts"], names, "{r}");
        assert_eq!(r["groups"], serde_json::json!(["app", "worker"]), "{r}");
        assert_eq!(r["images"].as_array().unwrap().len(), 1, "{r}");
    }
    hosts.stop_and_check();
}

#[test]
fn deploy_of_one_group_touches_only_that_group() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 102);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    // The dry run names what the real run then does: worker.yml on the workers only.
    let dry = p
        .manage(["staging", "deploy", "--group", "worker", "--dry-run"])
        .ok();
    assert!(
        dry.stderr.contains("worker.yml on worker"),
        "{}",
        dry.stderr
    );
    assert!(!dry.stderr.contains("app.yml"), "{}", dry.stderr);
    assert!(!p.path("hostfs/argos-staging-worker-0").exists());
    let run = p.manage(["staging", "deploy", "--group", "worker"]).ok();
    assert!(
        run.stdout.contains("deployed to 2 host(s)"),
        "{}",
        run.stdout
    );
    assert!(p
        .path("hostfs/argos-staging-worker-0/etc/argos.conf")
        .exists());
    assert!(p
        .path("hostfs/argos-staging-worker-1/etc/argos.conf")
        .exists());
    assert!(
        !p.path("hostfs/argos-staging-app-0").exists(),
        "the app host was touched"
    );
    assert!(!run.stderr.contains("[app]"), "{}", run.stderr);

    // Facts only where a play asks for them: none for a play that does not say...
    p.write(
        "playbooks/worker.yml",
        "- hosts: worker\n  tasks:\n    - ansible.builtin.copy:\n        dest: \"{{ argos_root }}/facts\"\n        content: \"{{ ansible_facts | length }}\"\n",
    );
    let one = ["staging", "deploy", "--group", "worker", "--index", "0"];
    p.manage(one).ok();
    assert_eq!(read(&p, "hostfs/argos-staging-worker-0/facts"), "0");
    // ...unless the operator's ansible.cfg says otherwise: it wins over manage's defaults.
    p.write("ansible.cfg", "[defaults]\ngathering = implicit\n");
    p.manage(one).ok();
    let facts: u32 = read(&p, "hostfs/argos-staging-worker-0/facts")
        .parse()
        .unwrap();
    assert!(facts > 10, "{facts} facts with gathering = implicit");

    let unknown = p.manage(["staging", "deploy", "--group", "db"]).code(2);
    assert!(
        unknown
            .stderr
            .contains("--group db: no such host (there are: app 0; worker 0, 1)"),
        "{}",
        unknown.stderr
    );
    hosts.stop_and_check();
}

#[test]
fn exec_returns_each_hosts_own_address_and_ssh_reaches_a_host() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 103);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    exec_answers_from_each_host(&p, 3);
    let text = p
        .manage([
            "staging",
            "exec",
            "--group",
            "worker",
            "--index",
            "1",
            "--",
            "hostname -I",
        ])
        .ok();
    let worker1 = &addresses(&p)["worker"][1];
    assert!(
        text.stdout.starts_with(&format!(
            "==> argos-staging-worker-1 ({worker1}) exit 0\n  {worker1}"
        )),
        "{}",
        text.stdout
    );

    let failing = p
        .manage(["staging", "exec", "--group", "app", "--", "exit 5"])
        .code(1);
    assert!(
        failing
            .stderr
            .contains("exec on 1 of 1 hosts (argos-staging-app-0)"),
        "{}",
        failing.stderr
    );

    let printed = p.manage(["staging", "ssh", "worker", "1", "--print"]).ok();
    assert!(
        printed.stdout.contains(&format!("-l root {worker1}")),
        "{}",
        printed.stdout
    );
    // A real session: ssh runs the remote shell on an empty stdin and exits 0.
    p.manage(["staging", "ssh", "app"]).ok();
    hosts.stop_and_check();
}

#[test]
fn inventory_works_with_ansible_and_leaves_out_stopped_hosts() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 104);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    let script = p.manage(["staging", "inventory", "--script"]).ok().stdout;
    assert_eq!(script.lines().count(), 2, "{script}");
    p.write("inventory.sh", &script);
    std::fs::set_permissions(
        p.path("inventory.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let listed =
        std::process::Command::new(format!("{}/.venv/bin/ansible-inventory", common::ROOT))
            .args(["-i", "inventory.sh", "--list"])
            .current_dir(p.dir.path())
            .env("PATH", common::test_path())
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            // The example config names no region: the operator's AWS chain does.
            .env("AWS_REGION", "us-east-1")
            .env("XDG_CONFIG_HOME", p.path("xdg"))
            .output()
            .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let inv: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        inv["worker"]["hosts"],
        serde_json::json!(["argos-staging-worker-0", "argos-staging-worker-1"])
    );
    assert_eq!(
        inv["app"]["hosts"],
        serde_json::json!(["argos-staging-app-0"])
    );
    let hv = &inv["_meta"]["hostvars"]["argos-staging-app-0"];
    assert_eq!(
        hv["ansible_host"].as_str().unwrap(),
        addresses(&p)["app"][0]
    );
    assert_eq!(hv["env"], "staging");

    // Stop a worker: it leaves the inventory (and the harness tears its host down).
    let status = p
        .manage(["staging", "status", "--output", "json"])
        .ok()
        .json();
    let worker0 = status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["group"] == "worker")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        moto.ec2()
            .await
            .stop_instances()
            .instance_ids(&worker0)
            .send()
            .await
            .unwrap()
    });
    let list = p.manage(["staging", "inventory", "--list"]).ok();
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let workers = list["worker"]["hosts"].as_array().unwrap();
    assert_eq!(workers.len(), 1);
    assert!(list["_meta"]["hostvars"]
        .as_object()
        .unwrap()
        .values()
        .all(|h| h["instance_id"] != worker0.as_str()));
    hosts.wait_for(2);
    hosts.stop_and_check();
}

#[test]
fn a_host_that_never_answers_fails_the_deploy_with_exit_4_naming_it() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 105);
    p.edit_config(|c| c["timeouts"]["ssh"] = 2.into());
    // Only the app host becomes real; the workers never answer.
    let mut hosts = RealHosts::start(&moto, &p, &["Group=app"]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(1);
    let run = p.manage(["staging", "deploy"]).code(4);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("argos-staging-worker-0")
            && errors[0].contains("argos-staging-worker-1"),
        "{}",
        errors[0]
    );
    assert!(
        !errors[0].contains("app-0"),
        "the app host answered: {}",
        errors[0]
    );
    hosts.stop_and_check();
}

#[test]
fn a_failing_task_passes_ansibles_exit_code_and_names_the_group() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 106);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    let playbook = read(&p, "playbooks/worker.yml");
    p.write(
        "playbooks/worker.yml",
        &format!(
            "{playbook}\n    - name: Break on purpose\n      ansible.builtin.command: /bin/false\n"
        ),
    );
    let run = p.manage(["staging", "deploy"]).code(2);
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("playbook worker.yml for group worker failed with exit code 2"),
        "{}",
        errors[0]
    );
    assert!(
        run.stderr.contains("[worker] ") && run.stderr.contains("Break on purpose"),
        "{}",
        run.stderr
    );
    hosts.stop_and_check();
}

#[test]
fn vars_and_secrets_reach_a_real_host_and_the_secret_stays_out_of_argv_and_output() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 107);
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    p.edit_config(|c| {
        c["vars"] =
            serde_json::json!({"greeting": "hello", "db_password": {"env": "MANAGE_TEST_DB_PW"}});
        c["environments"]["staging"]["vars"] = serde_json::json!({"greeting": "hi staging"});
    });
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);
    // The hosts share the machine's process table: the task sees ansible-playbook's argv.
    p.write(
        "playbooks/app.yml",
        "- hosts: app\n  gather_facts: false\n  tasks:\n    - ansible.builtin.file:\n        path: \"{{ argos_root }}\"\n        state: directory\n      tags: [vars]\n    - ansible.builtin.shell: ps -eo args | grep '[a]nsible-playbook'\n      register: argv\n      tags: [vars]\n    - ansible.builtin.copy:\n        dest: \"{{ argos_root }}/vars\"\n        content: \"{{ greeting }} {{ db_password }} {{ extra }}\\n{{ argv.stdout }}\\n\"\n      tags: [vars]\n      diff: false\n    - ansible.builtin.copy:\n        dest: \"{{ argos_root }}/untagged\"\n        content: x\n",
    );
    let secret = "s3cr3t-7d1f";
    std::env::set_var("MANAGE_TEST_DB_PW", secret);
    let run = p
        .manage([
            "staging",
            "deploy",
            "-g",
            "app",
            "-e",
            "extra=from-e",
            "--tags",
            "vars",
            "--diff",
        ])
        .ok();
    let written = read(&p, "hostfs/argos-staging-app-0/vars");
    let mut lines = written.lines();
    assert_eq!(
        lines.next(),
        Some(format!("hi staging {secret} from-e").as_str())
    );
    let argv = lines.collect::<Vec<_>>().join("\n");
    assert!(
        argv.contains("ansible-playbook") && argv.contains("--tags vars"),
        "{argv}"
    );
    assert!(
        !argv.contains(secret),
        "the secret is in ansible-playbook's argv: {argv}"
    );
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the secret was printed"
    );
    assert!(
        !p.path("hostfs/argos-staging-app-0/untagged").exists(),
        "--tags did not reach Ansible"
    );
    hosts.stop_and_check();
}

/// `"mitogen": true`: the bake and the deploy run through Mitogen's strategy (become included),
/// each host's tasks inside the one Python process Mitogen keeps there; an operator whose
/// ansible.cfg names a strategy keeps it.
#[test]
fn mitogen_runs_the_bake_and_the_deploy_and_the_operators_own_strategy_wins() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 109);
    p.edit_config(|c| c["mitogen"] = true.into());
    let mut hosts = RealHosts::start(&moto, &p, &[]);
    commission_deploys_to_three_hosts(&p, &mut hosts);
    let app = read(&p, "hostfs/argos-staging-app-0/etc/argos.conf");
    assert!(app.contains("env = staging\n"), "{app}");
    let page = http_get(&addresses(&p)["app"][0], 8080, "/health");
    assert!(page.ends_with("ok argos staging\n"), "{page}");
    let again = p.manage(["staging", "deploy"]).ok();
    assert_eq!(changed_counts(&again.stderr), [0, 0, 0], "{}", again.stderr);

    // Each worker writes down the process its task ran under.
    p.write(
        "playbooks/worker.yml",
        "- hosts: worker\n  gather_facts: false\n  become: true\n  tasks:\n    - ansible.builtin.shell: \"tr '\\\\0' ' ' < /proc/$PPID/cmdline > {{ argos_root }}/runner\"\n",
    );
    let runner = |n: u32| read(&p, &format!("hostfs/argos-staging-worker-{n}/runner"));
    p.manage(["staging", "deploy", "--group", "worker"]).ok();
    for n in 0..2 {
        assert!(runner(n).contains("(mitogen:root@"), "{}", runner(n));
    }
    p.write("ansible.cfg", "[defaults]\nstrategy = linear\n");
    p.manage(["staging", "deploy", "--group", "worker"]).ok();
    for n in 0..2 {
        assert!(!runner(n).contains("mitogen"), "{}", runner(n));
    }
    hosts.stop_and_check();
}

/// Hosts that accept SSH only from a bastion (a host of its own, served by a second harness
/// whose sshd the hosts' sshd allows alone): unreachable directly, reached with `ssh_args`
/// `-J` through it, by the readiness probe, Ansible and `exec` alike.
#[tokio::test(flavor = "multi_thread")]
async fn hosts_behind_a_bastion_are_reached_through_ssh_args_proxyjump() {
    let moto = Moto::start();
    let p = reachable_project(&moto, 108);
    moto.launch("ami-785db401", &[("App", "bastion")]).await;
    let mut bastion = RealHosts::start_as(&moto, &p, &["App=bastion"], "bastion", &[]);
    let bastion_ip = bastion.wait_for(1).remove(0).ip;
    let mut hosts = RealHosts::start_as(
        &moto,
        &p,
        &["App=argos"],
        "realhosts",
        &["--allow-from", &bastion_ip],
    );
    p.edit_config(|c| c["timeouts"]["ssh"] = 3.into());
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    hosts.wait_for(3);

    // Directly, the hosts refuse the login: exit 4 naming them.
    let direct = p.manage(["staging", "exec", "--", "true"]).code(4);
    assert!(
        direct.stderr.contains("argos-staging-app-0"),
        "{}",
        direct.stderr
    );

    // Through the bastion, as an operator's ~/.ssh/config and ssh_args would have it (-F
    // stands in for ~/.ssh/config: ssh reads the user's home from the password database).
    let ssh_config = p.path("ssh_config");
    std::fs::write(
        &ssh_config,
        format!(
            "Host {bastion_ip}\n  User root\n  IdentityFile {key}\n  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile {known}\n",
            key = p.path("id").display(),
            known = p.path("bastion_known_hosts").display(),
        ),
    )
    .unwrap();
    p.edit_config(|c| {
        c["timeouts"]["ssh"] = 60.into();
        c["ssh_args"] = serde_json::json!([
            "-F",
            ssh_config.display().to_string(),
            "-J",
            format!("root@{bastion_ip}")
        ]);
    });
    let run = p.manage(["staging", "deploy"]).ok();
    assert!(
        run.stdout.contains("deployed to 3 host(s)"),
        "{}",
        run.stdout
    );
    let app = read(&p, "hostfs/argos-staging-app-0/etc/argos.conf");
    assert!(app.contains("env = staging\n"), "{app}");
    exec_answers_from_each_host(&p, 3);
    // Mitogen goes the same way, on connections of its own (no shared one to lean on).
    p.edit_config(|c| {
        c["mitogen"] = true.into();
        let args = c["ssh_args"].as_array_mut().unwrap();
        args.extend(["-o".into(), "ControlPath=none".into()]);
    });
    std::fs::remove_file(p.path("hostfs/argos-staging-app-0/etc/argos.conf")).unwrap();
    p.manage(["staging", "deploy"]).ok();
    assert_eq!(read(&p, "hostfs/argos-staging-app-0/etc/argos.conf"), app);
    // Every login the hosts took came through the bastion.
    assert!(
        std::fs::read_to_string(p.path("bastion_known_hosts"))
            .unwrap()
            .contains(&bastion_ip),
        "ssh never went through the bastion"
    );
    hosts.stop_and_check();
    bastion.stop_and_check();
}
