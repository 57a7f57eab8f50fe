//! Injecting the App/Env/Group/Name tags into resources, by resource type.

use serde_json::{Map, Value};

use super::{Fragment, Naming, TemplateError};

/// Where and how a resource type carries its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A list of `{Key, Value}` under the named property.
    List(&'static str),
    /// An Auto Scaling group: `{Key, Value, PropagateAtLaunch: true}` under `Tags`.
    Propagating,
    /// A `{"Key": "Value"}` map under `Tags`.
    Map,
}

/// Types taking a `Tags` list of `{Key, Value}`. Curated rather than complete:
/// anything missing is reported as untaggable, never tagged wrongly.
const LIST_TAGGED: &[&str] = &[
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Stage",
    "AWS::CertificateManager::Certificate",
    "AWS::CloudFront::Distribution",
    "AWS::CloudTrail::Trail",
    "AWS::CloudFormation::Stack",
    "AWS::CodeBuild::Project",
    "AWS::DocDB::DBCluster",
    "AWS::DocDB::DBInstance",
    "AWS::DynamoDB::Table",
    "AWS::EC2::CustomerGateway",
    "AWS::EC2::DHCPOptions",
    "AWS::EC2::EIP",
    "AWS::EC2::FlowLog",
    "AWS::EC2::Instance",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::KeyPair",
    "AWS::EC2::NatGateway",
    "AWS::EC2::NetworkAcl",
    "AWS::EC2::NetworkInterface",
    "AWS::EC2::PrefixList",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Subnet",
    "AWS::EC2::TransitGateway",
    "AWS::EC2::TransitGatewayAttachment",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::VPNConnection",
    "AWS::EC2::VPNGateway",
    "AWS::EC2::Volume",
    "AWS::ECR::Repository",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::Cluster",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::EKS::Cluster",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ParameterGroup",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::ElasticLoadBalancing::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::Elasticsearch::Domain",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::KMS::Key",
    "AWS::Kinesis::Stream",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::OpenSearchService::Domain",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBClusterParameterGroup",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBParameterGroup",
    "AWS::RDS::DBSubnetGroup",
    "AWS::RDS::OptionGroup",
    "AWS::Redshift::Cluster",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::SSM::Document",
    "AWS::SecretsManager::Secret",
    "AWS::StepFunctions::StateMachine",
    "AWS::WAFv2::WebACL",
];

/// Types taking a `Tags` map of `{"Key": "Value"}`.
const MAP_TAGGED: &[&str] = &[
    "AWS::ApiGatewayV2::Api",
    "AWS::EKS::Nodegroup",
    "AWS::SSM::Parameter",
    "AWS::Serverless::Api",
    "AWS::Serverless::Function",
];

impl Shape {
    /// The property that holds the tags.
    pub fn property(self) -> &'static str {
        match self {
            Shape::List(name) => name,
            Shape::Propagating | Shape::Map => "Tags",
        }
    }
}

pub fn shape(resource_type: &str) -> Option<Shape> {
    match resource_type {
        "AWS::AutoScaling::AutoScalingGroup" => Some(Shape::Propagating),
        "AWS::Route53::HostedZone" => Some(Shape::List("HostedZoneTags")),
        "AWS::Route53::HealthCheck" => Some(Shape::List("HealthCheckTags")),
        "AWS::EFS::FileSystem" => Some(Shape::List("FileSystemTags")),
        "AWS::EFS::AccessPoint" => Some(Shape::List("AccessPointTags")),
        t if LIST_TAGGED.contains(&t) => Some(Shape::List("Tags")),
        t if MAP_TAGGED.contains(&t) => Some(Shape::Map),
        _ => None,
    }
}

/// The tags of an env resource: `App`, `Env`, `Group`, `Name=<app>-<env>-<group>`.
pub fn env_tags(naming: &Naming, group: &str) -> Vec<(String, String)> {
    vec![
        ("App".into(), naming.app.clone()),
        ("Env".into(), naming.env.clone()),
        ("Group".into(), group.into()),
        (
            "Name".into(),
            format!("{}-{}-{group}", naming.app, naming.env),
        ),
    ]
}

/// The tags of an image-bake resource: `App`, `Group=image`, `Name=<app>-image`.
pub fn image_tags(app: &str) -> Vec<(String, String)> {
    vec![
        ("App".into(), app.into()),
        ("Group".into(), "image".into()),
        ("Name".into(), format!("{app}-image")),
    ]
}

