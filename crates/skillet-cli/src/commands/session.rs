//! `skillet session …` and `skillet run NAME --session ID`: requests to the daemon, printed.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use skillet_engine::session::Reply;
use skillet_server::{Client, SocketPaths};
use skillet_store::StoreError;

use crate::cli::{RunArgs, SessionCommand};
use crate::context::Context;
use crate::output;

/// The daemon's files: `--socket`, else `$SKILLET_SOCKET`, else the per-user default.
pub fn socket_paths(socket: Option<&Path>) -> Result<SocketPaths> {
    let from_env = std::env::var_os("SKILLET_SOCKET").map(PathBuf::from);
    Ok(SocketPaths::for_user(socket.or(from_env.as_deref()))?)
}

/// A damaged history store is named here, with its remedy: a daemon started on it would run
/// without a store and answer as if there had never been a session.
fn refuse_damaged_store(ctx: &Context) -> Result<()> {
    match ctx.store() {
        Err(e) if matches!(e.downcast_ref(), Some(StoreError::Corrupt { .. })) => Err(e),
        _ => Ok(()),
    }
}

/// A connection to the daemon, started in the background when needed.
fn client(socket: Option<&Path>) -> Result<Client> {
    let paths = socket_paths(socket)?;
    let exe = std::env::current_exe()
        .context("cannot find the skillet executable to start the daemon")?;
    Ok(Client::connect_or_start(&paths, &exe)?)
}

