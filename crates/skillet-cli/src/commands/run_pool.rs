//! `skillet run NAME` of a pooled `code_session` skill: the call goes to a warm interpreter of
//! the daemon's pool (started on demand, as the session commands start it), and is printed as
//! any run.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
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
    let reply = client.request::<PoolRun>(&call)?;
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
