//! `unlock`: remove a lock left by a run that is gone, after confirmation. The env's lock by
//! default; `--app` for the app's image lock (bake, clean).

use super::Ctx;
use crate::aws::s3;
use crate::error::Result;
use crate::lock::{self, Holder, Scope};
use serde::Serialize;
use std::fmt;

#[derive(Serialize)]
pub struct Unlocked {
    pub lock: String,
    pub removed: bool,
    pub holder: Option<Holder>,
}

impl fmt::Display for Unlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.removed, &self.holder) {
            (false, _) => write!(f, "no lock at {}; nothing to do", self.lock),
            (true, Some(h)) => write!(f, "removed the lock at {} ({})", self.lock, h.describe()),
            (true, None) => write!(f, "removed the lock at {}", self.lock),
        }
    }
}

pub async fn run(ctx: &Ctx, app_lock: bool) -> Result<()> {
    let scope = if app_lock { Scope::App } else { Scope::Env };
    let (app, env) = (ctx.env.app(), ctx.env.name.as_str());
    let clients = ctx.clients().await?;
    let bucket = &ctx.env.config.bucket;
    let key = scope.key(app, env);
    let mut result = Unlocked {
        lock: format!("s3://{bucket}/{key}"),
        removed: false,
        holder: None,
    };
    let found = if s3::bucket_exists(&clients.s3, bucket, &clients.region).await? {
        lock::holder(&clients.s3, bucket, &key).await?
    } else {
        None
    };
    let Some((holder, _etag)) = found else {
        ctx.ui.result(&result);
        return Ok(());
    };
    let who = holder.as_ref().map_or(
        "an object manage did not write".to_owned(),
        Holder::describe,
    );
    let what = scope.describe(app, env);
    if ctx.dry_run {
        ctx.ui.info(format!(
            "dry run: would remove the lock on {what}, held by {who}"
        ));
        return Ok(());
    }
    if !ctx.yes {
        let expected = if app_lock { app } else { env };
        ctx.ui.confirm_typed(
            &format!("unlock of {what}"),
            &format!("The lock on {what} is held by {who}.\nRemove it only if that run is gone: two runs at once can leave the env half-changed."),
            expected,
        )?;
    }
    s3::delete_object(&clients.s3, bucket, &key).await?;
    result.removed = true;
    result.holder = holder;
    ctx.ui.result(&result);
    Ok(())
}
