//! `skillet session …` and `skillet run NAME --session ID`: requests to the daemon, printed.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use skillet_engine::session::{Reply, SessionStart};
use skillet_server::api::{
    Session, SessionListParams, SessionLogsReply, SessionPipeParams, SessionSendParams,
    SessionStartParams,
};
use skillet_server::{Client, SocketPaths};
use skillet_store::{SessionStatus, StoreError};

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
pub(crate) fn refuse_damaged_store(ctx: &Context) -> Result<()> {
    match ctx.store() {
        Err(e) if matches!(e.downcast_ref(), Some(StoreError::Corrupt { .. })) => Err(e),
        _ => Ok(()),
    }
}

/// A connection to the daemon, started in the background when needed.
pub(crate) fn client(socket: Option<&Path>) -> Result<Client> {
    let paths = socket_paths(socket)?;
    let exe = std::env::current_exe()
        .context("cannot find the skillet executable to start the daemon")?;
    Ok(Client::connect_or_start(&paths, &exe)?)
}

/// The daemon's job queue, for runs this process makes itself (`batch`, `mcp` on stdio), at
/// most `cap` at once; `who` names the command in the one warning said when the daemon cannot
/// be asked. `None` (said on stderr) when there is no place for a daemon at all: the command's
/// own cap then bounds its runs, as it would with a daemon that cannot start.
pub(crate) fn daemon_queue(
    cap: usize,
    who: &'static str,
) -> Option<std::sync::Arc<dyn skillet_engine::RunQueue>> {
    let warn = move |why: &str| eprintln!("{who}: warning: {}", output::text(why));
    let found = socket_paths(None).and_then(|paths| {
        let exe = std::env::current_exe()
            .context("cannot find the skillet executable to start the daemon")?;
        Ok((paths, exe))
    });
    match found {
        Ok((paths, exe)) => Some(std::sync::Arc::new(skillet_server::DaemonQueue::new(
            paths, exe, cap, warn,
        ))),
        Err(e) => {
            warn(&format!(
                "runs wait under this process's own cap only, not in the skillet daemon's queue: {e:#}"
            ));
            None
        }
    }
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
            let registry = ctx.registry_for(name);
            if registry.resolve(name).is_none() {
                return Err(crate::commands::info::not_found(&registry, name));
            }
            let params = SessionStartParams {
                skill: name.clone(),
                start: SessionStart {
                    params: values.values()?,
                    label: label.clone(),
                    caller_dir: ctx.env.cwd.clone(),
                    overrides: allow.overrides(*keep_tmp),
                    replace_oldest: *replace_oldest,
                },
            };
            let session = client(socket)?.session_start(&params)?;
            if *json {
                output::json(&session)?;
            } else {
                println!("{}", output::field(&session.id));
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Send {
            id,
            input,
            from,
            json,
        } => {
            let (input, from) = match (input, from) {
                (_, Some(from)) => (None, Some(from.clone())),
                (Some(input), None) => (Some(input.clone()), None),
                (None, None) => (Some(read_stdin()?), None),
            };
            let params = SessionSendParams {
                id: id.clone(),
                skill: None,
                input,
                from,
            };
            send(socket, &params, *json)
        }
        SessionCommand::List {
            skill,
            status,
            limit,
            json,
        } => {
            let params = SessionListParams {
                skill: skill.clone(),
                status: status.as_deref().map(SessionStatus::from),
                limit: Some(*limit),
            };
            let sessions = client(socket)?.session_list(&params)?;
            if *json {
                output::json(&sessions)?;
            } else {
                print_list(&sessions);
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Close { id, json } => {
            let session = client(socket)?.session_close(id)?;
            if *json {
                output::json(&session)?;
            } else {
                println!("closed session {}", output::field(&session.id));
            }
            Ok(ExitCode::SUCCESS)
        }
        SessionCommand::Logs { id, json } => {
            let logs = client(socket)?.session_logs(id)?;
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
                // A resumed conversation is never cached: it goes on from what was said.
                cache: skillet_engine::CacheUse::Off,
                observe: None,
            };
            crate::commands::conversation::resume(ctx, id, &options)
        }
        SessionCommand::Pipe {
            from,
            to,
            stop,
            json,
        } => {
            let params = SessionPipeParams {
                from: from.clone(),
                to: to.clone(),
                stop: *stop,
            };
            let result = client(socket)?.session_pipe(&params)?;
            if *json {
                output::json(&result)?;
            } else if *stop {
                match result.removed {
                    Some(true) => println!(
                        "removed the pipe from {} to {}",
                        output::field(from),
                        output::field(to)
                    ),
                    _ => println!(
                        "there was no pipe from {} to {}",
                        output::field(from),
                        output::field(to)
                    ),
                }
            } else {
                println!(
                    "every later output of {} now goes on to {}",
                    output::field(&result.from),
                    output::field(&result.to)
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
    let params = SessionSendParams {
        id: id.to_owned(),
        skill: Some(args.name.clone()),
        input: Some(input),
        from: None,
    };
    if !(args.debug || args.profile) {
        return send(None, &params, args.json);
    }
    // `--debug`, `--profile`: the exchange's phases as the daemon measured them, and what the
    // command itself took around them.
    let sent = exchange(None, &params)?;
    let insight = super::run_insight::ExchangeInsight {
        wall: sent.wall,
        connect: sent.connect,
        socket: sent.socket,
        debug: args.debug,
        profile: args.profile,
    };
    let reply = sent.reply;
    if args.json {
        let mut shown = serde_json::to_value(&reply)?;
        if let serde_json::Value::Object(fields) = &mut shown {
            fields.extend(insight.json(&reply));
        }
        output::json(&shown)?;
        return Ok(exit_code(&reply));
    }
    let code = print_reply(&reply, false)?;
    let _ = insight.write(&mut std::io::stderr().lock(), &reply);
    Ok(code)
}

fn send(socket: Option<&Path>, params: &SessionSendParams, json: bool) -> Result<ExitCode> {
    print_reply(&exchange(socket, params)?.reply, json)
}

/// One `session.send`, with the time it took to reach the daemon and in all.
struct Sent {
    reply: Reply,
    socket: PathBuf,
    connect: std::time::Duration,
    wall: std::time::Duration,
}

fn exchange(socket: Option<&Path>, params: &SessionSendParams) -> Result<Sent> {
    let started = std::time::Instant::now();
    let paths = socket_paths(socket)?;
    let mut client = client(socket)?;
    let connect = started.elapsed();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if std::io::stderr().is_terminal() {
        say_if_restoring(paths.clone(), params.id.clone(), done.clone());
    }
    let reply = client.session_send(params);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(Sent {
        reply: reply?,
        socket: paths.socket,
        connect,
        wall: started.elapsed(),
    })
}

/// On a terminal, a send that has not been answered after a moment, to a session the daemon
/// is still restoring after a restart, says that it is waiting for it rather than hanging
/// silently.
fn say_if_restoring(
    paths: SocketPaths,
    id: String,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        if done.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let query = SessionListParams {
            status: Some(SessionStatus::Restoring),
            ..SessionListParams::default()
        };
        let Ok(restoring) = Client::connect(&paths).and_then(|mut c| c.session_list(&query)) else {
            return;
        };
        if let Some(s) = restoring.iter().find(|s| s.id.starts_with(&id))
            && !done.load(std::sync::atomic::Ordering::SeqCst)
        {
            eprintln!(
                "skillet: session {} is being restored after a daemon restart; waiting for it (at most {} s)",
                s.id,
                skillet_engine::session::RESTORE_WAIT.as_secs()
            );
        }
    });
}

fn print_reply(reply: &Reply, json: bool) -> Result<ExitCode> {
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
            eprintln!("skillet: {}", output::text(note));
        }
    }
    Ok(exit_code(reply))
}

fn exit_code(reply: &Reply) -> ExitCode {
    let code = match reply.outcome.as_str() {
        "ok" => 0,
        "error" => reply.exit_status.unwrap_or(1).clamp(1, 255),
        "timeout" => i32::from(output::EXIT_TIMEOUT),
        _ => i32::from(output::EXIT_SKILLET_ERROR),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
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

fn print_list(sessions: &[Session]) {
    if sessions.is_empty() {
        println!("no sessions; start one with `skillet session start NAME`");
        return;
    }
    let now = skillet_store::now_ms();
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let detail = match s.status {
                SessionStatus::Live => {
                    format!("pid {}", s.pid.map_or("null".to_owned(), |p| p.to_string()))
                }
                SessionStatus::Open => "conversation".to_owned(),
                _ => s.reason.clone().unwrap_or_default(),
            };
            vec![
                s.id.clone(),
                s.skill.clone(),
                s.label.clone().unwrap_or_else(|| "-".to_owned()),
                s.status.as_str().to_owned(),
                s.turns.to_string(),
                output::ago(now - s.created_at_ms),
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

/// A transcript from the store: unlike a live `session send`, every text in it (the input,
/// the skill's output) is shown made safe, as `history` shows its rows.
fn print_logs(logs: &SessionLogsReply) {
    let s = &logs.session;
    println!(
        "session {} of {} ({}{})",
        output::field(&s.id),
        output::field(&s.skill),
        output::field(s.status.as_str()),
        s.reason
            .as_deref()
            .map(|r| format!(": {}", output::field(r)))
            .unwrap_or_default()
    );
    for t in &logs.turns {
        let status = t
            .exit_status
            .map(|c| format!(", status {c}"))
            .unwrap_or_default();
        println!(
            "\n[{}] {} {}{status}, {} ms, from {}",
            t.seq,
            output::ago(skillet_store::now_ms() - t.started_at_ms),
            t.outcome.as_str(),
            t.duration_ms,
            output::field(&t.source),
        );
        for line in t.input.lines() {
            println!("> {}", output::field(line));
        }
        print!("{}", output::text(&t.stdout));
        for line in t.stderr.lines() {
            println!("! {}", output::field(line));
        }
    }
}
