//! The example project's templates are valid for CloudFormation, not only for the emulator:
//! cfn-lint (PyPI, pinned in requirements-dev.txt) checks them against CloudFormation's own
//! resource specification. The env's template is checked as `manage staging template` prints
//! it, from the example exactly as shipped (config.example.json included).

mod common;

use common::{Project, Run, ROOT};
use std::path::Path;
use std::process::Command;

/// cfn-lint's exit code (0: no error, warning or informational finding) and its output.
fn cfn_lint(template: &Path) -> (i32, String) {
    let bin = Path::new(ROOT).join(".venv/bin/cfn-lint");
    assert!(
        bin.is_file(),
        "{} is missing: run `make test`, which installs it from requirements-dev.txt",
        bin.display()
    );
    let out = Command::new(&bin)
        .arg(template)
        .output()
        .expect("run cfn-lint");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// The example as shipped, and its merged `staging` template written to a file.
fn shipped_template() -> (Project, std::path::PathBuf) {
    // No AWS call is made: the endpoint is never used.
    let p = Project::new("http://127.0.0.1:9");
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("config.example.json")).unwrap();
    p.write("config.json", &shipped);
    let run = p.manage(["staging", "template"]).ok();
    let body: serde_json::Value = serde_json::from_str(&run.stdout).expect("template is JSON");
    assert!(
        body["Resources"]["DefaultRoute"].is_object(),
        "{}",
        run.stdout
    );
    let path = p.path("merged.json");
    std::fs::write(&path, &run.stdout).unwrap();
    (p, path)
}

#[test]
fn the_example_env_template_passes_cfn_lint() {
    let (_p, merged) = shipped_template();
    let (code, out) = cfn_lint(&merged);
    assert_eq!(code, 0, "cfn-lint on the merged example template:\n{out}");
}

#[test]
fn the_example_image_template_passes_cfn_lint() {
    let (code, out) = cfn_lint(&Path::new(ROOT).join("formations/image.yaml"));
    assert_eq!(code, 0, "cfn-lint on formations/image.yaml:\n{out}");
}

#[test]
fn cfn_lint_fails_a_broken_template() {
    let (p, merged) = shipped_template();
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    // A subnet with no VPC, and an instance property that does not exist.
    body["Resources"]["Subnet"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("VpcId");
    body["Resources"]["AppInstance"]["Properties"]["InstanceTyp"] = "t3.micro".into();
    let broken = p.path("broken.json");
    std::fs::write(&broken, body.to_string()).unwrap();
    let (code, out) = cfn_lint(&broken);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("VpcId") && out.contains("InstanceTyp"),
        "{out}"
    );
}

/// A project from `manage init` is as valid for CloudFormation as the example.
#[test]
fn an_init_project_passes_cfn_lint() {
    let p = Project::new("http://127.0.0.1:9");
    p.manage(["init", "shop"]).ok();
    let run = Run::from(
        p.command(["staging", "template"])
            .current_dir(p.path("shop"))
            .output()
            .unwrap(),
    )
    .ok();
    let merged = p.path("shop.json");
    std::fs::write(&merged, &run.stdout).unwrap();
    for template in [merged, p.path("shop/formations/image.yaml")] {
        let (code, out) = cfn_lint(&template);
        assert_eq!(code, 0, "cfn-lint on {}:\n{out}", template.display());
    }
}
