//! `skillet history`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_store::{ExecutionQuery, ExecutionRecord, now_ms};

use crate::cli::{HistoryArgs, HistoryCommand};
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &HistoryArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    if let Some(HistoryCommand::Show { id, json }) = &args.show {
        let Some(record) = store.get(id)? else {
            return Err(output::failure(
                output::EXIT_FAILURE,
                format!("no execution with id `{id}`"),
                Some("`skillet history` lists them".into()),
            ));
        };
        if *json {
            output::json(&with_times(&record)?)?;
        } else {
            print_record(&record);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let since_ms = match &args.since {
        Some(text) => Some(now_ms() - parse_duration_ms(text)?),
        None => None,
    };
    let query = ExecutionQuery {
        skill: args.skill.clone(),
        status: args.status.clone(),
        since_ms,
        limit: args.limit,
    };
    let records = store.list(&query)?;
    if args.json {
        let records = records.iter().map(with_times).collect::<Result<Vec<_>>>()?;
        output::json(&records)?;
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!(
            "No executions recorded{}.",
            if args.skill.is_some() || args.status.is_some() || args.since.is_some() {
                " that match"
            } else {
                " yet"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    // `output::table` makes every cell safe: skill names and statuses come from the store.
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                output::ago(now - r.started_at_ms),
                r.skill.clone(),
                r.status.clone(),
                r.exit_code.map_or("-".into(), |c| c.to_string()),
                format!("{} ms", r.duration_ms),
                r.id.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &["STARTED", "SKILL", "STATUS", "EXIT", "DURATION", "ID"],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// A record for `--json`: as stored, plus `started_at` and `finished_at` in RFC 3339.
fn with_times(r: &ExecutionRecord) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(r)?;
    if let Some(fields) = value.as_object_mut() {
        fields.insert("started_at".into(), output::rfc3339(r.started_at_ms).into());
        fields.insert(
            "finished_at".into(),
            output::rfc3339(r.finished_at_ms).into(),
        );
    }
    Ok(value)
}

/// Every text of a record comes from the store, which any process of the user's can write, and
/// much of it from skills and clients: each goes through `output::field`.
fn print_record(r: &ExecutionRecord) {
    let opt = |v: &Option<String>| output::field(v.as_deref().unwrap_or("-")).into_owned();
    let num = |v: Option<i64>| v.map_or("-".into(), |n| n.to_string());
    println!("id:          {}", output::field(&r.id));
    println!(
        "skill:       {} {} ({})",
        output::field(&r.skill),
        opt(&r.version),
        opt(&r.scope)
    );
    println!(
        "status:      {}{}",
        output::field(&r.status),
        r.limit_hit
            .as_ref()
            .map(|l| format!(" (limit: {})", output::field(l)))
            .unwrap_or_default()
    );
    println!("exit code:   {}", num(r.exit_code));
    println!(
        "started:     {} ({})",
        output::timestamp(r.started_at_ms),
        output::ago(now_ms() - r.started_at_ms)
    );
    println!("duration:    {} ms", r.duration_ms);
    println!("cpu time:    {} ms", num(r.cpu_time_ms));
    println!("peak memory: {} KiB", num(r.peak_memory_kb));
    println!(
        "attempt:     {} (correlation {})",
        r.attempt,
        output::field(&r.correlation_id)
    );
    println!(
        "params:      {}",
        opt(&r.params.clone().or_else(|| r.params_hash.clone()))
    );
    println!("truncated:   {}", r.truncated);
    if let Some(origin) = &r.origin {
        println!(
            "asked by:    {} request {}",
            output::field(origin),
            opt(&r.request_id)
        );
    }
    if let Some(e) = &r.error {
        println!("error:       {}", output::field(e));
    }
}

/// `90s`, `15m`, `1h`, `2d`, `1w` in milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let usage = |message: String| {
        output::failure(
            output::EXIT_INVALID_PARAMS,
            message,
            Some("write a number and a unit, like 90s, 15m, 1h, 2d or 1w".into()),
        )
    };
    let Ok(n) = digits.parse::<i64>() else {
        return Err(usage(format!(
            "--since {text:?}: expected a number and a unit"
        )));
    };
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => {
            return Err(usage(format!(
                "--since {text:?}: the unit must be s, m, h, d or w"
            )));
        }
    };
    Ok(n.saturating_mul(unit_ms))
}
