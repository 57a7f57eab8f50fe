//! `events`: the stack's recent events, failures first; `--since` limits the range.

use super::Ctx;
use crate::aws::cloudformation::{self as cfn, StackEvent};
use crate::cli::EventsArgs;
use crate::error::{Error, Result};
use crate::ui::table;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;

/// How many events are shown without -n and without --since.
pub const DEFAULT_LIMIT: usize = 30;

#[derive(Serialize)]
pub struct Events {
    pub stack: String,
    pub failures: Vec<StackEvent>,
    pub events: Vec<StackEvent>,
}

impl fmt::Display for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = |list: &[StackEvent]| {
            list.iter()
                .map(|e| {
                    vec![
                        e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.logical_id.clone(),
                        e.resource_type.clone(),
                        e.status.clone(),
                        e.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let header = ["time", "resource", "type", "status", "reason"];
        if !self.failures.is_empty() {
            writeln!(f, "failures:\n{}\n", table(&header, rows(&self.failures)))?;
        }
        write!(
            f,
            "events of {} (newest first):\n{}",
            self.stack,
            table(&header, rows(&self.events))
        )
    }
}

pub async fn run(ctx: &Ctx, args: &EventsArgs) -> Result<()> {
    let clients = ctx.clients().await?;
    let name = ctx.env.stack_name();
    if cfn::describe(&clients.cfn, &name).await?.is_none() {
        return Err(Error::input(format!(
            "stack {name} does not exist: commission it first (manage {} commission)",
            ctx.env.name
        )));
    }
    let events = match args.since {
        // Paging stops at the first page that reaches back past `since`.
        Some(since) => {
            let mut events = cfn::events_since(
                &clients.cfn,
                &name,
                since.at(Utc::now()),
                &mut HashSet::new(),
            )
            .await?;
            events.reverse();
            events.truncate(args.limit.unwrap_or(usize::MAX));
            events
        }
        None => {
            cfn::recent_events(&clients.cfn, &name, args.limit.unwrap_or(DEFAULT_LIMIT)).await?
        }
    };
    let failures = events.iter().filter(|e| e.is_failure()).cloned().collect();
    ctx.ui.result(&Events {
        stack: name,
        failures,
        events,
    });
    Ok(())
}

/// `--since`: a duration back from now, or a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(chrono::Duration),
    At(DateTime<Utc>),
}

impl Since {
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Since::Ago(d) => now - d,
            Since::At(t) => t,
        }
    }
}

/// `90s`, `30m`, `2h`, `1d`, an RFC 3339 time (`2026-05-01T10:00:00Z`) or a date (UTC midnight).
pub fn parse_since(text: &str) -> std::result::Result<Since, String> {
    let bad = || {
        format!("\"{text}\" is neither a duration (90s, 30m, 2h, 1d) nor a time (2026-05-01T10:00:00Z, 2026-05-01)")
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Since::At(t.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Since::At(d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc()));
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .and_then(chrono::Duration::try_seconds)
        .map(Since::Ago)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn since_takes_durations_times_and_dates() {
        let now = Utc.with_ymd_and_hms(2026, 5, 2, 12, 0, 0).unwrap();
        let at = |s: &str| parse_since(s).unwrap().at(now);
        assert_eq!(
            at("90s"),
            Utc.with_ymd_and_hms(2026, 5, 2, 11, 58, 30).unwrap()
        );
        assert_eq!(
            at("30m"),
            Utc.with_ymd_and_hms(2026, 5, 2, 11, 30, 0).unwrap()
        );
        assert_eq!(
            at("2h"),
            Utc.with_ymd_and_hms(2026, 5, 2, 10, 0, 0).unwrap()
        );
        assert_eq!(
            at("1d"),
            Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-05-01T10:00:00+02:00"),
            Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-05-01"),
            Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()
        );
        for bad in [
            "",
            "h",
            "10",
            "10y",
            "-5m",
            "yesterday",
            "99999999999999999d",
        ] {
            let e = parse_since(bad).unwrap_err();
            assert!(e.contains("neither a duration"), "{bad}: {e}");
        }
    }
}
