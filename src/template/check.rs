//! Static checks on a merged template: no AWS call, one message per problem.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

use super::{refs, Merged};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    fn error(message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            message: message.into(),
        }
    }

    fn warning(message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "error: {}", self.message),
            Severity::Warning => write!(f, "warning: {}", self.message),
        }
    }
}

/// CloudFormation quotas for one template uploaded to S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub resources: usize,
    pub parameters: usize,
    pub outputs: usize,
    pub mappings: usize,
    pub body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            resources: 500,
            parameters: 200,
            outputs: 200,
            mappings: 200,
            body_bytes: 1_048_576,
        }
    }
}

/// Every problem found, errors first, each in template order.
/// `provided` names the parameters that manage or the config give a value.
pub fn check(merged: &Merged, provided: &BTreeSet<String>, limits: &Limits) -> Vec<Problem> {
    let mut problems = missing_types(merged);
    problems.extend(super::strict::unknown_types(merged));
    problems.extend(refs::dangling(merged).into_iter().map(Problem::error));
    problems.extend(quotas(merged, limits, "the merged template"));
    problems.extend(missing_values(merged, provided));
    problems.extend(untaggable(merged, ""));
    problems.sort_by_key(|p| p.severity);
    problems
}

/// The checks that fit a nested stack's child template on its own: types, references,
/// quotas and tags. Its parameters get their values from the nested stack resource, which
/// `Nested::link_problems` checks.
pub fn check_child(child: &Merged, file: &str, limits: &Limits) -> Vec<Problem> {
    let mut problems = missing_types(child);
    problems.extend(super::strict::unknown_types(child));
    problems.extend(refs::dangling(child).into_iter().map(Problem::error));
    problems.extend(quotas(child, limits, file));
    problems.extend(untaggable(child, &format!("{file}: ")));
    problems.sort_by_key(|p| p.severity);
    problems
}

fn missing_types(merged: &Merged) -> Vec<Problem> {
    merged
        .resources()
        .filter(|(_, resource)| !resource.get("Type").is_some_and(Value::is_string))
        .map(|(id, _)| {
            Problem::error(format!(
                "{}: resource \"{id}\" has no Type (such as AWS::EC2::Instance)",
                merged.fragment_of(id)
            ))
        })
        .collect()
}

fn quotas(merged: &Merged, limits: &Limits, what: &str) -> Vec<Problem> {
    let count = |section: &str| {
        merged
            .body
            .get(section)
            .and_then(Value::as_object)
            .map_or(0, |s| s.len())
    };
    let mut problems: Vec<Problem> = [
        ("resources", count("Resources"), limits.resources),
        ("parameters", count("Parameters"), limits.parameters),
        ("outputs", count("Outputs"), limits.outputs),
        ("mappings", count("Mappings"), limits.mappings),
    ]
    .into_iter()
    .filter(|(_, count, limit)| count > limit)
    .map(|(kind, count, limit)| {
        Problem::error(format!(
            "{what} has {count} {kind}, more than the CloudFormation limit of {limit}: \
             remove some or move them to another stack"
        ))
    })
    .collect();
    if count("Resources") == 0 {
        problems.push(Problem::error(format!(
            "{what} has no resources: CloudFormation needs at least one under Resources"
        )));
    }
    let bytes = merged.to_json().len();
    if bytes > limits.body_bytes {
        problems.push(Problem::error(format!(
            "{what} is {bytes} bytes, more than the CloudFormation limit of {} bytes: \
             shorten it or move resources to another stack",
            limits.body_bytes
        )));
    }
    problems
}

fn missing_values(merged: &Merged, provided: &BTreeSet<String>) -> Vec<Problem> {
    let env = &merged.naming.env;
    merged
        .parameters()
        .into_iter()
        .filter(|(name, default, _)| default.is_none() && !provided.contains(name))
        .map(|(name, _, _)| {
            let fragment = merged.fragment_of(&name);
            let where_to = if env.is_empty() {
                "set it in config.json \"parameters\"".to_owned()
            } else {
                format!(
                    "set it in config.json \"parameters\", under \"environments.{env}.parameters\","
                )
            };
            Problem::error(format!(
                "parameter \"{name}\" (declared in {fragment}) has no value: {where_to} or pass --param {name}=VALUE"
            ))
        })
        .collect()
}

