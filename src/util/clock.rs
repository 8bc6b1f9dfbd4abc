//! "Now" for every command: the system clock, or one pinned moment.
//!
//! Publish times, "due", statistics days, scaffolded dates and run records all read the clock
//! through [`now`], so that `--now` / `WXPUB_NOW` moves every command at once: tests pin it (a
//! suite must not pass today and fail tomorrow), and an operator can ask "what would run at
//! 09:00 on Monday?" with `wxpub publish --dry-run --due --now "…"`.
use std::sync::OnceLock;

use chrono::{DateTime, Utc};

static PINNED: OnceLock<DateTime<Utc>> = OnceLock::new();

/// The current moment: the pinned one if [`pin`] was called, else the system clock.
pub fn now() -> DateTime<Utc> {
    PINNED.get().copied().unwrap_or_else(Utc::now)
}

/// Pins "now" for the rest of the process. The first pin wins (the CLI pins once, at start).
pub fn pin(moment: DateTime<Utc>) {
    let _ = PINNED.set(moment);
}

/// Whether "now" is pinned (`--now`, `WXPUB_NOW`): then it does not move.
pub fn is_pinned() -> bool {
    PINNED.get().is_some()
}

/// Reads a moment written by a person: RFC 3339 with an offset (`2026-12-01T08:00:00+08:00`),
/// or `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DD` in `tz` (the site's time zone).
pub fn parse(text: &str, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Some(moment.with_timezone(&Utc));
    }
    let with_midnight;
    let text = if text.len() == 10 {
        with_midnight = format!("{text} 00:00");
        with_midnight.as_str()
    } else {
        text
    };
    parse_local(text, tz).map(|t| t.with_timezone(&Utc))
}

/// `t` on WeChat's clock: Beijing time (UTC+8 all year), in which its days, daily quotas and
/// mass-send allowances are counted and editors read its times.
pub fn beijing(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    (t + chrono::Duration::hours(8)).naive_utc()
}

/// An RFC 3339 stamp (as publish.lock holds them) in Beijing time, as `format`; the stamp as it
/// is when it does not parse.
pub fn beijing_stamp(rfc3339: &str, format: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| beijing(t.with_timezone(&Utc)).format(format).to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// A local time as editors write it (`YYYY-MM-DD HH:MM`, seconds and a `T` allowed) in `tz`.
pub fn parse_local(text: &str, tz: chrono_tz::Tz) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    use chrono::{NaiveDateTime, TimeZone};
    let text = text.trim();
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .and_then(|naive| tz.from_local_datetime(&naive).earliest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_offsets_site_local_times_and_dates() {
        let tz = chrono_tz::Asia::Shanghai;
        let expected = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse("2026-12-01T08:00:00+08:00", tz), Some(expected));
        assert_eq!(parse("2026-12-01 08:00", tz), Some(expected));
        assert_eq!(parse("2026-12-01", tz), Some(expected - chrono::Duration::hours(8)));
        assert_eq!(parse("next tuesday", tz), None);
        assert_eq!(parse("2026-13-01", tz), None);
    }
}
