//! One file per action. Each `run` reads as the steps the README lists for it.

pub mod aws_preflight;
pub mod bake;
pub mod base_image;
pub mod checked;
pub mod clean;
pub mod commission;
pub mod decommission;
pub mod deploy;
pub mod dns;
pub mod doctor;
pub mod drift;
pub mod drift_note;
pub mod env_image;
pub mod events;
pub mod exec;
pub mod history;
pub mod hostops;
pub mod image_stack;
pub mod init;
pub mod inventory;
pub mod prune;
pub mod push;
pub mod reach;
pub mod records;
pub mod reference;
pub mod settle;
pub mod ssh;
pub mod status;
pub mod template;
pub mod unlock;
pub mod update;
pub mod validate;

use crate::aws::{Clients, Target};
use crate::config::EnvConfig;
use crate::error::Result;
use crate::lock::{self, Scope};
use crate::stack::Pacing;
use crate::ui::Ui;

/// What every action gets: the checked config for its env, the screen, and the global flags.
pub struct Ctx {
    pub env: EnvConfig,
    pub ui: Ui,
    pub dry_run: bool,
    pub yes: bool,
    /// `--allow-public-bucket`: use a template bucket without its public access blocked.
    pub allow_public_bucket: bool,
    /// `--skip-preflight`: leave out the account checks before commission, update and bake.
    pub skip_preflight: bool,
    pub target: Target,
    /// The action's name and the locks it needs (from `crate::action_traits`).
    pub action: &'static str,
    pub locks: &'static [Scope],
    /// Name the account and region before the first AWS call (mutating actions).
    pub announce: bool,
    pub announced: std::sync::atomic::AtomicBool,
    /// The base AMI id once read (`base_image::id`): `base_ami`, or its SSM parameter's value.
    pub base_image: std::sync::OnceLock<String>,
    /// Mitogen once looked up (`reach::mitogen`): the preflight finds it, the runs reuse it.
    pub mitogen: std::sync::OnceLock<Option<crate::ansible::mitogen::Mitogen>>,
}

impl Ctx {
    /// Built only by actions that call AWS, after their static checks, so bad input never gets
    /// this far. Takes the action's locks (none for a dry run or a read-only action).
    pub async fn clients(&self) -> Result<Clients> {
        let clients = Clients::new(&self.target).await?;
        let mut arn = None;
        if self.announce
            && !self
                .announced
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let who = crate::aws::sts::caller(&clients.sts).await?;
            self.ui.info(format!(
                "account {} ({}), region {}",
                who.account, who.arn, clients.region
            ));
            arn = Some(who.arn);
        }
        for scope in self.locks {
            self.hold(*scope, &clients).await?;
        }
        // Holding its locks, the run goes on record (when its action keeps a history).
        crate::history::reached(&self.target, &clients.s3, arn.as_deref());
        Ok(clients)
    }

    /// Take a lock unless this process holds it already (a commission that has to bake takes
    /// the app's image lock on top of its env lock). Refused (exit 3) while another run holds it.
    pub async fn hold(&self, scope: Scope, clients: &Clients) -> Result<()> {
        if self.dry_run || lock::is_held(scope) {
            return Ok(());
        }
        let bucket = &self.env.config.bucket;
        push::ensure_bucket(self, clients).await?;
        let (app, env) = (self.env.app(), self.env.name.as_str());
        let held = lock::Held {
            scope,
            bucket: bucket.clone(),
            key: scope.key(app, env),
            token: String::new(),
            what: scope.describe(app, env),
        };
        let t = &self.env.config.timeouts;
        // Expected end: every wait the action may make, plus an hour for the playbooks.
        let budget = [
            t.stack,
            t.image,
            t.ssh,
            t.ssh,
            std::time::Duration::from_secs(3600),
        ]
        .into_iter()
        .fold(std::time::Duration::ZERO, |a, b| a.saturating_add(b));
        let me = lock::Holder::me(self.action, env, budget);
        let hint = match scope {
            Scope::Env => format!("manage {env} unlock"),
            Scope::App => format!("manage {env} unlock --app"),
        };
        let held = match lock::take(&clients.s3, held, &me, &hint).await? {
            lock::Taken::Free(h) => h,
            lock::Taken::TookOver(h, was, why) => {
                self.ui.warn(format!(
                    "took over the lock on {} from {}: {why}",
                    h.what,
                    was.describe()
                ));
                h
            }
        };
        lock::register(
            &self.target,
            &clients.s3,
            lock::Held {
                token: me.token,
                ..held
            },
        );
        Ok(())
    }

    pub fn stack_pacing(&self) -> Pacing {
        Pacing::with_deadline(self.env.config.timeouts.stack)
    }
}

/// Key/value lines, aligned, for text summaries.
pub fn kv_lines(pairs: &[(String, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("  {k:<width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A stack's outputs as aligned key/value lines under "outputs:" (nothing when it has none).
pub fn write_outputs(
    f: &mut std::fmt::Formatter<'_>,
    outputs: &[crate::aws::cloudformation::StackOutput],
) -> std::fmt::Result {
    if outputs.is_empty() {
        return Ok(());
    }
    let pairs: Vec<_> = outputs
        .iter()
        .map(|o| (o.key.clone(), o.value.clone()))
        .collect();
    write!(f, "outputs:\n{}", kv_lines(&pairs))
}
