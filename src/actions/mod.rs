//! One file per action. Each `run` reads as the steps the README lists for it.

pub mod bake;
pub mod clean;
pub mod commission;
pub mod decommission;
pub mod deploy;
pub mod dns;
pub mod env_image;
pub mod events;
pub mod exec;
pub mod hostops;
pub mod image_stack;
pub mod init;
pub mod inventory;
pub mod push;
pub mod reach;
pub mod records;
pub mod reference;
pub mod settle;
pub mod ssh;
pub mod status;
pub mod template;
pub mod update;
pub mod validate;

use crate::aws::{Clients, Target};
use crate::config::EnvConfig;
use crate::error::Result;
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
    pub target: Target,
    /// Name the account and region before the first AWS call (mutating actions).
    pub announce: bool,
    pub announced: std::sync::atomic::AtomicBool,
}

impl Ctx {
    /// Built only by actions that call AWS, so bad input never gets this far.
    /// A mutating action first says which account and region it will change.
    pub async fn clients(&self) -> Result<Clients> {
        let clients = Clients::new(&self.target).await?;
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
        }
        Ok(clients)
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
