//! One operation per env (and one bake or clean per app) at a time: a lock object in the
//! template bucket, taken with an S3 conditional write (`If-None-Match: *`), naming its holder.
//! A lock whose holder is gone (past its expected end, or a dead process on this host) is taken
//! over with `If-Match` on its ETag, so two takers never both win.

use crate::aws::s3::{self, Condition};
use crate::aws::Target;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// What a lock covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The env's stack and hosts: commission, update, deploy, decommission, host actions.
    Env,
    /// The app's images, shared by every env: bake and clean.
    App,
}

impl Scope {
    /// The object key: `<app>/<env>.lock`, or `<app>/_image.lock` (`_` is never in an env name).
    pub fn key(self, app: &str, env: &str) -> String {
        match self {
            Scope::Env => format!("{app}/{env}.lock"),
            Scope::App => format!("{app}/_image.lock"),
        }
    }

    pub fn describe(self, app: &str, env: &str) -> String {
        match self {
            Scope::Env => format!("env {env}"),
            Scope::App => format!("the images of app {app}"),
        }
    }
}

/// Who holds a lock, as stored in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The process's start time on its host, so a reused pid is not taken for the holder.
    #[serde(default)]
    pub pid_start: Option<u64>,
    /// The command: "commission", "bake", ...
    pub action: String,
    pub env: String,
    pub since: DateTime<Utc>,
    /// After this, the holder is taken to be gone.
    pub until: DateTime<Utc>,
    /// Tells this run's own write apart from another's when a retried write finds it.
    pub token: String,
}

impl Holder {
    /// This process, about to run `action` for at most `budget`.
    pub fn me(action: &str, env: &str, budget: Duration) -> Self {
        let since = Utc::now();
        let pid = std::process::id();
        let until = chrono::Duration::from_std(budget)
            .ok()
            .and_then(|b| since.checked_add_signed(b))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Holder {
            user: user_name(),
            host: host_name(),
            pid,
            pid_start: process_start(pid),
            action: action.to_owned(),
            env: env.to_owned(),
            since,
            until,
            token: format!("{pid}-{}", since.timestamp_nanos_opt().unwrap_or_default()),
        }
    }

