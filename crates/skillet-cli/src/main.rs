//! The `skillet` binary: parses arguments, calls the library crates, prints. Nothing else lives
//! here; behaviour belongs in `skillet-spec`, `skillet-registry` and `skillet-engine`.

mod cli;
mod commands;
mod context;
mod output;
mod progress;
mod stderr_log;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let as_json = output::wants_json(&args);
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, &args, as_json),
    };
    stderr_log::init(cli.verbose, cli.log_format);
    // The subcommand only: values on the command line may be secrets.
    tracing::debug!(command = %subcommand_path(&args), json = as_json, "skillet started");
    quiet_when_stdout_closes();
    let outcome = std::panic::catch_unwind(|| commands::dispatch(cli));
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => ExitCode::from(output::report_error(&e, as_json)),
        Err(panic) if is_closed_stdout(&*panic) => ExitCode::from(output::EXIT_CLOSED_PIPE),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `println!` panics when stdout's reader has gone (`skillet history | head -1`): that is the
/// reader's choice, not a bug, so it ends skillet quietly, as SIGPIPE ends other tools.
fn quiet_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_stdout(info.payload()) {
            report(info);
        }
    }));
}

fn is_closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// A command line clap refused. A missing skill name gets a message of its own; with `--json`
/// every such error is JSON on stdout like any other, with clap's usage line as the hint.
/// `--help` and `--version` print as usual.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString], as_json: bool) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational {
        e.exit();
    }
    let missing_name = e.kind() == ErrorKind::MissingRequiredArgument
        && matches!(
            e.get(ContextKind::InvalidArg),
            Some(ContextValue::Strings(missing)) if missing.iter().any(|m| m == "<NAME>")
        );
    // `skillet run count-lines file=README.md`: a parameter written as a bare word.
    let bare_param = (e.kind() == ErrorKind::UnknownArgument)
        .then(|| match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(arg)) => Some(arg.clone()),
            _ => None,
        })
        .flatten()
        .filter(|arg| !arg.starts_with('-') && arg.contains('='))
        .filter(|_| takes_params(args));
    let error = if let Some(arg) = bare_param {
        let command = subcommand_path(args);
        output::failure(
            output::EXIT_INVALID_PARAMS,
            format!("unexpected argument `{arg}`"),
            Some(format!(
                "parameters are passed with --param (or -p): `skillet {command} NAME --param {arg}`"
            )),
        )
    } else if missing_name {
        let command = subcommand_path(args);
        output::failure(
            output::EXIT_INVALID_PARAMS,
            format!("`skillet {command}` needs the name of a skill"),
            Some(format!(
                "write `skillet {command} NAME`; `skillet list` shows the skills here"
            )),
        )
    } else if as_json {
        let text = e.render().to_string();
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let message = lines
            .next()
            .unwrap_or("invalid command line")
            .trim_start_matches("error: ")
            .to_owned();
        let hint = lines.collect::<Vec<_>>().join(" ");
        output::failure(
            output::EXIT_INVALID_PARAMS,
            message,
            Some(hint).filter(|h| !h.is_empty()),
        )
    } else {
        e.exit();
    };
    ExitCode::from(output::report_error(&error, as_json))
}

/// Whether the command named on the command line takes `--param NAME=VALUE`.
fn takes_params(args: &[std::ffi::OsString]) -> bool {
    use clap::CommandFactory;
    let mut command = cli::Cli::command();
    for arg in args.iter().skip(1) {
        let Some(word) = arg.to_str() else { break };
        if let Some(mut sub) = command.find_subcommand(word).cloned() {
            sub.build();
            command = sub;
        }
    }
    command
        .get_arguments()
        .any(|a| a.get_long() == Some("param"))
}

/// The subcommands named on the command line (`session start`, `run`), for messages.
fn subcommand_path(args: &[std::ffi::OsString]) -> String {
    use clap::CommandFactory;
    let mut command = cli::Cli::command();
    let mut path = Vec::new();
    for arg in args.iter().skip(1) {
        let Some(word) = arg.to_str() else { break };
        let Some(mut sub) = command.find_subcommand(word).cloned() else {
            continue;
        };
        // Its own subcommands are made when it is built (`defer` in `cli::Command`).
        sub.build();
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path.join(" ")
}
