//! One place decides what a stack's status means for an action.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No stack by that name.
    Absent,
    /// A stable, usable stack: CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, ...
    Ready,
    /// An operation is running; wait for it or refuse.
    Busy,
    /// What a failed create leaves: ROLLBACK_COMPLETE, ROLLBACK_FAILED, CREATE_FAILED,
    /// REVIEW_IN_PROGRESS. It can only be deleted and created again.
    FailedCreate,
    /// UPDATE_ROLLBACK_FAILED: needs ContinueUpdateRollback.
    UpdateRollbackFailed,
    /// UPDATE_FAILED with rollback disabled: needs RollbackStack.
    UpdateFailed,
    /// DELETE_FAILED: delete again, retaining what blocked it.
    DeleteFailed,
    /// DELETE_COMPLETE (seen when looking up by stack id).
    Deleted,
    /// A status this version does not know.
    Unknown,
}

pub fn classify(status: Option<&str>) -> State {
    let Some(status) = status else {
        return State::Absent;
    };
    match status {
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => State::Ready,
        "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" | "CREATE_FAILED" | "REVIEW_IN_PROGRESS" => {
            State::FailedCreate
        }
        "UPDATE_ROLLBACK_FAILED" => State::UpdateRollbackFailed,
        "UPDATE_FAILED" => State::UpdateFailed,
        "DELETE_FAILED" => State::DeleteFailed,
        "DELETE_COMPLETE" => State::Deleted,
        s if s.ends_with("_IN_PROGRESS") => State::Busy,
        _ => State::Unknown,
    }
}

/// Is this a state an operation ends in (so a wait is over)?
pub fn is_settled(status: &str) -> bool {
    status == "REVIEW_IN_PROGRESS" || !status.ends_with("_IN_PROGRESS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_meaning() {
        let cases = [
            (None, State::Absent),
            (Some("CREATE_COMPLETE"), State::Ready),
            (Some("UPDATE_COMPLETE"), State::Ready),
            (Some("UPDATE_ROLLBACK_COMPLETE"), State::Ready),
            (Some("IMPORT_COMPLETE"), State::Ready),
            (Some("CREATE_IN_PROGRESS"), State::Busy),
            (Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), State::Busy),
            (Some("DELETE_IN_PROGRESS"), State::Busy),
            (Some("ROLLBACK_IN_PROGRESS"), State::Busy),
            (Some("ROLLBACK_COMPLETE"), State::FailedCreate),
            (Some("ROLLBACK_FAILED"), State::FailedCreate),
            (Some("CREATE_FAILED"), State::FailedCreate),
            (Some("REVIEW_IN_PROGRESS"), State::FailedCreate),
            (Some("UPDATE_ROLLBACK_FAILED"), State::UpdateRollbackFailed),
            (Some("UPDATE_FAILED"), State::UpdateFailed),
            (Some("DELETE_FAILED"), State::DeleteFailed),
            (Some("DELETE_COMPLETE"), State::Deleted),
            (Some("SOMETHING_NEW"), State::Unknown),
        ];
        for (status, want) in cases {
            assert_eq!(classify(status), want, "{status:?}");
        }
    }

    #[test]
    fn settled_states() {
        assert!(is_settled("CREATE_COMPLETE"));
        assert!(is_settled("ROLLBACK_COMPLETE"));
        assert!(is_settled("REVIEW_IN_PROGRESS"));
        assert!(!is_settled("UPDATE_ROLLBACK_IN_PROGRESS"));
    }
}
