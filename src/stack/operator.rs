//! What the stack lifecycle needs from the person running manage: to be told what happens, to
//! be asked before a change, and to watch a wait. The UI implements it for real runs; tests
//! implement it with scripted answers.

use super::Watch;
use crate::error::Result;

/// Where a logical id is defined ("formations/app.yaml:12"), when known.
pub type Origin = Box<dyn Fn(&str) -> Option<String>>;

pub trait Operator {
    /// A step of the action: "stack argos-staging is UPDATE_IN_PROGRESS: waiting".
    fn step(&self, msg: &str);
    /// A detail under a step.
    fn info(&self, msg: &str);
    fn warn(&self, msg: &str);
    /// Go on only if the operator agrees: Err(Refused) when not (or when nobody can be asked).
    /// `what` names the change for the refusal line: "update of staging".
    fn confirm(&self, what: &str, question: &str) -> Result<()>;
    /// Progress for a wait on `stack`.
    fn watch(&self, stack: &str, origin: Origin) -> Box<dyn Watch>;
}