fn untaggable(merged: &Merged, prefix: &str) -> Option<Problem> {
    let count = merged.untaggable.len();
    if count == 0 {
        return None;
    }
    let list: Vec<String> = merged
        .untaggable
        .iter()
        .map(|(id, kind)| format!("{id} ({kind})"))
        .collect();
    let tags = if merged.naming.env.is_empty() {
        "App/Group/Name"
    } else {
        "App/Env/Group/Name"
    };
    let noun = if count == 1 { "resource" } else { "resources" };
    Some(Problem::warning(format!(
        "{prefix}{count} {noun} cannot carry the {tags} tags: {}",
        list.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::super::merge::{merge, merge_image};
    use super::super::{Fragment, Naming};
    use super::*;
    use serde_json::{json, Map};
    use std::path::PathBuf;

    /// A fragment; one with no Resources section gets a queue, so that only
    /// the problem under test is reported.
    fn fragment(name: &str, mut body: Value) -> Fragment {
        if body.get("Resources").is_none() {
            body["Resources"] = json!({"Base": {"Type": "AWS::SQS::Queue"}});
        }
        Fragment {
            name: name.into(),
            path: PathBuf::from(format!("formations/{name}.json")),
            source: body.to_string(),
            body: body.as_object().unwrap().clone(),
        }
    }

    fn merged(fragments: &[Fragment]) -> Merged {
        let naming = Naming {
            app: "argos".into(),
            env: "staging".into(),
        };
        merge(fragments, &naming).unwrap()
    }

    fn messages(merged: &Merged, provided: &[&str], limits: &Limits) -> Vec<String> {
        let provided = provided.iter().map(|s| s.to_string()).collect();
        check(merged, &provided, limits)
            .iter()
            .map(Problem::to_string)
            .collect()
    }

    /// `n` entries named `<prefix>0..` with the given body.
    fn many(prefix: &str, n: usize, body: Value) -> Value {
        Value::Object(
            (0..n)
                .map(|i| (format!("{prefix}{i}"), body.clone()))
                .collect::<Map<_, _>>(),
        )
    }

    #[test]
    fn clean_template_has_no_problems() {
        let app = fragment(
            "app",
            json!({
                "Parameters": {"EnvName": {"Type": "String"}, "Size": {"Type": "String", "Default": "t3.micro"}},
                "Resources": {"Web": {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": {"Ref": "Size"}}}}
            }),
        );
        assert_eq!(
            messages(&merged(&[app]), &["EnvName"], &Limits::default()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn dangling_reference_names_the_fragment() {
        let network = fragment(
            "network",
            json!({"Resources": {"Subnet": {"Type": "AWS::EC2::Subnet"}}}),
        );
        let app = fragment(
            "app",
            json!({"Resources": {"AppInstance": {
            "Type": "AWS::EC2::Instance", "Properties": {"SubnetId": {"Ref": "Subnett"}}}}}),
        );
        assert_eq!(
            messages(&merged(&[network, app]), &[], &Limits::default()),
            ["error: formations/app.json: resource \"AppInstance\" refers to \"Subnett\" with Ref, which is not a parameter, resource or pseudo parameter"]
        );
    }

    #[test]
    fn resource_without_type() {
        let app = fragment(
            "app",
            json!({"Resources": {"Web": {"Properties": {}}, "Odd": "AWS::EC2::VPC"}}),
        );
        assert_eq!(
            messages(&merged(&[app]), &[], &Limits::default()),
            [
                "error: formations/app.json: resource \"Web\" has no Type (such as AWS::EC2::Instance)",
                "error: formations/app.json: resource \"Odd\" has no Type (such as AWS::EC2::Instance)",
            ]
        );
    }

    #[test]
    fn quotas_report_count_and_limit() {
        let limits = Limits {
            resources: 3,
            parameters: 2,
            outputs: 1,
            mappings: 0,
            body_bytes: 1_048_576,
        };
        let cases = [
            (
                "Resources",
                many("Queue", 4, json!({"Type": "AWS::SQS::Queue"})),
                "has 4 resources, more than the CloudFormation limit of 3",
            ),
            (
                "Parameters",
                many("P", 3, json!({"Type": "String", "Default": "x"})),
                "has 3 parameters, more than the CloudFormation limit of 2",
            ),
            (
                "Outputs",
                many("O", 2, json!({"Value": "x"})),
                "has 2 outputs, more than the CloudFormation limit of 1",
            ),
            (
                "Mappings",
                many("M", 1, json!({"K": {"V": "x"}})),
                "has 1 mappings, more than the CloudFormation limit of 0",
            ),
        ];
        for (section, entries, expected) in cases {
            let at_limit = fragment("app", json!({section: entries}));
            let found = messages(&merged(&[at_limit]), &[], &limits);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].starts_with(&format!("error: the merged template {expected}")),
                "{found:?}"
            );
        }
        let ok = fragment(
            "app",
            json!({"Resources": many("Queue", 3, json!({"Type": "AWS::SQS::Queue"}))}),
        );
        assert!(
            messages(&merged(&[ok]), &[], &limits).is_empty(),
            "at the limit is fine"
        );
    }

    #[test]
    fn default_limits_catch_big_templates() {
        let queues = many("Queue", 501, json!({"Type": "AWS::SQS::Queue"}));
        let found = messages(
            &merged(&[fragment("app", json!({"Resources": queues}))]),
            &[],
            &Limits::default(),
        );
        assert_eq!(found, ["error: the merged template has 501 resources, more than the CloudFormation limit of 500: remove some or move them to another stack"]);

        let big = json!({"Mappings": {"Blob": {"K": {"V": "x".repeat(1_048_576)}}}});
        let found = messages(&merged(&[fragment("app", big)]), &[], &Limits::default());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("bytes, more than the CloudFormation limit of 1048576 bytes"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn parameter_without_value() {
        let app = fragment(
            "app",
            json!({"Parameters": {
            "DbPassword": {"Type": "String", "NoEcho": true},
            "EnvName": {"Type": "String"},
            "Size": {"Type": "String", "Default": "x"}}}),
        );
        let m = merged(&[app]);
        assert_eq!(
            messages(&m, &["EnvName"], &Limits::default()),
            ["error: parameter \"DbPassword\" (declared in formations/app.json) has no value: set it in config.json \"parameters\", under \"environments.staging.parameters\", or pass --param DbPassword=VALUE"]
        );
        assert!(messages(&m, &["EnvName", "DbPassword"], &Limits::default()).is_empty());

        let image = fragment(
            "image",
            json!({"Parameters": {"BaseAmi": {"Type": "String"}}}),
        );
        let m = merge_image(&image, "argos").unwrap();
        assert_eq!(
            messages(&m, &[], &Limits::default()),
            ["error: parameter \"BaseAmi\" (declared in formations/image.json) has no value: set it in config.json \"parameters\" or pass --param BaseAmi=VALUE"]
        );
    }

    #[test]
    fn untaggable_resources_are_one_warning_after_errors() {
        let app = fragment(
            "app",
            json!({"Resources": {
            "AppDns": {"Type": "AWS::Route53::RecordSet"},
            "Route": {"Type": "AWS::EC2::Route", "Properties": {"GatewayId": {"Ref": "Gw"}}},
            "Profile": {"Type": "AWS::IAM::InstanceProfile"},
            "Web": {"Type": "AWS::EC2::Instance"}}}),
        );
        let found = messages(&merged(&[app]), &[], &Limits::default());
        assert_eq!(
            found,
            [
                "error: formations/app.json: resource \"Route\" refers to \"Gw\" with Ref, which is not a parameter, resource or pseudo parameter",
                "warning: 3 resources cannot carry the App/Env/Group/Name tags: AppDns (AWS::Route53::RecordSet), Route (AWS::EC2::Route), Profile (AWS::IAM::InstanceProfile)",
            ]
        );
        let one = fragment(
            "one",
            json!({"Resources": {"Wait": {"Type": "AWS::CloudFormation::WaitCondition"}}}),
        );
        let found = messages(&merged(&[one]), &[], &Limits::default());
        assert_eq!(found, ["warning: 1 resource cannot carry the App/Env/Group/Name tags: Wait (AWS::CloudFormation::WaitCondition)"]);
    }

    #[test]
    fn template_without_resources() {
        let empty = fragment("app", json!({"Resources": {}}));
        assert_eq!(
            messages(&merged(&[empty]), &[], &Limits::default()),
            ["error: the merged template has no resources: CloudFormation needs at least one under Resources"]
        );
    }

    #[test]
    fn limits_default_to_cloudformation_quotas() {
        let limits = Limits::default();
        assert_eq!(
            (
                limits.resources,
                limits.parameters,
                limits.outputs,
                limits.mappings,
                limits.body_bytes
            ),
            (500, 200, 200, 200, 1_048_576)
        );
    }
}
