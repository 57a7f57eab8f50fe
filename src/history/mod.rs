//! Deploy history: one object per commission, update, deploy, decommission and host action in
//! the template bucket, under `<app>/<env>/history/`, saying who ran it, when, at which playbooks
//! commit, on which image, groups and hosts, and how it ended. A key starts with an inverted
//! timestamp, so S3's plain (ascending) listing is newest first and `history -n N` is one
//! ListObjectsV2 page. Recording is best effort: a failed write is a warning, never the action's
//! failure. No secret goes in a record: no variable values, no parameters, no command line.

mod journal;

pub use journal::{begin, finish, interrupted, note_hosts, note_image, reached, Start};

use crate::aws::s3;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One run of an action, as stored (and as `history --output json` lists it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// commission, update, deploy, decommission, start, stop, reboot, terminate, revert.
    pub action: String,
    pub app: String,
    pub env: String,
    /// `user@host` of the operator's machine.
    pub by: String,
    /// The AWS identity (ARN) the run used.
    #[serde(default)]
    pub aws_identity: Option<String>,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub seconds: f64,
    pub result: Outcome,
    /// The one error line, for a run that did not end ok.
    #[serde(default)]
    pub error: Option<String>,
    /// The process's exit code (130 when interrupted).
    pub exit_code: i32,
    /// The playbooks' git commit (12 hex digits), when they are in a git work tree.
    #[serde(default)]
    pub playbooks_commit: Option<String>,
    /// True when the playbooks had changes git had not committed.
    #[serde(default)]
    pub playbooks_dirty: Option<bool>,
    /// The image ids involved: the env's image, and the images of the hosts acted on.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// The hosts acted on, by name.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The flags that change what the action did (`--check`, `--tags web`, `-e NAME`: names
    /// only, never values).
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    /// Not confirmed, or refused by a check (exit 3).
    Refused,
    /// Ctrl-C.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// How many runs `history` lists unless told (`-n`).
pub const DEFAULT_COUNT: u16 = 20;

/// Milliseconds are subtracted from this, so later runs sort first (13 digits until 2286).
const INVERTED_FROM: i64 = 9_999_999_999_999;

/// Where an env's history lives: `<app>/<env>/history/` (beside its templates).
pub fn prefix(app: &str, env: &str) -> String {
    format!("{app}/{env}/history/")
}

/// `<app>/<env>/history/<inverted ms>-<YYYYMMDDTHHMMSSZ>-<action>-<pid>.json`
pub fn key(app: &str, env: &str, started: DateTime<Utc>, action: &str, pid: u32) -> String {
    let inverted = INVERTED_FROM - started.timestamp_millis();
    format!(
        "{}{inverted:013}-{}-{action}-{pid}.json",
        prefix(app, env),
        started.format("%Y%m%dT%H%M%SZ")
    )
}

/// The newest `n` records of an env, newest first, and the keys that did not hold a record.
/// None when the bucket does not exist.
pub async fn newest(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    app: &str,
    env: &str,
    n: usize,
) -> Result<Option<(Vec<Record>, Vec<String>)>> {
    let Some(keys) = s3::list_keys(client, bucket, &prefix(app, env), n).await? else {
        return Ok(None);
    };
    let mut reads = tokio::task::JoinSet::new();
    for (i, key) in keys.into_iter().enumerate() {
        let (client, bucket) = (client.clone(), bucket.to_owned());
        reads.spawn(async move {
            let text = s3::get_text(&client, &bucket, &key).await;
            (i, key, text)
        });
    }
    let mut read = Vec::new();
    while let Some(joined) = reads.join_next().await {
        let (i, key, text) =
            joined.map_err(|e| crate::error::Error::Local(format!("reading history: {e}")))?;
        read.push((i, key, text?));
    }
    read.sort_by_key(|(i, _, _)| *i);
    let (mut records, mut unreadable) = (Vec::new(), Vec::new());
    for (_, key, text) in read {
        match text.and_then(|(t, _)| serde_json::from_str::<Record>(&t).ok()) {
            Some(r) => records.push(r),
            None => unreadable.push(key),
        }
    }
    Ok(Some((records, unreadable)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_runs_sort_first_and_keys_say_when_and_what() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let early = key(
            "argos",
            "staging",
            at("2026-12-03T09:25:15.001Z"),
            "deploy",
            7,
        );
        let late = key(
            "argos",
            "staging",
            at("2026-12-03T09:25:15.002Z"),
            "stop",
            7,
        );
        let much_later = key("argos", "staging", at("2031-01-01T00:00:00Z"), "deploy", 1);
        let mut keys = vec![early.clone(), much_later.clone(), late.clone()];
        keys.sort();
        assert_eq!(keys, [much_later, late, early.clone()]);
        assert!(early.starts_with("argos/staging/history/"), "{early}");
        assert!(
            early.ends_with("-20261203T092515Z-deploy-7.json"),
            "{early}"
        );
    }
}
