//! `skillet run`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use skillet_engine::{
    Cancel, ExecutionResult, Observe, OutputChunk, Phase, PlanView, Prepared, RunOverrides,
    RunRequest, Status, StdinSource, Stream,
};
use skillet_registry::Registry;
use tokio::sync::mpsc;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let params = args.values.values()?;
    let observed = args.debug || args.profile;
    if args.dry_run && args.profile {
        anyhow::bail!("--profile measures a run, and --dry-run starts none; leave one out");
    }
    if let Some(id) = &args.session {
        return crate::commands::session::run_in_session(args, id);
    }
    if args.detach {
        return crate::commands::jobs::detach(ctx, args, params);
    }
    // Started before discovery, which is part of resolving the name.
    let observe = observed.then(|| Observe::new(args.debug, args.profile));
    let registry = ctx.registry_for(&args.name);
    if let Some(o) = &observe {
        o.lap(Phase::Resolve);
    }
    if crate::commands::conversation::is_conversation(&registry, &args.name) {
        if args.dry_run {
            return crate::commands::conversation::dry_run(
                ctx, &registry, &args.name, &params, args.json,
            );
        }
        let options = crate::commands::conversation::ConversationOptions {
            answers: args.answers.as_deref(),
            max_turns: args.max_turns,
            json: args.json,
            cache: overrides(args).cache,
            observe: observe.as_ref(),
        };
        return crate::commands::conversation::run(ctx, &registry, &args.name, params, &options);
    }
    if args.dry_run {
        return dry_run(ctx, &registry, args, &params);
    }
    if super::run_pool::is_pooled(&registry, &args.name) {
        return super::run_pool::run(ctx, args, params);
    }
    let stdin = match &args.stdin {
        Some(text) => StdinSource::Bytes(text.clone().into_bytes()),
        None => StdinSource::Inherit,
    };
    // The history opens on a thread of its own while the skill is set up and runs; its first
    // use (the breaker, the cache, or recording the run) waits for it.
    let engine = ctx.engine_opening_store(args.workspace.as_deref())?;
    let cancel = Cancel::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let (live, printer) = if args.json {
        (None, None)
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        (Some(tx), Some(rx))
    };
    let request = RunRequest {
        params,
        stdin,
        caller_dir: ctx.env.cwd.clone(),
        live,
        overrides: overrides(args),
        asked_by: None,
        cancel: Some(cancel.clone()),
    };
    // A panic anywhere below is a bug, but it must not turn into a crash without a result.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let signals = cancel_on_signals(cancel.clone());
            let printing = printer.map(|rx| tokio::spawn(print_live(rx)));
            let result = match &observe {
                Some(o) => engine.run_observed(&registry, &args.name, request, o).await,
                None => engine.run(&registry, &args.name, request).await,
            };
            if let Some(s) = signals {
                s.abort();
            }
            if let Some(p) = printing {
                // The sender is dropped with the request, so the printer ends once output is flushed.
                let _ = p.await;
            }
            result
        })
    }));
    let mut result = outcome
        .unwrap_or_else(|panic| ExecutionResult::internal(&args.name, panic_message(&*panic)));
    with_command_hint(&mut result);
    tracing::debug!(
        skill = %args.name,
        execution = %result.execution_id,
        status = result.status.as_str(),
        exit_code = ?result.exit_code,
        duration_ms = result.duration_ms,
        "run finished"
    );
    if args.json {
        output::json(&result)?;
    } else {
        end_line_on_terminal(result.stdout.as_bytes());
        report(&result);
        super::run_insight::write_reports(result.debug.as_deref(), result.profile.as_deref());
    }
    // A run stopped by a signal exits as a shell reports that signal.
    let code = match (result.status, cancel.reason().as_deref()) {
        (Status::Cancelled, Some(reason @ "SIGTERM")) => exit_for_signal(reason),
        _ => exit_code(&result),
    };
    Ok(ExitCode::from(code))
}

/// Exit code of a run stopped by SIGINT (128 + 2), as a shell reports it.
pub(crate) const EXIT_SIGINT: u8 = 130;
/// Exit code of a run stopped by SIGTERM (128 + 15).
const EXIT_SIGTERM: u8 = 143;

/// The exit code of a command stopped by the signal `reason` names, as a shell reports that
/// signal: 143 for SIGTERM, 130 for SIGINT (and any other cancellation).
pub(crate) fn exit_for_signal(reason: &str) -> u8 {
    if reason == "SIGTERM" {
        EXIT_SIGTERM
    } else {
        EXIT_SIGINT
    }
}

/// From now on SIGINT and SIGTERM cancel the run (it is then killed and recorded as
/// `cancelled`) instead of killing skillet before it can write the history.
pub(crate) fn cancel_on_signals(cancel: Cancel) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    Some(tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => cancel.cancel("SIGINT"),
            _ = term.recv() => cancel.cancel("SIGTERM"),
        }
    }))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned());
    format!(
        "skillet hit a bug ({}); please report it with the command you ran",
        what.unwrap_or_else(|| "unknown panic".into())
    )
}

