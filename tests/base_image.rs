//! `base_ami` as an SSM parameter (the example's: AWS's public Amazon Linux 2023 parameter,
//! which the emulator serves): read at run time for the bake, `--no-bake` and `doctor`; a
//! parameter that is missing or holds no AMI id is the config's problem, one line, exit 2.

mod common;

use common::{Moto, Project, ROOT};

/// The example's base_ami, as shipped.
fn shipped_base_ami() -> String {
    let text = std::fs::read_to_string(format!("{ROOT}/config.example.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    config["base_ami"].as_str().unwrap().to_owned()
}

async fn ssm(moto: &Moto) -> aws_sdk_ssm::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    aws_sdk_ssm::Client::new(&conf)
}

/// The AMI id the emulator's parameter holds, asked directly.
async fn value_of(moto: &Moto, name: &str) -> String {
    let out = ssm(moto)
        .await
        .get_parameter()
        .name(name)
        .send()
        .await
        .unwrap();
    out.parameter().unwrap().value().unwrap().to_owned()
}

/// (status, detail) of doctor's "base AMI" check.
fn base_ami_check(p: &Project) -> (String, String) {
    let out = p.manage(["staging", "doctor", "-o", "json"]).json();
    let check = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "base AMI")
        .unwrap_or_else(|| panic!("no base AMI check: {out}"))
        .clone();
    let s = |k: &str| check[k].as_str().unwrap().to_owned();
    (s("status"), s("detail"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_base_image_is_read_from_its_ssm_parameter() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let base_ami = shipped_base_ami();
    let name = base_ami
        .strip_prefix("resolve:ssm:")
        .expect("an SSM parameter");
    p.edit_config(|c| c["base_ami"] = base_ami.clone().into());
    let id = value_of(&moto, name).await;
    assert!(id.starts_with("ami-"), "{id}");

    let bake = p.manage(["staging", "bake", "--dry-run"]).ok();
    assert!(
        bake.stderr.contains(&format!(
            "base image {id} (SSM parameter {name} in us-east-1)"
        )),
        "{}",
        bake.stderr
    );
    assert!(
        bake.stderr
            .contains(&format!("would bake a new image from {id} ")),
        "{}",
        bake.stderr
    );

    let (status, detail) = base_ami_check(&p);
    assert_eq!(status, "ok", "{detail}");
    assert!(
        detail.starts_with(&id) && detail.contains(&format!("from SSM parameter {name}")),
        "{detail}"
    );

    // The env's hosts start from the resolved id with --no-bake.
    p.manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .ok();
    let stack = moto.stack("argos-staging").await.unwrap();
    let image = stack
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("ImageId"))
        .and_then(|p| p.parameter_value())
        .map(str::to_owned);
    assert_eq!(image.as_deref(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_wrong_ssm_parameter_is_one_line_and_exit_2() {
    let moto = Moto::start();
    let p = Project::new(&moto.url);
    let missing = "/aws/service/ami-amazon-linux-latest/no-such-image";
    p.edit_config(|c| c["base_ami"] = format!("resolve:ssm:{missing}").into());
    let run = p.manage(["staging", "bake", "--dry-run"]).code(2);
    assert_eq!(run.error_lines().len(), 1, "{}", run.stderr);
    let line = run.error_lines()[0];
    assert!(
        line.contains("key \"base_ami\"")
            && line.contains(&format!(
                "SSM parameter {missing} does not exist in us-east-1"
            )),
        "{line}"
    );
    let run = p
        .manage(["staging", "commission", "--no-bake", "--no-deploy"])
        .code(2);
    assert!(run.error_lines()[0].contains(missing), "{}", run.stderr);
    assert_eq!(moto.stack_status("argos-staging").await, None);
    let (status, detail) = base_ami_check(&p);
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains(missing), "{detail}");

    ssm(&moto)
        .await
        .put_parameter()
        .name("/argos/base")
        .value("hello")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    p.edit_config(|c| c["base_ami"] = "resolve:ssm:/argos/base".into());
    let run = p.manage(["staging", "bake", "--dry-run"]).code(2);
    assert!(
        run.error_lines()[0].contains("SSM parameter /argos/base holds \"hello\", not an AMI id"),
        "{}",
        run.stderr
    );
}
