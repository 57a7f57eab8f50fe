//! The data guard: the replacements and removals in a change set, its nested ones included,
//! that need --allow-replace on top of confirmation.

use super::nested::{nested_id, NestedSet, NESTED_STACK};
use crate::aws::cloudformation::{ChangeSet, ResourceChange};
use crate::error::Result;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;

/// Resource types that hold data: replacing or removing one loses it.
pub const STATEFUL: &[&str] = &[
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::S3::Bucket",
    "AWS::EC2::Volume",
    "AWS::DynamoDB::Table",
    "AWS::EFS::FileSystem",
    "AWS::ElastiCache::CacheCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::DocDB::DBCluster",
    "AWS::Neptune::DBCluster",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::Redshift::Cluster",
];

/// A change that needs --allow-replace on top of confirmation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Risk {
    pub logical_id: String,
    pub resource_type: String,
    /// "replaced" or "removed".
    pub action: String,
    /// Why it matters: "it holds data", "DeletionPolicy Retain", "the env is protected".
    pub why: String,
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) would be {}: {}",
            self.logical_id, self.resource_type, self.action, self.why
        )
    }
}

/// Does judging these changes need the template the stack runs now (for the DeletionPolicy
/// of removed resources)?
fn needs_deployed_template(changes: &[ResourceChange]) -> bool {
    changes.iter().any(|c| destructive(c).is_some())
}

/// "replaced" or "removed" when the change loses the resource as it is.
fn destructive(c: &ResourceChange) -> Option<&'static str> {
    match (c.action.as_str(), c.replacement.as_deref()) {
        ("Remove", _) => Some("removed"),
        ("Modify", Some("True" | "Conditional")) => Some("replaced"),
        _ => None,
    }
}

/// The replacements and removals that need --allow-replace: of a stateful resource, of one
/// whose DeletionPolicy (or, for a replacement, UpdateReplacePolicy) keeps it or a snapshot,
/// of a nested stack (removing it removes all it holds), and of any resource in a protected env. `deployed` is the template the stack runs now.
pub fn risks(
    changes: &[ResourceChange],
    deployed: Option<&Value>,
    proposed: &Value,
    protected: bool,
) -> Vec<Risk> {
    changes
        .iter()
        .filter_map(|c| {
            let action = destructive(c)?;
            let mut why = Vec::new();
            if STATEFUL.contains(&c.resource_type.as_str()) {
                why.push("it holds data".to_owned());
            }
            if c.resource_type == NESTED_STACK && action == "removed" {
                why.push("a nested stack: every resource in it is deleted".to_owned());
            }
            let mut policies = vec!["DeletionPolicy"];
            if action == "replaced" {
                policies.push("UpdateReplacePolicy");
            }
            for policy in policies {
                let kept = [deployed, Some(proposed)]
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["Resources"][&c.logical_id][policy].as_str())
                    .find(|p| matches!(*p, "Retain" | "RetainExceptOnCreate" | "Snapshot"));
                if let Some(p) = kept {
                    why.push(format!("{policy} {p}"));
                }
            }
            if protected {
                why.push("the env is protected".to_owned());
            }
            (!why.is_empty()).then(|| Risk {
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                action: action.to_owned(),
                why: why.join(", "),
            })
        })
        .collect()
}

/// The changes that need --allow-replace, in the stack and inside its nested stacks; a running
/// template is read only when something in it would be replaced or removed. `proposed` is the
/// merged template; `nested_template` the one proposed for the nested stack at a path
/// (`Queues`), when it is a local child.
pub async fn judge(
    client: &Client,
    stack_id: &str,
    set: &ChangeSet,
    nested: &[NestedSet],
    proposed: &Value,
    nested_template: &dyn Fn(&str) -> Option<Value>,
    protected: bool,
) -> Result<Vec<Risk>> {
    let deployed = running_template(client, &set.changes, stack_id).await?;
    let mut found = risks(&set.changes, deployed.as_ref(), proposed, protected);
    for n in nested {
        let deployed = running_template(client, &n.set.changes, &n.set.stack_id).await?;
        let proposed = nested_template(&n.path).unwrap_or_default();
        let inside = risks(&n.set.changes, deployed.as_ref(), &proposed, protected);
        found.extend(inside.into_iter().map(|r| Risk {
            logical_id: nested_id(&n.path, &r.logical_id),
            ..r
        }));
    }
    Ok(found)
}

/// The template `stack` runs, when judging `changes` needs it.
async fn running_template(
    client: &Client,
    changes: &[ResourceChange],
    stack: &str,
) -> Result<Option<Value>> {
    if !needs_deployed_template(changes) {
        return Ok(None);
    }
    // A template that is not JSON (made outside manage): judge by type and env alone.
    super::readable_template(client, stack).await
}

#[cfg(test)]
mod tests {
    use super::super::tests::change;
    use super::*;
    use serde_json::json;

    #[test]
    fn replacing_or_removing_what_holds_data_is_a_risk() {
        let deployed = json!({"Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket"},
            "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "Web": {"Type": "AWS::EC2::Instance"},
            "Cache": {"Type": "AWS::SQS::Queue", "UpdateReplacePolicy": "Snapshot"}
        }});
        let proposed = json!({"Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance"},
            "Web": {"Type": "AWS::EC2::Instance"},
            "Cache": {"Type": "AWS::SQS::Queue", "UpdateReplacePolicy": "Snapshot"}
        }});
        let changes = [
            change("Modify", "Db", "AWS::RDS::DBInstance", Some("True")),
            change("Remove", "Uploads", "AWS::S3::Bucket", None),
            change("Remove", "Logs", "AWS::Logs::LogGroup", None),
            change("Modify", "Web", "AWS::EC2::Instance", Some("True")),
            change("Modify", "Cache", "AWS::SQS::Queue", Some("Conditional")),
            change("Modify", "Db2", "AWS::RDS::DBInstance", Some("False")),
            change("Add", "Db3", "AWS::RDS::DBInstance", None),
        ];
        assert!(needs_deployed_template(&changes));
        let found = risks(&changes, Some(&deployed), &proposed, false);
        let summary: Vec<_> = found
            .iter()
            .map(|r| (r.logical_id.as_str(), r.action.as_str(), r.why.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("Db", "replaced", "it holds data"),
                ("Uploads", "removed", "it holds data"),
                ("Logs", "removed", "DeletionPolicy Retain"),
                ("Cache", "replaced", "UpdateReplacePolicy Snapshot"),
            ]
        );
        // In a protected env every replacement and removal needs --allow-replace.
        let protected = risks(&changes, Some(&deployed), &proposed, true);
        assert_eq!(protected.len(), 5);
        assert!(protected
            .iter()
            .any(|r| r.logical_id == "Web" && r.why == "the env is protected"));
        assert!(!needs_deployed_template(&changes[5..]));
    }
}
