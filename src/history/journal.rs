//! The record of the run in progress: begun before the action, filled in by the steps that know
//! the hosts and image, written once at the end (or by the Ctrl-C handler, which runs on a thread
//! of its own, hence a process-wide slot as for the locks).

use super::{Outcome, Record};
use crate::aws::{s3, Clients, Target};
use crate::error::{Error, Result};
use chrono::Utc;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Pending {
    record: Record,
    bucket: String,
    key: String,
    begun: Instant,
    images: BTreeSet<String>,
    groups: BTreeSet<String>,
    hosts: BTreeSet<String>,
    /// Set once the action holds its locks: a run stopped before that changed nothing and
    /// leaves no record.
    target: Option<Target>,
    s3: Option<aws_sdk_s3::Client>,
}

const CTRL_C: &str = "interrupted (Ctrl-C)";

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

fn slot() -> std::sync::MutexGuard<'static, Option<Pending>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// What is known when an action starts.
pub struct Start<'a> {
    pub action: &'a str,
    pub app: &'a str,
    pub env: &'a str,
    pub bucket: &'a str,
    pub playbooks: &'a Path,
    pub options: Vec<String>,
}

/// Open the record of this run (its start time, who, the playbooks' commit).
pub async fn begin(start: Start<'_>) {
    let started = Utc::now();
    let playbooks_commit = crate::git::commit(start.playbooks, 12).await;
    let playbooks_dirty = match playbooks_commit {
        Some(_) => crate::git::dirty(start.playbooks).await,
        None => None,
    };
    let record = Record {
        action: start.action.to_owned(),
        app: start.app.to_owned(),
        env: start.env.to_owned(),
        by: format!("{}@{}", crate::lock::user_name(), crate::lock::host_name()),
        aws_identity: None,
        started,
        finished: started,
        seconds: 0.0,
        result: Outcome::Ok,
        error: None,
        exit_code: 0,
        playbooks_commit,
        playbooks_dirty,
        images: vec![],
        groups: vec![],
        hosts: vec![],
        options: start.options,
    };
    let key = super::key(
        start.app,
        start.env,
        started,
        start.action,
        std::process::id(),
    );
    *slot() = Some(Pending {
        record,
        bucket: start.bucket.to_owned(),
        key,
        begun: Instant::now(),
        images: BTreeSet::new(),
        groups: BTreeSet::new(),
        hosts: BTreeSet::new(),
        target: None,
        s3: None,
    });
}

/// The action holds its locks and is about to change things: from here on the run is recorded.
pub fn reached(target: &Target, s3: &aws_sdk_s3::Client, identity: Option<&str>) {
    if let Some(p) = slot().as_mut() {
        p.target = Some(target.clone());
        p.s3 = Some(s3.clone());
        if let Some(arn) = identity {
            p.record.aws_identity = Some(arn.to_owned());
        }
    }
}

/// The hosts acted on: (name, group, image id).
pub fn note_hosts<'a>(hosts: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>) {
    if let Some(p) = slot().as_mut() {
        for (name, group, image) in hosts {
            p.hosts.insert(name.to_owned());
            p.groups.insert(group.to_owned());
            p.images.extend(image.map(str::to_owned));
        }
    }
}

/// The env's image (the one a commission or update gives the stack, or a revert restores).
pub fn note_image(id: &str) {
    if let Some(p) = slot().as_mut() {
        p.images.insert(id.to_owned());
    }
}

/// Write the record with the action's result. Some(warning line) when it could not be written.
pub async fn finish(result: &Result<()>) -> Option<String> {
    let (outcome, error, code) = match result {
        _ if crate::interrupt::triggered() => (Outcome::Interrupted, Some(CTRL_C.to_owned()), 130),
        Ok(()) => (Outcome::Ok, None, 0),
        Err(e @ Error::Refused(_)) => (Outcome::Refused, Some(e.to_string()), e.exit_code()),
        Err(e) => (Outcome::Failed, Some(e.to_string()), e.exit_code()),
    };
    let pending = slot().take()?;
    let s3 = pending.s3.clone()?;
    write(&s3, pending, outcome, error, code).await
}

/// Ctrl-C: write the record as interrupted, with fresh clients (the action's may be stuck).
pub async fn interrupted() -> Option<String> {
    let pending = slot().take()?;
    let target = pending.target.clone()?;
    let s3 = match Clients::new(&target).await {
        Ok(c) => c.s3,
        Err(e) => return Some(could_not(&pending, &e)),
    };
    write(
        &s3,
        pending,
        Outcome::Interrupted,
        Some(CTRL_C.to_owned()),
        130,
    )
    .await
}

async fn write(
    s3: &aws_sdk_s3::Client,
    p: Pending,
    outcome: Outcome,
    error: Option<String>,
    exit_code: i32,
) -> Option<String> {
    let record = Record {
        finished: Utc::now(),
        seconds: p.begun.elapsed().as_secs_f64(),
        result: outcome,
        error: error.map(|e| e.lines().next().unwrap_or_default().to_owned()),
        exit_code,
        images: p.images.iter().cloned().collect(),
        groups: p.groups.iter().cloned().collect(),
        hosts: p.hosts.iter().cloned().collect(),
        ..p.record.clone()
    };
    let body = match serde_json::to_string_pretty(&record) {
        Ok(b) => b,
        Err(e) => return Some(could_not(&p, &Error::Local(e.to_string()))),
    };
    let put = s3::put_json(s3, &p.bucket, &p.key, body);
    match tokio::time::timeout(Duration::from_secs(20), put).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(could_not(&p, &e)),
        Err(_) => Some(could_not(&p, &Error::Local("no answer in 20s".into()))),
    }
}

fn could_not(p: &Pending, e: &Error) -> String {
    format!(
        "could not record this run in the history (s3://{}/{}): {e}",
        p.bucket, p.key
    )
}
