//! `skillet run NAME` of a pooled `code_session` skill: the call goes to a warm interpreter of
//! the daemon's pool (started on demand, as the session commands start it), and is printed as
//! any run.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use skillet_engine::{DebugReport, Profile};
use skillet_registry::Registry;
use skillet_server::api::PoolRunParams;
use skillet_server::api::method::PoolRun;

use crate::cli::RunArgs;
use crate::context::Context;
use crate::output;

/// Whether `name` is a `code_session` skill with a `pool`.
pub fn is_pooled(registry: &Registry, name: &str) -> bool {
    registry
        .resolve(name)
        .and_then(|e| e.spec.as_ref())
        .is_some_and(|s| skillet_engine::session::is_pooled(s))
}

/// Sends the call to the daemon's pool; the input is `--stdin TEXT`, else what is piped in.
pub fn run(ctx: &Context, args: &RunArgs, params: Map<String, Value>) -> Result<ExitCode> {
    let started = Instant::now();
    let stdin = match &args.stdin {
        Some(text) => Some(text.clone()),
        None if std::io::stdin().is_terminal() => None,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the input from stdin (a pooled call takes text)")?;
            Some(text)
        }
    };
    let call = PoolRunParams {
        skill: args.name.clone(),
        params,
        stdin,
        caller_dir: ctx.env.cwd.clone(),
        workspace: args.workspace.as_ref().map(|w| ctx.env.cwd.join(w)),
        overrides: super::run::overrides(args),
        debug: args.debug,
        profile: args.profile,
    };
    // A running daemon already has its store; only one about to start is checked for a
    // damaged one (opening the history costs as much as the pooled call itself).
    let paths = crate::commands::session::socket_paths(args.socket.as_deref())?;
    let mut client = match skillet_server::Client::connect(&paths) {
        Ok(client) => client,
        Err(_) => {
            crate::commands::session::refuse_damaged_store(ctx)?;
            crate::commands::session::client(args.socket.as_deref())?
        }
    };
    let connect = started.elapsed();
    let mut reply = client.request::<PoolRun>(&call)?;
    // The daemon measured the call; the command adds what it took to reach it.
    let insight = served_insight(
        &mut reply.execution,
        paths.socket.clone(),
        connect,
        started.elapsed(),
    )?;
    let result = &reply.execution;
    if args.json {
        output::json(result)?;
    } else {
        let field = |name: &str| result.get(name).and_then(Value::as_str).unwrap_or("");
        // The skill's output is printed as it was written, as `skillet run` prints it.
        let _ = std::io::stdout()
            .lock()
            .write_all(field("stdout").as_bytes());
        let _ = std::io::stdout().flush();
        super::run::end_line_on_terminal(field("stdout").as_bytes());
        let _ = std::io::stderr()
            .lock()
            .write_all(field("stderr").as_bytes());
        for w in result
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            eprintln!("skillet: note: {}", output::text(w));
        }
        if result.get("truncated") == Some(&Value::Bool(true)) {
            eprintln!(
                "skillet: output was cut at the skill's cap (security.resource_limits.max_output_kb)"
            );
        }
        let error = field("error");
        if !error.is_empty() {
            eprintln!("skillet: {}: {}", field("status"), output::text(error));
        }
        super::run_insight::write_reports(insight.debug.as_ref(), insight.profile.as_ref());
    }
    let status = result.get("status").and_then(Value::as_str).unwrap_or("");
    let code = match status {
        "ok" => 0,
        "failed" => result
            .get("exit_code")
            .and_then(Value::as_i64)
            .and_then(|c| u8::try_from(c).ok())
            .filter(|c| *c != 0)
            .unwrap_or(1),
        "timeout" => output::EXIT_TIMEOUT,
        "invalid_params" => output::EXIT_INVALID_PARAMS,
        "not_found" => output::EXIT_NOT_FOUND,
        _ => output::EXIT_SKILLET_ERROR,
    };
    Ok(ExitCode::from(code))
}

/// The `debug` and `profile` the daemon put in `execution`, when asked for.
#[derive(Default)]
struct Served {
    debug: Option<DebugReport>,
    profile: Option<Profile>,
}

/// Takes the daemon's `debug` and `profile` out of `execution`, adds what the command saw (the
/// daemon at `socket`, `connect` to reach it, `wall` in all), and puts them back, so `--json`
/// and the text report the same figures.
fn served_insight(
    execution: &mut Value,
    socket: PathBuf,
    connect: Duration,
    wall: Duration,
) -> Result<Served> {
    let Value::Object(fields) = execution else {
        return Ok(Served::default());
    };
    let mut served = Served::default();
    if let Some(debug) = fields.get_mut("debug") {
        let mut report: DebugReport = serde_json::from_value(debug.take())
            .context("the daemon's debug report cannot be read")?;
        report.served_by_daemon(socket, connect, wall);
        *debug = serde_json::to_value(&report)?;
        served.debug = Some(report);
    }
    if let Some(profile) = fields.get_mut("profile") {
        let mut report: Profile = serde_json::from_value(profile.take())
            .context("the daemon's profile cannot be read")?;
        report.served_by_daemon(connect, wall);
        *profile = serde_json::to_value(&report)?;
        served.profile = Some(report);
    }
    Ok(served)
}
