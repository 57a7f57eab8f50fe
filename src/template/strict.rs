//! What CloudFormation would reject or misread although the template is well formed: an
//! intrinsic function (or YAML short-form tag) it does not know, and a resource type it does
//! not have (against the list in resource_types.txt, made by scripts/resource-types.sh).

use super::check::{Problem, Severity};
use super::{Fragment, Merged};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;

const FUNCTIONS: &[&str] = &[
    "Fn::And",
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::Equals",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::GetAZs",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Length",
    "Fn::Not",
    "Fn::Or",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::ToJsonString",
    "Fn::Transform",
];

const RESOURCE_TYPES: &str = include_str!("resource_types.txt");

fn known_types() -> &'static BTreeSet<&'static str> {
    static TYPES: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    TYPES.get_or_init(|| {
        RESOURCE_TYPES
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

fn error(message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        message,
    }
}

/// Every `Fn::` key CloudFormation does not know, with the fragment's file and line.
pub fn unknown_functions(fragment: &Fragment) -> Vec<Problem> {
    let mut found = BTreeSet::new();
    for value in fragment.body.values() {
        collect_functions(value, &mut found);
    }
    found
        .into_iter()
        .map(|f| {
            let short = f.trim_start_matches("Fn::");
            let line = line_of(&fragment.source, &[&format!("!{short}"), &f]);
            error(format!(
                "{}{}: unknown intrinsic function {f} (YAML tag !{short}): CloudFormation has no such function",
                fragment.path.display(),
                line.map(|l| format!(":{l}")).unwrap_or_default()
            ))
        })
        .collect()
}

fn collect_functions(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let known = FUNCTIONS.contains(&k.as_str()) || k.starts_with("Fn::ForEach::");
                if k.starts_with("Fn::") && !known {
                    found.insert(k.clone());
                }
                collect_functions(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_functions(v, found)),
        _ => {}
    }
}

/// The first line holding one of `needles`, 1-based.
fn line_of(source: &str, needles: &[&str]) -> Option<usize> {
    source
        .lines()
        .position(|l| needles.iter().any(|n| contains_word(l, n)))
        .map(|i| i + 1)
}

fn contains_word(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(i, _)| {
        !line[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// Resources whose AWS type CloudFormation does not have. `Custom::` and third-party
/// (registry) types are left alone.
pub fn unknown_types(merged: &Merged) -> Vec<Problem> {
    merged
        .resources()
        .filter_map(|(id, r)| Some((id, r.get("Type")?.as_str()?)))
        .filter(|(_, t)| {
            ["AWS::", "Alexa::", "AMZN::"]
                .iter()
                .any(|p| t.starts_with(p))
                && !t.ends_with("::MODULE")
                && !known_types().contains(t)
        })
        .map(|(id, t)| {
            error(format!(
                "{}: resource \"{id}\" has type {t}, which CloudFormation does not have (check the spelling)",
                merged.fragment_of(id)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fragment(source: &str) -> Fragment {
        let body = match crate::template::parse::parse(
            &PathBuf::from("f.yaml"),
            source,
            crate::template::parse::Format::Yaml,
        )
        .unwrap()
        {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        Fragment {
            name: "f".into(),
            path: PathBuf::from("formations/f.yaml"),
            source: source.into(),
            body,
        }
    }

    #[test]
    fn unknown_tags_are_named_with_their_line() {
        let f = fragment(
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '${AWS::StackName}-q'\n      Tags:\n        - Key: x\n          Value: !Frobnicate x\n",
        );
        let problems = unknown_functions(&f);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .message
                .starts_with("formations/f.yaml:8: unknown intrinsic function Fn::Frobnicate"),
            "{}",
            problems[0].message
        );
        let ok = fragment("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Join ['-', [!Select [0, !GetAZs ''], !Base64 x]]\n");
        assert!(unknown_functions(&ok).is_empty());
    }

    #[test]
    fn the_type_list_knows_the_common_types() {
        for t in [
            "AWS::EC2::Instance",
            "AWS::SSM::Parameter",
            "AWS::S3::Bucket",
        ] {
            assert!(known_types().contains(t), "{t}");
        }
        assert!(!known_types().contains("AWS::Foo::Bar"));
        assert!(known_types().len() > 1000);
    }
}
