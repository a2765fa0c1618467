//! `skillet cache`: what the result cache holds, how often it answered, and clearing it.

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;
use skillet_store::{CacheSkillStats, now_ms};

use crate::cli::CacheCommand;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &CacheCommand) -> Result<ExitCode> {
    match args {
        CacheCommand::Stats { json } => stats(ctx, *json),
        CacheCommand::Ls { skill, json } => ls(ctx, skill.as_deref(), *json),
        CacheCommand::Clear { skill } => clear(ctx, skill.as_deref()),
    }
}

/// Hits over lookups, `None` before the first lookup.
fn hit_rate(hits: i64, misses: i64) -> Option<f64> {
    let all = hits + misses;
    (all > 0).then(|| hits as f64 / all as f64)
}

#[derive(Serialize)]
struct SkillRow<'a> {
    #[serde(flatten)]
    stats: &'a CacheSkillStats,
    hit_rate: Option<f64>,
}

fn stats(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let rows = ctx.store()?.cache_stats()?;
    let sum = |f: fn(&CacheSkillStats) -> i64| rows.iter().map(f).sum::<i64>();
    let (hits, misses, entries, bytes) = (
        sum(|s| s.hits),
        sum(|s| s.misses),
        sum(|s| s.entries),
        sum(|s| s.bytes),
    );
    let max_bytes = ctx.config.cache.max_bytes();
    if as_json {
        let skills: Vec<SkillRow<'_>> = rows
            .iter()
            .map(|stats| SkillRow {
                stats,
                hit_rate: hit_rate(stats.hits, stats.misses),
            })
            .collect();
        output::json(&json!({
            "skills": skills,
            "hits": hits,
            "misses": misses,
            "hit_rate": hit_rate(hits, misses),
            "entries": entries,
            "bytes": bytes,
            "max_bytes": max_bytes,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("The cache is empty: no skill with a `cache` block has run yet.");
        return Ok(ExitCode::SUCCESS);
    }
    let rate = |h, m| hit_rate(h, m).map_or("-".to_owned(), |r| format!("{:.0}%", r * 100.0));
    let mut table: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            vec![
                s.skill.clone(),
                s.hits.to_string(),
                s.misses.to_string(),
                rate(s.hits, s.misses),
                s.entries.to_string(),
                human_bytes(s.bytes),
            ]
        })
        .collect();
    table.push(vec![
        "(all)".into(),
        hits.to_string(),
        misses.to_string(),
        rate(hits, misses),
        entries.to_string(),
        format!(
            "{} of {}",
            human_bytes(bytes),
            human_bytes(i64::try_from(max_bytes).unwrap_or(i64::MAX))
        ),
    ]);
    print!(
        "{}",
        output::table(
            &["SKILL", "HITS", "MISSES", "HIT RATE", "ENTRIES", "BYTES"],
            &table
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn ls(ctx: &Context, skill: Option<&str>, as_json: bool) -> Result<ExitCode> {
    let entries = ctx.store()?.cache_entries(skill)?;
    if as_json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "key": e.key,
                    "skill": e.skill,
                    "exit_code": e.exit_code,
                    "bytes": e.size(),
                    "truncated": e.truncated,
                    "execution_id": e.execution_id,
                    "created_at": output::rfc3339(e.created_at_ms),
                    "expires_at": output::rfc3339(e.expires_at_ms),
                    "last_used_at": output::rfc3339(e.last_used_at_ms),
                    "hits": e.hits,
                })
            })
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        match skill {
            Some(skill) => println!("No cached results of `{}`.", output::field(skill)),
            None => println!("No cached results."),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let expires = e.expires_at_ms - now;
            vec![
                e.skill.clone(),
                output::ago(now - e.last_used_at_ms),
                if expires > 0 {
                    format!("in {} s", (expires + 999) / 1000)
                } else {
                    "expired".into()
                },
                e.hits.to_string(),
                human_bytes(e.size()),
                e.key
                    .trim_start_matches("sha256:")
                    .chars()
                    .take(16)
                    .collect(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["SKILL", "USED", "EXPIRES", "HITS", "BYTES", "KEY"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

fn clear(ctx: &Context, skill: Option<&str>) -> Result<ExitCode> {
    let removed = ctx.store()?.cache_clear(skill)?;
    let s = if removed == 1 { "" } else { "s" };
    match skill {
        Some(skill) => println!(
            "Removed {removed} cached result{s} of `{}`.",
            output::field(skill)
        ),
        None => println!("Removed {removed} cached result{s}."),
    }
    Ok(ExitCode::SUCCESS)
}

/// A stored size (never negative in a sound store) as people read it.
fn human_bytes(bytes: i64) -> String {
    output::bytes(u64::try_from(bytes).unwrap_or(0))
}
