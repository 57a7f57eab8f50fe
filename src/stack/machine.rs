//! The stack state machine: for every status CloudFormation can leave a stack in, what each
//! action does next. Pure: `settle` carries the decision out.

use super::state::{classify, State};

/// The action about to touch the env's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Create the stack, or report the one there.
    Commission,
    /// Change the stack through a change set.
    Update,
    /// Work on the env's hosts; the stack must exist.
    Deploy,
    /// Delete the stack.
    Decommission,
}

/// What to do about the stack before the action goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Go on: the stack (or its absence) is what the action works from.
    Proceed,
    /// There is no stack, and this action needs one.
    NotCommissioned,
    /// An operation is running: wait for it (or refuse with --no-wait), then look again.
    Wait,
    /// Left by a failed create: explain, delete after confirmation, then look again.
    Recreate,
    /// UPDATE_ROLLBACK_FAILED: show what blocked the rollback, ContinueUpdateRollback.
    ContinueRollback,
    /// UPDATE_FAILED with rollback disabled: RollbackStack.
    Rollback,
    /// DELETE_FAILED, for decommission: name what failed to delete, delete again (--retain).
    RetryDelete,
    /// Nothing this action can do from here.
    Refuse(Why),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A failed create: only commission (delete and create again) can go on from there.
    NeverCreated,
    /// DELETE_FAILED: only decommission can finish the delete.
    HalfDeleted,
    /// A status this version does not know, or one it cannot repair (IMPORT_ROLLBACK_FAILED).
    Unrepairable,
}

impl Why {
    /// What the operator can do, for the refusal line.
    pub fn hint(self, env: &str) -> String {
        match self {
            Why::NeverCreated => format!(
                "it was never created successfully; run `manage {env} commission`, which deletes and creates it again"
            ),
            Why::HalfDeleted => format!(
                "an earlier delete failed; finish it with `manage {env} decommission` (add --retain RESOURCE to keep what cannot be deleted)"
            ),
            Why::Unrepairable => format!(
                "manage cannot continue from this state; see `manage {env} events` and repair the stack in the CloudFormation console"
            ),
        }
    }
}

/// The decision table. `status` is None when there is no stack.
pub fn decide(intent: Intent, status: Option<&str>) -> Next {
    use Intent::*;
    match (classify(status), intent) {
        (State::Absent | State::Deleted, Commission | Decommission) => Next::Proceed,
        (State::Absent | State::Deleted, Update | Deploy) => Next::NotCommissioned,
        (State::Ready, _) => Next::Proceed,
        // Deleting a create in progress cancels it: that is how a stuck create is cleared.
        (State::Busy, Decommission) if status == Some("CREATE_IN_PROGRESS") => Next::Proceed,
        (State::Busy, _) => Next::Wait,
        (State::FailedCreate, Commission) => Next::Recreate,
        (State::FailedCreate, Decommission) => Next::Proceed,
        (State::FailedCreate, Update | Deploy) => Next::Refuse(Why::NeverCreated),
        // The stack and its hosts still exist: deleting or deploying works from here.
        (State::UpdateRollbackFailed | State::UpdateFailed, Decommission | Deploy) => Next::Proceed,
        (State::UpdateRollbackFailed, Commission | Update) => Next::ContinueRollback,
        (State::UpdateFailed, Commission | Update) => Next::Rollback,
        (State::DeleteFailed, Decommission) => Next::RetryDelete,
        (State::DeleteFailed, _) => Next::Refuse(Why::HalfDeleted),
        (State::Unknown, _) => Next::Refuse(Why::Unrepairable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Intent::*;

    /// Every status CloudFormation has, under every action.
    #[test]
    fn every_status_under_every_action() {
        let w = Next::Wait;
        let p = Next::Proceed;
        let never = Next::Refuse(Why::NeverCreated);
        let half = Next::Refuse(Why::HalfDeleted);
        let unknown = Next::Refuse(Why::Unrepairable);
        let nc = Next::NotCommissioned;
        // status: commission, update, deploy, decommission
        let table: &[(Option<&str>, [Next; 4])] = &[
            (None, [p, nc, nc, p]),
            (Some("DELETE_COMPLETE"), [p, nc, nc, p]),
            (Some("CREATE_COMPLETE"), [p, p, p, p]),
            (Some("UPDATE_COMPLETE"), [p, p, p, p]),
            (Some("UPDATE_ROLLBACK_COMPLETE"), [p, p, p, p]),
            (Some("IMPORT_COMPLETE"), [p, p, p, p]),
            (Some("IMPORT_ROLLBACK_COMPLETE"), [p, p, p, p]),
            (Some("CREATE_IN_PROGRESS"), [w, w, w, p]),
            (Some("UPDATE_IN_PROGRESS"), [w, w, w, w]),
            (Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), [w, w, w, w]),
            (Some("UPDATE_ROLLBACK_IN_PROGRESS"), [w, w, w, w]),
            (
                Some("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
                [w, w, w, w],
            ),
            (Some("ROLLBACK_IN_PROGRESS"), [w, w, w, w]),
            (Some("DELETE_IN_PROGRESS"), [w, w, w, w]),
            (Some("IMPORT_IN_PROGRESS"), [w, w, w, w]),
            (Some("IMPORT_ROLLBACK_IN_PROGRESS"), [w, w, w, w]),
            (Some("ROLLBACK_COMPLETE"), [Next::Recreate, never, never, p]),
            (Some("ROLLBACK_FAILED"), [Next::Recreate, never, never, p]),
            (Some("CREATE_FAILED"), [Next::Recreate, never, never, p]),
            (
                Some("REVIEW_IN_PROGRESS"),
                [Next::Recreate, never, never, p],
            ),
            (
                Some("UPDATE_ROLLBACK_FAILED"),
                [Next::ContinueRollback, Next::ContinueRollback, p, p],
            ),
            (
                Some("UPDATE_FAILED"),
                [Next::Rollback, Next::Rollback, p, p],
            ),
            (Some("DELETE_FAILED"), [half, half, half, Next::RetryDelete]),
            (Some("IMPORT_ROLLBACK_FAILED"), [unknown; 4]),
            (Some("SOMETHING_NEW"), [unknown; 4]),
        ];
        for (status, want) in table {
            for (intent, next) in [Commission, Update, Deploy, Decommission].iter().zip(want) {
                assert_eq!(
                    decide(*intent, *status),
                    *next,
                    "{status:?} under {intent:?}"
                );
            }
        }
    }

    #[test]
    fn refusals_say_what_to_run() {
        assert!(Why::NeverCreated
            .hint("staging")
            .contains("manage staging commission"));
        assert!(Why::HalfDeleted
            .hint("staging")
            .contains("manage staging decommission"));
        assert!(Why::Unrepairable
            .hint("staging")
            .contains("manage staging events"));
    }
}