/// Copies output to the terminal as it arrives, so long-running skills show progress.
async fn print_live(mut rx: mpsc::UnboundedReceiver<OutputChunk>) {
    while let Some(chunk) = rx.recv().await {
        // A closed stdout (e.g. `| head`) must not stop the skill; just stop showing it.
        let _ = match chunk.stream {
            Stream::Stdout => std::io::stdout()
                .lock()
                .write_all(&chunk.bytes)
                .and_then(|()| std::io::stdout().flush()),
            Stream::Stderr => std::io::stderr().lock().write_all(&chunk.bytes),
        };
    }
}

/// Output that does not end its last line would leave the shell's prompt glued to it: on a
/// terminal, end the line. A pipe gets the bytes exactly as the skill wrote them.
pub fn end_line_on_terminal(printed: &[u8]) {
    use std::io::IsTerminal;
    if printed.last().is_some_and(|b| *b != b'\n') && std::io::stdout().is_terminal() {
        println!();
    }
}

/// Adds to the error of a refused run the command that gets it going, as this command line
/// spells it (the engine says only what it is: [`skillet_engine::Hint`]).
pub(crate) fn with_command_hint(result: &mut ExecutionResult) {
    if let (Some(hint), Some(error)) = (&result.hint, &mut result.error) {
        error.push_str(&super::hints::in_words(hint));
    }
}

pub(crate) fn report(result: &ExecutionResult) {
    // Warnings and errors quote the skill and its parameters: made safe, unlike its output.
    for w in &result.warnings {
        eprintln!("skillet: note: {}", output::text(w));
    }
    if result.truncated {
        eprintln!(
            "skillet: output was cut at the skill's cap (security.resource_limits.max_output_kb)"
        );
    }
    if let Some(error) = &result.error {
        let label = match result.status {
            Status::Timeout => "timeout",
            Status::ResourceLimit => "resource limit",
            Status::SandboxDenied => "sandbox",
            Status::InvalidParams => "invalid parameters",
            Status::NotFound => "not found",
            Status::SpawnFailed => "cannot start",
            Status::CircuitOpen => "circuit open",
            Status::Cancelled => "cancelled",
            Status::Internal => "internal error",
            _ => "error",
        };
        eprintln!("skillet: {label}: {}", output::text(error));
    }
}

fn exit_code(result: &ExecutionResult) -> u8 {
    match result.status {
        Status::Ok => 0,
        // A code outside 1..=255 (a signal already maps into it) still has to say "failed".
        Status::Failed => result
            .exit_code
            .and_then(|c| u8::try_from(c).ok())
            .filter(|c| *c != 0)
            .unwrap_or(1),
        Status::Timeout => output::EXIT_TIMEOUT,
        Status::ResourceLimit => output::EXIT_RESOURCE_LIMIT,
        Status::CircuitOpen => output::EXIT_CIRCUIT_OPEN,
        Status::SandboxDenied => output::EXIT_SANDBOX_DENIED,
        Status::InvalidParams => output::EXIT_INVALID_PARAMS,
        Status::NotFound => output::EXIT_NOT_FOUND,
        Status::Error | Status::SpawnFailed | Status::Internal => output::EXIT_SKILLET_ERROR,
        Status::Cancelled => EXIT_SIGINT,
    }
}

/// The permissions the `--allow-…` flags give this run.
pub(crate) fn overrides(args: &RunArgs) -> RunOverrides {
    let mut overrides = args.allow.overrides(args.keep_tmp);
    overrides.cache = if args.no_cache {
        skillet_engine::CacheUse::Off
    } else if args.refresh {
        skillet_engine::CacheUse::Refresh
    } else {
        skillet_engine::CacheUse::Use
    };
    overrides
}

/// Shows the exact process a run would start, without starting it.
fn dry_run(
    ctx: &Context,
    registry: &Registry,
    args: &RunArgs,
    params: &Map<String, Value>,
) -> Result<ExitCode> {
    let engine = ctx.engine_in(args.workspace.as_deref())?;
    let prepared =
        match engine.prepare(registry, &args.name, params, &ctx.env.cwd, &overrides(args)) {
            Ok(prepared) => prepared,
            Err(mut refused) => {
                with_command_hint(&mut refused);
                if args.json {
                    output::json(&refused)?;
                } else {
                    report(&refused);
                }
                return Ok(ExitCode::from(exit_code(&refused)));
            }
        };
    match prepared {
        Prepared::Prompt { text, .. } if args.json => {
            output::json(&serde_json::json!({ "prompt": text }))?;
        }
        Prepared::Prompt { text, .. } => {
            print!("{text}");
            end_line_on_terminal(text.as_bytes());
        }
        Prepared::Process {
            invocation, plan, ..
        } if args.json => {
            let view = PlanView::new(&invocation, &plan);
            output::json(&serde_json::json!({
                "invocation": invocation,
                "env": view.process.env,
                "policy": view.policy,
                "warnings": view.warnings,
            }))?;
        }
        Prepared::Process {
            invocation, plan, ..
        } => {
            let view = PlanView::new(&invocation, &plan);
            super::run_insight::write_plan(&mut std::io::stdout().lock(), &view)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
