//! `skillet history prune`: applies `[history] keep_days` and `max_rows` (or `--before`) at
//! once, where each recorded run only removes a bounded batch, and gives the space back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_store::{PruneReport, Retention, now_ms};

use crate::cli::HistoryPruneArgs;
use crate::context::Context;
use crate::output;

/// The help text after the options.
pub const HELP: &str =
    "Executions that started before the cutoff, and ended sessions (closed, expired, dead, ended)
that ended before it, are removed with their transcripts; beyond [history] max_rows only the
newest executions, and the most recently ended sessions, stay. Channel messages older than
channels keep them (7 days) go too, whatever keep_days says. Live and open sessions, sessions still leased by a daemon, and circuit
breakers are never removed. Each recorded run already removes a few hundred rows that are due;
this does all of it at once and shrinks the database file (the first prune of a database made
by an older skillet rewrites it once, about a second per 100 MB; see docs/history.md).

The cutoff is --before, or else keep_days of the global skillet.toml (default 90 days):
  [history]
  keep_days = 90        # 0 keeps everything
  max_rows = 1000000    # 0 for no cap

Examples:
  skillet history prune --dry-run            what keep_days and max_rows would remove
  skillet history prune                      remove it now
  skillet history prune --before 2026-01-01  everything from before 2026
  skillet history prune --before 7d --json   keep one week, report as JSON";

const DAY_MS: i64 = 86_400_000;

/// How long channels keep a message, in days, for the summary.
const CHANNEL_DAYS: i64 = skillet_store::ChannelLimits::DEFAULT_TTL_MS / DAY_MS;

