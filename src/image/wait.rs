//! Waits on EC2 images and snapshots, paced like stack waits: look at once, back off, stop at
//! the deadline. Throttling and server errors never end a wait; only the deadline does.

use crate::aws::ec2::{self, Image};
use crate::error::{Error, Result};
use crate::stack::wait::is_transient;
use crate::stack::Pacing;
use aws_sdk_ec2::Client;
use tokio::time::Instant;

const FAILED: &[&str] = &["failed", "error", "invalid", "deregistered"];

/// Wait until the new image is available. An image that ends failed, or is still not
/// available at the deadline, is deregistered with its snapshots (and the error says so), so
/// no half-made image is left. An error that only says AWS could not be asked (throttling
/// past the deadline aside) leaves the image alone.
pub async fn available(ec2: &Client, id: &str, pacing: Pacing) -> Result<Image> {
    let started = Instant::now();
    let mut delay = pacing.first;
    // Some(state): the image failed; None: it is late.
    let failed = loop {
        match ec2::image(ec2, id).await {
            Ok(Some(i)) if i.state == "available" => return Ok(i),
            Ok(Some(i)) if FAILED.contains(&i.state.as_str()) => break Some(i.state),
            Ok(_) => {}
            Err(e) if is_transient(&e) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() + delay > pacing.deadline {
            break None;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    };
    let after = started.elapsed();
    let note = match discard(ec2, id, pacing).await {
        Ok(()) => "the unfinished image was deregistered".to_owned(),
        Err(e) => format!("deregistering it failed too ({e}): run clean"),
    };
    Err(match failed {
        Some(state) => Error::Local(format!("image {id} ended in state {state}; {note}")),
        None => Error::Timeout {
            waiting_for: format!("image {id} to become available ({note})"),
            after,
        },
    })
}

async fn discard(ec2: &Client, id: &str, pacing: Pacing) -> Result<()> {
    let Some(image) = ec2::image(ec2, id).await? else {
        return Ok(());
    };
    ec2::deregister_image(ec2, id).await?;
    delete_snapshots(ec2, &image.snapshot_ids, pacing).await
}

/// Delete each snapshot. Right after its image is deregistered AWS answers
/// InvalidSnapshot.InUse for a while: that, and throttling, are retried with backoff until
/// the deadline. A snapshot already gone counts as deleted, so a rerun finishes the job.
pub async fn delete_snapshots(ec2: &Client, ids: &[String], pacing: Pacing) -> Result<()> {
    for id in ids {
        delete_snapshot(ec2, id, pacing).await?;
    }
    Ok(())
}

async fn delete_snapshot(ec2: &Client, id: &str, pacing: Pacing) -> Result<()> {
    let started = Instant::now();
    let mut delay = pacing.first;
    loop {
        let err = match ec2::delete_snapshot(ec2, id).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let code = match &err {
            Error::Aws(a) => a.code().unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        if code == "InvalidSnapshot.NotFound" {
            return Ok(());
        }
        if code != "InvalidSnapshot.InUse" && !is_transient(&err) {
            return Err(err);
        }
        if started.elapsed() + delay > pacing.deadline {
            return Err(Error::Timeout {
                waiting_for: format!(
                    "snapshot {id} to be deletable (last answer: {err}); run clean again later"
                ),
                after: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(pacing.max);
    }
}
