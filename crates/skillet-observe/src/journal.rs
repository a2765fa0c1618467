//! skillet's own log lines: written to stderr in the format the user chose (text or JSON), and
//! queued to be kept in the store, where `skillet logs` searches them.
//!
//! A long-running process (the daemon) drains the queue into its store every tick with
//! [`drain_into`]; the queue is bounded, so a process that never drains it (or a store that
//! cannot be written) costs a fixed amount of memory, and the lines it had to drop are counted
//! in the next line kept.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use skillet_store::{LogLevel, LogLine, LogStore, StoreError, now_ms};

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For people: `skillet daemon [1733356800.123] listening on …`.
    #[default]
    Text,
    /// One JSON object a line: `{"ts":"…","level":"info","target":"skillet::daemon","message":"…"}`.
    Json,
}

/// Lines waiting to be kept at most; older ones are dropped (and counted) past it.
const MAX_QUEUED: usize = 10_000;

static JSON: AtomicBool = AtomicBool::new(false);
static QUEUE: Mutex<VecDeque<LogLine>> = Mutex::new(VecDeque::new());
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Sets how this process writes its log lines on stderr.
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// How this process writes its log lines on stderr.
pub fn format() -> LogFormat {
    if JSON.load(Ordering::Relaxed) {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// What a log line is about: the skill and execution it concerns, when it concerns one.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    /// The skill.
    pub skill: Option<&'a str>,
    /// The execution.
    pub execution_id: Option<&'a str>,
}

/// Writes one line on stderr and queues it to be kept. `message` must already be safe for a
/// terminal and one line (the JSON form escapes it again, as JSON). In text form it is written
/// as `{label} [{seconds}.{ms}] {message}`.
pub fn emit(level: LogLevel, target: &str, label: &str, message: &str, about: About<'_>) {
    let at_ms = now_ms();
    match format() {
        LogFormat::Text => eprintln!(
            "{label} [{}.{:03}] {message}",
            at_ms.div_euclid(1000),
            at_ms.rem_euclid(1000)
        ),
        LogFormat::Json => eprintln!("{}", json_line(at_ms, level, target, message, about)),
    }
    keep(LogLine {
        id: 0,
        at_ms,
        level,
        source: "skillet".into(),
        target: Some(target.to_owned()),
        skill: about.skill.map(str::to_owned),
        execution_id: about.execution_id.map(str::to_owned),
        message: message.to_owned(),
    });
}

/// Queues `line` to be kept, dropping the oldest queued line when the queue is full.
pub fn keep(line: LogLine) {
    let mut queue = QUEUE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if queue.len() >= MAX_QUEUED {
        queue.pop_front();
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    queue.push_back(line);
}

/// Moves the queued lines into `store`; returns how many were kept. On an error the lines are
/// put back (bounded as ever) for the next call.
pub fn drain_into(store: &dyn LogStore) -> Result<usize, StoreError> {
    let mut lines: Vec<LogLine> = {
        let mut queue = QUEUE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queue.drain(..).collect()
    };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        lines.push(LogLine {
            id: 0,
            at_ms: now_ms(),
            level: LogLevel::Warn,
            source: "skillet".into(),
            target: Some("skillet::journal".into()),
            skill: None,
            execution_id: None,
            message: format!(
                "{dropped} log line(s) were dropped: they came faster than the store kept them"
            ),
        });
    }
    if lines.is_empty() {
        return Ok(0);
    }
    match store.append_logs(&lines) {
        Ok(()) => Ok(lines.len()),
        Err(e) => {
            for line in lines.into_iter().rev() {
                let mut queue = QUEUE
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if queue.len() >= MAX_QUEUED {
                    DROPPED.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                queue.push_front(line);
            }
            Err(e)
        }
    }
}

/// One log line as a JSON object (`ts` in RFC 3339 UTC with milliseconds).
pub fn json_line(
    at_ms: i64,
    level: LogLevel,
    target: &str,
    message: &str,
    about: About<'_>,
) -> String {
    let mut line = serde_json::json!({
        "ts": skillet_store::rfc3339(at_ms),
        "level": level.as_str(),
        "target": target,
        "message": message,
    });
    if let Some(skill) = about.skill {
        line["skill"] = skill.into();
    }
    if let Some(id) = about.execution_id {
        line["execution_id"] = id.into();
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_an_rfc3339_time_and_escape_the_message() {
        let about = About {
            skill: Some("say"),
            execution_id: None,
        };
        let line = json_line(
            1_733_350_503_120,
            LogLevel::Warn,
            "skillet::daemon",
            "a \"b\"\n",
            about,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ts"], "2024-12-04T22:15:03.120Z");
        assert_eq!(v["level"], "warn");
        assert_eq!(v["message"], "a \"b\"\n");
        assert_eq!(v["skill"], "say");
        assert!(v.get("execution_id").is_none());
    }
}
