//! `--since`: a duration back from now (humantime: `90s`, `30m`, `2h`, `1d`, `1h 30m`) or a
//! point in time (RFC 3339, or a date meaning UTC midnight).

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Ago(chrono::Duration),
    At(DateTime<Utc>),
}

impl Since {
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            // Further back than the clock goes means "all of it".
            Since::Ago(d) => now
                .checked_sub_signed(d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            Since::At(t) => t,
        }
    }
}

/// The clap value parser for `--since`.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let bad = || {
        format!("\"{text}\" is neither a duration (90s, 30m, 2h, 1d) nor a time (2026-05-01T10:00:00Z, 2026-05-01)")
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Since::At(t.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Since::At(d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc()));
    }
    let duration = humantime::parse_duration(text).map_err(|_| bad())?;
    chrono::Duration::from_std(duration)
        .ok()
        .filter(|d| Utc::now().checked_sub_signed(*d).is_some())
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
            at("1h 30m"),
            Utc.with_ymd_and_hms(2026, 5, 2, 10, 30, 0).unwrap()
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
            "10q",
            "-5m",
            "yesterday",
            "99999999999999999d",
        ] {
            let e = parse_since(bad).unwrap_err();
            assert!(e.contains("neither a duration"), "{bad}: {e}");
        }
    }
}
