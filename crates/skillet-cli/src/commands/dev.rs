//! `skillet dev`: thin over `skillet_authoring::dev`, which owns the watching and reloading.

pub(crate) mod isolated;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use skillet_authoring::dev::{DevError, DevIsolation, DevLoop, DevOptions, Reload, Validation};
use skillet_engine::Cancel;

use crate::cli::DevArgs;
use crate::context::Context;
use crate::output;

/// Exit code after Ctrl-C (128 + SIGINT), as a shell reports it.
const EXIT_SIGINT: u8 = 130;
/// Exit code after SIGTERM (128 + 15).
const EXIT_SIGTERM: u8 = 143;

pub fn run(ctx: &Context, args: &DevArgs) -> Result<ExitCode> {
    let params = args.params.values()?;
    let options = DevOptions {
        name: args.name.clone(),
        params,
        caller_dir: ctx.env.cwd.clone(),
        overrides: args.allow.overrides(false),
    };
    let mut dev = match DevLoop::new((**ctx).clone(), ctx.engine(), options) {
        Ok(dev) => dev,
        Err(e @ DevError::NotFound { .. }) => {
            return Err(output::failure(output::EXIT_NOT_FOUND, e.to_string(), None));
        }
        Err(e) => return Err(e.into()),
    };
    let mut kept = None;
    let mut isolation = None;
    // Outside a workspace there is no tree to protect (code skills are refused there).
    if let Some(root) = ctx.env.workspace_root().filter(|_| !args.no_isolate) {
        let iso = isolated::Isolated::new(ctx, &root)?;
        // `--allow-…` paths typed for the real tree name the copy.
        dev.map_overrides(|grant| isolated::map_grant(&iso.view, grant, ctx.env.home.as_deref()));
        kept = Some(iso.store.clone());
        isolation = Some(iso.view.backing().to_string());
        dev = dev.isolated(DevIsolation::new(iso.view, iso.setup, iso.engine));
    }
    if !args.json
        && let Some(file) = dev.skill_file()
    {
        eprintln!(
            "skillet dev: watching `{}` ({}); every save re-runs it; Ctrl-C stops",
            output::text(&args.name),
            output::text(&ctx.shown(file).display().to_string())
        );
        if let Some(isolation) = &isolation {
            eprintln!("skillet dev: runs see {isolation}");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // The end of input stops the loop after the run in progress; a signal stops that run too.
    let (stop, interrupt) = (Cancel::new(), Cancel::new());
    let json = args.json;
    let recorded = super::stats::DevSkill::new(ctx, &args.name);
    runtime.block_on(async {
        let signals = stop_on_signals(interrupt.clone());
        stop_at_end_of_input(stop.clone());
        let outcome = skillet_authoring::dev::watch_and_reload(
            &mut dev,
            stop.clone(),
            interrupt.clone(),
            |r| {
                show(ctx, r, json, args.apply);
                recorded.record(ctx, r);
            },
        )
        .await;
        if let Some(s) = signals {
            s.abort();
        }
        outcome
    })?;
    let code = match interrupt.reason().as_deref() {
        Some("SIGINT") => EXIT_SIGINT,
        Some("SIGTERM") => EXIT_SIGTERM,
        _ => 0,
    };
    if !json && code == EXIT_SIGINT {
        eprintln!("skillet dev: stopped");
    }
    if let Some(store) = &kept {
        isolated::keep_history(ctx, store);
    }
    if args.apply {
        match dev.last_changes() {
            Some((view, changes)) if !changes.is_empty() => {
                let applied = isolated::apply(view, changes, json)?;
                if json {
                    // One more object on its own line, as the reloads are.
                    println!("{}", output::json_line(&applied)?);
                }
                if !applied.skipped.is_empty() {
                    return Ok(ExitCode::from(output::EXIT_FAILURE));
                }
            }
            _ => eprintln!("skillet dev: nothing to apply: the last run changed no file"),
        }
    }
    Ok(ExitCode::from(code))
}

/// Ctrl-C and SIGTERM stop the loop and a run in progress (killed and recorded as
/// `cancelled`) instead of killing skillet.
fn stop_on_signals(stop: Cancel) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    Some(tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => stop.cancel("SIGINT"),
            _ = term.recv() => stop.cancel("SIGTERM"),
        }
    }))
}

/// When stdin is not a terminal, its end stops the loop (as esbuild's `--watch` does): an
/// editor or script that started `skillet dev` and went away does not leave it watching.
fn stop_at_end_of_input(stop: Cancel) {
    super::input_end::when_input_ends(move || stop.cancel("end of input"));
}

fn show(ctx: &Context, reload: &Reload, json: bool, apply: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        // One object a line, so a tool can follow the stream.
        if let Ok(line) = output::json_line(reload) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        return;
    }
    let what = if reload.number == 0 {
        "first run".to_owned()
    } else {
        let names: Vec<String> = reload
            .changed
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        match names.is_empty() {
            true => format!("reload {}", reload.number),
            false => format!("reload {} ({} changed)", reload.number, names.join(", ")),
        }
    };
    let mut lines = Vec::new();
    match &reload.validation {
        Validation::Valid => {}
        Validation::KeptLastGood { errors } => {
            lines.push(format!(
                "── {what}: the skill file is broken; still running the last good version"
            ));
            lines.extend(
                errors
                    .iter()
                    .map(|e| output::text(&e.to_string()).into_owned()),
            );
        }
        Validation::Broken { errors } => {
            lines.push(format!(
                "── {what}: the skill file is broken and there is no good version yet; fix it and save"
            ));
            lines.extend(
                errors
                    .iter()
                    .map(|e| output::text(&e.to_string()).into_owned()),
            );
        }
        Validation::Missing => lines.push(format!(
            "── {what}: the skill file is gone; waiting for it to come back"
        )),
    }
    if let Some(why) = &reload.not_run {
        lines.push(format!("── {what}: valid; {why}"));
    }
    if let Some(run) = &reload.run {
        let exit = run
            .exit_code
            .map_or(String::new(), |c| format!(", exit {c}"));
        let status = format!(
            "── {what}: {}{exit}, {} ms (save to result {} ms)",
            run.status, run.duration_ms, reload.reload_ms
        );
        if reload.number == 0 {
            lines.push(status);
            lines.push(output::text(&run.stdout).trim_end_matches('\n').to_owned());
            if !run.stderr.is_empty() {
                lines.push(format!(
                    "stderr:\n{}",
                    output::text(&run.stderr).trim_end_matches('\n')
                ));
            }
        } else if !reload.output_changed {
            lines.push(format!("{status}; output unchanged"));
        } else {
            lines.push(status);
            for diff in [&reload.stdout_diff, &reload.stderr_diff] {
                if !diff.is_empty() {
                    lines.push(output::text(diff).trim_end_matches('\n').to_owned());
                }
            }
        }
        if let Some(error) = &run.error {
            lines.push(format!("skillet: {}", output::text(error)));
        }
    }
    let _ = writeln!(out, "{}", lines.join("\n"));
    let _ = out.flush();
    drop(out);
    if let (Some(changes), Some(root)) = (&reload.changes, ctx.env.workspace_root()) {
        let tail = match apply {
            true => {
                "the real tree is unchanged until dev stops, then --apply writes the last run's"
            }
            false => "the real tree is unchanged; dev --apply writes the last run's when it stops",
        };
        isolated::print_changes_at(&root, changes, tail);
    }
}
