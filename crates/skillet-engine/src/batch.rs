//! Many calls at once (`skillet batch`): a file of calls, run a bounded number at a time, each
//! result handed back as it finishes or in the order the calls were given.
//!
//! Every call is an ordinary [`Engine::run`]: the same sandbox, limits, retries, breakers, cache
//! and history as `skillet run`. What this adds is the bound on how many run together and the
//! order results come back in. The calls are all read and checked before the first one starts,
//! so a typo on line 90 does not leave 89 calls done and the rest not.
//!
//! The calls run in the calling process. Given a [`RunQueue`] (the CLI gives the daemon's job
//! queue), each also waits there for its turn, so a batch shares `max_running`, the memory
//! budget and fair share with everything else the user runs (docs/jobs.md). Each call's history
//! row says how long it waited, from the moment the batch began (origin `batch`, request
//! `line N`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Map, Value};
use skillet_registry::Registry;
use skillet_sandbox::StdinSource;

use crate::cancel::Cancel;
use crate::engine::{AskedBy, Engine, RunOverrides, RunRequest};
use crate::result::{ExecutionResult, Status};
use crate::run_queue::{Priority, QueuedRun, RunQueue, Turn};

/// One call in a batch file: one JSON object per line.
///
/// ```
/// let calls = skillet_engine::parse_batch(r#"{"skill": "greet", "params": {"who": "you"}}"#).unwrap();
/// assert_eq!(calls[0].skill, "greet");
/// assert_eq!(calls[0].line, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchCall {
    /// The skill's name or alias.
    pub skill: String,
    /// Its parameters, as `skillet run --params` takes them.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Text given to the skill on standard input; none gives it end of file at once.
    #[serde(default)]
    pub stdin: Option<String>,
    /// How soon it leaves the daemon's queue; none: the batch's (`--priority`).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// The line of the file it came from (1-based), to name it in messages.
    #[serde(skip)]
    pub line: usize,
}

/// A line of a batch file that is not a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct BatchLineError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads a batch file: one call per line, blank lines skipped. Every bad line is reported, so
/// one pass fixes them all; nothing runs unless every line is a call.
pub fn parse_batch(text: &str) -> Result<Vec<BatchCall>, Vec<BatchLineError>> {
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        match serde_json::from_str::<BatchCall>(trimmed) {
            Ok(mut call) if !call.skill.trim().is_empty() => {
                call.line = line_no;
                calls.push(call);
            }
            Ok(_) => errors.push(BatchLineError {
                line: line_no,
                reason: "`skill` is empty; name the skill to call".into(),
            }),
            Err(e) => errors.push(BatchLineError {
                line: line_no,
                reason: format!(
                    "not a call ({e}); each line is one JSON object: {{\"skill\": NAME, \"params\": {{…}}, \"stdin\": TEXT}}"
                ),
            }),
        }
    }
    if errors.is_empty() {
        Ok(calls)
    } else {
        Err(errors)
    }
}

/// How a batch runs.
#[derive(Clone)]
pub struct BatchOptions {
    /// The most calls running at once (at least 1).
    pub jobs: usize,
    /// Hand results back in the order of the calls instead of as they finish.
    pub ordered: bool,
    /// Permissions from the command line, for every call alike.
    pub overrides: RunOverrides,
    /// Where relative paths in parameters start.
    pub caller_dir: PathBuf,
    /// Stops the batch: running calls end `cancelled`, calls not yet started are not started.
    pub cancel: Cancel,
    /// Where each call also waits for its turn, beside `jobs` (none: `jobs` alone bounds it).
    pub queue: Option<Arc<dyn RunQueue>>,
    /// How soon calls leave that queue, unless a call says otherwise.
    pub priority: Priority,
}

impl std::fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("jobs", &self.jobs)
            .field("ordered", &self.ordered)
            .field("overrides", &self.overrides)
            .field("caller_dir", &self.caller_dir)
            .field("queue", &self.queue.is_some())
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// How soon a call the queue turned away for now (full, or its daemon stopping) asks again.
const ASK_AGAIN: std::time::Duration = std::time::Duration::from_millis(200);

/// The default bound on calls running at once: eight per core, between 8 and 64. Most skills
/// wait on something (a process, the network) more than they compute.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    (cores * 8).clamp(8, 64)
}

