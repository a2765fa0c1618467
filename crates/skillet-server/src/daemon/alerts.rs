//! The daemon's alert watcher: every [`EVAL_INTERVAL`] it evaluates the `[[alerts]]` rules of
//! the global `skillet.toml` over the history (skillet-observe decides), and on each change
//! tells the user (the rule's command, its webhook) and records the event in the store.
//!
//! The state of every alert is restored from the store's events at start, so an alert that was
//! firing when a daemon stopped does not fire again under the next one.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use skillet_observe::{Alert, AlertState, Transition};
use skillet_store::{AlertEvent, Store, now_ms};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::log;

/// How often the rules are evaluated: a failing run is noticed within this, plus the time the
/// notification takes.
pub(super) const EVAL_INTERVAL: Duration = Duration::from_secs(2);

/// How long a notification (a command, a webhook) may take before it is given up.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Events read back at start to restore the alerts' states.
const RESTORE_EVENTS: usize = 2_000;

type Key = (String, String);

/// Watches `alerts` until `stop` turns true.
pub(super) fn spawn(alerts: Vec<Alert>, store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut states = restore(&store).await;
        let mut tick = tokio::time::interval(EVAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let now = now_ms();
            let (rules, reader) = (alerts.clone(), store.clone());
            let seen = tokio::task::spawn_blocking(move || {
                rules
                    .iter()
                    .map(|a| (a.name.clone(), a.evaluate(reader.as_ref(), now)))
                    .collect::<Vec<_>>()
            })
            .await;
            let Ok(seen) = seen else {
                log("alerts: skillet hit a bug evaluating the rules; they are skipped this time");
                continue;
            };
            for (alert, (name, result)) in alerts.iter().zip(seen) {
                match result {
                    Ok(checks) => step(alert, &checks, now, &mut states, &store),
                    Err(e) => log(&format!("alerts: cannot evaluate {name:?}: {e}")),
                }
            }
        }
    });
}

/// The last state of every (alert, skill) in the store.
async fn restore(store: &Arc<dyn Store>) -> BTreeMap<Key, AlertState> {
    let store = store.clone();
    let events = tokio::task::spawn_blocking(move || store.alert_events(RESTORE_EVENTS)).await;
    let mut states = BTreeMap::new();
    match events {
        Ok(Ok(events)) => {
            // Newest first: the first seen of a pair is its state.
            for e in events {
                states
                    .entry((e.name, e.skill))
                    .or_insert_with(|| AlertState {
                        firing: e.state == "firing",
                        clear_since_ms: None,
                    });
            }
        }
        Ok(Err(e)) => log(&format!(
            "alerts: cannot read past alert events ({e}); starting clear"
        )),
        Err(_) => log("alerts: skillet hit a bug reading past alert events; starting clear"),
    }
    states
}

/// Moves `alert`'s states on by `checks` (skill, holds, value), and tells of every change.
fn step(
    alert: &Alert,
    checks: &[(String, bool, Option<f64>)],
    now: i64,
    states: &mut BTreeMap<Key, AlertState>,
    store: &Arc<dyn Store>,
) {
    let mut seen: Vec<(String, bool, Option<f64>)> = checks.to_vec();
    // A firing skill without runs in the window any more no longer meets the condition.
    for ((name, skill), state) in states.iter() {
        if *name == alert.name && state.firing && !checks.iter().any(|(s, _, _)| s == skill) {
            seen.push((skill.clone(), false, None));
        }
    }
    for (skill, holds, value) in seen {
        let key = (alert.name.clone(), skill.clone());
        let before = states.get(&key).copied().unwrap_or_default();
        let (after, transition) = before.step(holds, now, alert.resolve_after_ms);
        states.insert(key, after);
        if let Some(transition) = transition {
            tokio::spawn(tell(
                alert.clone(),
                skill,
                transition,
                value,
                now,
                store.clone(),
            ));
        }
    }
}

/// Sends `alert`'s notifications for `transition` of `skill`, then records the event.
async fn tell(
    alert: Alert,
    skill: String,
    transition: Transition,
    value: Option<f64>,
    at_ms: i64,
    store: Arc<dyn Store>,
) {
    let event = json!({
        "alert": alert.name,
        "state": transition.as_str(),
        "skill": skill,
        "value": value,
        "condition": alert.when,
        "window_ms": alert.window_ms,
        "at_ms": at_ms,
    });
    log(&format!(
        "alert {:?} {} for {skill:?} ({} is {})",
        alert.name,
        transition.as_str(),
        alert.when,
        value.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
    ));
    let mut problems = Vec::new();
    if let Some(argv) = alert.rule.notify.command.as_ref().filter(|a| !a.is_empty())
        && let Err(e) = run_command(argv, &event).await
    {
        problems.push(format!("command: {e}"));
    }
    if let Some(url) = &alert.rule.notify.webhook
        && let Err(e) = post(url, &event).await
    {
        problems.push(format!("webhook: {e}"));
    }
    for p in &problems {
        log(&format!("alert {:?}: cannot notify: {p}", alert.name));
    }
    let record = AlertEvent {
        name: alert.name.clone(),
        skill,
        state: transition.as_str().to_owned(),
        value,
        condition: alert.when.clone(),
        at_ms,
        notified: if problems.is_empty() {
            "ok".to_owned()
        } else {
            problems.join("; ")
        },
    };
    let recorded = tokio::task::spawn_blocking(move || store.record_alert(&record)).await;
    if !matches!(recorded, Ok(Ok(()))) {
        log(&format!(
            "alert {:?}: the event could not be recorded",
            alert.name
        ));
    }
}

/// Runs the rule's command, the event as JSON on its stdin and in `SKILLET_ALERT_*`.
async fn run_command(argv: &[String], event: &serde_json::Value) -> Result<(), String> {
    let text = |k: &str| match &event[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env("SKILLET_ALERT_NAME", text("alert"))
        .env("SKILLET_ALERT_STATE", text("state"))
        .env("SKILLET_ALERT_SKILL", text("skill"))
        .env("SKILLET_ALERT_VALUE", text("value"))
        .env("SKILLET_ALERT_CONDITION", text("condition"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", argv[0]))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is fine.
        let _ = stdin.write_all(format!("{event}\n").as_bytes()).await;
    }
    match tokio::time::timeout(NOTIFY_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{:?} exited with {status}", argv[0])),
        Ok(Err(e)) => Err(format!("{:?}: {e}", argv[0])),
        Err(_) => Err(format!(
            "{:?} took longer than {} s and was killed",
            argv[0],
            NOTIFY_TIMEOUT.as_secs()
        )),
    }
}

/// POSTs the event to `url` as JSON.
async fn post(url: &str, event: &serde_json::Value) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .post(url)
        .json(event)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {}", answer.status()))
    }
}
