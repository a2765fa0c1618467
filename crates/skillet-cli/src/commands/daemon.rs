//! `skillet serve` and `skillet daemon status|stop`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::json;
use skillet_server::api::StatusReply;
use skillet_server::{Client, ClientError, DEFAULT_IDLE_TIMEOUT, DaemonOptions, HttpMcp};

use crate::cli::{DaemonCommand, ServeArgs};
use crate::commands::session::socket_paths;
use crate::context::Context;
use crate::output;

pub fn serve(ctx: &Context, args: &ServeArgs) -> Result<ExitCode> {
    let paths = socket_paths(args.socket.as_deref())?;
    let http = super::mcp::http_options(args, &paths)?.map(|options| HttpMcp {
        options,
        max_concurrent_calls: super::mcp::max_concurrent(ctx, args.max_concurrent),
    });
    let idle_timeout = args
        .idle_timeout
        .or(ctx.config.daemon.idle_timeout)
        .map_or(DEFAULT_IDLE_TIMEOUT, Duration::from_secs);
    let store = match ctx.store_serving() {
        Ok(store) => Some(store),
        Err(e) => {
            eprintln!(
                "skillet: warning: sessions are not recorded: {}",
                crate::output::text(&crate::output::explain_with_hint(&e))
            );
            None
        }
    };
    let options = DaemonOptions {
        paths,
        idle_timeout,
        store: store.map(|s| s as Arc<dyn skillet_store::Store>),
        env: ctx.env.clone(),
        http,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(skillet_server::serve(options))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(command: &DaemonCommand, socket: Option<&Path>) -> Result<ExitCode> {
    let paths = socket_paths(socket)?;
    match command {
        DaemonCommand::Status { json } => match asked_status(&paths) {
            Ok((_, status)) => {
                if *json {
                    output::json(&json!({"running": true, "daemon": status}))?;
                } else {
                    print_status(&status);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) if is_stopping(&e) => {
                if *json {
                    output::json(&json!({"running": true, "stopping": true}))?;
                } else {
                    println!(
                        "the skillet daemon on {} is stopping",
                        paths.socket.display()
                    );
                }
                Ok(ExitCode::FAILURE)
            }
            Err(ClientError::NotRunning(socket)) => {
                if *json {
                    output::json(&json!({"running": false, "socket": socket}))?;
                } else {
                    println!("no skillet daemon is running on {}", socket.display());
                }
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        },
        DaemonCommand::Stop { json } => {
            // Another `daemon stop` (or SIGTERM) got there first: it is on its way out.
            let stopping = |json: bool| -> Result<ExitCode> {
                if json {
                    output::json(&json!({"stopped": false, "running": true, "stopping": true}))?;
                } else {
                    println!("the skillet daemon is already stopping");
                }
                Ok(ExitCode::SUCCESS)
            };
            let (mut client, status) = match asked_status(&paths) {
                Ok(asked) => asked,
                Err(ClientError::NotRunning(socket)) => {
                    if *json {
                        output::json(&json!({"stopped": false, "running": false}))?;
                    } else {
                        println!("no skillet daemon is running on {}", socket.display());
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) if is_stopping(&e) => return stopping(*json),
                Err(e) => return Err(e.into()),
            };
            match client.stop() {
                Err(e) if is_stopping(&e) => return stopping(*json),
                other => other?,
            };
            // It ends its sessions first; wait until it has exited. Not until its socket is
            // gone: a command racing this one may already have started the next daemon there.
            let started = Instant::now();
            let exited = || i32::try_from(status.pid).map_or(true, skillet_sandbox::has_exited);
            while !exited() && started.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(20));
            }
            if *json {
                output::json(&json!({"stopped": true, "pid": status.pid}))?;
            } else {
                println!(
                    "stopped the skillet daemon (pid {}) and its {} live session(s)",
                    status.pid, status.live_sessions
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// How long `daemon status` and `daemon stop` ask again a daemon that answers `busy`.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// A connection to the daemon and its status. A daemon whose every connection is taken
/// answers `busy` past the few it keeps for status and stop: asked again on a new connection,
/// after the wait it names, for [`BUSY_WAIT`] at most.
fn asked_status(paths: &skillet_server::SocketPaths) -> Result<(Client, StatusReply), ClientError> {
    let until = Instant::now() + BUSY_WAIT;
    loop {
        let asked = Client::connect(paths).and_then(|mut client| {
            let status = client.status()?;
            Ok((client, status))
        });
        match asked {
            Err(ClientError::Refused(e))
                if e.code == skillet_server::api::ErrorCode::Busy && Instant::now() < until =>
            {
                let wait = e.retry_after_ms.unwrap_or(200).clamp(10, 1_000);
                std::thread::sleep(Duration::from_millis(wait));
            }
            // Turned away before the request was read (the refusal raced it): asked again.
            Err(ClientError::Closed { .. }) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Whether the daemon answered that it has begun to stop.
fn is_stopping(e: &ClientError) -> bool {
    e.code() == Some(skillet_server::api::ErrorCode::Stopping)
}

fn print_status(status: &StatusReply) {
    println!("running:       pid {}", status.pid);
    // The daemon's answer: shown as any text from another process is.
    println!("socket:        {}", crate::output::path(&status.socket));
    println!("up:            {} s", status.uptime_ms / 1000);
    println!("live sessions: {}", status.live_sessions);
    if status.idle_timeout_s == u64::MAX {
        println!("idle exit:     never (it serves HTTP)");
    } else {
        println!(
            "idle exit:     after {} s with no session and no client",
            status.idle_timeout_s
        );
    }
}
