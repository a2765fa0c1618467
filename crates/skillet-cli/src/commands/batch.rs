//! `skillet batch`.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use skillet_engine::{BatchOptions, Cancel, ExecutionResult, Status};

use crate::cli::BatchArgs;
use crate::context::Context;
use crate::output;

/// A batch file larger than this is refused: it is read whole before anything runs.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Bad lines named before giving up; the rest are counted.
const SHOWN_ERRORS: usize = 20;

pub fn run(ctx: &Context, args: &BatchArgs) -> Result<ExitCode> {
    let text = read_calls(ctx, args)?;
    let calls = match skillet_engine::parse_batch(&text) {
        Ok(calls) => calls,
        Err(errors) => {
            let from = shown_source(ctx, args);
            for e in errors.iter().take(SHOWN_ERRORS) {
                eprintln!("skillet: {from}: {}", output::text(&e.to_string()));
            }
            if errors.len() > SHOWN_ERRORS {
                eprintln!(
                    "skillet: {from}: and {} more bad lines",
                    errors.len() - SHOWN_ERRORS
                );
            }
            eprintln!("skillet: nothing was run; fix the lines above and run the batch again");
            return Ok(ExitCode::from(output::EXIT_INVALID_PARAMS));
        }
    };
    if calls.is_empty() {
        eprintln!(
            "skillet: {}: no calls (the file is empty)",
            shown_source(ctx, args)
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Pooled skills' calls share warm interpreters for the length of the batch, as many as
    // the user lets the daemon keep.
    let engine = ctx
        .engine_in(args.workspace.as_deref())?
        .with_pools(Arc::new(skillet_engine::session::Pools::from_settings(
            &ctx.config.daemon,
        )));
    let registry = Arc::new(ctx.registry());
    let jobs = args
        .jobs
        .map_or_else(skillet_engine::default_jobs, |n| n as usize);
    let cancel = Cancel::new();
    let options = BatchOptions {
        jobs,
        ordered: args.ordered,
        overrides: args.allow.overrides(false),
        caller_dir: ctx.env.cwd.clone(),
        cancel: cancel.clone(),
        queue: super::session::daemon_queue(jobs, "skillet batch"),
        priority: args.priority.into(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let total = calls.len();
    let lines: Vec<usize> = calls.iter().map(|c| c.line).collect();
    let progress = progress_bar(total);
    let mut tally = Tally::default();
    let started = Instant::now();
    runtime.block_on(async {
        let signals = super::run::cancel_on_signals(cancel.clone());
        engine
            .run_batch(registry, calls, options, |index, mut result| {
                super::run::with_command_hint(&mut result);
                tally.add(index, &result);
                progress.suspend(|| {
                    if args.json {
                        print_json(index, lines[index], &result);
                    } else {
                        print_human(index, lines[index], &result);
                    }
                });
                progress.inc(1);
            })
            .await;
        if let Some(s) = signals {
            s.abort();
        }
    });
    progress.finish_and_clear();
    tally.summarise(total, jobs, started.elapsed());
    Ok(ExitCode::from(
        match (tally.failed.is_empty(), cancel.reason()) {
            (_, Some(reason)) => super::run::exit_for_signal(&reason),
            (true, None) => 0,
            (false, None) => output::EXIT_FAILURE,
        },
    ))
}

/// The calls' text, from the file or (`-`) from stdin.
fn read_calls(ctx: &Context, args: &BatchArgs) -> Result<String> {
    let mut bytes = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("cannot read the calls from stdin")?;
    } else {
        let path = ctx.env.cwd.join(&args.file);
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", output::path(&ctx.shown(&path))))?;
    }
    // A bad file exits 2, as a bad line does.
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(output::failure(
            output::EXIT_INVALID_PARAMS,
            format!(
                "{} is larger than {} MiB; nothing was run",
                shown_source(ctx, args),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            Some("split it into several batches".into()),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        output::failure(
            output::EXIT_INVALID_PARAMS,
            format!(
                "{} is not UTF-8 text ({e}); nothing was run",
                shown_source(ctx, args)
            ),
            Some("write the calls as UTF-8 JSON, one a line".into()),
        )
    })
}

fn shown_source(ctx: &Context, args: &BatchArgs) -> String {
    if args.file.as_os_str() == "-" {
        "stdin".into()
    } else {
        output::path(&ctx.shown(&ctx.env.cwd.join(&args.file)))
    }
}

/// A bar on a terminal's stderr; hidden anywhere else.
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template("{pos}/{len} calls done {elapsed}") {
        bar.set_style(style);
    }
    bar
}

fn print_json(index: usize, line: usize, result: &ExecutionResult) {
    let mut value = serde_json::to_value(result).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("index".into(), index.into());
        object.insert("line".into(), line.into());
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout ends nothing: the calls still run and are recorded.
    let _ = writeln!(out, "{value}").and_then(|()| out.flush());
}

fn print_human(index: usize, line: usize, result: &ExecutionResult) {
    let cached = if result.cached { ", cached" } else { "" };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "== #{index} {} (line {line}): {} in {} ms{cached}",
            output::field(&result.skill),
            result.status.as_str(),
            result.duration_ms
        );
        let _ = out.write_all(result.stdout.as_bytes());
        if result.stdout.bytes().last().is_some_and(|b| b != b'\n') {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }
    if !result.stderr.is_empty() {
        let _ = std::io::stderr().write_all(result.stderr.as_bytes());
    }
    super::run::report(result);
}

/// What the batch came to.
#[derive(Default)]
struct Tally {
    ok: usize,
    cached: usize,
    /// `(index, skill, status)` of each call that did not succeed.
    failed: Vec<(usize, String, Status)>,
}

impl Tally {
    fn add(&mut self, index: usize, result: &ExecutionResult) {
        if result.status == Status::Ok {
            self.ok += 1;
        } else {
            self.failed
                .push((index, result.skill.clone(), result.status));
        }
        self.cached += usize::from(result.cached);
    }

    fn summarise(&mut self, total: usize, jobs: usize, took: std::time::Duration) {
        self.failed.sort_by_key(|f| f.0);
        let mut line = format!(
            "skillet: batch: {total} calls in {:.2} s (at most {jobs} at once): {} ok",
            took.as_secs_f64(),
            self.ok
        );
        if self.cached > 0 {
            line.push_str(&format!(" ({} from the cache)", self.cached));
        }
        if !self.failed.is_empty() {
            let shown: Vec<String> = self
                .failed
                .iter()
                .take(10)
                .map(|(i, skill, status)| {
                    format!("#{i} {} {}", output::field(skill), status.as_str())
                })
                .collect();
            let more = self.failed.len().saturating_sub(shown.len());
            line.push_str(&format!(
                ", {} not: {}{}",
                self.failed.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        eprintln!("{line}");
    }
}
