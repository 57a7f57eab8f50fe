//! Ctrl-C: say what goes on in AWS and which command picks it up, release the locks, exit 130.
//! The handler runs on a thread of its own, so it answers even while the action waits on a
//! prompt or a child program.

use crate::aws::Clients;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What is in flight (innermost last), each with the command that follows it when known.
static IN_FLIGHT: Mutex<Vec<(String, Option<String>)>> = Mutex::new(Vec::new());
/// The command line as given, for "run it again".
static RERUN: Mutex<String> = Mutex::new(String::new());
static TRIGGERED: AtomicBool = AtomicBool::new(false);

/// Marks something that goes on in AWS (or on a host) if the run is interrupted now; cleared
/// when dropped.
pub struct InFlight(());

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&IN_FLIGHT).pop();
    }
}

/// `what` goes on if interrupted now ("stack argos-staging is being created"); `next` is the
/// command that follows it, or None for "the same command again".
pub fn in_flight(what: impl Into<String>, next: Option<String>) -> InFlight {
    lock(&IN_FLIGHT).push((what.into(), next));
    InFlight(())
}

pub fn set_rerun(command: String) {
    *lock(&RERUN) = command;
}

/// True once Ctrl-C was pressed: the handler is releasing the locks and will end the process.
pub fn triggered() -> bool {
    TRIGGERED.load(Ordering::SeqCst)
}

/// Start the handler thread. Off a runtime of its own; failures to start leave the default
/// behaviour (the process ends at once).
pub fn install() {
    let _ = std::thread::Builder::new().name("ctrl-c".into()).spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            TRIGGERED.store(true, Ordering::SeqCst);
            let mut lines = message();
            // The run goes on record as interrupted before its locks go.
            lines.extend(crate::history::interrupted().await);
            let released = release_all().await;
            crate::ui::interrupted(&lines, &released);
            std::process::exit(130);
        });
    });
}

/// What goes on (innermost first) and what to run next.
fn message() -> Vec<String> {
    let rerun = lock(&RERUN).clone();
    let flights = lock(&IN_FLIGHT).clone();
    if flights.is_empty() {
        return vec![
            "interrupted: nothing was in flight in AWS".to_owned(),
            format!("run `{rerun}` again to finish"),
        ];
    }
    let mut lines: Vec<String> = flights.iter().rev().map(|(what, _)| what.clone()).collect();
    lines[0] = format!("interrupted: {}", lines[0]);
    lines.dedup();
    let next = flights.iter().rev().find_map(|(_, next)| next.clone());
    lines.push(next.unwrap_or_else(|| format!("run `{rerun}` again to pick it up and finish")));
    lines
}

/// Release every lock this process holds, with fresh clients (the action's may be stuck):
/// the lines to print about it.
pub async fn release_all() -> Vec<String> {
    let (target, s3, held) = crate::lock::drain();
    if held.is_empty() {
        return vec![];
    }
    let client = match (s3, &target) {
        (_, Some(t)) if triggered() => Clients::new(t).await.ok().map(|c| c.s3),
        (Some(s3), _) => Some(s3),
        _ => None,
    };
    let mut lines = Vec::new();
    for h in held {
        let done = match &client {
            Some(c) => tokio::time::timeout(Duration::from_secs(20), crate::lock::release(c, &h))
                .await
                .is_ok_and(|r| r.is_ok()),
            None => false,
        };
        lines.push(if done {
            format!("released the lock on {}", h.what)
        } else {
            format!(
                "could not release the lock on {} (s3://{}/{}): the next run takes it over, as its holder is gone",
                h.what, h.bucket, h.key
            )
        });
    }
    lines
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The command line as the user typed it, quoted where a shell would need it.
pub fn command_line() -> String {
    let quote = |a: String| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
        {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    std::iter::once("manage".to_owned())
        .chain(std::env::args().skip(1).map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}
