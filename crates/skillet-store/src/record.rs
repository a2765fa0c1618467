//! What is kept of one execution.

use serde::Serialize;

/// One attempt of one call of a skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionRecord {
    /// UUIDv7 of this attempt.
    pub id: String,
    /// The skill (its name, aliases resolved).
    pub skill: String,
    /// The skill's version.
    pub version: Option<String>,
    /// Where the skill was found (`workspace`, `global`).
    pub scope: Option<String>,
    /// The parameters hashed with the user's key (`hmac-sha256:`, see [`crate::ParamsKey`]).
    pub params_hash: Option<String>,
    /// The parameters themselves, only when the user enabled storing them.
    pub params: Option<String>,
    /// `ok`, `failed`, `timeout`, …
    pub status: String,
    /// The process's exit code.
    pub exit_code: Option<i64>,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// Shared by every attempt (and fallback) of one call.
    pub correlation_id: String,
    /// The call that made this one, if any.
    pub parent_id: Option<String>,
    /// Start, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// End, in milliseconds since the Unix epoch.
    pub finished_at_ms: i64,
    /// Wall-clock time of the process.
    pub duration_ms: i64,
    /// Largest resident set of the process tree, in KiB.
    pub peak_memory_kb: Option<i64>,
    /// User plus system CPU time, in milliseconds.
    pub cpu_time_ms: Option<i64>,
    /// The most processes of the run alive at once (from its cgroup).
    pub peak_processes: Option<i64>,
    /// Bytes the run wrote to storage devices.
    pub bytes_written: Option<i64>,
    /// Tokens a conversation sent its model, as the provider counted them.
    pub llm_input_tokens: Option<i64>,
    /// Tokens the model answered with.
    pub llm_output_tokens: Option<i64>,
    /// Milliseconds a conversation waited on its model (every request, retries included).
    pub llm_ms: Option<i64>,
    /// Whether output was cut at the cap.
    pub truncated: bool,
    /// The limit that stopped it (`memory`, `cpu`, …).
    pub limit_hit: Option<String>,
    /// The error message, for statuses other than `ok` and `failed`.
    pub error: Option<String>,
    /// Who asked: `mcp` for a tool call from an agent; empty for the command line.
    pub origin: Option<String>,
    /// The id of the request that asked (the MCP JSON-RPC request id).
    pub request_id: Option<String>,
    /// Answered from the result cache: nothing ran.
    pub cached: bool,
    /// Milliseconds the call waited in a queue between being asked for and starting (the
    /// daemon's job queue, the MCP server's cap on calls at once); `None` when it never
    /// queued (a command-line run), and on retries and fallbacks of a call, which did not.
    pub queue_wait_ms: Option<i64>,
    /// Where its time went, phase by phase (`skillet trace`); empty when nothing measured it.
    /// Left out of the history's listings, which would grow for every row.
    #[serde(skip)]
    pub spans: Vec<SpanRecord>,
}

/// The fields of an execution that figures are made of (`skillet stats`, `/metrics`): what a
/// scan over millions of rows reads, without the rest of the row. `error` is read only for a
/// run that did not end `ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionFigures {
    /// The execution.
    pub id: String,
    /// Its skill.
    pub skill: String,
    /// How it ended.
    pub status: String,
    /// Its exit code.
    pub exit_code: Option<i64>,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// Wall-clock time.
    pub duration_ms: i64,
    /// Largest resident set, KiB.
    pub peak_memory_kb: Option<i64>,
    /// CPU time, ms.
    pub cpu_time_ms: Option<i64>,
    /// The most processes at once.
    pub peak_processes: Option<i64>,
    /// Bytes written to storage.
    pub bytes_written: Option<i64>,
    /// Tokens sent to a model.
    pub llm_input_tokens: Option<i64>,
    /// Tokens a model answered with.
    pub llm_output_tokens: Option<i64>,
    /// Time waiting on a model, ms.
    pub llm_ms: Option<i64>,
    /// The limit that stopped it.
    pub limit_hit: Option<String>,
    /// Its error (only when `status` is not `ok`).
    pub error: Option<String>,
    /// Answered from the cache.
    pub cached: bool,
    /// Time it waited in a queue.
    pub queue_wait_ms: Option<i64>,
}

