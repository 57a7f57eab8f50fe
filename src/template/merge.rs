//! Merging fragments into one template, with the App/Env/Group/Name tags.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::sections::{ID_SECTIONS, SECTIONS};
use super::tags::Tagging;
use super::{Fragment, TemplateError};

pub use super::merged::{Merged, Naming};

const DEFAULT_VERSION: &str = "2010-09-09";

/// Merges an env's fragments, in the order given.
pub fn merge(fragments: &[Fragment], naming: &Naming) -> Result<Merged, TemplateError> {
    let mut builder = Builder::default();
    for fragment in fragments {
        builder.add(fragment, &Tagging::Env(naming))?;
    }
    Ok(with_files(builder.finish(naming.clone()), fragments))
}

/// The image fragment alone: every resource in group `image`, no Env tag.
pub fn merge_image(fragment: &Fragment, app: &str) -> Result<Merged, TemplateError> {
    let mut builder = Builder::default();
    builder.add(fragment, &Tagging::Image(app))?;
    let naming = Naming {
        app: app.to_owned(),
        env: String::new(),
    };
    Ok(with_files(
        builder.finish(naming),
        std::slice::from_ref(fragment),
    ))
}

fn with_files(mut merged: Merged, fragments: &[Fragment]) -> Merged {
    merged.files = fragments
        .iter()
        .map(|f| (f.name.clone(), f.path.display().to_string()))
        .collect();
    merged
}

#[derive(Default)]
struct Builder<'a> {
    version: Option<(&'a Path, String)>,
    descriptions: Vec<&'a str>,
    transforms: Vec<Value>,
    sections: BTreeMap<&'static str, Map<String, Value>>,
    /// Logical ID → where it was first defined, to report clashes.
    defined: BTreeMap<String, (&'a Path, &'static str)>,
    origin: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    untaggable: Vec<(String, String)>,
}