/// Which tags a merge gives its resources.
pub(crate) enum Tagging<'a> {
    Env(&'a Naming),
    Image(&'a str),
}

impl Tagging<'_> {
    /// The resource's group: an explicit `Group` tag, else its own
    /// `Metadata.Group`, else the fragment's.
    fn group(
        &self,
        fragment: &Fragment,
        id: &str,
        resource: &Value,
    ) -> Result<String, TemplateError> {
        if let Tagging::Image(_) = self {
            return Ok("image".to_owned());
        }
        if let Some(group) = explicit_tag(resource, "Group") {
            return Ok(group.to_owned());
        }
        match resource.get("Metadata").and_then(|m| m.get("Group")) {
            None => Ok(fragment.group().to_owned()),
            Some(Value::String(group)) if !group.is_empty() => Ok(group.clone()),
            Some(_) => Err(TemplateError::invalid_at(
                &fragment.path,
                fragment.line_of(id),
                format!(
                    "resource \"{id}\": Metadata.Group must be a group name such as \"worker\""
                ),
            )),
        }
    }

    /// Tags the resource; returns its group and, when it cannot carry the
    /// tags, its type. A resource with no Type is left to `check`.
    pub(crate) fn apply(
        &self,
        fragment: &Fragment,
        id: &str,
        resource: &mut Value,
    ) -> Result<(String, Option<String>), TemplateError> {
        let group = self.group(fragment, id, resource)?;
        let Value::Object(map) = resource else {
            return Ok((group, None));
        };
        let kind = map.get("Type").and_then(Value::as_str).map(str::to_owned);
        let untaggable = kind.filter(|_| !inject(map, &self.tags(&group)));
        Ok((group, untaggable))
    }

    fn tags(&self, group: &str) -> Vec<(String, String)> {
        match self {
            Tagging::Env(naming) => env_tags(naming, group),
            Tagging::Image(app) => image_tags(app),
        }
    }
}

/// Adds `tags` to the resource, leaving any tag it already sets with the same
/// key. Returns false when the resource cannot carry them: an unknown type, or
/// properties/tags given by an intrinsic function.
pub fn inject(resource: &mut Map<String, Value>, tags: &[(String, String)]) -> bool {
    let Some(shape) = resource.get("Type").and_then(Value::as_str).and_then(shape) else {
        return false;
    };
    let properties = resource
        .entry("Properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(properties) = properties.as_object_mut().filter(|p| !is_intrinsic(p)) else {
        return false;
    };
    let existing = properties
        .entry(shape.property())
        .or_insert_with(|| match shape {
            Shape::Map => Value::Object(Map::new()),
            _ => Value::Array(Vec::new()),
        });
    match (shape, existing) {
        (Shape::Map, Value::Object(map)) if !is_intrinsic(map) => {
            for (key, value) in tags {
                map.entry(key.as_str())
                    .or_insert_with(|| value.as_str().into());
            }
            true
        }
        (Shape::List(_) | Shape::Propagating, Value::Array(list)) => {
            let present: Vec<String> = list
                .iter()
                .filter_map(|t| t.get("Key").and_then(Value::as_str).map(str::to_owned))
                .collect();
            for (key, value) in tags.iter().filter(|(k, _)| !present.contains(k)) {
                let mut tag = Map::from_iter([
                    ("Key".to_owned(), Value::from(key.as_str())),
                    ("Value".to_owned(), Value::from(value.as_str())),
                ]);
                if shape == Shape::Propagating {
                    tag.insert("PropagateAtLaunch".into(), Value::Bool(true));
                }
                list.push(Value::Object(tag));
            }
            true
        }
        _ => false,
    }
}

/// The literal value of a tag the resource sets itself.
fn explicit_tag<'v>(resource: &'v Value, key: &str) -> Option<&'v str> {
    let shape = resource
        .get("Type")
        .and_then(Value::as_str)
        .and_then(shape)?;
    match resource.get("Properties")?.get(shape.property())? {
        Value::Array(list) => list
            .iter()
            .find(|t| t.get("Key").and_then(Value::as_str) == Some(key))?
            .get("Value")?
            .as_str(),
        Value::Object(map) => map.get(key)?.as_str(),
        _ => None,
    }
}