impl From<ExecutionRecord> for ExecutionFigures {
    fn from(r: ExecutionRecord) -> ExecutionFigures {
        ExecutionFigures {
            error: if r.status == "ok" { None } else { r.error },
            id: r.id,
            skill: r.skill,
            status: r.status,
            exit_code: r.exit_code,
            started_at_ms: r.started_at_ms,
            duration_ms: r.duration_ms,
            peak_memory_kb: r.peak_memory_kb,
            cpu_time_ms: r.cpu_time_ms,
            peak_processes: r.peak_processes,
            bytes_written: r.bytes_written,
            llm_input_tokens: r.llm_input_tokens,
            llm_output_tokens: r.llm_output_tokens,
            llm_ms: r.llm_ms,
            limit_hit: r.limit_hit,
            cached: r.cached,
            queue_wait_ms: r.queue_wait_ms,
        }
    }
}

/// One stretch of an execution spent in one phase (`resolve`, `validate`, `sandbox_setup`,
/// `process`, `teardown`, `store`, `retry_wait`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SpanRecord {
    /// The phase.
    pub phase: String,
    /// When it started, in µs since the call started.
    pub start_us: u64,
    /// How long it took, in µs.
    pub duration_us: u64,
}

/// The most spans kept per execution: a retry loop cannot grow a row without bound.
pub const MAX_SPANS: usize = 64;

impl SpanRecord {
    /// Spans as every store keeps them: `phase start_us duration_us` joined by `;`, at most
    /// [`MAX_SPANS`]; none is `None`.
    pub fn to_text(spans: &[SpanRecord]) -> Option<String> {
        if spans.is_empty() {
            return None;
        }
        let kept = &spans[..spans.len().min(MAX_SPANS)];
        Some(
            kept.iter()
                .map(|s| format!("{} {} {}", s.phase, s.start_us, s.duration_us))
                .collect::<Vec<_>>()
                .join(";"),
        )
    }

    /// The spans of [`SpanRecord::to_text`]; a part that does not read is left out.
    pub fn from_text(text: &str) -> Vec<SpanRecord> {
        text.split(';')
            .filter_map(|part| {
                let mut words = part.split(' ');
                Some(SpanRecord {
                    phase: words.next()?.to_owned(),
                    start_us: words.next()?.parse().ok()?,
                    duration_us: words.next()?.parse().ok()?,
                })
            })
            .collect()
    }
}

impl ExecutionRecord {
    /// A record of a run started at `started` that took 5 ms, for the store's own tests.
    #[cfg(test)]
    pub(crate) fn at(id: &str, skill: &str, status: &str, started: i64) -> Self {
        let mut r = ExecutionRecord::new(id, skill, status);
        r.started_at_ms = started;
        r.finished_at_ms = started + 5;
        r
    }

    /// A record with the required fields and everything else empty.
    pub fn new(id: impl Into<String>, skill: impl Into<String>, status: impl Into<String>) -> Self {
        let id = id.into();
        ExecutionRecord {
            correlation_id: id.clone(),
            id,
            skill: skill.into(),
            version: None,
            scope: None,
            params_hash: None,
            params: None,
            status: status.into(),
            exit_code: None,
            attempt: 1,
            parent_id: None,
            started_at_ms: 0,
            finished_at_ms: 0,
            duration_ms: 0,
            peak_memory_kb: None,
            cpu_time_ms: None,
            peak_processes: None,
            bytes_written: None,
            llm_input_tokens: None,
            llm_output_tokens: None,
            llm_ms: None,
            truncated: false,
            limit_hit: None,
            origin: None,
            request_id: None,
            error: None,
            cached: false,
            queue_wait_ms: None,
            spans: Vec::new(),
        }
    }
}

/// The circuit breaker of one skill, as stored. The engine owns what the states mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerRecord {
    /// The skill.
    pub skill: String,
    /// `closed`, `open` or `half_open`.
    pub state: String,
    /// Failed calls in a row.
    pub consecutive_failures: i64,
    /// When it last opened (ms since the epoch).
    pub opened_at_ms: Option<i64>,
    /// Last change (ms since the epoch).
    pub updated_at_ms: i64,
    /// When the half-open trial call started, if one is under way.
    pub trial_started_ms: Option<i64>,
    /// Outcomes of the last calls, oldest first: `1` failed, `0` did not.
    pub recent: String,
}

/// Which executions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Only this skill.
    pub skill: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only those started at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// Now, in milliseconds since the Unix epoch (the unit of every timestamp in the store).
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// A moment in milliseconds since the Unix epoch as RFC 3339 in UTC, to the millisecond:
/// `2026-12-03T08:46:01.250Z`.
///
/// ```
/// assert_eq!(skillet_store::rfc3339(951_782_400_250), "2000-02-29T00:00:00.250Z");
/// ```
pub fn rfc3339(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let s = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms_of_day % 1000
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so that no date crate is needed for one format.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small by construction (1..=31, 1..=12).
    (year, month as u32, day as u32)
}
