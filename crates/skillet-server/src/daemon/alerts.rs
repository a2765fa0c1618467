//! The daemon's alert watcher: every [`EVAL_INTERVAL`] it evaluates the `[[alerts]]` rules of
//! the global `skillet.toml` over the history (skillet-observe decides), and on each change
//! records the event in the store and then tells the user (the rule's command, its webhook).
//!
//! The rules are read again whenever the global file changes, so a daemon started before a
//! rule was written watches it too. Each alert's state is read back from the store at start,
//! and an event is recorded before anyone is told, so a daemon that stops while notifying does
//! not fire the alert again. The notifications of one alert of one skill go out in order, one
//! after the other; at most [`MAX_NOTIFYING`] go out at once.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use skillet_observe::{Alert, AlertState, SkillStats, StatsQuery, Transition, skill_stats};
use skillet_registry::Environment;
use skillet_store::{AlertEvent, Store, now_ms};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use super::config_stamp::ConfigStamp;
use super::{log, warn};

/// How often the rules are evaluated: a failing run is noticed within this, plus the time the
/// notification takes.
pub(super) const EVAL_INTERVAL: Duration = Duration::from_secs(2);

/// How long a notification (a command, a webhook) may take before it is given up.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Notifications going out at once: an outage of many skills does not start thousands of
/// commands (or connections) together; the rest wait their turn.
const MAX_NOTIFYING: usize = 16;

type Key = (String, String);

/// What the watcher shares with the daemon.
pub(super) struct Watch {
    /// Whether any rule is watched: the daemon then does not exit when idle.
    pub(super) active: AtomicBool,
}

/// The rules of the global configuration, and the file's stamp when they were read.
struct Rules {
    stamp: ConfigStamp,
    alerts: Vec<Alert>,
}

impl Rules {
    /// Reads the rules again if the file changed since; says what changed in the log.
    fn refresh(&mut self, env: &Environment) {
        if !self.stamp.changed() {
            return;
        }
        let rules = match skillet_registry::Config::load(env) {
            Ok(config) => config.alerts,
            Err(e) => {
                warn(&format!(
                    "alerts: the configuration is unreadable ({e}); keeping the rules read before"
                ));
                return;
            }
        };
        let (alerts, errors) = Alert::parse_all(&rules);
        for e in errors {
            warn(&format!("alerts: {e}; this rule is not evaluated"));
        }
        if alerts.len() != self.alerts.len() || alerts.iter().zip(&self.alerts).any(|(a, b)| a != b)
        {
            log(&format!(
                "watching {} alert rule(s) every {} s",
                alerts.len(),
                EVAL_INTERVAL.as_secs()
            ));
        }
        self.alerts = alerts;
    }
}

/// Watches the rules of `env`'s global configuration until `stop` turns true.
pub(super) fn spawn(
    env: Environment,
    store: Arc<dyn Store>,
    shared: Arc<Watch>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut rules = Rules {
            stamp: ConfigStamp::new(&env),
            alerts: Vec::new(),
        };
        let mut states = restore(&store).await;
        let notifier = Notifier::new(store.clone());
        let mut tick = tokio::time::interval(EVAL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            rules.refresh(&env);
            shared
                .active
                .store(!rules.alerts.is_empty(), Ordering::SeqCst);
            if rules.alerts.is_empty() {
                continue;
            }
            let now = now_ms();
            let (alerts, reader) = (rules.alerts.clone(), store.clone());
            let seen =
                tokio::task::spawn_blocking(move || evaluate(&alerts, reader.as_ref(), now)).await;
            let Ok(seen) = seen else {
                warn("alerts: skillet hit a bug evaluating the rules; they are skipped this time");
                continue;
            };
            for (alert, result) in rules.alerts.iter().zip(seen) {
                match result {
                    Ok(checks) => step(alert, &checks, now, &mut states, &notifier),
                    Err(e) => warn(&format!("alerts: cannot evaluate {:?}: {e}", alert.name)),
                }
            }
        }
    });
}

type Checks = Vec<(String, bool, Option<f64>)>;

/// One read of the history, shared by the rules that ask the same.
type StatsRead = Result<Vec<SkillStats>, String>;

/// Every rule's checks at `now`; rules with the same skill and window share one read.
fn evaluate(alerts: &[Alert], store: &dyn Store, now: i64) -> Vec<Result<Checks, String>> {
    let mut read: HashMap<(Option<String>, Option<i64>), StatsRead> = HashMap::new();
    alerts
        .iter()
        .map(|alert| {
            let query: StatsQuery = alert.query(now);
            let stats = read
                .entry((query.skill.clone(), query.since_ms))
                .or_insert_with(|| skill_stats(store, &query).map_err(|e| e.to_string()));
            match stats {
                Ok(stats) => Ok(alert.check_stats(stats)),
                Err(e) => Err(e.clone()),
            }
        })
        .collect()
}

