//! The daemon's trace exporter: every [`EXPORT_INTERVAL`] it sends the executions recorded
//! since its last look to the OpenTelemetry collector that `[telemetry] otlp_endpoint` of the
//! global `skillet.toml` names (skillet-otlp maps and sends them), whoever ran them: the
//! command line, MCP clients, jobs.
//!
//! Export happens here, never on a run's path: a run only writes its history row, as always,
//! so a slow or absent collector costs a run nothing. An export that fails is tried again on
//! the next tick; executions that started more than [`LOOKBACK`] ago are not looked for any
//! more (a collector down for longer loses them, and the log says so).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use skillet_registry::Environment;
use skillet_store::{ExecutionQuery, ExecutionRecord, Store, now_ms};
use tokio::sync::watch;

use super::config_stamp::ConfigStamp;
use super::{log, warn};

/// How often new executions are looked for and sent.
const EXPORT_INTERVAL: Duration = Duration::from_secs(2);

/// How far back executions are looked for: one that started earlier and is not sent yet is
/// given up.
const LOOKBACK_MS: i64 = 10 * 60 * 1000;

/// Executions sent per request.
const BATCH: usize = 512;

/// Executions not sent yet taken per look at most (the newest; the rest wait for the next).
const PER_LOOK: usize = 4_096;

/// What the exporter shares with the daemon.
pub(super) struct Export {
    /// Whether traces are being exported: the daemon then does not exit when idle.
    pub(super) active: AtomicBool,
}

/// Exports until `stop` turns true.
pub(super) fn spawn(
    env: Environment,
    store: Arc<dyn Store>,
    shared: Arc<Export>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let started = now_ms();
        let mut stamp = ConfigStamp::new(&env);
        let mut exporter: Option<Exporter> = None;
        let mut sent: HashMap<String, i64> = HashMap::new();
        let mut last_complaint: Option<Instant> = None;
        let mut tick = tokio::time::interval(EXPORT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if stamp.changed() {
                exporter = configure(&env, exporter.take());
                shared.active.store(exporter.is_some(), Ordering::SeqCst);
            }
            let Some(export) = &exporter else {
                continue;
            };
            // Only what ran since the daemon started (it does not replay the history), and
            // not further back than the lookback.
            let since = started.max(now_ms() - LOOKBACK_MS);
            sent.retain(|_, at| *at >= since);
            let reader = store.clone();
            // What was sent is skipped while reading, not after a limit: a backlog (a collector
            // that was down, a burst of runs) is all found, a look at a time.
            let already: HashSet<String> = sent.keys().cloned().collect();
            let read = tokio::task::spawn_blocking(move || {
                let mut fresh = Vec::new();
                let query = ExecutionQuery {
                    since_ms: Some(since),
                    ..ExecutionQuery::default()
                };
                reader
                    .scan(&query, &mut |r| {
                        if !already.contains(&r.id) {
                            fresh.push(r);
                        }
                        fresh.len() < PER_LOOK
                    })
                    .map(|()| fresh)
            })
            .await;
            let fresh: Vec<ExecutionRecord> = match read {
                Ok(Ok(rows)) => rows,
                Ok(Err(e)) => {
                    complain(
                        &mut last_complaint,
                        &format!("telemetry: cannot read the history: {e}"),
                    );
                    continue;
                }
                Err(_) => continue,
            };
            if fresh.is_empty() {
                continue;
            }
            for chunk in fresh.chunks(BATCH) {
                if let Err(e) = export.traces.export(chunk).await {
                    complain(
                        &mut last_complaint,
                        &format!("telemetry: {e}; trying again"),
                    );
                    break;
                }
                for r in chunk {
                    sent.insert(r.id.clone(), r.started_at_ms);
                }
            }
        }
    });
}

/// The exporter the configuration asks for now, saying in the log what changed.
struct Exporter {
    traces: skillet_otlp::TraceExport,
}

fn configure(env: &Environment, before: Option<Exporter>) -> Option<Exporter> {
    let settings = match skillet_registry::Config::load(env) {
        Ok(config) => config.telemetry,
        Err(e) => {
            warn(&format!(
                "telemetry: the configuration is unreadable ({e}); keeping the export as it was"
            ));
            return before;
        }
    };
    let Some(endpoint) = settings.otlp_endpoint.filter(|e| !e.trim().is_empty()) else {
        if before.is_some() {
            log("telemetry: [telemetry] otlp_endpoint is gone; traces are no longer exported");
        }
        return None;
    };
    let service = settings.service_name.unwrap_or_else(|| "skillet".into());
    match skillet_otlp::TraceExport::new(&endpoint, &service) {
        Ok(traces) => {
            if before.as_ref().map(|b| b.traces.endpoint()) != Some(traces.endpoint()) {
                log(&format!(
                    "telemetry: exporting each execution's trace to {} every {} s",
                    traces.endpoint(),
                    EXPORT_INTERVAL.as_secs()
                ));
            }
            Some(Exporter { traces })
        }
        Err(e) => {
            warn(&format!("telemetry: {e}; traces are not exported"));
            None
        }
    }
}

/// Says `what` in the log, once a minute at most: a collector that stays down does not fill
/// the log.
fn complain(last: &mut Option<Instant>, what: &str) {
    if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
        *last = Some(Instant::now());
        warn(what);
    }
}