impl<'a> Builder<'a> {
    fn add(&mut self, fragment: &'a Fragment, tagging: &Tagging) -> Result<(), TemplateError> {
        self.add_version(fragment)?;
        if let Some(Value::String(description)) = fragment.body.get("Description") {
            self.descriptions.push(description);
        }
        let transforms = match fragment.body.get("Transform") {
            Some(Value::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
            None => Vec::new(),
        };
        for transform in transforms {
            if !self.transforms.contains(&transform) {
                self.transforms.push(transform);
            }
        }
        for section in ID_SECTIONS {
            let Some(Value::Object(entries)) = fragment.body.get(section) else {
                continue;
            };
            for (id, value) in entries {
                // The fragment's group is consumed here, not merged.
                if section == "Metadata" && id == "Group" {
                    continue;
                }
                if !self.claim(fragment, section, id, value)? {
                    continue;
                }
                let mut value = value.clone();
                if section == "Resources" {
                    self.tag(fragment, tagging, id, &mut value)?;
                }
                self.sections
                    .entry(section)
                    .or_default()
                    .insert(id.clone(), value);
                self.origin.insert(id.clone(), fragment.name.clone());
            }
        }
        Ok(())
    }

    fn add_version(&mut self, fragment: &'a Fragment) -> Result<(), TemplateError> {
        let Some(version) = fragment.body.get("AWSTemplateFormatVersion") else {
            return Ok(());
        };
        let version = version
            .as_str()
            .map_or_else(|| version.to_string(), str::to_owned);
        match &self.version {
            None => self.version = Some((&fragment.path, version)),
            Some((_, first)) if *first == version => {}
            Some((first, first_version)) => {
                return Err(TemplateError::VersionMismatch {
                    first: first.to_path_buf(),
                    first_version: first_version.clone(),
                    second: fragment.path.clone(),
                    second_version: version,
                })
            }
        }
        Ok(())
    }

    /// Records a logical ID. False for a parameter already declared with the
    /// same body (such as `EnvName` in every fragment), which is merged once.
    fn claim(
        &mut self,
        fragment: &'a Fragment,
        section: &'static str,
        id: &str,
        value: &Value,
    ) -> Result<bool, TemplateError> {
        let Some(&(first, first_section)) = self.defined.get(id) else {
            self.defined
                .insert(id.to_owned(), (&fragment.path, section));
            return Ok(true);
        };
        let same_parameter = section == "Parameters"
            && first_section == "Parameters"
            && self.sections.get(section).and_then(|s| s.get(id)) == Some(value);
        if same_parameter {
            return Ok(false);
        }
        Err(TemplateError::Clash {
            id: id.to_owned(),
            first: first.to_path_buf(),
            second: fragment.path.clone(),
            first_section: first_section.to_owned(),
            second_section: section.to_owned(),
        })
    }

    fn tag(
        &mut self,
        fragment: &Fragment,
        tagging: &Tagging,
        id: &str,
        resource: &mut Value,
    ) -> Result<(), TemplateError> {
        let (group, untaggable) = tagging.apply(fragment, id, resource)?;
        if let Some(kind) = untaggable {
            self.untaggable.push((id.to_owned(), kind));
        }
        self.groups.insert(id.to_owned(), group);
        Ok(())
    }

    fn finish(mut self, naming: Naming) -> Merged {
        let mut body = Map::new();
        for section in SECTIONS {
            let value = match section {
                "AWSTemplateFormatVersion" => Some(Value::String(
                    self.version
                        .take()
                        .map_or_else(|| DEFAULT_VERSION.to_owned(), |(_, v)| v),
                )),
                "Description" => (!self.descriptions.is_empty())
                    .then(|| Value::String(self.descriptions.join(" | "))),
                "Transform" => match self.transforms.len() {
                    0 => None,
                    1 => self.transforms.pop(),
                    _ => Some(Value::Array(std::mem::take(&mut self.transforms))),
                },
                _ => self
                    .sections
                    .remove(section)
                    .filter(|s| !s.is_empty())
                    .map(Value::Object),
            };
            if let Some(value) = value {
                body.insert(section.to_owned(), value);
            }
        }
        Merged {
            body,
            origin: self.origin,
            groups: self.groups,
            untaggable: self.untaggable,
            naming,
            files: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::load::from_source;
    use super::*;
    use serde_json::json;

    fn fragment(file: &str, yaml: &str) -> Fragment {
        from_source(Path::new(&format!("formations/{file}")), yaml.to_owned()).unwrap()
    }

    fn naming() -> Naming {
        Naming {
            app: "argos".into(),
            env: "staging".into(),
        }
    }

    fn merged(fragments: &[Fragment]) -> Merged {
        merge(fragments, &naming()).unwrap()
    }

    fn clash(fragments: &[Fragment]) -> String {
        let err = merge(fragments, &naming()).unwrap_err();
        assert!(matches!(err, TemplateError::Clash { .. }), "{err}");
        err.to_string()
    }

    const PARAM: &str = "Parameters:\n  EnvName: {Type: String}\n";

    #[test]
    fn merges_sections_in_canonical_order() {
        let network = fragment(
            "network.yaml",
            "Resources:\n  Vpc: {Type: AWS::EC2::VPC}\nDescription: Network\nParameters:\n  EnvName: {Type: String}\nTransform: AWS::Serverless-2016-10-31\n",
        );
        let app = fragment(
            "app.json",
            r#"{"AWSTemplateFormatVersion": "2010-09-09", "Description": "App", "Metadata": {"Group": "web", "Note": 1},
                "Outputs": {"Url": {"Value": "x"}}, "Conditions": {"IsProd": {"Fn::Equals": ["a", "b"]}},
                "Mappings": {"Amis": {}}, "Transform": ["AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"]}"#,
        );
        let m = merged(&[network, app]);
        let keys: Vec<_> = m.body.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "AWSTemplateFormatVersion",
                "Description",
                "Metadata",
                "Parameters",
                "Mappings",
                "Conditions",
                "Resources",
                "Outputs",
                "Transform"
            ]
        );
        assert_eq!(m.body["Description"], "Network | App");
        assert_eq!(m.body["Metadata"], json!({"Note": 1}), "Group is consumed");
        assert_eq!(
            m.body["Transform"],
            json!(["AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"])
        );
        assert_eq!(m.origin["Vpc"], "network");
        assert_eq!(m.origin["Url"], "app");
        assert_eq!(m.origin["Note"], "app");
        assert!(m.needs_auto_expand());
    }

    #[test]
    fn minimal_merge_and_single_transform() {
        let m = merged(&[fragment("a.yaml", "Metadata: {Group: x}\n")]);
        assert_eq!(
            Value::Object(m.body),
            json!({"AWSTemplateFormatVersion": "2010-09-09"})
        );
        let a = fragment("a.yaml", "Transform: AWS::Serverless-2016-10-31\n");
        let b = fragment("b.yaml", "Transform: [AWS::Serverless-2016-10-31]\n");
        let transform = &merged(&[a, b]).body["Transform"];
        assert_eq!(
            transform, "AWS::Serverless-2016-10-31",
            "one stays a string"
        );
    }

