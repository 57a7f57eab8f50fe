//! The operator policy in iam/operator-policy.json (and the README) covers every AWS operation
//! the code calls. The AWS layer names each service's client after the service (`cfn`, `ec2`,
//! `s3`, `sts`, `ssm`, `route53`), so every `<client>.<operation>(` in src/ is a call to find.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The IAM action a client method needs; S3 names its actions apart from its operations.
fn iam_action(client: &str, op: &str) -> String {
    let camel: String = op
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let service = match client {
        "cfn" => "cloudformation",
        "r53" => "route53",
        other => other,
    };
    let s3 = |a: &str| format!("s3:{a}");
    match (service, op) {
        ("s3", "head_bucket" | "list_objects_v2" | "list_objects") => s3("ListBucket"),
        ("s3", "head_object" | "get_object") => s3("GetObject"),
        ("s3", "put_public_access_block") => s3("PutBucketPublicAccessBlock"),
        ("s3", "get_public_access_block") => s3("GetBucketPublicAccessBlock"),
        ("s3", "put_bucket_encryption") => s3("PutEncryptionConfiguration"),
        ("s3", "get_bucket_encryption") => s3("GetEncryptionConfiguration"),
        ("s3", "list_object_versions") => s3("ListBucketVersions"),
        _ => format!("{service}:{camel}"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn policy_actions() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("iam/operator-policy.json")).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Every operation called on a service client in src/, as (IAM action, file).
fn called() -> Vec<(String, String)> {
    let call =
        Regex::new(r"\b(cfn|ec2|s3|sts|ssm|route53|r53)\s*\.\s*([a-z][a-z0-9_]*)\s*\(").unwrap();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for c in call.captures_iter(&text) {
            if matches!(&c[2], "clone" | "config") {
                continue;
            }
            let rel = f.strip_prefix(ROOT).unwrap().display().to_string();
            found.push((iam_action(&c[1], &c[2]), rel));
        }
    }
    found
}

#[test]
fn the_operator_policy_allows_every_operation_the_code_calls() {
    let allowed = policy_actions();
    let called = called();
    // The scan itself must see the calls it is meant to check.
    for must in [
        "cloudformation:CreateStack",
        "ec2:DescribeInstances",
        "s3:PutObject",
        "sts:GetCallerIdentity",
    ] {
        assert!(
            called.iter().any(|(a, _)| a == must),
            "the scan of src/ found no {must}: {called:?}"
        );
    }
    let missing: BTreeSet<String> = called
        .iter()
        .filter(|(a, _)| !allowed.contains(a))
        .map(|(a, f)| format!("{a} (called in {f})"))
        .collect();
    assert!(
        missing.is_empty(),
        "iam/operator-policy.json lacks: {missing:?}; add them there and in README.md"
    );
}

#[test]
fn the_readme_shows_the_same_policy() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    for action in policy_actions() {
        assert!(
            readme.contains(&format!("\"{action}\"")),
            "README.md's operator policy lacks {action} (copy iam/operator-policy.json)"
        );
    }
}

#[test]
fn the_mapping_names_real_iam_actions() {
    assert_eq!(
        iam_action("cfn", "describe_stack_events"),
        "cloudformation:DescribeStackEvents"
    );
    assert_eq!(iam_action("s3", "head_bucket"), "s3:ListBucket");
    assert_eq!(iam_action("ec2", "create_tags"), "ec2:CreateTags");
    assert_eq!(
        iam_action("route53", "list_hosted_zones_by_name"),
        "route53:ListHostedZonesByName"
    );
}
