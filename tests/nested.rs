//! Nested stacks with a local child template, packaged as `aws cloudformation package` does,
//! and the capabilities a template needs, read from the requests the emulator recorded.

mod common;

use common::{Moto, Project};

const BUCKET: &str = "argos-cfn-templates";

/// A fragment whose nested stack runs a local child template, passing it a parameter.
const JOBS: &str = "\
Resources:
  Jobs:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/jobs.yaml
      Parameters:
        Owner: !Ref AWS::StackName
";

/// The child: a VPC tagged with the parameter, and an IAM role (which needs CAPABILITY_IAM).
const CHILD: &str = "\
Parameters:
  Owner:
    Type: String
Resources:
  JobsVpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.77.0.0/16
      Tags:
        - Key: Owner
          Value: !Ref Owner
  JobsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
";

/// A moto server that records every request (its body too) to a file of the test's own.
struct Recorded {
    moto: Moto,
    log: tempfile::NamedTempFile,
}

impl Recorded {
    fn start() -> Self {
        let log = tempfile::NamedTempFile::new().unwrap();
        let path = log.path().to_str().unwrap().to_owned();
        let moto = Moto::start_with(&[
            ("MOTO_ENABLE_RECORDING", "True"),
            ("MOTO_RECORDER_FILEPATH", &path),
        ]);
        Recorded { moto, log }
    }

    /// The form bodies of the CloudFormation requests of one action (`CreateStack`).
    fn requests(&self, action: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.log.path()).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|entry| {
                let body = entry["body"].as_str()?;
                Some(if entry["body_encoded"] == true {
                    String::from_utf8(base64(body)).ok()?
                } else {
                    body.to_owned()
                })
            })
            .filter(|body| body.contains(&format!("Action={action}&")))
            .collect()
    }
}

