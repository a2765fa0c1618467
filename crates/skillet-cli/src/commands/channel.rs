//! `skillet channel`: send, read, follow, list and clear the named channels of a workspace.
//! The user may address any channel of a skill found here; a skill's own reach is the
//! engine's rule (skillet-engine/src/channels).

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::Serialize;
use skillet_engine::channels::{ChannelError, USER_SENDER, channel_limits, refusal, user_channel};
use skillet_store::{ChannelKey, ChannelMessage, ChannelSend, Store};

use crate::cli::ChannelCommand;
use crate::context::Context;
use crate::output;

/// How often `read --follow` looks for new messages (senders may be other processes).
const FOLLOW_POLL: Duration = Duration::from_millis(100);
/// Messages fetched at a time.
const PAGE: usize = 500;

pub fn run(ctx: &Context, args: &ChannelCommand, workspace: &Path) -> Result<ExitCode> {
    let store = ctx.store()?;
    let store = store.as_ref();
    match args {
        ChannelCommand::Send { channel, message } => {
            let key = address(ctx, workspace, channel)?;
            let body = if message == "-" {
                stdin_message()?
            } else {
                message.clone()
            };
            let sent = store.send_message(&key, USER_SENDER, &body, &channel_limits())?;
            if let Some(why) = refusal(&sent, channel) {
                return Err(output::failure(1, why, None));
            }
            if let ChannelSend::Sent(seq) = sent {
                eprintln!("skillet: sent message {seq} on {}", output::field(channel));
            }
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Read {
            channel,
            since,
            follow,
            json,
        } => {
            let key = address(ctx, workspace, channel)?;
            read(store, &key, *since, *follow, *json)
        }
        ChannelCommand::Ls { json } => list(ctx, store, workspace, *json),
        ChannelCommand::Clear { channel } => {
            let key = address(ctx, workspace, channel)?;
            let n = store.clear_channel(&key)?;
            eprintln!(
                "skillet: removed {n} message{} from {}",
                if n == 1 { "" } else { "s" },
                output::field(channel)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn address(ctx: &Context, workspace: &Path, channel: &str) -> Result<ChannelKey> {
    let skill = channel.split_once('/').map_or(channel, |(s, _)| s);
    let registry = ctx.registry_for(skill);
    user_channel(&registry, workspace, channel).map_err(|e| {
        let hint = match &e {
            ChannelError::BadAddress(_) => Some("e.g. skillet channel read py/news".into()),
            _ => None,
        };
        output::failure(1, e.to_string(), hint)
    })
}

/// The message on standard input, refused past the largest a channel keeps.
fn stdin_message() -> Result<String> {
    let max = channel_limits().max_message_bytes;
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    if bytes.len() > max {
        return Err(output::failure(
            1,
            format!(
                "standard input holds more than the {} KiB a message may hold; nothing was sent",
                max / 1024
            ),
            Some("send a smaller message (a file's path, say, rather than its contents)".into()),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        output::failure(
            1,
            "standard input is not UTF-8 text; nothing was sent",
            None,
        )
    })
}

fn read(
    store: &dyn Store,
    key: &ChannelKey,
    since: i64,
    follow: bool,
    json: bool,
) -> Result<ExitCode> {
    let ttl = channel_limits().ttl_ms;
    let mut last = since;
    if !follow {
        let mut all = Vec::new();
        loop {
            let page = store.read_messages(key, last, PAGE, ttl)?;
            let Some(end) = page.last().map(|m| m.seq) else {
                break;
            };
            last = end;
            if json {
                all.extend(page);
            } else {
                print_messages(&page, false)?;
            }
        }
        if json {
            output::json(&all)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        let page = store.read_messages(key, last, PAGE, ttl)?;
        match page.last() {
            Some(m) => {
                last = m.seq;
                print_messages(&page, json)?;
            }
            None => std::thread::sleep(FOLLOW_POLL),
        }
    }
}

fn print_messages(messages: &[ChannelMessage], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for m in messages {
        if json {
            writeln!(out, "{}", crate::output::json_line(m)?)?;
        } else {
            writeln!(
                out,
                "{} {} {}: {}",
                m.seq,
                output::rfc3339(m.sent_at_ms),
                output::field(&m.sender),
                // Later lines of a body are indented: a message cannot print a line that reads
                // as another message, from another sender.
                output::text(&m.body).replace('\n', "\n    ")
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct Listed {
    /// SKILL/NAME, when the owning skill is found here.
    channel: Option<String>,
    #[serde(flatten)]
    info: skillet_store::ChannelInfo,
}

fn list(ctx: &Context, store: &dyn Store, workspace: &Path, json: bool) -> Result<ExitCode> {
    let ws = skillet_engine::state::state_key_workspace(workspace);
    let registry = ctx.registry();
    let owners: Vec<(String, String)> = registry
        .entries()
        .iter()
        .filter(|e| registry.resolve(&e.name).is_some_and(|r| r.path == e.path))
        .map(|e| (skillet_engine::state::state_owner(e), e.name.clone()))
        .collect();
    let rows: Vec<Listed> = store
        .channels(&ws)?
        .into_iter()
        .map(|info| Listed {
            channel: owners
                .iter()
                .find(|(o, _)| *o == info.key.owner)
                .map(|(_, n)| format!("{n}/{}", info.key.name)),
            info,
        })
        .collect();
    if json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!(
            "skillet: no channels in this workspace yet; `skillet channel send SKILL/NAME MSG` makes one"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                output::cell(r.channel.as_deref().unwrap_or("-")).into_owned(),
                output::cell(&r.info.key.owner).into_owned(),
                r.info.messages.to_string(),
                r.info.bytes.to_string(),
                r.info.last_seq.to_string(),
                r.info
                    .last_sent_at_ms
                    .map_or_else(|| "-".into(), |t| output::ago(skillet_store::now_ms() - t)),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &["CHANNEL", "OWNER", "MESSAGES", "BYTES", "LAST", "SENT"],
            &table
        )
    );
    Ok(ExitCode::SUCCESS)
}
