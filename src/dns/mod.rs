//! Route53 names for an env's hosts and groups: `<group>-<number>.<env>.<zone>` for each
//! running host and `<group>.<env>.<zone>` for each group, each with a TXT ownership mark
//! beside it (as external-dns does), so that `manage` only ever changes names it created.
//! `plan` and `look` are pure; `sync` finds the zone, reads it, and applies a plan through
//! `aws::route53`.

pub mod look;
pub mod plan;
pub mod sync;

pub use plan::{batches, desired, diff, DnsHost, NameChange, Naming, Verb};
