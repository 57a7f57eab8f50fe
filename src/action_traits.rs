//! What each action is, in one exhaustive table: its name (as typed, and as recorded in a lock
//! and in the history), the locks it takes for its whole run, whether it changes something in
//! the account or on its hosts (and so names the account and region first), and whether its
//! runs go in the env's history. A new action must say all four here.

use crate::cli::Action;
use crate::lock::Scope;

pub struct Traits {
    pub name: &'static str,
    /// Every action that changes an env takes the env lock; bake and clean (and decommission
    /// --with-image) the app's image lock; read-only actions none.
    pub locks: &'static [Scope],
    pub changes_aws: bool,
    /// What changes the env's stack or hosts.
    pub recorded: bool,
}

const NONE: &[Scope] = &[];
const ENV: &[Scope] = &[Scope::Env];
const APP: &[Scope] = &[Scope::App];
const BOTH: &[Scope] = &[Scope::Env, Scope::App];

const fn t(
    name: &'static str,
    locks: &'static [Scope],
    changes_aws: bool,
    recorded: bool,
) -> Traits {
    Traits {
        name,
        locks,
        changes_aws,
        recorded,
    }
}

pub fn of(action: &Action) -> Traits {
    match action {
        // Local: no AWS call that changes anything.
        Action::Init(_) => t("init", NONE, false, false),
        Action::Completions { .. } => t("completions", NONE, false, false),
        Action::Man => t("man", NONE, false, false),
        Action::Doctor => t("doctor", NONE, false, false),
        Action::Validate => t("validate", NONE, false, false),
        Action::Template => t("template", NONE, false, false),
        // Read-only.
        Action::Inventory(_) => t("inventory", NONE, false, false),
        Action::Ssh(_) => t("ssh", NONE, false, false),
        Action::Status(_) => t("status", NONE, false, false),
        Action::Events(_) => t("events", NONE, false, false),
        Action::Drift => t("drift", NONE, false, false),
        Action::History(_) => t("history", NONE, false, false),
        // Change the account, take no env lock, leave no history.
        Action::Config { .. } => t("config push", NONE, true, false),
        Action::Exec(_) => t("exec", NONE, true, false),
        Action::Unlock(_) => t("unlock", NONE, true, false),
        Action::Bake(_) => t("bake", APP, true, false),
        Action::Clean(_) => t("clean", APP, true, false),
        Action::Dns => t("dns", ENV, true, false),
        // Change the env's stack or hosts: locked and recorded.
        Action::Commission(_) => t("commission", ENV, true, true),
        Action::Update(_) => t("update", ENV, true, true),
        Action::Deploy(_) => t("deploy", ENV, true, true),
        Action::Decommission(a) if a.with_image => t("decommission", BOTH, true, true),
        Action::Decommission(_) => t("decommission", ENV, true, true),
        Action::Start(_) => t("start", ENV, true, true),
        Action::Stop(_) => t("stop", ENV, true, true),
        Action::Reboot(_) => t("reboot", ENV, true, true),
        Action::Terminate(_) => t("terminate", ENV, true, true),
        Action::Revert(_) => t("revert", ENV, true, true),
    }
}
