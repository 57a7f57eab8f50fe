//! What `update` shows before its change set: drift detection on the stack, because the update
//! overwrites what was changed by hand. A step of its own so that the scripted tests can drive
//! it against any CloudFormation answer.

use crate::aws::cloudformation::{DriftedResource, Stack};
use crate::stack::drift::Drift;
use crate::stack::{Operator, Pacing};
use aws_sdk_cloudformation::Client;

/// Drift detection before the change set: what was changed by hand is shown above it, because
/// the update overwrites it. Informative only: when drift cannot be checked (an endpoint
/// without the API, a failed or slow detection) one line says so and the update goes on.
pub async fn drift_note(
    op: &dyn Operator,
    client: &Client,
    stack: &Stack,
    pacing: Pacing,
    secrets: &[String],
) -> Option<Vec<DriftedResource>> {
    op.step(&format!("detecting drift on stack {}", stack.name));
    let found = crate::stack::drift::detect(client, &stack.id, pacing).await;
    let found = found.map(|d| match d {
        Drift::Drifted(mut resources) => {
            crate::stack::drift::mask(&mut resources, secrets);
            Drift::Drifted(resources)
        }
        other => other,
    });
    match found {
        Ok(Drift::InSync) => {
            op.info("no drift");
            Some(vec![])
        }
        Ok(Drift::Drifted(resources)) => {
            op.warn(&format!(
                "{} resource(s) of stack {} were changed by hand; the update overwrites them:",
                resources.len(),
                stack.name
            ));
            op.info(&crate::ui::drift::render(&resources));
            Some(resources)
        }
        Ok(Drift::Unsupported(what)) => {
            op.warn(&format!(
                "drift could not be checked: this CloudFormation endpoint has no drift detection (DetectStackDrift: {what}); going on"
            ));
            None
        }
        Err(e) => {
            op.warn(&format!("drift could not be checked: {e}; going on"));
            None
        }
    }
}
