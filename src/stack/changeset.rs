//! Change sets: create one and wait until CloudFormation has worked it out, tell "no changes"
//! apart from a failure, and find the changes that must not happen without --allow-replace.

use super::wait::is_transient;
use super::Pacing;
use crate::aws::cloudformation::{self as cfn, ChangeSet, ChangeSetRequest, ResourceChange};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use tokio::time::Instant;

const NESTED_STACK: &str = crate::template::nested::STACK_TYPE;

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

/// Create the change set and poll (at once, then backing off) until it is worked out. None
/// when CreateChangeSet itself answers that there is nothing to change (the emulator does).
pub async fn prepare(
    client: &Client,
    req: &ChangeSetRequest<'_>,
    pacing: Pacing,
) -> Result<Option<ChangeSet>> {
    let id = match cfn::create_change_set(client, req).await {
        Ok(id) => id,
        Err(Error::Aws(e))
            if e.code() == Some("ValidationError") && says_no_changes(&e.message) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let started = Instant::now();
    let mut delay = pacing.first;
    loop {
        match cfn::describe_change_set(client, req.stack, &id).await {
            Ok(set) if !matches!(set.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") => {
                return Ok(Some(set))
            }
            Ok(_) => {}
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: format!("change set {} of stack {} to be ready", req.name, req.stack),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}

/// A nested stack's change set (IncludeNestedStacks), found under its parent's. `path` names
/// the nested stack resource from the top: `Queues`, or `Queues/Inner` one level deeper.
#[derive(Debug, Clone)]
pub struct NestedSet {
    pub path: String,
    pub set: ChangeSet,
}

/// Every nested change set under `set`, deeper ones too, each with all its changes. The parent
/// is complete only once they are, so they are read without waiting.
pub async fn nested_sets(client: &Client, set: &ChangeSet) -> Result<Vec<NestedSet>> {
    let mut pending = children_of("", set);
    let mut found = Vec::new();
    while let Some((path, id)) = pending.pop() {
        // Its ARN names the change set; the nested stack's name is not needed.
        let nested = cfn::describe_change_set(client, "", &id).await?;
        pending.extend(children_of(&path, &nested));
        found.push(NestedSet { path, set: nested });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn children_of(prefix: &str, set: &ChangeSet) -> Vec<(String, String)> {
    set.changes
        .iter()
        .filter(|c| c.resource_type == NESTED_STACK)
        .filter_map(|c| Some((nested_id(prefix, &c.logical_id), c.change_set_id.clone()?)))
        .rev()
        .collect()
}

/// `Queues/Jobs`: a resource of nested stack `Queues`.
pub fn nested_id(path: &str, logical_id: &str) -> String {
    if path.is_empty() {
        logical_id.to_owned()
    } else {
        format!("{path}/{logical_id}")
    }
}

/// The changes of the nested change sets, each named by its path (`Queues/Jobs`), after the
/// parent's own.
pub fn with_nested(set: &ChangeSet, nested: &[NestedSet]) -> Vec<ResourceChange> {
    let mut all = set.changes.clone();
    for n in nested {
        all.extend(n.set.changes.iter().map(|c| ResourceChange {
            logical_id: nested_id(&n.path, &c.logical_id),
            ..c.clone()
        }));
    }
    all
}

/// CloudFormation reports a change set without changes as FAILED, with only a message to tell
/// it from a real failure (there is no code for it).
pub fn is_no_changes(set: &ChangeSet) -> bool {
    set.status == "FAILED" && says_no_changes(set.reason.as_deref().unwrap_or_default())
}

fn says_no_changes(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("didn't contain changes") || m.contains("no updates are to be performed")
}

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
pub fn needs_deployed_template(changes: &[ResourceChange]) -> bool {
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

/// A parameter whose value changes. A secret's value is never shown, old or new.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ParamChange {
    pub name: String,
    /// None for a parameter the stack did not have; **** for a secret.
    pub old: Option<String>,
    /// None for a parameter no fragment declares any more; **** for a secret.
    pub new: Option<String>,
    /// A secret (from the config's env/file forms, or NoEcho now or before): values masked.
    pub secret: bool,
}

const MASK: &str = "****";

/// `proposed` is the values to send (secrets in clear: only compared, never copied into the
/// result); `current` is what the stack reports (NoEcho values come back as ****); `secret`
/// names the parameters whose values must never be shown. A NoEcho value cannot be read
/// back, so whether it changes is unknown and it is not listed.
pub fn parameter_changes(
    current: &[(String, String)],
    proposed: &[(String, String)],
    secret: &BTreeSet<String>,
) -> Vec<ParamChange> {
    let hidden =
        |name: &str, old: Option<&String>| secret.contains(name) || old.is_some_and(|o| o == MASK);
    let mut out = Vec::new();
    for (name, new) in proposed {
        let old = current.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        if old == Some(new) || old.is_some_and(|o| o == MASK) {
            continue;
        }
        let secret = hidden(name, old);
        let shown = |v: &String| if secret { MASK.to_owned() } else { v.clone() };
        out.push(ParamChange {
            name: name.clone(),
            old: old.map(shown),
            new: Some(shown(new)),
            secret,
        });
    }
    for (name, old) in current {
        if !proposed.iter().any(|(k, _)| k == name) {
            let secret = hidden(name, Some(old));
            out.push(ParamChange {
                name: name.clone(),
                old: Some(if secret { MASK.to_owned() } else { old.clone() }),
                new: None,
                secret,
            });
        }
    }
    out
}

/// A resource change with where the resource is defined.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub change: ResourceChange,
    /// The fragment file ("app.yaml"); unknown for a removed resource.
    pub fragment: Option<String>,
    /// "formations/app.yaml:12".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defined_in: Option<String>,
}

impl Change {
    pub fn new(change: ResourceChange, defined_in: Option<String>) -> Self {
        let fragment = defined_in.as_deref().map(|d| {
            let path = match d.rsplit_once(':') {
                Some((path, line)) if line.chars().all(|c| c.is_ascii_digit()) => path,
                _ => d,
            };
            std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.to_owned(), |f| f.to_string_lossy().into_owned())
        });
        Self {
            change,
            fragment,
            defined_in,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(action: &str, id: &str, ty: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.into(),
            logical_id: id.into(),
            physical_id: None,
            resource_type: ty.into(),
            replacement: replacement.map(Into::into),
            scope: vec![],
            changed: vec![],
            change_set_id: None,
        }
    }

    fn set(status: &str, reason: Option<&str>) -> ChangeSet {
        ChangeSet {
            id: "cs".into(),
            name: "cs".into(),
            stack_id: "s".into(),
            status: status.into(),
            execution_status: "UNAVAILABLE".into(),
            reason: reason.map(Into::into),
            changes: vec![],
        }
    }

    #[test]
    fn no_changes_is_told_apart_from_a_failure() {
        assert!(is_no_changes(&set(
            "FAILED",
            Some("The submitted information didn't contain changes. Submit different information to create a change set.")
        )));
        assert!(is_no_changes(&set(
            "FAILED",
            Some("No updates are to be performed.")
        )));
        assert!(!is_no_changes(&set(
            "FAILED",
            Some("Template format error")
        )));
        assert!(!is_no_changes(&set("CREATE_COMPLETE", None)));
    }

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

    #[test]
    fn parameter_changes_never_show_secrets() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let current = pairs(&[
            ("VpcCidr", "10.20.0.0/16"),
            ("Label", "first"),
            ("Token", "****"),
            ("Gone", "x"),
            ("DbPassword", "S3cr3tEnvValue7Qx9"),
            ("ApiKey", "old-key-value"),
            ("Same", "same-secret"),
        ]);
        let proposed = pairs(&[
            ("VpcCidr", "10.20.0.0/16"),
            ("Label", "second"),
            ("Token", "whatever"),
            ("Fresh", "y"),
            ("ApiKey", "new-key-value"),
            ("Same", "same-secret"),
            ("NewSecret", "brand-new"),
        ]);
        let secret: BTreeSet<String> = ["DbPassword", "ApiKey", "Same", "NewSecret"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = |n: &str, o: Option<&str>, w: Option<&str>, secret: bool| ParamChange {
            name: n.into(),
            old: o.map(Into::into),
            new: w.map(Into::into),
            secret,
        };
        assert_eq!(
            parameter_changes(&current, &proposed, &secret),
            [
                p("Label", Some("first"), Some("second"), false),
                p("Fresh", None, Some("y"), false),
                p("ApiKey", Some("****"), Some("****"), true),
                p("NewSecret", None, Some("****"), true),
                p("Gone", Some("x"), None, false),
                p("DbPassword", Some("****"), None, true),
            ]
        );
    }

    #[test]
    fn a_change_names_its_fragment_file() {
        let c = Change::new(
            change("Add", "Q", "AWS::SQS::Queue", None),
            Some("/p/formations/queue.yaml:7".into()),
        );
        assert_eq!(c.fragment.as_deref(), Some("queue.yaml"));
        let c = Change::new(change("Remove", "Q", "AWS::SQS::Queue", None), None);
        assert_eq!(c.fragment, None);
    }
}
