//! `skillet stats [SKILL] [--since]`: how skills have run, from the history. The figures are
//! skillet-observe's, the same `skillet health` and `/metrics` show; this only prints them.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_observe::{SkillStats, Spread, StatsQuery, Trend, skill_stats, trends};
use skillet_store::now_ms;

use crate::cli::StatsArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &StatsArgs) -> Result<ExitCode> {
    let since_ms = match &args.since {
        // Never before the epoch: a window longer than that is the whole history.
        Some(text) => Some(
            now_ms()
                .saturating_sub(super::history::parse_duration_ms(text)?)
                .max(0),
        ),
        None => None,
    };
    let store = ctx.store()?;
    let skill = args
        .skill
        .as_ref()
        .map(|name| asked_skill(ctx, store.as_ref(), name));
    let query = StatsQuery {
        skill: skill.clone(),
        since_ms,
    };
    let stats = skill_stats(store.as_ref(), &query)?;
    // Always the last week against the one before, whatever --since says.
    let mut trends = trends(store.as_ref(), skill.as_deref(), now_ms(), TREND_DAYS)?;
    let mut trend_of = |skill: &str| -> Option<Trend> {
        let at = trends.iter().position(|t| t.skill == skill)?;
        Some(trends.swap_remove(at))
    };
    let rows: Vec<Row> = stats
        .into_iter()
        .map(|s| Row {
            trend: trend_of(&s.skill),
            stats: s,
        })
        .collect();
    if args.json {
        output::json(&Report {
            since: since_ms.map(output::rfc3339),
            skills: &rows,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let window = match &args.since {
        Some(text) => format!("in the last {text}"),
        None => "in the history".to_owned(),
    };
    if rows.is_empty() {
        let what = match &skill {
            Some(name) => format!("of `{}`", output::field(name)),
            None => "of any skill".to_owned(),
        };
        println!("no runs {what} {window}: `skillet run`, agents over MCP and jobs record them");
        return Ok(ExitCode::SUCCESS);
    }
    match (&skill, rows.as_slice()) {
        (Some(_), [one]) => print_one(one, &window),
        _ => print_table(&rows, &window),
    }
    Ok(ExitCode::SUCCESS)
}

/// The skill `name` asks for: an alias counts as its skill, unless `name` is itself the name of
/// a skill with runs on record (one since removed, whose name an alias now takes): a name
/// never hides that name's own history.
fn asked_skill(ctx: &Context, store: &dyn skillet_store::Store, name: &str) -> String {
    match ctx.registry_for(name).resolve(name) {
        Some(entry) if entry.name != name => {
            let own = skillet_store::ExecutionQuery {
                skill: Some(name.to_owned()),
                limit: 1,
                ..Default::default()
            };
            match store.list(&own) {
                Ok(rows) if !rows.is_empty() => name.to_owned(),
                _ => entry.name.clone(),
            }
        }
        _ => name.to_owned(),
    }
}

/// Days of daily figures in the detail view and the JSON.
const TREND_DAYS: u32 = 7;

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    /// The start of the window (RFC 3339); `null` for the whole history.
    since: Option<String>,
    skills: &'a [Row],
}

/// One skill: its figures over the window, and its latency trend up to now.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    stats: SkillStats,
    /// `null` without a run that executed in the last two weeks.
    trend: Option<Trend>,
}

fn print_table(skills: &[Row], window: &str) {
    let now = now_ms();
    let rows: Vec<Vec<String>> = skills
        .iter()
        .map(|Row { stats: s, trend }| {
            vec![
                s.skill.clone(),
                s.runs.to_string(),
                rate(s.success_rate),
                ms(s.duration_ms.p50),
                ms(s.duration_ms.p95),
                ms(s.duration_ms.p99),
                rate(s.cache_hit_rate),
                ms(s.queue_wait_ms.p95),
                week_p95(trend.as_ref()),
                s.last_run_ms
                    .map_or_else(|| "-".to_owned(), |at| output::ago(now.saturating_sub(at))),
            ]
        })
        .collect();
    println!("runs {window}:");
    print!(
        "{}",
        output::table(
            &[
                "SKILL",
                "RUNS",
                "SUCCESS",
                "P50",
                "P95",
                "P99",
                "CACHE HITS",
                "QUEUE P95",
                "P95 THIS WEEK (BEFORE)",
                "LAST RUN",
            ],
            &rows
        )
    );
    let doubled: Vec<&str> = skills
        .iter()
        .filter(|r| r.trend.as_ref().is_some_and(|t| t.p95_doubled))
        .map(|r| r.stats.skill.as_str())
        .collect();
    if !doubled.is_empty() {
        println!(
            "p95 doubled against the week before: {} (`skillet stats SKILL` shows its days)",
            doubled.join(", ")
        );
    }
}

/// This week's p95 and the week before's, flagged when it doubled.
fn week_p95(trend: Option<&Trend>) -> String {
    let Some(t) = trend else {
        return "-".to_owned();
    };
    let flag = if t.p95_doubled { " DOUBLED" } else { "" };
    format!(
        "{} ({}){flag}",
        ms(t.p95_this_week_ms),
        ms(t.p95_previous_week_ms)
    )
}

fn print_one(row: &Row, window: &str) {
    let s = &row.stats;
    let now = now_ms();
    println!("{} {window}", output::field(&s.skill));
    let statuses: Vec<String> = s
        .statuses
        .iter()
        .map(|(k, n)| format!("{n} {}", output::field(k)))
        .collect();
    println!("runs:          {} ({})", s.runs, statuses.join(", "));
    println!("success rate:  {}", rate(s.success_rate));
    println!(
        "cache hits:    {} ({})",
        s.cache_hits,
        rate(s.cache_hit_rate)
    );
    println!(
        "duration:      {}",
        spread(&s.duration_ms, "runs that executed")
    );
    println!(
        "queue wait:    {}",
        spread(&s.queue_wait_ms, "runs that queued")
    );
    if !s.limit_kills.is_empty() {
        let kills: Vec<String> = s
            .limit_kills
            .iter()
            .map(|(limit, n)| format!("{n} by {}", output::field(limit)))
            .collect();
        println!("limits hit:    {}", kills.join(", "));
    }
    if let Some(kb) = s.peak_memory_kb {
        println!("peak memory:   {} MiB", kb / 1024);
    }
    if let Some(n) = s.peak_processes {
        println!("processes:     {n} at most at once");
    }
    println!("cpu time:      {}", ms(Some(s.cpu_time_ms)));
    println!(
        "written:       {} to storage",
        output::bytes(u64::try_from(s.bytes_written).unwrap_or(0))
    );
    if let (Some(at), Some(status)) = (s.last_run_ms, &s.last_status) {
        println!(
            "last run:      {} ({})",
            output::ago(now.saturating_sub(at)),
            output::field(status)
        );
    }
    if let Some(e) = &s.last_error {
        println!(
            "last error:    {} {} `{}`: {}",
            output::ago(now.saturating_sub(e.at_ms)),
            output::field(&e.status),
            output::field(&e.id),
            output::field(&output::one_line(&e.message))
        );
    }
    if let Some(t) = &row.trend {
        println!("p95 this week: {}", week_p95(Some(t)));
        let days: Vec<Vec<String>> = t
            .days
            .iter()
            .map(|d| {
                vec![
                    output::rfc3339(d.day_start_ms)[..10].to_owned(),
                    d.runs.to_string(),
                    ms(d.p50_ms),
                    ms(d.p95_ms),
                ]
            })
            .collect();
        println!("\nthe last {TREND_DAYS} days (UTC), runs that executed:");
        print!("{}", output::table(&["DAY", "RUNS", "P50", "P95"], &days));
    }
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn ms(v: Option<i64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) if v < 10_000 => format!("{v}ms"),
        Some(v) => format!("{:.1}s", v as f64 / 1000.0),
    }
}

fn spread(s: &Spread, of: &str) -> String {
    if s.count == 0 {
        return format!("- (no {of})");
    }
    format!(
        "p50 {}  p95 {}  p99 {}  max {}  ({} {of})",
        ms(s.p50),
        ms(s.p95),
        ms(s.p99),
        ms(s.max),
        s.count
    )
}