/// The last state of every (alert, skill) in the store.
async fn restore(store: &Arc<dyn Store>) -> BTreeMap<Key, AlertState> {
    let store = store.clone();
    let events = tokio::task::spawn_blocking(move || store.alert_states()).await;
    let mut states = BTreeMap::new();
    match events {
        Ok(Ok(events)) => {
            for e in events {
                let firing = e.state == "firing";
                states.insert(
                    (e.name, e.skill),
                    AlertState {
                        firing,
                        clear_since_ms: None,
                    },
                );
            }
        }
        Ok(Err(e)) => warn(&format!(
            "alerts: cannot read past alert events ({e}); starting clear"
        )),
        Err(_) => warn("alerts: skillet hit a bug reading past alert events; starting clear"),
    }
    states
}

/// Moves `alert`'s states on by `checks` (skill, holds, value), and tells of every change.
fn step(
    alert: &Alert,
    checks: &Checks,
    now: i64,
    states: &mut BTreeMap<Key, AlertState>,
    notifier: &Notifier,
) {
    let mut seen = checks.clone();
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
        states.insert(key.clone(), after);
        if let Some(transition) = transition {
            notifier.tell(key, alert.clone(), transition, value, now);
        }
    }
}

/// Records events and sends their notifications: in order per alert and skill, a few at once.
struct Notifier {
    store: Arc<dyn Store>,
    slots: Arc<Semaphore>,
    /// The last notification of each alert and skill, which the next one waits for.
    last: std::sync::Mutex<HashMap<Key, JoinHandle<()>>>,
}

impl Notifier {
    fn new(store: Arc<dyn Store>) -> Notifier {
        Notifier {
            store,
            slots: Arc::new(Semaphore::new(MAX_NOTIFYING)),
            last: std::sync::Mutex::default(),
        }
    }

    fn tell(&self, key: Key, alert: Alert, transition: Transition, value: Option<f64>, at_ms: i64) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = last.remove(&key);
        let (store, slots) = (self.store.clone(), self.slots.clone());
        let skill = key.1.clone();
        let handle = tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            tell(alert, skill, transition, value, at_ms, store, slots).await;
        });
        last.insert(key, handle);
    }
}

/// Records `transition` of `alert` for `skill`, then sends its notifications and records how
/// they went.
async fn tell(
    alert: Alert,
    skill: String,
    transition: Transition,
    value: Option<f64>,
    at_ms: i64,
    store: Arc<dyn Store>,
    slots: Arc<Semaphore>,
) {
    let record = AlertEvent {
        name: alert.name.clone(),
        skill: skill.clone(),
        state: transition.as_str().to_owned(),
        value,
        condition: alert.when.clone(),
        at_ms,
        notified: "pending".to_owned(),
    };
    let writer = store.clone();
    let id = match tokio::task::spawn_blocking(move || writer.record_alert(&record)).await {
        Ok(Ok(id)) => Some(id),
        _ => {
            warn(&format!(
                "alert {:?}: the event could not be recorded",
                alert.name
            ));
            None
        }
    };
    log(&format!(
        "alert {:?} {} for {skill:?} ({} is {})",
        alert.name,
        transition.as_str(),
        alert.when,
        value.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
    ));
    let event = json!({
        "alert": alert.name,
        "state": transition.as_str(),
        "skill": skill,
        "value": value,
        "condition": alert.when,
        "window_ms": alert.window_ms,
        "at_ms": at_ms,
    });
    let Ok(_slot) = slots.acquire().await else {
        return;
    };
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
        warn(&format!("alert {:?}: cannot notify: {p}", alert.name));
    }
    let notified = if problems.is_empty() {
        "ok".to_owned()
    } else {
        problems.join("; ")
    };
    if let Some(id) = id {
        let _ = tokio::task::spawn_blocking(move || store.set_alert_notified(id, &notified)).await;
    }
}

/// Runs the rule's command, the event as JSON on its stdin and in `SKILLET_ALERT_*`, in a
/// process group of its own that is killed whole when it takes too long.
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
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", argv[0]))?;
    let group = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    let mut stdin = child.stdin.take();
    let talk = async {
        if let Some(stdin) = stdin.as_mut() {
            // A command that does not read its stdin is fine.
            let _ = stdin.write_all(format!("{event}\n").as_bytes()).await;
        }
        drop(stdin.take());
        child.wait().await
    };
    let waited = tokio::time::timeout(NOTIFY_TIMEOUT, talk).await;
    match waited {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("{:?} exited with {status}", argv[0])),
        Ok(Err(e)) => Err(format!("{:?}: {e}", argv[0])),
        Err(_) => {
            // Everything it started goes with it.
            if let Some(group) = group {
                let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            }
            Err(format!(
                "{:?} took longer than {} s and was killed",
                argv[0],
                NOTIFY_TIMEOUT.as_secs()
            ))
        }
    }
}

/// `url` as logs and the store may say it: its scheme, host and port only (a webhook's path
/// or query often is its secret).
fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "the webhook".to_owned(),
    }
}

/// POSTs the event to `url` as JSON.
async fn post(url: &str, event: &serde_json::Value) -> Result<(), String> {
    let shown = origin(url);
    let client = reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let answer = client.post(url).json(event).send().await.map_err(|e| {
        let why = if e.is_timeout() {
            format!("no answer within {} s", NOTIFY_TIMEOUT.as_secs())
        } else {
            e.without_url().to_string()
        };
        format!("{shown}: {why}")
    })?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("{shown} answered {}", answer.status()))
    }
}
