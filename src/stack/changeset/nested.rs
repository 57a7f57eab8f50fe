//! Nested change sets (IncludeNestedStacks): found under their parent's, their changes named
//! by the nested stack's path (`Queues/Jobs`).

use crate::aws::cloudformation::{self as cfn, ChangeSet, ResourceChange};
use crate::error::Result;
use aws_sdk_cloudformation::Client;

pub(super) const NESTED_STACK: &str = crate::template::nested::STACK_TYPE;

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
