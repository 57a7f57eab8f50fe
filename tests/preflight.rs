//! End to end against moto: before `commission`, `update` or `bake` makes anything, a missing
//! image, a missing key pair and an instance type the region does not offer are each one line,
//! exit 2, nothing created; several are listed together; `--skip-preflight` goes on without.

mod common;

use common::{Moto, Project};

/// Image stacks and env stacks that exist now.
async fn stacks(moto: &Moto) -> Vec<String> {
    let out = moto.cfn().await.describe_stacks().send().await.unwrap();
    out.stacks()
        .iter()
        .filter(|s| s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE"))
        .map(|s| s.stack_name().unwrap_or_default().to_owned())
        .collect()
}

fn with<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(more).copied().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_problem_is_one_line_and_nothing_is_created() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let commission = ["staging", "commission", "--no-bake", "--no-deploy"];

    p.edit_config(|c| c["base_ami"] = "ami-0000dead".into());
    let run = p.manage(commission).code(2);
    assert_eq!(
        run.error_lines(),
        ["error: preflight: image ami-0000dead (key \"base_ami\") does not exist in us-east-1, or this account cannot use it"],
        "{}",
        run.stderr
    );
    // A bake checks the base AMI before it makes its image stack (after the checks on this
    // machine, which want the key file).
    p.write("keys/argos.pem", "a private key\n");
    std::fs::set_permissions(
        p.path("keys/argos.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let bake = p.manage(["staging", "bake"]).code(2);
    assert!(
        bake.error_lines()[0].contains("image ami-0000dead"),
        "{}",
        bake.stderr
    );
    assert_eq!(stacks(&moto).await, Vec::<String>::new());

    p.edit_config(|c| {
        c["base_ami"] = "ami-785db401".into();
        c["key_pair"] = "nobody".into();
    });
    let run = p.manage(commission).code(2);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    assert!(
        run.error_lines()[0]
            .contains("key pair nobody does not exist in us-east-1 (key \"key_pair\" in "),
        "{}",
        run.stderr
    );

    p.edit_config(|c| c["key_pair"] = "argos".into());
    let run = p
        .manage(with(
            &commission,
            &["--param", "WorkerInstanceType=t9.huge"],
        ))
        .code(2);
    assert_eq!(
        run.error_lines(),
        ["error: preflight: instance type t9.huge (parameter WorkerInstanceType) is not offered in us-east-1"],
        "{}",
        run.stderr
    );

    // Several problems: each on its own line, then one error line.
    p.edit_config(|c| {
        c["base_ami"] = "ami-0000dead".into();
        c["key_pair"] = "nobody".into();
    });
    let run = p
        .manage(with(
            &commission,
            &["--param", "WorkerInstanceType=t9.huge"],
        ))
        .code(2);
    assert_eq!(
        run.error_lines(),
        ["error: preflight: 3 problems (above); nothing was created or changed"],
        "{}",
        run.stderr
    );
    for line in [
        "  image ami-0000dead",
        "  key pair nobody",
        "  instance type t9.huge",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    assert_eq!(stacks(&moto).await, Vec::<String>::new());

    // --skip-preflight: no check (the emulator takes the unknown key pair name).
    p.edit_config(|c| c["base_ami"] = "ami-785db401".into());
    let run = p.manage(with(&commission, &["--skip-preflight"])).ok();
    assert!(
        run.stderr.contains("preflight skipped (--skip-preflight)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    // update: the same checks before the change set; the stack stays as it was.
    let run = p
        .manage([
            "staging",
            "update",
            "--yes",
            "--no-deploy",
            "--no-bake",
            "--param",
            "InstanceType=t9.huge",
        ])
        .code(2);
    assert!(run.error_lines().len() == 1, "{}", run.stderr);
    assert!(run.stderr.contains("key pair nobody"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("instance type t9.huge (parameter InstanceType)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        moto.stack_status("argos-staging").await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

/// A dry run runs no playbook and reaches no host: with no Ansible on PATH and no key file,
/// the dry runs of commission (which would bake), bake and deploy still print their plans.
#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_need_neither_ansible_nor_the_key_file() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    assert!(!p.path("keys/argos.pem").exists());
    let empty = tempfile::tempdir().unwrap();
    let bare = [("PATH", Some(empty.path().to_str().unwrap()))];

    let plan = p
        .manage_with(["staging", "commission", "--dry-run", "-o", "json"], &bare)
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["created"], true);
    let bake = p.manage_with(["staging", "bake", "--dry-run"], &bare).ok();
    assert!(
        bake.stderr
            .contains("would bake a new image from ami-785db401"),
        "{}",
        bake.stderr
    );
    assert_eq!(stacks(&moto).await, Vec::<String>::new());

    p.manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .ok();
    let deploy = p
        .manage_with(["staging", "deploy", "--dry-run"], &bare)
        .ok();
    assert!(
        deploy.stderr.contains("would run") && deploy.stderr.contains("app.yml on app"),
        "{}",
        deploy.stderr
    );
    // The real deploy needs them, and says which is missing.
    let real = p.manage_with(["staging", "deploy"], &bare).code(2);
    assert!(
        real.error_lines()[0].contains("ansible-playbook"),
        "{}",
        real.stderr
    );
}
