//! The first step of every action that touches the env's stack: classify its state and act on
//! it (wait, recover after confirmation, or refuse), through `stack::settle`, with the
//! operator's flags and the screen.

use super::Ctx;
use crate::aws::Clients;
use crate::error::Result;
use crate::stack::{self, Intent, Operator, Origin, Recovery, Settled, Watch};

/// How the operator asked to treat a busy or stuck stack (`--no-wait`, `--skip`).
#[derive(Debug, Default, Clone)]
pub struct StackFlags {
    /// Refuse (exit 3) instead of waiting for another operation on the stack.
    pub no_wait: bool,
    /// With UPDATE_ROLLBACK_FAILED: resources to skip when continuing the rollback.
    pub skip: Vec<String>,
}

/// Settle the env's stack for `intent`. `retain` is decommission's --retain (empty elsewhere).
pub async fn settle(
    ctx: &Ctx,
    clients: &Clients,
    intent: Intent,
    args: &StackFlags,
    retain: &[String],
) -> Result<Settled> {
    let rec = Recovery {
        env: &ctx.env.name,
        no_wait: args.no_wait,
        dry_run: ctx.dry_run,
        skip: &args.skip,
        retain,
        role_arn: ctx.env.stack.role_arn.as_deref(),
        pacing: ctx.stack_pacing(),
    };
    stack::settle(&clients.cfn, &ctx.env.stack_name(), intent, &rec, ctx).await
}

/// The person at the terminal: --yes answers every confirmation; otherwise they type the env's
/// name (and without a terminal, the change is refused).
impl Operator for Ctx {
    fn step(&self, msg: &str) {
        self.ui.step(msg);
    }

    fn info(&self, msg: &str) {
        self.ui.info(msg);
    }

    fn warn(&self, msg: &str) {
        self.ui.warn(msg);
    }

    fn confirm(&self, what: &str, question: &str) -> Result<()> {
        if self.yes {
            return Ok(());
        }
        self.ui.confirm_typed(what, question, &self.env.name)
    }

    fn watch(&self, stack: &str, origin: Origin) -> Box<dyn Watch> {
        Box::new(self.ui.stack_progress(stack, origin))
    }
}