pub fn run(ctx: &Context, command: &SessionCommand, socket: Option<&Path>) -> Result<ExitCode> {
    refuse_damaged_store(ctx)?;
    match command {
        SessionCommand::Start {
            name,
            values,
            label,
            replace_oldest,
            keep_tmp,
            json,
            allow,
        } => {
            // Said here, with the CLI's exit code for it, rather than as the daemon's refusal.
            let registry = ctx.registry();
            if registry.resolve(name).is_none() {
                return Err(crate::commands::info::not_found(&registry, name));
            }
            let params = json!({
                "skill": name,
                "params": values.values()?,
                "label": label,
                "caller_dir": ctx.env.cwd,
                "overrides": allow.overrides(*keep_tmp),
                "replace_oldest": replace_oldest,
            });
            let session = client(socket)?.call("session.start", params)?;
            if *json {
                output::json(&session)?;
            } else {
                println!("{}", session["id"].as_str().unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Send {
            id,
            input,
            from,
            json,
        } => {
            let params = match (input, from) {
                (_, Some(from)) => json!({"id": id, "from": from}),
                (Some(input), None) => json!({"id": id, "input": input}),
                (None, None) => json!({"id": id, "input": read_stdin()?}),
            };
            send(socket, params, *json)
        }
        SessionCommand::List {
            skill,
            status,
            limit,
            json,
        } => {
            let sessions = client(socket)?.call(
                "session.list",
                json!({"skill": skill, "status": status, "limit": limit}),
            )?;
            if *json {
                output::json(&sessions)?;
            } else {
                print_list(sessions.as_array().map(Vec::as_slice).unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Close { id, json } => {
            let session = client(socket)?.call("session.close", json!({"id": id}))?;
            if *json {
                output::json(&session)?;
            } else {
                println!("closed session {}", session["id"].as_str().unwrap_or(id));
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Logs { id, json } => {
            let logs = client(socket)?.call("session.logs", json!({"id": id}))?;
            if *json {
                output::json(&logs)?;
            } else {
                print_logs(&logs);
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Resume {
            id,
            answers,
            max_turns,
            json,
        } => {
            let options = crate::commands::conversation::ConversationOptions {
                answers: answers.as_deref(),
                max_turns: *max_turns,
                json: *json,
            };
            crate::commands::conversation::resume(ctx, id, &options)
        }
        SessionCommand::Pipe {
            from,
            to,
            stop,
            json,
        } => {
            let result = client(socket)?.call(
                "session.pipe",
                json!({"from": from, "to": to, "stop": stop}),
            )?;
            if *json {
                output::json(&result)?;
            } else if *stop {
                match result["removed"].as_bool() {
                    Some(true) => println!("removed the pipe from {from} to {to}"),
                    _ => println!("there was no pipe from {from} to {to}"),
                }
            } else {
                println!(
                    "every later output of {} now goes on to {}",
                    result["from"].as_str().unwrap_or(from),
                    result["to"].as_str().unwrap_or(to)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `skillet run NAME --session ID`: the run's input goes to the session, which must be one of
/// the skill's.
pub fn run_in_session(args: &RunArgs, id: &str) -> Result<ExitCode> {
    let input = match &args.stdin {
        Some(text) => text.clone(),
        None => read_stdin()?,
    };
    let params = json!({"id": id, "input": input, "skill": args.name});
    send(None, params, args.json)
}

fn send(socket: Option<&Path>, params: Value, json: bool) -> Result<ExitCode> {
    let reply = client(socket)?.call("session.send", params)?;
    print_reply(reply, json)
}

fn print_reply(reply: Value, json: bool) -> Result<ExitCode> {
    let reply: Reply =
        serde_json::from_value(reply).context("the daemon's answer is unreadable")?;
    if json {
        output::json(&reply)?;
    } else {
        print!("{}", reply.stdout);
        if !reply.stdout.is_empty()
            && !reply.stdout.ends_with('\n')
            && std::io::stdout().is_terminal()
        {
            println!();
        }
        let _ = std::io::stdout().flush();
        eprint!("{}", reply.stderr);
        for note in &reply.notes {
            eprintln!("skillet: {note}");
        }
    }
    let code = match reply.outcome.as_str() {
        "ok" => 0,
        "error" => reply.exit_status.unwrap_or(1).clamp(1, 255),
        "timeout" => i32::from(output::EXIT_TIMEOUT),
        _ => i32::from(output::EXIT_SKILLET_ERROR),
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

fn read_stdin() -> Result<String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!(
            "give the input as an argument, or pipe it: echo 'print(1)' | skillet session send ID"
        );
    }
    let mut text = String::new();
    stdin
        .read_to_string(&mut text)
        .context("cannot read stdin")?;
    Ok(text)
}

fn print_list(sessions: &[Value]) {
    if sessions.is_empty() {
        println!("no sessions; start one with `skillet session start NAME`");
        return;
    }
    let now = skillet_store::now_ms();
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or("-").to_owned();
            let detail = match s["status"].as_str() {
                Some("live") => format!("pid {}", s["pid"]),
                Some("open") => "conversation".to_owned(),
                _ => s["reason"].as_str().unwrap_or_default().to_owned(),
            };
            vec![
                text("id"),
                text("skill"),
                text("label"),
                text("status"),
                s["turns"].to_string(),
                output::ago(now - s["created_at_ms"].as_i64().unwrap_or(now)),
                detail,
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID", "SKILL", "LABEL", "STATUS", "TURNS", "STARTED", "DETAIL"
            ],
            &rows
        )
    );
}

fn print_logs(logs: &Value) {
    let s = &logs["session"];
    println!(
        "session {} of {} ({}{})",
        s["id"].as_str().unwrap_or_default(),
        s["skill"].as_str().unwrap_or_default(),
        s["status"].as_str().unwrap_or_default(),
        s["reason"]
            .as_str()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    for t in logs["turns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let status = t["exit_status"]
            .as_i64()
            .map(|c| format!(", status {c}"))
            .unwrap_or_default();
        println!(
            "\n[{}] {} {}{status}, {} ms, from {}",
            t["seq"],
            output::ago(skillet_store::now_ms() - t["started_at_ms"].as_i64().unwrap_or(0)),
            t["outcome"].as_str().unwrap_or_default(),
            t["duration_ms"],
            t["source"].as_str().unwrap_or_default(),
        );
        for line in t["input"].as_str().unwrap_or_default().lines() {
            println!("> {line}");
        }
        print!("{}", t["stdout"].as_str().unwrap_or_default());
        for line in t["stderr"].as_str().unwrap_or_default().lines() {
            println!("! {line}");
        }
    }
}
