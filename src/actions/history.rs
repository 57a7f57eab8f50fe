//! `history [-n N]`: the env's recorded runs (commission, update, deploy, decommission and the
//! host actions), newest first. Read-only: no lock, no account line.

use super::Ctx;
use crate::error::Result;
use crate::history::{self, Record};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct History {
    pub env: String,
    /// Where the records are: `s3://<bucket>/<app>/<env>/history/`.
    pub location: String,
    pub records: Vec<Record>,
}

pub async fn run(ctx: &Ctx, n: usize) -> Result<()> {
    let clients = ctx.clients().await?;
    let (app, env) = (ctx.env.app(), ctx.env.name.as_str());
    let bucket = &ctx.env.config.bucket;
    let location = format!("s3://{bucket}/{}", history::prefix(app, env));
    let records = match history::newest(&clients.s3, bucket, app, env, n).await? {
        Some((records, unreadable)) => {
            for key in unreadable {
                ctx.ui.warn(format!(
                    "s3://{bucket}/{key} is not a history record: skipped"
                ));
            }
            records
        }
        None => {
            ctx.ui.info(format!(
                "bucket {bucket} does not exist yet: nothing was recorded"
            ));
            vec![]
        }
    };
    ctx.ui.result(&History {
        env: env.to_owned(),
        location,
        records,
    });
    Ok(())
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.records.is_empty() {
            return write!(f, "{}: no recorded runs in {}", self.env, self.location);
        }
        let rows = self.records.iter().map(|r| {
            vec![
                r.started.format("%Y-%m-%d %H:%M:%SZ").to_string(),
                r.action.clone(),
                r.by.clone(),
                result_cell(r),
                format!("{:.1}s", r.seconds),
                hosts_cell(r),
                r.images.join(","),
                commit_cell(r),
            ]
        });
        let header = [
            "started", "action", "by", "result", "took", "hosts", "image", "commit",
        ];
        write!(f, "{}", crate::ui::table(&header, rows))?;
        for r in self.records.iter().filter(|r| r.error.is_some()) {
            write!(
                f,
                "\n{} {}: {}",
                r.started.format("%Y-%m-%d %H:%M:%SZ"),
                r.action,
                r.error.as_deref().unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

fn result_cell(r: &Record) -> String {
    match r.result {
        history::Outcome::Ok => "ok".to_owned(),
        other => format!("{} ({})", other.as_str(), r.exit_code),
    }
}

/// `3 (app, worker)`, or `-` when the action touched no host.
fn hosts_cell(r: &Record) -> String {
    if r.hosts.is_empty() {
        return "-".to_owned();
    }
    format!("{} ({})", r.hosts.len(), r.groups.join(", "))
}

fn commit_cell(r: &Record) -> String {
    match (&r.playbooks_commit, r.playbooks_dirty) {
        (Some(c), Some(true)) => format!("{c}+dirty"),
        (Some(c), _) => c.clone(),
        (None, _) => "-".to_owned(),
    }
}
