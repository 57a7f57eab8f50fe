//! Create a stack from a pushed template and wait for it: the one creation path for the env
//! stack (commission) and the image stack (bake).

use super::{failure, wait, Mark, Operator, Pacing};
use crate::aws::cloudformation::{self as cfn, CreateRequest, Stack};
use crate::error::{Error, Result};
use crate::formation::Formation;
use aws_sdk_cloudformation::Client;

/// Where a stack comes from: its name, the formation it was built from, the template's S3 URL
/// and its tags.
pub struct NewStack<'a> {
    pub name: &'a str,
    pub formation: &'a Formation,
    pub url: &'a str,
    pub tags: &'a [(String, String)],
    /// Stack policy, service role and notification topics (the image stack has none).
    pub settings: &'a crate::config::StackSettings,
    /// Termination protection from the start (a protected env's stack).
    pub protect: bool,
}

/// Create the stack with every parameter and its tags, wait while streaming its events, and
/// fail with the root cause unless it reaches CREATE_COMPLETE.
pub async fn create_and_wait(
    client: &Client,
    new: &NewStack<'_>,
    pacing: Pacing,
    op: &dyn Operator,
) -> Result<Stack> {
    let (name, formation) = (new.name, new.formation);
    let parameters = formation.resolved_parameters()?;
    let request = CreateRequest {
        name,
        token: format!("manage-{name}-{}", chrono::Utc::now().timestamp_millis()),
        template_url: new.url,
        parameters: &parameters,
        tags: new.tags,
        capabilities: formation.capabilities(),
        stack_policy: new.settings.stack_policy.as_ref().map(|p| p.body.as_str()),
        role_arn: new.settings.role_arn.as_deref(),
        notification_arns: new
            .settings
            .notification_arns
            .as_deref()
            .unwrap_or_default(),
        termination_protection: new.protect,
    };
    op.step(&format!("creating stack {name}"));
    let mark = Mark::new_stack();
    let since = chrono::Utc::now() - chrono::Duration::seconds(2);
    let id = match cfn::create(client, &request).await {
        Ok(id) => id,
        Err(e) => {
            return Err(remove_half_created(client, op, &request, since, e).await);
        }
    };
    let progress = op.watch(name, Box::new(formation.origin_lookup()));
    let waited = wait(client, &id, mark, pacing, progress.as_ref()).await?;
    drop(progress);
    match waited.stack {
        Some(stack) if stack.status == "CREATE_COMPLETE" => Ok(stack),
        _ => Err(failure::explain(client, name, &waited, |id| formation.defined_in(id)).await),
    }
}

/// A create that failed in the call itself can leave a stack behind in CREATE_IN_PROGRESS (the
/// emulator does). Remove a stack that this call made, so a rerun starts clean.
async fn remove_half_created(
    client: &Client,
    op: &dyn Operator,
    req: &CreateRequest<'_>,
    since: chrono::DateTime<chrono::Utc>,
    err: Error,
) -> Error {
    let name = req.name;
    let ours = matches!(&err, Error::Aws(a) if a.code() != Some("AlreadyExistsException"));
    if let (true, Ok(Some(s))) = (ours, cfn::describe(client, name).await) {
        if s.created.is_some_and(|c| c >= since)
            && cfn::delete(client, &s.id, &[], req.role_arn).await.is_ok()
        {
            op.info(&format!(
                "removed the half-created stack {name}: fix the cause and run commission again"
            ));
        }
    }
    err
}