/// The capabilities a form body sends (`Capabilities.member.N=...`).
fn capabilities(body: &str) -> Vec<&str> {
    body.split('&')
        .filter(|kv| kv.starts_with("Capabilities.member."))
        .filter_map(|kv| kv.split_once('=').map(|(_, v)| v))
        .collect()
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The example project with only the fragments given (the image fragment stays for bake).
fn project_with(moto: &Moto, fragments: &[(&str, &str)]) -> Project {
    let p = Project::new(&moto.url);
    for entry in std::fs::read_dir(p.path("formations")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_stem().is_none_or(|s| s != "image") {
            std::fs::remove_file(path).unwrap();
        }
    }
    for (rel, text) in fragments {
        p.write(&format!("formations/{rel}"), text);
    }
    p
}

async fn bucket_keys(moto: &Moto) -> Vec<String> {
    let out = moto
        .s3()
        .await
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn object(moto: &Moto, key: &str) -> serde_json::Value {
    let bytes = moto.object(BUCKET, key).await.expect("the uploaded object");
    serde_json::from_slice(&bytes).unwrap()
}

/// The object key of a template URL printed by manage.
fn key_of(url: &str) -> String {
    url.split_once(".amazonaws.com/").unwrap().1.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_child_template_is_uploaded_and_its_stack_created_with_the_tags() {
    let rec = Recorded::start();
    let moto = &rec.moto;
    let p = project_with(moto, &[("jobs.yaml", JOBS), ("nested/jobs.yaml", CHILD)]);
    p.manage(["staging", "validate"]).ok();

    // `template` shows the template as CloudFormation gets it, and where the child goes.
    let shown = p.manage(["staging", "template"]).ok();
    let template: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let url = template["Resources"]["Jobs"]["Properties"]["TemplateURL"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("https://{BUCKET}.s3.amazonaws.com/argos/staging/")),
        "{url}"
    );
    assert!(
        shown.stderr.contains("nested/jobs.yaml") && shown.stderr.contains(&url),
        "{}",
        shown.stderr
    );
    assert_eq!(
        template["Resources"]["Jobs"]["Properties"]["Tags"][2],
        serde_json::json!({"Key": "Group", "Value": "jobs"}),
        "the nested stack resource carries the tags"
    );

    let pushed = p
        .manage(["staging", "config", "push", "--output", "json"])
        .ok()
        .json();
    let child = &pushed["children"][0];
    assert_eq!(child["url"], url.as_str(), "{pushed}");
    assert!(child["name"]
        .as_str()
        .unwrap()
        .ends_with("nested/jobs.yaml"));
    let mut keys = bucket_keys(moto).await;
    keys.sort();
    let mut want = vec![key_of(&url), key_of(pushed["url"].as_str().unwrap())];
    want.sort();
    assert_eq!(keys, want, "the template and its child, content-addressed");
    let uploaded = object(moto, &key_of(&url)).await;
    assert_eq!(
        uploaded["Resources"]["JobsVpc"]["Properties"]["Tags"][0],
        serde_json::json!({"Key": "Owner", "Value": {"Ref": "Owner"}})
    );

    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let cfn = moto.cfn().await;
    let resources = cfn
        .describe_stack_resources()
        .stack_name("argos-staging")
        .send()
        .await
        .unwrap();
    let nested = resources
        .stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some("Jobs"))
        .expect("the parent stack has the nested stack");
    assert_eq!(nested.resource_type(), Some("AWS::CloudFormation::Stack"));
    let child_stack = nested.physical_resource_id().unwrap();
    let child = moto.stack(child_stack).await.expect("the nested stack");
    assert_eq!(
        child.stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE")
    );
    let child_resources = cfn
        .describe_stack_resources()
        .stack_name(child_stack)
        .send()
        .await
        .unwrap();
    let vpc_id = child_resources
        .stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some("JobsVpc"))
        .and_then(|r| r.physical_resource_id())
        .expect("the child's VPC")
        .to_owned();
    let vpcs = moto
        .ec2()
        .await
        .describe_vpcs()
        .vpc_ids(&vpc_id)
        .send()
        .await
        .unwrap();
    let tags: std::collections::BTreeMap<&str, &str> = vpcs.vpcs()[0]
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    for (k, v) in [
        ("App", "argos"),
        ("Env", "staging"),
        ("Group", "jobs"),
        ("Name", "argos-staging-jobs"),
        ("Owner", "argos-staging"),
    ] {
        assert_eq!(tags.get(k), Some(&v), "{k} on the child's VPC: {tags:?}");
    }

    // The child's IAM role is acknowledged by the parent's CreateStack.
    let created = rec.requests("CreateStack");
    assert_eq!(created.len(), 1, "{created:?}");
    let caps = capabilities(&created[0]);
    assert!(
        caps.contains(&"CAPABILITY_IAM") && caps.contains(&"CAPABILITY_NAMED_IAM"),
        "{caps:?}"
    );

    // An update's change set includes the nested stacks, with the same capabilities.
    p.manage(["staging", "update", "--dry-run", "--no-bake"])
        .ok();
    let sets = rec.requests("CreateChangeSet");
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert!(sets[0].contains("IncludeNestedStacks=true"), "{}", sets[0]);
    assert!(capabilities(&sets[0]).contains(&"CAPABILITY_IAM"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transform_is_created_with_auto_expand_and_iam() {
    let rec = Recorded::start();
    let p = project_with(
        &rec.moto,
        &[(
            "app.yaml",
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Plain:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.78.0.0/16\n",
        )],
    );
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let created = rec.requests("CreateStack");
    assert_eq!(created.len(), 1, "{created:?}");
    let caps = capabilities(&created[0]);
    for want in [
        "CAPABILITY_IAM",
        "CAPABILITY_NAMED_IAM",
        "CAPABILITY_AUTO_EXPAND",
    ] {
        assert!(caps.contains(&want), "{want} missing: {caps:?}");
    }
}

#[test]
fn a_plain_template_asks_for_no_capability() {
    let rec = Recorded::start();
    let p = project_with(
        &rec.moto,
        &[(
            "app.yaml",
            "Resources:\n  Plain:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: 10.79.0.0/16\n",
        )],
    );
    p.manage(["staging", "commission", "--no-deploy", "--no-bake"])
        .ok();
    let created = rec.requests("CreateStack");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(capabilities(&created[0]), Vec::<&str>::new());
}
