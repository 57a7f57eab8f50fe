//! Change sets: create one and wait until CloudFormation has worked it out, tell "no changes"
//! apart from a failure, show the parameter changes without their secrets, and delete one that
//! will not run. Nested change sets are in nested.rs; the changes that must not happen without
//! --allow-replace in guard.rs.

pub mod guard;
pub mod nested;

pub use guard::{judge, Risk};
pub use nested::{nested_sets, with_nested, NestedSet};

use super::wait::is_transient;
use super::{Operator, Pacing};
use crate::aws::cloudformation::{self as cfn, ChangeSet, ChangeSetRequest, ResourceChange};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use tokio::time::Instant;

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

/// CloudFormation reports a change set without changes as FAILED, with only a message to tell
/// it from a real failure (there is no code for it).
pub fn is_no_changes(set: &ChangeSet) -> bool {
    set.status == "FAILED" && says_no_changes(set.reason.as_deref().unwrap_or_default())
}

fn says_no_changes(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("didn't contain changes") || m.contains("no updates are to be performed")
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

/// The parameter changes as the operator may see them: besides `secret`, an old value is
/// hidden when the parameter was NoEcho in the template the stack runs now.
pub async fn shown_parameters(
    client: &Client,
    stack_id: &str,
    proposed: &[(String, String)],
    secret: &BTreeSet<String>,
) -> Result<Vec<ParamChange>> {
    let current = cfn::stack_parameters(client, stack_id).await?;
    let shown = parameter_changes(&current, proposed, secret);
    if !shown.iter().any(|c| !c.secret && c.old.is_some()) {
        return Ok(shown);
    }
    // An old value is about to be shown: hide it too if it was NoEcho before.
    let mut secret = secret.clone();
    secret.extend(no_echo_before(client, stack_id, &current).await?);
    Ok(parameter_changes(&current, proposed, &secret))
}

/// The parameters NoEcho in the template the stack runs now. A template that is not JSON
/// (made outside manage) cannot be read: then every current parameter counts as one.
async fn no_echo_before(
    client: &Client,
    stack_id: &str,
    current: &[(String, String)],
) -> Result<Vec<String>> {
    let Some(deployed) = readable_template(client, stack_id).await? else {
        return Ok(current.iter().map(|(k, _)| k.clone()).collect());
    };
    let declared = deployed.get("Parameters").and_then(|p| p.as_object());
    Ok(declared
        .into_iter()
        .flatten()
        .filter(|(_, d)| {
            matches!(d.get("NoEcho"), Some(Value::Bool(true)))
                || d.get("NoEcho").and_then(|v| v.as_str()) == Some("true")
        })
        .map(|(k, _)| k.clone())
        .collect())
}

/// The template `stack` runs; None when it is not JSON (made outside manage).
async fn readable_template(client: &Client, stack: &str) -> Result<Option<Value>> {
    match cfn::deployed_template(client, stack).await {
        Ok(t) => Ok(Some(t)),
        Err(Error::Local(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Delete a change set that will not run; a failure to do so is only worth a warning.
pub async fn discard(op: &dyn Operator, client: &Client, set: &ChangeSet) {
    if let Err(e) = cfn::delete_change_set(client, &set.stack_id, &set.id).await {
        op.warn(&format!("could not delete change set {}: {e}", set.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn change(
        action: &str,
        id: &str,
        ty: &str,
        replacement: Option<&str>,
    ) -> ResourceChange {
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
