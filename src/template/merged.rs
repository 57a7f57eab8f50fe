//! The merged template of one env (or of the image), and what the rest of
//! manage asks of it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Whose env a template is for: it names the stack, the tags and the messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    pub app: String,
    /// Empty for the image template, which belongs to no env.
    pub env: String,
}

#[derive(Debug, Clone)]
pub struct Merged {
    pub body: Map<String, Value>,
    /// Logical ID (of every section) → the name of the fragment defining it.
    pub origin: BTreeMap<String, String>,
    /// Resource logical ID → group.
    pub groups: BTreeMap<String, String>,
    /// Resources that cannot carry the tags: (logical ID, type).
    pub untaggable: Vec<(String, String)>,
    pub naming: Naming,
    /// Fragment name → its file, as given: what messages name.
    pub files: BTreeMap<String, String>,
}

impl Merged {
    /// Pretty JSON with a trailing newline: the body uploaded and hashed.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.body).expect("a JSON map serializes");
        text.push('\n');
        text
    }

    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.to_json().as_bytes()))
    }

    /// Declared parameters in order: (name, Default, NoEcho).
    pub fn parameters(&self) -> Vec<(String, Option<Value>, bool)> {
        let Some(Value::Object(parameters)) = self.body.get("Parameters") else {
            return Vec::new();
        };
        parameters
            .iter()
            .map(|(name, body)| {
                let no_echo = match body.get("NoEcho") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                };
                (name.clone(), body.get("Default").cloned(), no_echo)
            })
            .collect()
    }

    /// A Transform (macro) needs CAPABILITY_AUTO_EXPAND.
    pub fn needs_auto_expand(&self) -> bool {
        self.body.contains_key("Transform") || self.body.values().any(has_fn_transform)
    }

    /// Any IAM resource needs CAPABILITY_IAM (or _NAMED_IAM).
    pub fn needs_iam(&self) -> bool {
        self.resources().any(|(_, r)| {
            r.get("Type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("AWS::IAM::"))
        })
    }

    pub(crate) fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.body
            .get("Resources")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    }

    /// The fragment that defines `id`, for messages.
    pub(crate) fn fragment_of(&self, id: &str) -> &str {
        match self.origin.get(id) {
            Some(name) => self.files.get(name).unwrap_or(name),
            None => "template",
        }
    }
}

fn has_fn_transform(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "Fn::Transform" || has_fn_transform(v)),
        Value::Array(items) => items.iter().any(has_fn_transform),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(body: Value) -> Merged {
        Merged {
            body: body.as_object().unwrap().clone(),
            origin: BTreeMap::new(),
            groups: BTreeMap::new(),
            untaggable: Vec::new(),
            naming: Naming::default(),
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn json_output_is_pretty_stable_and_hashed() {
        let body = json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::SQS::Queue"}, "A": {}}});
        let (one, two) = (merged(body.clone()), merged(body));
        let text = one.to_json();
        assert_eq!(
            text,
            "{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n  \"Resources\": {\n    \"B\": {\n      \"Type\": \"AWS::SQS::Queue\"\n    },\n    \"A\": {}\n  }\n}\n"
        );
        assert_eq!(text, two.to_json());
        assert_eq!(one.sha256(), two.sha256());
        assert_eq!(one.sha256(), hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(one.sha256().len(), 64);
        assert_ne!(one.sha256(), merged(json!({})).sha256());
    }

    #[test]
    fn parameters_in_declaration_order() {
        let m = merged(json!({"Parameters": {
            "Size": {"Type": "Number", "Default": 2},
            "Pw": {"Type": "String", "NoEcho": true},
            "Key": {"Type": "String", "NoEcho": "True"},
            "Shown": {"Type": "String", "NoEcho": false, "Default": ""}}}));
        assert_eq!(
            m.parameters(),
            [
                ("Size".to_owned(), Some(json!(2)), false),
                ("Pw".to_owned(), None, true),
                ("Key".to_owned(), None, true),
                ("Shown".to_owned(), Some(json!("")), false)
            ]
        );
        assert!(merged(json!({})).parameters().is_empty());
    }

    #[test]
    fn capabilities() {
        let cases = [
            (json!({}), false, false),
            (
                json!({"Resources": {"R": {"Type": "AWS::IAM::Role"}}}),
                true,
                false,
            ),
            (
                json!({"Resources": {"R": {"Type": "AWS::IAMx::Role"}}}),
                false,
                false,
            ),
            (
                json!({"Transform": "AWS::Serverless-2016-10-31"}),
                false,
                true,
            ),
            (
                json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Fn::Transform": {"Name": "M"}}}}}),
                false,
                true,
            ),
        ];
        for (body, iam, expand) in cases {
            let m = merged(body.clone());
            assert_eq!(
                (m.needs_iam(), m.needs_auto_expand()),
                (iam, expand),
                "{body}"
            );
        }
    }

    #[test]
    fn fragment_of_falls_back_to_template() {
        let mut m = merged(json!({}));
        m.origin.insert("Vpc".into(), "network".into());
        assert_eq!(m.fragment_of("Vpc"), "network");
        assert_eq!(m.fragment_of("Nope"), "template");
    }
}
