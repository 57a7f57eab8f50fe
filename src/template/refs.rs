//! References between logical IDs (Ref, Fn::GetAtt, Fn::Sub, Fn::FindInMap,
//! Fn::If, Condition, DependsOn) that point at nothing.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::Merged;

const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

const NOT_REFERABLE: &str = "which is not a parameter, resource or pseudo parameter";

/// One message per dangling reference, in template order, each naming the
/// fragment and the resource, output or condition that holds it.
pub(crate) fn dangling(merged: &Merged) -> Vec<String> {
    let names = Names::of(&merged.body);
    let mut found = Vec::new();
    for (section, label) in [
        ("Conditions", "condition"),
        ("Resources", "resource"),
        ("Outputs", "output"),
    ] {
        let Some(Value::Object(entries)) = merged.body.get(section) else {
            continue;
        };
        for (id, body) in entries {
            let mut walker = Walker {
                names: &names,
                owner: format!("{}: {label} \"{id}\"", merged.fragment_of(id)),
                in_conditions: section == "Conditions",
                found: &mut found,
            };
            if section != "Conditions" {
                walker.attributes(body);
            }
            walker.walk(body);
        }
    }
    let mut seen = BTreeSet::new();
    found.retain(|message| seen.insert(message.clone()));
    found
}

struct Names<'a> {
    parameters: BTreeSet<&'a str>,
    resources: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
    mappings: BTreeSet<&'a str>,
}

impl<'a> Names<'a> {
    fn of(body: &'a Map<String, Value>) -> Self {
        let keys = |section: &str| -> BTreeSet<&'a str> {
            body.get(section)
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default()
        };
        Names {
            parameters: keys("Parameters"),
            resources: keys("Resources"),
            conditions: keys("Conditions"),
            mappings: keys("Mappings"),
        }
    }
}

struct Walker<'a, 'b> {
    names: &'a Names<'a>,
    owner: String,
    /// Inside Conditions, `{"Condition": X}` is a reference and Ref may only
    /// name parameters.
    in_conditions: bool,
    found: &'b mut Vec<String>,
}

impl Walker<'_, '_> {
    fn report(&mut self, what: String) {
        self.found.push(format!("{} {what}", self.owner));
    }

