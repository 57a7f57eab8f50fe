//! Termination protection follows the config: a protected env's stack has it on, any other
//! env's stack has it off. `commission` sets it at create; `update` brings it in step here.

use super::Operator;
use crate::aws::cloudformation::{self as cfn, Stack};
use crate::error::{Error, Result};
use aws_sdk_cloudformation::Client;

/// Turn the stack's termination protection on for a protected env and off otherwise. Returns
/// the new setting when it changed (in a dry run: when it would change), None when it already
/// matched or the endpoint lacks UpdateTerminationProtection (a warning then says so).
pub async fn follow(
    client: &Client,
    op: &dyn Operator,
    stack: &Stack,
    protected: bool,
    dry_run: bool,
) -> Result<Option<bool>> {
    if stack.termination_protection == protected {
        return Ok(None);
    }
    if dry_run {
        return Ok(Some(protected));
    }
    let (now, was) = if protected {
        ("on", "off")
    } else {
        ("off", "on")
    };
    op.step(&format!(
        "turning termination protection {now} for stack {}",
        stack.name
    ));
    match cfn::set_termination_protection(client, &stack.id, protected).await {
        Ok(()) => Ok(Some(protected)),
        Err(Error::Aws(e)) if e.lacks_call() => {
            op.warn(&format!(
                "this endpoint lacks UpdateTerminationProtection ({}): the termination protection of stack {} stays {was}",
                e.answer(),
                stack.name
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Turn off the stack's termination protection before a delete the operator has asked for.
/// An endpoint that lacks the call gets a warning and the delete goes on: DeleteStack itself
/// fails if the protection is still on.
pub async fn lift(client: &Client, op: &dyn Operator, stack: &Stack) -> Result<()> {
    op.step(&format!(
        "turning off the termination protection of stack {}",
        stack.name
    ));
    match cfn::set_termination_protection(client, &stack.id, false).await {
        Err(Error::Aws(e)) if e.lacks_call() => {
            op.warn(&format!(
                "this endpoint lacks UpdateTerminationProtection ({}): deleting stack {} anyway",
                e.answer(),
                stack.name
            ));
            Ok(())
        }
        other => other,
    }
}
