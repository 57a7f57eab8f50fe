//! What an env leaves behind when its stack is gone: what the last delete retained (for a
//! rerun after the stack went, or a decommission of an env deleted before), and instances
//! still tagged with the env that no stack owns, so nothing is forgotten silently.

use super::{retained, Retained};
use crate::aws::cloudformation as cfn;
use crate::aws::ec2;
use crate::aws::Clients;
use crate::error::Result;
use serde::Serialize;

/// An instance tagged with the env after its stack is gone.
#[derive(Serialize, Clone)]
pub struct LeftInstance {
    pub instance_id: String,
    pub state: String,
    pub name: Option<String>,
}

/// When the last stack of this name was deleted and what that delete retained; None when
/// there never was one (or CloudFormation forgot it after 90 days).
pub async fn last_delete(clients: &Clients, name: &str) -> Result<Option<(String, Vec<Retained>)>> {
    let Some((id, when)) = cfn::last_deleted(&clients.cfn, name).await? else {
        return Ok(None);
    };
    let kept = retained(clients, &id).await?;
    let when = when.map_or_else(
        || "an unknown time".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    );
    Ok(Some((when, kept)))
}

/// Instances tagged App=<app> and Env=<env> that are not terminated (or on their way).
pub async fn instances(clients: &Clients, app: &str, env: &str) -> Result<Vec<LeftInstance>> {
    let states = ["pending", "running", "stopping", "stopped"];
    let found = ec2::tagged_instances(&clients.ec2, &[("App", app), ("Env", env)], &states).await?;
    Ok(found
        .into_iter()
        .map(|i| LeftInstance {
            name: i.tags.get("Name").cloned(),
            instance_id: i.id,
            state: i.state,
        })
        .collect())
}