    #[test]
    fn version_mismatch_names_both_files() {
        let a = fragment("a.yaml", "AWSTemplateFormatVersion: '2010-09-09'\n");
        let b = fragment("b.json", r#"{"AWSTemplateFormatVersion": "2011-01-01"}"#);
        let err = merge(&[a, b], &naming()).unwrap_err();
        assert!(matches!(err, TemplateError::VersionMismatch { .. }));
        let text = err.to_string();
        assert!(
            text.contains("formations/a.yaml") && text.contains("formations/b.json"),
            "{text}"
        );
    }

    #[test]
    fn clashes_name_both_files_and_sections() {
        let network = fragment("network.yaml", "Resources:\n  Vpc: {Type: AWS::EC2::VPC}\n");
        let cases = [
            (
                "app.json",
                r#"{"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}}}"#,
                "Resources",
            ),
            (
                "app.json",
                r#"{"Outputs": {"Vpc": {"Value": "x"}}}"#,
                "Outputs",
            ),
            (
                "app.yaml",
                "Parameters: {Vpc: {Type: String}}",
                "Parameters",
            ),
            (
                "app.yaml",
                "Conditions: {Vpc: !Equals [a, b]}",
                "Conditions",
            ),
            ("app.yaml", "Mappings: {Vpc: {}}", "Mappings"),
            ("app.yaml", "Metadata: {Vpc: {}}", "Metadata"),
        ];
        for (file, text, section) in cases {
            let message = clash(&[network.clone(), fragment(file, text)]);
            assert_eq!(
                message,
                format!("logical ID \"Vpc\" is defined in both formations/network.yaml (Resources) and formations/{file} ({section}): rename one of them")
            );
        }
    }

    #[test]
    fn clash_inside_one_fragment_across_sections() {
        let one = fragment(
            "app.yaml",
            "Parameters:\n  Db: {Type: String}\nResources:\n  Db: {Type: AWS::RDS::DBInstance}\n",
        );
        let message = clash(&[one]);
        assert!(
            message
                .contains("formations/app.yaml (Parameters) and formations/app.yaml (Resources)"),
            "{message}"
        );
    }

    #[test]
    fn shared_parameter_is_merged_once_when_identical() {
        let a = fragment("a.yaml", PARAM);
        let b = fragment(
            "b.json",
            r#"{"Parameters": {"EnvName": {"Type": "String"}}}"#,
        );
        let m = merged(&[a, b]);
        assert_eq!(m.parameters(), [("EnvName".to_owned(), None, false)]);
        assert_eq!(m.origin["EnvName"], "a");

        let c = fragment(
            "c.yaml",
            "Parameters:\n  EnvName: {Type: String, Default: x}\n",
        );
        let message = clash(&[fragment("a.yaml", PARAM), c]);
        assert!(
            message.contains("formations/a.yaml (Parameters) and formations/c.yaml (Parameters)"),
            "{message}"
        );
    }

    #[test]
    fn tags_and_groups_per_resource() {
        // Group: explicit tag > resource Metadata.Group > fragment Metadata.Group > file name.
        let app = fragment(
            "app.yaml",
            "Resources:\n  Web: {Type: AWS::EC2::Instance}\n  Jobs:\n    Type: AWS::EC2::Instance\n    Metadata: {Group: worker}\n  Dns: {Type: AWS::Route53::RecordSet}\n  Jump:\n    Type: AWS::EC2::Instance\n    Properties: {Tags: [{Key: Group, Value: bastion}]}\n",
        );
        let db = fragment(
            "data.yaml",
            "Metadata: {Group: db}\nResources:\n  Db: {Type: AWS::RDS::DBInstance}\n",
        );
        let m = merged(&[app, db]);
        for (id, group) in [
            ("Web", "app"),
            ("Jobs", "worker"),
            ("Db", "db"),
            ("Dns", "app"),
            ("Jump", "bastion"),
        ] {
            assert_eq!(m.groups[id], group);
            if id != "Dns" {
                let name = &m.body["Resources"][id]["Properties"]["Tags"][3];
                let expected = format!("argos-staging-{group}");
                assert_eq!(*name, json!({"Key": "Name", "Value": expected}), "{id}");
            }
        }
        let dns = ("Dns".to_owned(), "AWS::Route53::RecordSet".to_owned());
        assert_eq!(m.untaggable, [dns]);
        assert!(m.body["Resources"]["Dns"].get("Properties").is_none());
    }

    #[test]
    fn bad_resource_group_names_the_file_and_line() {
        let app = fragment(
            "app.yaml",
            "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Metadata: {Group: 3}\n",
        );
        let err = merge(&[app], &naming()).unwrap_err().to_string();
        assert!(
            err.starts_with("formations/app.yaml:2: resource \"Web\": Metadata.Group"),
            "{err}"
        );
    }

    #[test]
    fn image_merge_tags_without_env() {
        let image = fragment(
            "image.yaml",
            "Resources:\n  Baker:\n    Type: AWS::EC2::Instance\n    Metadata: {Group: other}\n",
        );
        let m = merge_image(&image, "argos").unwrap();
        assert_eq!(m.groups["Baker"], "image");
        assert_eq!(
            m.body["Resources"]["Baker"]["Properties"]["Tags"],
            json!([{"Key": "App", "Value": "argos"}, {"Key": "Group", "Value": "image"}, {"Key": "Name", "Value": "argos-image"}])
        );
        assert_eq!(m.naming.env, "");
    }
}