/// `{"Ref": …}` or `{"Fn::…": …}` standing in for a value.
fn is_intrinsic(map: &Map<String, Value>) -> bool {
    map.len() == 1 && map.keys().all(|k| k == "Ref" || k.starts_with("Fn::"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tags() -> Vec<(String, String)> {
        let naming = Naming {
            app: "argos".into(),
            env: "staging".into(),
        };
        env_tags(&naming, "web")
    }

    fn kv_list() -> Value {
        json!([
            {"Key": "App", "Value": "argos"},
            {"Key": "Env", "Value": "staging"},
            {"Key": "Group", "Value": "web"},
            {"Key": "Name", "Value": "argos-staging-web"}
        ])
    }

    fn tagged(resource: Value) -> (bool, Value) {
        let mut map = resource.as_object().unwrap().clone();
        let ok = inject(&mut map, &tags());
        (ok, Value::Object(map))
    }

    #[test]
    fn list_shapes_by_type() {
        let cases = [
            ("AWS::EC2::Instance", "Tags"),
            ("AWS::S3::Bucket", "Tags"),
            ("AWS::EC2::VPC", "Tags"),
            ("AWS::Route53::HostedZone", "HostedZoneTags"),
            ("AWS::EFS::FileSystem", "FileSystemTags"),
        ];
        for (kind, property) in cases {
            let (ok, resource) = tagged(json!({"Type": kind}));
            assert!(ok, "{kind}");
            assert_eq!(resource["Properties"][property], kv_list(), "{kind}");
        }
    }

    #[test]
    fn auto_scaling_group_tags_propagate_at_launch() {
        let (ok, resource) = tagged(json!({
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {"MinSize": "1"}
        }));
        assert!(ok);
        let list = resource["Properties"]["Tags"].as_array().unwrap();
        assert_eq!(list.len(), 4);
        for tag in list {
            assert_eq!(tag["PropagateAtLaunch"], true, "{tag}");
        }
        assert_eq!(list[3]["Value"], "argos-staging-web");
        assert_eq!(resource["Properties"]["MinSize"], "1");
    }

    #[test]
    fn map_form_for_ssm_parameter() {
        let (ok, resource) = tagged(json!({
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Tags": {"Owner": "ops", "Group": "mine"}}
        }));
        assert!(ok);
        assert_eq!(
            resource["Properties"]["Tags"],
            json!({"Owner": "ops", "Group": "mine", "App": "argos", "Env": "staging", "Name": "argos-staging-web"})
        );
    }

    #[test]
    fn explicit_tag_wins() {
        let (ok, resource) = tagged(json!({
            "Type": "AWS::EC2::Instance",
            "Properties": {"Tags": [{"Key": "Name", "Value": "bastion"}, {"Key": "Team", "Value": "x"}]}
        }));
        assert!(ok);
        let list = resource["Properties"]["Tags"].as_array().unwrap();
        let names: Vec<_> = list.iter().filter(|t| t["Key"] == "Name").collect();
        assert_eq!(names, [&json!({"Key": "Name", "Value": "bastion"})]);
        assert_eq!(list.len(), 5);
    }

    #[test]
    fn untaggable_resources_are_left_alone() {
        let cases = [
            json!({"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "x"}}),
            json!({"Type": "AWS::EC2::LaunchTemplate"}),
            json!({"Type": "Custom::Thing"}),
            json!({"Type": "AWS::EC2::Instance", "Properties": {"Tags": {"Fn::If": ["C", [], []]}}}),
            json!({"Type": "AWS::SSM::Parameter", "Properties": {"Tags": {"Fn::If": ["C", {}, {}]}}}),
            json!({"Type": "AWS::SSM::Parameter", "Properties": {"Tags": []}}),
            json!({"Type": "AWS::EC2::Instance", "Properties": {"Fn::If": ["C", {}, {}]}}),
            json!({"Properties": {}}),
        ];
        for resource in cases {
            let (ok, after) = tagged(resource.clone());
            assert!(!ok, "{resource}");
            if resource.get("Properties").is_some() {
                assert_eq!(after, resource);
            }
        }
    }

    #[test]
    fn image_tags_have_no_env() {
        let keys: Vec<_> = image_tags("argos").into_iter().collect();
        assert_eq!(
            keys,
            [
                ("App".to_owned(), "argos".to_owned()),
                ("Group".to_owned(), "image".to_owned()),
                ("Name".to_owned(), "argos-image".to_owned())
            ]
        );
    }
}
