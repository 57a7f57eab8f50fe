//! What git says about the project's playbooks: the commit they are at, and whether they have
//! changes not committed. None outside a git work tree (or without git).

use crate::process;
use std::path::Path;

/// `HEAD`'s commit, abbreviated to `len` hex digits, in the work tree that holds `dir`.
pub async fn commit(dir: &Path, len: usize) -> Option<String> {
    let out = git(dir, &["rev-parse", &format!("--short={len}"), "HEAD"]).await?;
    Some(out.trim().to_owned()).filter(|c| !c.is_empty())
}

/// True when `dir` holds changes (or new files) git has not committed.
pub async fn dirty(dir: &Path) -> Option<bool> {
    let out = git(dir, &["status", "--porcelain", "--", "."]).await?;
    Some(!out.trim().is_empty())
}

async fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    let out = process::capture(cmd, "git").await.ok()?;
    (out.code == 0).then_some(out.stdout)
}