impl Engine {
    /// Runs `calls`, at most `options.jobs` at a time, and gives each result to `done` with the
    /// index of its call (in order with `options.ordered`). Every call gets exactly one result,
    /// including calls refused, calls cancelled before they started, and a call whose run
    /// panicked.
    pub async fn run_batch(
        &self,
        registry: Arc<Registry>,
        calls: Vec<BatchCall>,
        options: BatchOptions,
        mut done: impl FnMut(usize, ExecutionResult),
    ) {
        let jobs = options.jobs.max(1);
        // Every call was asked for when the batch began: until its slot, it queued.
        let began = Instant::now();
        // In order, a finished result waits for the calls before it: calls are started at most
        // this far past the first one not handed back, so what waits stays bounded.
        let window = jobs.saturating_mul(4).max(64);
        let engine = Arc::new(self.clone());
        let mut running = tokio::task::JoinSet::new();
        let mut started = HashMap::new();
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        let mut calls = calls.into_iter().enumerate().peekable();
        loop {
            // Calls are started as slots free up, not all at once: a million-line file holds
            // its calls, not a million tasks.
            while running.len() < jobs
                && calls
                    .peek()
                    .is_some_and(|(index, _)| !options.ordered || *index < next + window)
            {
                let Some((index, call)) = calls.next() else {
                    break;
                };
                let skill = call.skill.clone();
                let handle = running.spawn(run_one(
                    engine.clone(),
                    registry.clone(),
                    call,
                    options.clone(),
                    began,
                ));
                started.insert(handle.id(), (index, skill));
            }
            let Some(joined) = running.join_next_with_id().await else {
                break;
            };
            let (id, outcome) = match joined {
                Ok((id, result)) => (id, Ok(result)),
                Err(e) => (e.id(), Err(e)),
            };
            let Some((index, skill)) = started.remove(&id) else {
                continue;
            };
            let result = outcome.unwrap_or_else(|e| {
                ExecutionResult::internal(
                    &skill,
                    format!("skillet hit a bug running this call ({e}); please report it"),
                )
            });
            if !options.ordered {
                done(index, result);
                continue;
            }
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&next) {
                done(next, result);
                next += 1;
            }
        }
    }
}

/// One call of a batch, unless the batch was cancelled before it started.
async fn run_one(
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    call: BatchCall,
    options: BatchOptions,
    began: Instant,
) -> ExecutionResult {
    if let Some(reason) = options.cancel.reason() {
        return kept(&engine, &registry, &call, not_started(&call.skill, &reason));
    }
    let _turn = match &options.queue {
        Some(queue) => match turn(&engine, &registry, queue.as_ref(), &call, &options).await {
            Ok(turn) => Some(turn),
            Err(refused) => return kept(&engine, &registry, &call, refused),
        },
        None => None,
    };
    let request = RunRequest {
        params: call.params,
        stdin: call.stdin.map_or(StdinSource::Null, |text| {
            StdinSource::Bytes(text.into_bytes())
        }),
        caller_dir: options.caller_dir,
        live: None,
        overrides: options.overrides,
        asked_by: Some(AskedBy {
            origin: "batch".to_owned(),
            request_id: format!("line {}", call.line),
            queue_wait_ms: Some(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX)),
        }),
        cancel: Some(options.cancel),
    };
    engine.run(&registry, &call.skill, request).await
}

/// `result`, of a call that never started (the batch cancelled, the queue refusing it), kept
/// in the history as every refused run is: the execution id printed for it can be looked up.
fn kept(
    engine: &Engine,
    registry: &Registry,
    call: &BatchCall,
    mut result: ExecutionResult,
) -> ExecutionResult {
    let asked_by = AskedBy {
        origin: "batch".to_owned(),
        request_id: format!("line {}", call.line),
        queue_wait_ms: None,
    };
    engine.record(
        &mut result,
        registry.resolve(&call.skill),
        &Value::Object(call.params.clone()),
        skillet_store::now_ms(),
        None,
        Some(&asked_by),
    );
    result
}

fn not_started(skill: &str, reason: &str) -> ExecutionResult {
    ExecutionResult::new(skill, Status::Cancelled)
        .with_error(format!("not started: the batch was cancelled ({reason})"))
}

/// Waits for `call`'s turn in `queue`, asking again while it is only busy: a batch has no one
/// to hand "try again" to, and its calls were all accepted when it began.
async fn turn(
    engine: &Engine,
    registry: &Registry,
    queue: &dyn RunQueue,
    call: &BatchCall,
    options: &BatchOptions,
) -> Result<Turn, ExecutionResult> {
    let run = QueuedRun {
        skill: call.skill.clone(),
        client: None,
        memory_mb: engine.memory_mb(registry, &call.skill, &options.overrides),
        priority: call.priority.unwrap_or(options.priority),
    };
    loop {
        let asked = tokio::select! {
            asked = queue.admit(run.clone()) => asked,
            reason = options.cancel.cancelled() => return Err(not_started(&call.skill, &reason)),
        };
        match asked {
            Ok(turn) => return Ok(turn),
            Err(no) if no.again => {
                tokio::select! {
                    () = tokio::time::sleep(ASK_AGAIN) => {}
                    reason = options.cancel.cancelled() => {
                        return Err(not_started(&call.skill, &reason));
                    }
                }
            }
            Err(no) => {
                return Err(ExecutionResult::new(&call.skill, Status::Error).with_error(no.reason));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_line_is_named_and_blank_lines_are_skipped() {
        let text = "{\"skill\":\"a\"}\n\n  \nnot json\n{\"skill\":\"\"}\n{\"skill\":\"b\",\"param\":{}}\n[1]\n{\"skill\":\"c\",\"stdin\":\"x\"}\n";
        let errors = parse_batch(text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5, 6, 7], "{errors:?}");
        assert!(errors[2].reason.contains("param"), "{}", errors[2]);
        let good = parse_batch(
            "{\"skill\":\"a\"}\n\n{\"skill\":\"c\",\"params\":{\"n\":1},\"stdin\":\"x\"}",
        )
        .unwrap();
        assert_eq!(good.len(), 2);
        assert_eq!((good[0].line, good[1].line), (1, 3));
        assert_eq!(good[1].stdin.as_deref(), Some("x"));
        assert_eq!(good[1].params["n"], 1);
    }

    #[test]
    fn the_default_bound_is_within_its_range() {
        assert!((8..=64).contains(&default_jobs()));
    }
}
