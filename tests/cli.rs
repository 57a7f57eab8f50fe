//! The top-level commands that need no env (init, completions, man, --version) and the
//! command line's manners: clap's full usage errors, -o, a malformed endpoint, colour.

mod common;

use common::{Project, Run};
use std::process::{Command, Stdio};

fn manage_in(dir: &std::path::Path, args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_manage"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run manage")
        .into()
}

#[test]
fn init_makes_a_project_that_validates_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    manage_in(tmp.path(), &["init", "shop"]).ok();
    let dir = tmp.path().join("shop");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["app"], "shop");
    // Reachable on AWS as the example is, yet open to nobody until the operator says who.
    assert_eq!(config["parameters"]["SshCidr"], "203.0.113.1/32");
    let network = std::fs::read_to_string(dir.join("formations/network.yaml")).unwrap();
    assert!(
        network.contains("AWS::EC2::Route\n") && network.contains("MapPublicIpOnLaunch: true"),
        "{network}"
    );
    let ignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    for kept_out in ["config.json", "keys/", "secrets/"] {
        assert!(
            ignore.lines().any(|l| l == kept_out),
            "{kept_out}: {ignore}"
        );
    }
    let run = manage_in(&dir, &["staging", "validate"]).ok();
    assert!(run.stdout.contains("staging: valid"), "{}", run.stdout);
    assert!(run.stdout.contains("app, network"), "{}", run.stdout);
    // --app names the app whatever the folder; a second init refuses and changes nothing.
    manage_in(tmp.path(), &["init", "two", "--app", "Billing"]).ok();
    let before = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let again = manage_in(tmp.path(), &["init", "shop", "--app", "other"]).code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("config.json")).unwrap(),
        before
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef manage"),
        ("fish", "complete -c manage"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = manage_in(tmp.path(), &["completions", shell]).ok();
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(
            run.stdout.contains("decommission"),
            "{shell} lacks the actions"
        );
    }
    let man = manage_in(tmp.path(), &["man"]).ok();
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH manage"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains("decommission") && man.stdout.contains("endpoint"));
    let bad = manage_in(tmp.path(), &["completions", "tcsh"]).code(2);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}

#[test]
fn version_names_the_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let run = manage_in(tmp.path(), &["--version"]).ok();
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(common::ROOT)
        .output()
        .unwrap();
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
    assert!(
        run.stdout.starts_with("manage ") && run.stdout.contains(&commit),
        "{} (commit {commit})",
        run.stdout
    );
}

#[test]
fn usage_errors_keep_what_clap_says() {
    let p = Project::new("http://127.0.0.1:9");
    let missing = p.manage(["qa", "exec"]).code(2);
    assert!(missing.stderr.contains("<COMMAND>"), "{}", missing.stderr);
    let similar = p.manage(["qa", "statsu"]).code(2);
    assert!(
        similar.stderr.contains("similar") && similar.stderr.contains("status"),
        "{}",
        similar.stderr
    );
    let values = p.manage(["qa", "status", "-o", "yaml"]).code(2);
    assert!(
        values.stderr.contains("possible values") && values.stderr.contains("json"),
        "{}",
        values.stderr
    );
    let no_env = p.manage(["status"]).code(2);
    assert!(no_env.stderr.contains("<ENV>"), "{}", no_env.stderr);
    let json = p.manage(["qa", "template", "-o", "json"]).ok();
    json.json();
}

#[test]
fn a_malformed_endpoint_is_bad_input() {
    let p = Project::new("http://127.0.0.1:9");
    let run = p
        .manage(["qa", "status", "--endpoint-url", "not a url"])
        .code(2);
    assert!(run.stderr.contains("--endpoint-url"), "{}", run.stderr);
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let p = Project::new("http://127.0.0.1:9");
    let exe = env!("CARGO_BIN_EXE_manage");
    // `script` gives manage a terminal; the same run with NO_COLOR has no escape codes.
    let on_tty = |no_color: bool| {
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &format!("{exe} qa statsu"), "/dev/null"])
            .current_dir(p.dir.path())
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&cmd.output().expect("script (util-linux)").stdout).into_owned()
    };
    assert!(on_tty(false).contains("\u{1b}["), "no colour on a terminal");
    assert!(!on_tty(true).contains("\u{1b}["), "colour despite NO_COLOR");
    let piped = Command::new(exe)
        .args(["qa", "statsu"])
        .current_dir(p.dir.path())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'),
        "colour off a terminal"
    );
}