pub fn run(ctx: &Context, args: &HistoryPruneArgs) -> Result<ExitCode> {
    let now = now_ms();
    let before_ms = match &args.before {
        Some(text) => Some(parse_before(text, now)?),
        None => ctx.config.history.keep_days().map(|days| {
            now.saturating_sub(
                i64::try_from(days)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(DAY_MS),
            )
        }),
    };
    let max_rows = ctx.config.history.max_rows();
    let store = ctx.store()?;
    let file = ctx
        .env
        .data_dir()
        .map(|d| d.join(skillet_engine::STORE_FILE));
    let bytes_before = file.as_deref().map(on_disk);
    let report = store.prune(&Retention {
        before_ms,
        max_rows,
        batch: None,
        dry_run: args.dry_run,
    })?;
    let bytes_after = file.as_deref().map(on_disk);
    let summary = Summary {
        dry_run: args.dry_run,
        before: before_ms.map(output::rfc3339),
        max_rows,
        report,
        bytes_before,
        bytes_after,
    };
    if args.json {
        output::json(&summary)?;
    } else {
        print_summary(&summary, file.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--json` prints.
#[derive(Serialize)]
struct Summary {
    dry_run: bool,
    /// The cutoff, RFC 3339; `null` when no time rule applies.
    before: Option<String>,
    max_rows: Option<u64>,
    #[serde(flatten)]
    report: PruneReport,
    /// The database and its write-ahead log, before and after.
    bytes_before: Option<u64>,
    bytes_after: Option<u64>,
}

fn print_summary(s: &Summary, file: Option<&PathBuf>) {
    let r = &s.report;
    let rules = match (&s.before, s.max_rows) {
        (Some(before), Some(max)) => format!(
            "started or ended before {}, or beyond the newest {max} executions",
            output::timestamp(parse_rfc3339(before).unwrap_or_default())
        ),
        (Some(before), None) => format!(
            "started or ended before {}",
            output::timestamp(parse_rfc3339(before).unwrap_or_default())
        ),
        (None, Some(max)) => format!("beyond the newest {max} executions"),
        (None, None) => {
            println!(
                "Nothing to remove: [history] keep_days and max_rows are both 0 (keep everything). \
                 Give --before DATE to remove older history."
            );
            if r.channel_messages > 0 {
                println!(
                    "{} {} channel message{} older than {CHANNEL_DAYS} days.",
                    if s.dry_run { "Would remove" } else { "Removed" },
                    r.channel_messages,
                    plural(r.channel_messages)
                );
            }
            return;
        }
    };
    let mut what = format!(
        "{} execution{} and {} ended session{} ({} transcript turn{})",
        r.executions,
        plural(r.executions),
        r.sessions,
        plural(r.sessions),
        r.turns,
        plural(r.turns)
    );
    if r.jobs > 0 {
        what.push_str(&format!(", and {} ended job{}", r.jobs, plural(r.jobs)));
    }
    if r.logs > 0 {
        what.push_str(&format!(", and {} log line{}", r.logs, plural(r.logs)));
    }
    if r.channel_messages > 0 {
        what.push_str(&format!(
            ", and {} channel message{} older than {CHANNEL_DAYS} days",
            r.channel_messages,
            plural(r.channel_messages)
        ));
    }
    if s.dry_run {
        println!("Would remove {what}: {rules}. Nothing was changed.");
        return;
    }
    if r.is_empty() {
        println!("Nothing to remove: no history {rules}.");
    } else {
        println!("Removed {what}: {rules}.");
    }
    if let (Some(file), Some(before), Some(after)) = (file, s.bytes_before, s.bytes_after) {
        println!(
            "{}: {} (was {}){}.",
            output::path(file),
            output::bytes(after),
            output::bytes(before),
            if r.converted {
                "; rewritten once so that later prunes shrink it in place"
            } else {
                ""
            }
        );
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The database file and its write-ahead log together, in bytes.
fn on_disk(file: &Path) -> u64 {
    let mut wal = file.as_os_str().to_owned();
    wal.push("-wal");
    [file.to_path_buf(), PathBuf::from(wal)]
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// `--before`: `2026-01-31` (midnight UTC), an RFC 3339 time, or an age like `30d`.
fn parse_before(text: &str, now: i64) -> Result<i64> {
    if text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('-') {
        return parse_rfc3339(text).ok_or_else(|| {
            output::failure(
                output::EXIT_INVALID_PARAMS,
                format!("--before {:?}: not a date", output::field(text)),
                Some("write a date like 2026-01-31, a time like 2026-01-31T12:00:00Z, or an age like 30d".into()),
            )
        });
    }
    let age = super::history::parse_duration_ms(text).map_err(|_| {
        output::failure(
            output::EXIT_INVALID_PARAMS,
            format!("--before {:?}: expected a date or an age", output::field(text)),
            Some("write a date like 2026-01-31, a time like 2026-01-31T12:00:00Z, or an age like 30d".into()),
        )
    })?;
    Ok(now.saturating_sub(age))
}

/// Milliseconds since the epoch of `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fff]]`
/// and `Z` or `±HH:MM` (UTC when no offset is given).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day).checked_mul(DAY_MS)?;
    if let Some(time) = time {
        let (clock, offset_ms) = split_offset(time)?;
        let mut fields = clock.splitn(3, ':');
        let h: i64 = fields.next()?.parse().ok()?;
        let m: i64 = fields.next()?.parse().ok()?;
        let (s, frac) = match fields.next() {
            Some(sec) => match sec.split_once('.') {
                Some((s, f)) => (s.parse::<i64>().ok()?, f),
                None => (sec.parse::<i64>().ok()?, ""),
            },
            None => (0, ""),
        };
        if h > 23 || m > 59 || s > 60 || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
        ms += ((h * 60 + m) * 60 + s) * 1000 + millis - offset_ms;
    }
    Some(ms)
}

/// A time of day and its offset from UTC in ms (`Z`, `+02:00`, `-0530`, or none).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    Some((clock, sign * (h * 60 + m) * 60_000))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`, the
/// inverse of the one `output::rfc3339` uses).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_ages_are_read() {
        assert_eq!(parse_rfc3339("1970-01-01"), Some(0));
        assert_eq!(parse_rfc3339("2026-12-03"), Some(1_796_256_000_000));
        assert_eq!(
            parse_rfc3339("2026-12-03T08:46:01.250Z"),
            Some(1_796_256_000_000 + ((8 * 60 + 46) * 60 + 1) * 1000 + 250)
        );
        assert_eq!(
            parse_rfc3339("2026-12-03T02:00:00+02:00"),
            Some(1_796_256_000_000)
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1",
            "2026-12-03T25:00",
            "x-1-1",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let now = 10 * DAY_MS;
        assert_eq!(parse_before("3d", now).unwrap(), 7 * DAY_MS);
        assert!(parse_before("soon", now).is_err());
        // Round trip with the printer.
        let t = 1_796_300_123_456;
        assert_eq!(parse_rfc3339(&output::rfc3339(t)), Some(t));
    }
}