    /// The `Condition` and `DependsOn` attributes of a resource or output.
    fn attributes(&mut self, body: &Value) {
        if let Some(Value::String(condition)) = body.get("Condition") {
            if !self.names.conditions.contains(condition.as_str()) {
                self.report(format!(
                    "has Condition \"{condition}\", which is not defined in Conditions"
                ));
            }
        }
        let depends_on = match body.get("DependsOn") {
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for target in depends_on {
            if !self.names.resources.contains(target) {
                self.report(format!("depends on \"{target}\", which is not a resource"));
            }
        }
    }

    fn walk(&mut self, value: &Value) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| self.walk(item)),
            Value::Object(map) => {
                if let (1, Some((key, argument))) = (map.len(), map.iter().next()) {
                    self.intrinsic(key, argument);
                }
                map.values().for_each(|v| self.walk(v));
            }
            _ => {}
        }
    }

    fn intrinsic(&mut self, function: &str, argument: &Value) {
        let head = match argument {
            Value::Array(items) => items.first().and_then(Value::as_str),
            other => other.as_str(),
        };
        match (function, head) {
            ("Ref", Some(_)) => {
                if let Some(name) = argument.as_str() {
                    self.check_ref(name, "with Ref");
                }
            }
            ("Fn::GetAtt", Some(target)) => {
                let resource = target.split_once('.').map_or(target, |(r, _)| r);
                self.check_get_att(resource, "with Fn::GetAtt");
            }
            ("Fn::Sub", Some(text)) => self.check_sub(text, argument),
            ("Fn::FindInMap", Some(mapping))
                if argument.is_array() && !self.names.mappings.contains(mapping) =>
            {
                self.report(format!(
                    "refers to mapping \"{mapping}\" with Fn::FindInMap, which is not defined in Mappings"
                ));
            }
            ("Fn::If", Some(condition)) if argument.is_array() => {
                self.check_condition(condition, "in Fn::If")
            }
            ("Condition", Some(condition)) if self.in_conditions => {
                self.check_condition(condition, "with Condition")
            }
            _ => {}
        }
    }

    fn check_ref(&mut self, name: &str, how: &str) {
        let names = self.names;
        let is_parameter = names.parameters.contains(name) || PSEUDO_PARAMETERS.contains(&name);
        if self.in_conditions && !is_parameter {
            self.report(format!(
                "refers to \"{name}\" {how}, which is not a parameter or pseudo parameter (conditions can only use parameters)"
            ));
        } else if !is_parameter && !names.resources.contains(name) {
            self.report(format!("refers to \"{name}\" {how}, {NOT_REFERABLE}"));
        }
    }

    fn check_get_att(&mut self, resource: &str, how: &str) {
        if !self.names.resources.contains(resource) {
            self.report(format!(
                "refers to \"{resource}\" {how}, which is not a resource"
            ));
        }
    }

    fn check_condition(&mut self, condition: &str, how: &str) {
        if !self.names.conditions.contains(condition) {
            self.report(format!(
                "refers to condition \"{condition}\" {how}, which is not defined in Conditions"
            ));
        }
    }

    /// `${Name}` resolves like Ref, `${Name.Attr}` like Fn::GetAtt; `${!x}` is
    /// literal, and names in the `[string, {vars}]` form's map are local.
    fn check_sub(&mut self, text: &str, argument: &Value) {
        static PLACEHOLDER: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\$\{([^}]*)\}").expect("valid regex"));
        let variables: BTreeSet<String> = argument
            .get(1)
            .and_then(Value::as_object)
            .map(|vars| vars.keys().cloned().collect())
            .unwrap_or_default();
        for capture in PLACEHOLDER.captures_iter(text) {
            let inner = capture[1].trim();
            if inner.starts_with('!') || variables.contains(inner) {
                continue;
            }
            match inner.split_once('.') {
                Some((name, _)) if !variables.contains(name) => {
                    self.check_get_att(name, &format!("in Fn::Sub (\"${{{inner}}}\")"))
                }
                Some(_) => {}
                None => self.check_ref(inner, "in Fn::Sub"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Naming;
    use super::*;
    use serde_json::json;

    /// A merged template whose ids all come from fragment "app".
    fn merged(body: Value) -> Merged {
        let body = body.as_object().unwrap().clone();
        let origin = [
            "Conditions",
            "Resources",
            "Outputs",
            "Parameters",
            "Mappings",
        ]
        .iter()
        .filter_map(|s| body.get(*s).and_then(Value::as_object))
        .flat_map(|m| m.keys().map(|k| (k.clone(), "app".to_owned())))
        .collect();
        Merged {
            body,
            origin,
            groups: Default::default(),
            untaggable: Vec::new(),
            naming: Naming::default(),
            files: Default::default(),
        }
    }

    /// A template with one parameter, mapping, condition and resource, plus
    /// `resource` as resource "App" (and `output` as output "Out").
    fn problems(resource: Value, output: Value) -> Vec<String> {
        dangling(&merged(json!({
            "Parameters": {"Size": {"Type": "String"}},
            "Mappings": {"Amis": {}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Size"}, "x"]}},
            "Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}, "App": resource},
            "Outputs": {"Out": output}
        })))
    }

    fn in_app(properties: Value) -> Vec<String> {
        problems(
            json!({"Type": "AWS::EC2::Instance", "Properties": properties}),
            json!({"Value": "x"}),
        )
    }

    #[test]
    fn valid_references_pass() {
        let properties = json!({
            "A": {"Ref": "Vpc"}, "B": {"Ref": "Size"}, "C": {"Ref": "AWS::Region"},
            "D": {"Fn::GetAtt": ["Vpc", "CidrBlock"]}, "E": {"Fn::GetAtt": "Vpc.CidrBlock"},
            "F": {"Fn::Sub": "${Vpc}-${Size}-${Vpc.CidrBlock}-${AWS::StackName}-${!Literal}"},
            "G": {"Fn::Sub": ["${Local}-${Local.X}", {"Local": {"Ref": "Vpc"}}]},
            "H": {"Fn::FindInMap": ["Amis", {"Ref": "AWS::Region"}, "Id"]},
            "I": {"Fn::If": ["IsProd", "a", {"Ref": "AWS::NoValue"}]},
            "PolicyDocument": {"Statement": [{"Condition": {"StringEquals": {}}}]}
        });
        let resource = json!({"Type": "T", "Condition": "IsProd", "DependsOn": ["Vpc"], "Properties": properties});
        assert_eq!(
            problems(
                resource,
                json!({"Condition": "IsProd", "Value": {"Ref": "App"}})
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn dangling_references_in_properties() {
        let not_referable = "which is not a parameter, resource or pseudo parameter";
        let cases = [
            (json!({"Ref": "Subnett"}), format!("app: resource \"App\" refers to \"Subnett\" with Ref, {not_referable}")),
            (json!({"Ref": "AWS::Regio"}), format!("app: resource \"App\" refers to \"AWS::Regio\" with Ref, {not_referable}")),
            (json!({"Fn::GetAtt": ["Db", "Arn"]}), "app: resource \"App\" refers to \"Db\" with Fn::GetAtt, which is not a resource".into()),
            (json!({"Fn::GetAtt": "Db.Endpoint.Address"}), "app: resource \"App\" refers to \"Db\" with Fn::GetAtt, which is not a resource".into()),
            (json!({"Fn::GetAtt": ["Size", "X"]}), "app: resource \"App\" refers to \"Size\" with Fn::GetAtt, which is not a resource".into()),
            (json!({"Fn::Sub": "http://${Hostt}/"}), format!("app: resource \"App\" refers to \"Hostt\" in Fn::Sub, {not_referable}")),
            (json!({"Fn::Sub": "${Db.Arn}"}), "app: resource \"App\" refers to \"Db\" in Fn::Sub (\"${Db.Arn}\"), which is not a resource".into()),
            (json!({"Fn::Sub": ["${A}-${B}", {"A": "x"}]}), format!("app: resource \"App\" refers to \"B\" in Fn::Sub, {not_referable}")),
            (json!({"Fn::FindInMap": ["Amiss", "a", "b"]}), "app: resource \"App\" refers to mapping \"Amiss\" with Fn::FindInMap, which is not defined in Mappings".into()),
            (json!({"Fn::If": ["IsProdd", "a", "b"]}), "app: resource \"App\" refers to condition \"IsProdd\" in Fn::If, which is not defined in Conditions".into()),
            (json!({"Fn::Join": ["", [{"Fn::Base64": {"Ref": "Deep"}}]]}), format!("app: resource \"App\" refers to \"Deep\" with Ref, {not_referable}")),
        ];
        for (value, expected) in cases {
            assert_eq!(
                in_app(json!({"X": value})),
                std::slice::from_ref(&expected),
                "{value}"
            );
        }
    }

    #[test]
    fn dangling_attributes_and_outputs() {
        let resource = json!({"Type": "T", "Condition": "Nope", "DependsOn": ["Vpc", "Gone"]});
        let output = json!({"Condition": "Nah", "Value": {"Fn::GetAtt": ["Lost", "Arn"]}});
        assert_eq!(
            problems(resource, output),
            [
                "app: resource \"App\" has Condition \"Nope\", which is not defined in Conditions",
                "app: resource \"App\" depends on \"Gone\", which is not a resource",
                "app: output \"Out\" has Condition \"Nah\", which is not defined in Conditions",
                "app: output \"Out\" refers to \"Lost\" with Fn::GetAtt, which is not a resource",
            ]
        );
        let single = problems(
            json!({"Type": "T", "DependsOn": "Gone"}),
            json!({"Value": "x"}),
        );
        assert_eq!(
            single,
            ["app: resource \"App\" depends on \"Gone\", which is not a resource"]
        );
    }

    #[test]
    fn dangling_references_in_conditions() {
        let found = dangling(&merged(json!({
            "Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}},
            "Conditions": {
                "A": {"Fn::Not": [{"Condition": "Missing"}]},
                "B": {"Fn::Equals": [{"Ref": "Vpc"}, "x"]},
                "C": {"Fn::And": [{"Condition": "A"}, {"Fn::Equals": [{"Ref": "Nothing"}, "x"]}]}
            }
        })));
        assert_eq!(
            found,
            [
                "app: condition \"A\" refers to condition \"Missing\" with Condition, which is not defined in Conditions",
                "app: condition \"B\" refers to \"Vpc\" with Ref, which is not a parameter or pseudo parameter (conditions can only use parameters)",
                "app: condition \"C\" refers to \"Nothing\" with Ref, which is not a parameter or pseudo parameter (conditions can only use parameters)",
            ]
        );
    }

    #[test]
    fn repeated_reference_is_reported_once() {
        let found = in_app(json!({"A": {"Ref": "Gone"}, "B": [{"Ref": "Gone"}]}));
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