    /// "commission by alice@laptop (pid 4242) since 10:02:03 UTC"
    pub fn describe(&self) -> String {
        format!(
            "{} of {} by {}@{} (pid {}) since {}",
            self.action,
            self.env,
            self.user,
            self.host,
            self.pid,
            self.since.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }

    /// Why the holder is gone, or None while it may still be running.
    pub fn gone(&self, now: DateTime<Utc>) -> Option<String> {
        if now > self.until {
            return Some(format!(
                "it passed its expected end ({})",
                self.until.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if self.host == host_name() && !process_alive(self.pid, self.pid_start) {
            return Some(format!("its process {} on this host is gone", self.pid));
        }
        None
    }
}

/// A lock this process holds, with what it takes to release it.
#[derive(Debug, Clone)]
pub struct Held {
    pub scope: Scope,
    pub bucket: String,
    pub key: String,
    pub token: String,
    pub what: String,
}

/// How a lock was taken.
pub enum Taken {
    Free(Held),
    /// From a holder that is gone, and why.
    TookOver(Held, Holder, String),
}

/// Take the lock `held` names for `me`, or refuse (exit 3) naming the holder.
pub async fn take(
    client: &aws_sdk_s3::Client,
    held: Held,
    me: &Holder,
    unlock_hint: &str,
) -> Result<Taken> {
    let body = serde_json::to_string_pretty(me).map_err(|e| Error::Local(e.to_string()))?;
    let (bucket, key, what) = (held.bucket.clone(), held.key.clone(), held.what.clone());
    let (bucket, key) = (bucket.as_str(), key.as_str());
    // A few rounds: the lock may vanish or change between our write and our read.
    for _ in 0..5 {
        if s3::put_if(client, bucket, key, body.clone(), Condition::Absent)
            .await?
            .is_some()
        {
            return Ok(Taken::Free(held));
        }
        let Some((text, etag)) = s3::get_text(client, bucket, key).await? else {
            continue;
        };
        let holder = match serde_json::from_str::<Holder>(&text) {
            Ok(h) if h.token == me.token => return Ok(Taken::Free(held)),
            Ok(h) => h,
            Err(_) => {
                return Err(Error::Refused(format!(
                    "{what} is locked by s3://{bucket}/{key}, which is not a lock manage wrote: {unlock_hint}"
                )))
            }
        };
        let Some(why) = holder.gone(Utc::now()) else {
            return Err(Error::Refused(format!(
                "{what} is busy: {}; wait for it to finish, or if it is gone: {unlock_hint}",
                holder.describe()
            )));
        };
        if s3::put_if(client, bucket, key, body.clone(), Condition::Matches(&etag))
            .await?
            .is_some()
        {
            return Ok(Taken::TookOver(held, holder, why));
        }
    }
    Err(Error::Refused(format!(
        "{what}: the lock s3://{bucket}/{key} keeps changing hands; try again"
    )))
}

/// Remove the lock if it is still ours (a holder that outlived its expected end may have
/// lost it to a takeover; the new holder's lock stays).
pub async fn release(client: &aws_sdk_s3::Client, held: &Held) -> Result<()> {
    match s3::get_text(client, &held.bucket, &held.key).await? {
        Some((text, _)) => {
            let ours = serde_json::from_str::<Holder>(&text).is_ok_and(|h| h.token == held.token);
            if ours {
                s3::delete_object(client, &held.bucket, &held.key).await?;
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// The current holder of a lock, if any (None also for an object that is not a lock).
pub async fn holder(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Option<Holder>, String)>> {
    Ok(s3::get_text(client, bucket, key)
        .await?
        .map(|(text, etag)| (serde_json::from_str(&text).ok(), etag)))
}

/// The locks this process holds, and where to reach AWS to release them: read by the Ctrl-C
/// handler, which runs on its own thread while the action may be blocked.
struct Registry {
    target: Option<Target>,
    s3: Option<aws_sdk_s3::Client>,
    held: Vec<Held>,
}

static HELD: Mutex<Registry> = Mutex::new(Registry {
    target: None,
    s3: None,
    held: Vec::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Take every lock off the registry (each is released once, by whoever drains it first).
pub fn drain() -> (Option<Target>, Option<aws_sdk_s3::Client>, Vec<Held>) {
    let mut reg = registry();
    (
        reg.target.clone(),
        reg.s3.clone(),
        std::mem::take(&mut reg.held),
    )
}

pub fn register(target: &Target, s3: &aws_sdk_s3::Client, held: Held) {
    let mut reg = registry();
    reg.target = Some(target.clone());
    reg.s3 = Some(s3.clone());
    reg.held.push(held);
}

pub fn is_held(scope: Scope) -> bool {
    registry().held.iter().any(|h| h.scope == scope)
}

/// The operator's login name (`USER`, else `LOGNAME`).
pub fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot (Linux only).
fn process_start(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// The fields of /proc/<pid>/stat after the command name (which may hold spaces).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// Is the process still there (and the same one, not a reused pid, and not a zombie)? Where
/// there is no /proc, it counts as there: only its expected end frees the lock.
fn process_alive(pid: u32, start: Option<u64>) -> bool {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return true;
    }
    match stat_fields(pid) {
        None => false,
        Some(f) => {
            f.first().is_some_and(|state| state != "Z" && state != "X")
                && (start.is_none() || f.get(19).and_then(|s| s.parse().ok()) == start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_is_not_gone_and_a_dead_or_late_one_is() {
        let me = Holder::me("commission", "staging", Duration::from_secs(60));
        assert_eq!(me.gone(Utc::now()), None);
        let late = Utc::now() + chrono::Duration::seconds(120);
        assert!(me.gone(late).unwrap().contains("expected end"));
        let dead = Holder {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(dead.gone(Utc::now()).unwrap().contains("is gone"));
        let reused = Holder {
            pid_start: me.pid_start.map(|s| s + 1),
            ..me.clone()
        };
        assert!(reused.gone(Utc::now()).is_some());
        let elsewhere = Holder {
            host: "another-host".into(),
            pid: u32::MAX - 1,
            ..me
        };
        assert_eq!(elsewhere.gone(Utc::now()), None);
    }

    #[test]
    fn keys() {
        assert_eq!(Scope::Env.key("argos", "staging"), "argos/staging.lock");
        assert_eq!(Scope::App.key("argos", "staging"), "argos/_image.lock");
    }
}
