//! `doctor` and `<env> doctor` with the real binary against the emulator: every check passes on
//! a good setup, and each broken thing gives its own FAIL line saying what to do, while every
//! other check still runs. Exit 0 only when all pass, 1 otherwise.

mod common;

use common::{Moto, Project};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

const ENV_CHECKS: [&str; 12] = [
    "config",
    "ansible",
    "ssh",
    "ssh key",
    "transport",
    "region",
    "credentials",
    "bucket",
    "bucket private",
    "bucket encrypted",
    "key pair",
    "base AMI",
];

/// A project the doctor should find ready: a private key file, its key pair in the emulator
/// (Moto::start makes it),
/// and the bucket made as `manage` makes it.
async fn ready(moto: &Moto) -> Project {
    let p = Project::new(&moto.url);
    p.write("keys/argos.pem", "a private key\n");
    chmod(&p, "keys/argos.pem", 0o600);
    // Moto::start made its key pair (argos) already.
    p.manage(["staging", "config", "push"]).ok();
    p
}

fn chmod(p: &Project, rel: &str, mode: u32) {
    std::fs::set_permissions(p.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
}

/// (status, detail) of each check, by name, from `--output json`.
fn checks(out: &Value) -> Vec<(String, String, String)> {
    out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("check"), s("status"), s("detail"))
        })
        .collect()
}

/// Run `<env> doctor -o json` with these variables; exit 1, and exactly `failed` failing, each
/// FAIL detail containing its words. Every check is listed whatever failed.
#[track_caller]
fn fails(
    p: &Project,
    args: &[&str],
    vars: &[(&str, Option<&str>)],
    failed: &[(&str, &[&str])],
) -> Vec<(String, String, String)> {
    let mut all = vec!["staging", "doctor", "-o", "json"];
    all.extend(args);
    let run = p.manage_with(all, vars).code(1);
    let out = run.json();
    assert_eq!(out["ok"], false);
    let list = checks(&out);
    let names: Vec<&str> = list.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ENV_CHECKS, "{out}");
    let got: Vec<&str> = list
        .iter()
        .filter(|c| c.1 == "fail")
        .map(|c| c.0.as_str())
        .collect();
    let want: Vec<&str> = failed.iter().map(|f| f.0).collect();
    assert_eq!(got, want, "{out}");
    for (check, words) in failed {
        let detail = &list.iter().find(|c| c.0 == *check).unwrap().2;
        for w in *words {
            assert!(detail.contains(w), "{check}: {detail:?} lacks {w:?}");
        }
    }
    let errors = run.error_lines();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains(&format!("{} of 12 checks failed", failed.len())),
        "{}",
        errors[0]
    );
    list
}

