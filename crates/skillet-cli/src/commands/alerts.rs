//! `skillet alerts`: prints the rules of the global configuration (skillet-observe reads
//! them), each alert's state from the store's events, and the latest events.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use serde_json::json;
use skillet_observe::Alert;
use skillet_server::{Client, ClientError};
use skillet_store::{AlertEvent, now_ms};

use crate::cli::AlertsArgs;
use crate::context::Context;
use crate::output;

/// An alert's state, from its newest event.
#[derive(Serialize)]
struct State {
    name: String,
    skill: String,
    state: String,
    since_ms: i64,
    value: Option<f64>,
}

pub fn run(ctx: &Context, args: &AlertsArgs) -> Result<ExitCode> {
    let (rules, errors) = Alert::parse_all(&ctx.config.alerts);
    let (events, latest): (Vec<AlertEvent>, Vec<AlertEvent>) = if ctx.config.alerts.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let store = ctx.store()?;
        (store.alert_events(args.events)?, store.alert_states()?)
    };
    let states: BTreeMap<(String, String), State> = latest
        .into_iter()
        .map(|e| {
            let key = (e.name.clone(), e.skill.clone());
            let state = State {
                name: e.name,
                skill: e.skill,
                state: e.state,
                since_ms: e.at_ms,
                value: e.value,
            };
            (key, state)
        })
        .collect();
    let running = super::session::socket_paths(None)
        .ok()
        .is_some_and(|paths| !matches!(Client::connect(&paths), Err(ClientError::NotRunning(_))));
    let recent = &events[..];
    if args.json {
        let rules: Vec<_> = rules
            .iter()
            .map(|a| {
                json!({"name": a.name, "skill": a.skill, "when": a.when, "window_ms": a.window_ms,
                       "min_runs": a.min_runs, "resolve_after_ms": a.resolve_after_ms,
                       "command": a.rule.notify.command, "webhook": a.rule.notify.webhook})
            })
            .collect();
        output::json(&json!({
            "daemon_running": running,
            "rules": rules,
            "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "states": states.values().collect::<Vec<_>>(),
            "events": recent,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.config.alerts.is_empty() {
        println!(
            "no alert rules: add [[alerts]] to the global skillet.toml (`skillet alerts --help` shows one)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in &errors {
        eprintln!("skillet: warning: {e}; this rule is not evaluated");
    }
    let now = now_ms();
    let mut rows = Vec::new();
    for a in &rules {
        let window = format!("{}s", a.window_ms / 1000);
        let mine: Vec<&State> = states.values().filter(|s| s.name == a.name).collect();
        if mine.is_empty() {
            rows.push(vec![
                a.name.clone(),
                a.skill.clone().unwrap_or_else(|| "(every skill)".into()),
                a.when.clone(),
                window.clone(),
                "never fired".into(),
            ]);
        }
        for s in mine {
            rows.push(vec![
                a.name.clone(),
                s.skill.clone(),
                a.when.clone(),
                window.clone(),
                format!(
                    "{} {}",
                    s.state,
                    output::ago(now.saturating_sub(s.since_ms))
                ),
            ]);
        }
    }
    print!(
        "{}",
        output::table(&["ALERT", "SKILL", "WHEN", "WINDOW", "STATE"], &rows)
    );
    if !running {
        println!(
            "\nthe daemon is not running, so nothing is watched now: `skillet serve` runs it (with rules it stays up)"
        );
    }
    if !recent.is_empty() {
        println!("\nlatest events:");
        let rows: Vec<Vec<String>> = recent
            .iter()
            .map(|e| {
                vec![
                    output::ago(now.saturating_sub(e.at_ms)),
                    e.name.clone(),
                    e.skill.clone(),
                    e.state.clone(),
                    e.value.map_or_else(|| "-".into(), |v| format!("{v:.3}")),
                    output::one_line(&e.notified),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(
                &["WHEN", "ALERT", "SKILL", "STATE", "VALUE", "NOTIFIED"],
                &rows
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}
