//! `skillet logs`: the search is skillet-observe's; this prints its lines and follows.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use skillet_observe::LogSearch;
use skillet_store::{LogLevel, LogLine, LogQuery, now_ms};

use crate::cli::LogsArgs;
use crate::context::Context;
use crate::output;

/// Lines shown when neither `--lines` nor `--since` says how many.
const DEFAULT_LINES: usize = 100;

/// How often `--follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

pub fn run(ctx: &Context, args: &LogsArgs) -> Result<ExitCode> {
    let level = match &args.level {
        None => None,
        Some(name) => Some(LogLevel::parse(name).ok_or_else(|| {
            output::failure(
                output::EXIT_INVALID_PARAMS,
                format!("--level {name:?} is not a level"),
                Some("write error, warn, info or debug".into()),
            )
        })?),
    };
    let since_ms = match &args.since {
        Some(text) => Some(now_ms().saturating_sub(super::history::parse_duration_ms(text)?)),
        None => None,
    };
    let query = LogQuery {
        skill: args.skill.clone(),
        execution: args.execution.clone(),
        level,
        since_ms,
        ..LogQuery::default()
    };
    let search = LogSearch::new(query, args.grep.as_deref()).map_err(|e| {
        output::failure(
            output::EXIT_INVALID_PARAMS,
            e.to_string(),
            Some("see https://docs.rs/regex/latest/regex/#syntax".into()),
        )
    })?;
    let limit = args.lines.unwrap_or(if args.since.is_some() {
        0
    } else {
        DEFAULT_LINES
    });
    let store = ctx.store()?;
    let mut printed: Result<()> = Ok(());
    let last = search.newest(store.as_ref(), limit, &mut |line| {
        if printed.is_ok() {
            printed = print_line(&line, args.json);
        }
    })?;
    printed?;
    let mut last_id = last.unwrap_or(0);
    if !args.follow {
        if last.is_none() && !args.json {
            eprintln!("no log lines match");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if last_id == 0 {
        // Nothing matched yet: follow from the newest line of all, not from the start.
        store.scan_logs(&LogQuery::default(), &mut |l| {
            last_id = l.id;
            false
        })?;
    }
    let ended = Arc::new(AtomicBool::new(false));
    let flag = ended.clone();
    super::input_end::when_input_ends(move || flag.store(true, Ordering::SeqCst));
    while !ended.load(Ordering::SeqCst) {
        std::thread::sleep(FOLLOW_EVERY);
        for line in search.after(store.as_ref(), last_id)? {
            last_id = line.id;
            print_line(&line, args.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(line: &LogLine, json: bool) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", output::json_line(line)?)?;
    } else {
        let execution = line.execution_id.as_deref().unwrap_or("-");
        let who = line
            .skill
            .as_deref()
            .or(line.target.as_deref())
            .unwrap_or("-");
        writeln!(
            out,
            "{} {:<5} {:<7} {} {} {}",
            output::timestamp(line.at_ms),
            line.level.as_str().to_uppercase(),
            line.source,
            output::field(who),
            execution,
            output::field(&line.message),
        )?;
    }
    // Followed output goes to a pipe (`| grep`) as it comes.
    out.flush()?;
    Ok(())
}