fn status<'a>(list: &'a [(String, String, String)], check: &str) -> &'a str {
    &list.iter().find(|c| c.0 == check).unwrap().1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_setup_passes_every_check() {
    let moto = Moto::start();
    let p = ready(&moto).await;

    let run = p.manage(["staging", "doctor"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 12, "{}", run.stdout);
    for (line, check) in lines.iter().zip(ENV_CHECKS) {
        assert!(
            line.starts_with("ok  ") && line[6..].starts_with(check),
            "{line}"
        );
    }
    assert!(!run.stdout.contains('\x1b'), "colour off a terminal");
    let text = run.stdout;
    assert!(text.contains("account 123456789012"), "{text}");
    assert!(text.contains("ansible-playbook [core"), "{text}");
    assert!(text.contains("OpenSSH"), "{text}");
    assert!(text.contains("keys/argos.pem (mode 0600)"), "{text}");
    assert!(text.contains("default encryption AES256"), "{text}");
    assert!(text.contains("ami-785db401"), "{text}");

    let json = p.manage(["staging", "doctor", "-o", "json"]).ok().json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["env"], "staging");
    assert!(checks(&json).iter().all(|c| c.1 == "ok"), "{json}");

    // With no env: the same checks but the key pair and base AMI.
    let top = p.manage(["doctor", "-o", "json"]).ok().json();
    let names: Vec<String> = checks(&top).into_iter().map(|c| c.0).collect();
    assert_eq!(names, ENV_CHECKS[..10]);
    assert_eq!(top["env"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_problem_has_its_own_fail_line_and_every_check_still_runs() {
    let moto = Moto::start();
    let p = ready(&moto).await;

    // The SSH key file: missing, then readable by others.
    std::fs::rename(p.path("keys/argos.pem"), p.path("keys/gone.pem")).unwrap();
    fails(
        &p,
        &[],
        &[],
        &[("ssh key", &["keys/argos.pem", "not found"])],
    );
    std::fs::rename(p.path("keys/gone.pem"), p.path("keys/argos.pem")).unwrap();
    chmod(&p, "keys/argos.pem", 0o644);
    fails(&p, &[], &[], &[("ssh key", &["mode 0644", "chmod 600"])]);
    chmod(&p, "keys/argos.pem", 0o600);

    // Programs: no Ansible on PATH (ssh there), then neither (and so no transport).
    let bin = p.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let ssh = common::test_path();
    let ssh = std::env::split_paths(&ssh)
        .map(|d| d.join("ssh"))
        .find(|f| f.is_file())
        .expect("ssh on PATH");
    std::os::unix::fs::symlink(ssh, bin.join("ssh")).unwrap();
    let only_ssh = bin.to_str().unwrap();
    fails(
        &p,
        &[],
        &[("PATH", Some(only_ssh))],
        &[(
            "ansible",
            &["ansible-playbook not found on PATH", "pip install"],
        )],
    );
    let empty = p.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    fails(
        &p,
        &[],
        &[("PATH", Some(empty.to_str().unwrap()))],
        &[
            ("ansible", &["not found on PATH"]),
            ("ssh", &["ssh not found on PATH", "openssh-client"]),
            ("transport", &["install it"]),
        ],
    );

    // Session Manager without its programs.
    p.edit_config(|c| {
        c["transport"] = "ssm".into();
        c.as_object_mut().unwrap().remove("address");
    });
    fails(
        &p,
        &[],
        &[("PATH", Some(only_ssh))],
        &[
            ("ansible", &["not found"]),
            ("transport", &["not found on PATH", "\"ssm\" needs it"]),
        ],
    );
    p.edit_config(|c| {
        c.as_object_mut().unwrap().remove("transport");
        c["address"] = "private_ip".into();
    });

    // A bastion in ssh_args: the transport names it, and needs ssh.
    p.edit_config(|c| c["ssh_args"] = serde_json::json!(["-J", "ops@bastion"]));
    let json = p.manage(["staging", "doctor", "-o", "json"]).ok().json();
    let list = checks(&json);
    let transport = list.iter().find(|c| c.0 == "transport").unwrap();
    assert_eq!(transport.2, "ssh with ssh_args -J ops@bastion");
    fails(
        &p,
        &[],
        &[("PATH", Some(empty.to_str().unwrap()))],
        &[
            ("ansible", &["not found on PATH"]),
            ("ssh", &["ssh not found on PATH"]),
            (
                "transport",
                &["ssh with ssh_args -J ops@bastion", "install it"],
            ),
        ],
    );
    p.edit_config(|c| {
        c.as_object_mut().unwrap().remove("ssh_args");
    });

    // AWS: a malformed region (the credentials are not tried), then no credentials at all.
    let list = fails(
        &p,
        &["--region", "mars-1"],
        &[],
        &[("region", &["\"mars-1\" is not an AWS region name"])],
    );
    assert_eq!(status(&list, "credentials"), "skip");
    assert_eq!(status(&list, "bucket"), "skip");
    let list = fails(
        &p,
        &[],
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
        &[("credentials", &["no AWS credentials found", "AWS_PROFILE"])],
    );
    assert_eq!(status(&list, "bucket"), "skip");
    assert_eq!(
        status(&list, "ansible"),
        "ok",
        "the checks on this machine still ran"
    );

    // A bucket that does not exist: named, with what creates it; doctor does not create it.
    p.edit_config(|c| c["bucket"] = "argos-elsewhere".into());
    let list = fails(
        &p,
        &[],
        &[],
        &[(
            "bucket",
            &[
                "argos-elsewhere does not exist",
                "manage staging config push",
            ],
        )],
    );
    assert_eq!(status(&list, "bucket private"), "skip");
    let s3 = moto.s3().await;
    assert!(s3
        .head_bucket()
        .bucket("argos-elsewhere")
        .send()
        .await
        .is_err());

    // A bucket made by hand: public access not blocked, no default encryption.
    s3.create_bucket()
        .bucket("argos-elsewhere")
        .send()
        .await
        .unwrap();
    fails(
        &p,
        &[],
        &[],
        &[
            (
                "bucket private",
                &[
                    "does not block all public access",
                    "put-public-access-block",
                ],
            ),
            (
                "bucket encrypted",
                &["no default encryption", "put-bucket-encryption"],
            ),
        ],
    );
    p.edit_config(|c| c["bucket"] = "argos-cfn-templates".into());

    // The key pair and the base AMI are not in the region.
    p.edit_config(|c| {
        c["key_pair"] = "nobody".into();
        c["base_ami"] = "ami-0123456789abcdef0".into();
    });
    fails(
        &p,
        &[],
        &[],
        &[
            (
                "key pair",
                &[
                    "key pair nobody does not exist in us-east-1",
                    "import-key-pair",
                ],
            ),
            (
                "base AMI",
                &[
                    "ami-0123456789abcdef0 does not exist in us-east-1",
                    "\"base_ami\"",
                ],
            ),
        ],
    );

    // A config that does not load: its own line, and the checks that need it are skipped.
    p.edit_config(|c| {
        c.as_object_mut().unwrap().remove("bucket");
    });
    let list = fails(&p, &[], &[], &[("config", &["\"bucket\""])]);
    for check in ["ssh key", "transport", "bucket", "key pair", "base AMI"] {
        assert_eq!(status(&list, check), "skip", "{check}");
    }
    for check in ["ansible", "ssh", "region", "credentials"] {
        assert_eq!(status(&list, check), "ok", "{check}");
    }
}

/// With `"mitogen": true`, a line after Ansible's says where Mitogen is for Ansible's Python,
/// or what to do when that Python cannot import it.
#[tokio::test(flavor = "multi_thread")]
async fn mitogen_has_its_own_line_when_the_config_turns_it_on() {
    let moto = Moto::start();
    let p = ready(&moto).await;
    p.edit_config(|c| c["mitogen"] = true.into());
    let mut names = ENV_CHECKS.to_vec();
    names.insert(2, "mitogen");

    let json = p.manage(["staging", "doctor", "-o", "json"]).ok().json();
    let list = checks(&json);
    assert_eq!(list.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), names);
    let mitogen = list.iter().find(|c| c.0 == "mitogen").unwrap();
    assert_eq!(mitogen.1, "ok", "{json}");
    for words in ["mitogen 0.3.54", ".venv/bin/python3", "mitogen_linear"] {
        assert!(mitogen.2.contains(words), "{}", mitogen.2);
    }

    // An Ansible whose Python has no Mitogen (a stand-in Python: Ansible's --version answers,
    // the import fails as it does without the module).
    let bin = p.path("bin");
    p.write(
        "bin/python3",
        "#!/bin/sh\ncase \"$1\" in\n  -c) echo \"ModuleNotFoundError: No module named 'ansible_mitogen'\" >&2; exit 1 ;;\n  *) echo 'ansible-playbook [core 2.19.14]' ;;\nesac\n",
    );
    p.write(
        "bin/ansible-playbook",
        &format!("#!{}\n", bin.join("python3").display()),
    );
    for f in ["bin/python3", "bin/ansible-playbook"] {
        chmod(&p, f, 0o755);
    }
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&common::test_path())),
    )
    .unwrap();
    let run = p
        .manage_with(
            ["staging", "doctor", "-o", "json"],
            &[("PATH", path.to_str())],
        )
        .code(1);
    let list = checks(&run.json());
    let failed: Vec<&str> = list
        .iter()
        .filter(|c| c.1 == "fail")
        .map(|c| c.0.as_str())
        .collect();
    assert_eq!(failed, ["mitogen"], "{list:?}");
    let detail = &list.iter().find(|c| c.0 == "mitogen").unwrap().2;
    for words in [
        "bin/python3 -m pip install mitogen",
        "set \"mitogen\" to false",
    ] {
        assert!(detail.contains(words), "{detail}");
    }

    // No Ansible at all: nothing to ask, so the Mitogen line waits for it.
    let empty = p.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = p
        .manage_with(
            ["staging", "doctor", "-o", "json"],
            &[("PATH", Some(empty.to_str().unwrap()))],
        )
        .code(1);
    assert_eq!(status(&checks(&run.json()), "mitogen"), "skip");
}
