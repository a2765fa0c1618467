//! Every attempt of every call, whoever asked, kept in the store's execution history.

use serde_json::Value;
use skillet_registry::SkillEntry;
use skillet_store::{ExecutionRecord, ParamsKey, Retention, Store, StoreError, now_ms};

use super::{AskedBy, Engine};
use crate::result::ExecutionResult;

impl Engine {
    /// Keeps the execution in the history. Failing to do so never fails the run: it says so.
    pub(crate) fn record(
        &self,
        result: &mut ExecutionResult,
        entry: Option<&SkillEntry>,
        params: &Value,
        started_at_ms: i64,
        parent_id: Option<&str>,
        asked_by: Option<&AskedBy>,
    ) {
        let Some(store) = &self.settings.store else {
            return;
        };
        let spec = entry.and_then(|e| e.spec.as_ref());
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let record = ExecutionRecord {
            id: result.execution_id.clone(),
            skill: result.skill.clone(),
            version: spec.map(|s| s.version.clone()),
            // A package's skill is recorded as the package's (`package:NAME`, as `list` shows
            // it), so the history tells it from a hand-written skill of the same name.
            scope: entry.map(|e| match &e.package {
                Some(p) => format!("package:{}", p.name),
                None => e.scope.as_str().to_owned(),
            }),
            params_hash: self.params_hash(params, result),
            params: self.settings.store_params.then(|| params.to_string()),
            status: result.status.as_str().to_owned(),
            exit_code: result.exit_code.map(i64::from),
            attempt: i64::from(result.attempt),
            correlation_id: result.correlation_id.clone(),
            parent_id: parent_id.map(str::to_owned),
            started_at_ms,
            finished_at_ms: now_ms(),
            duration_ms: to_i64(result.duration_ms),
            peak_memory_kb: result.peak_memory_kb.map(to_i64),
            cpu_time_ms: result.cpu_time_ms.map(to_i64),
            peak_processes: result.peak_processes.map(to_i64),
            bytes_written: result.bytes_written.map(to_i64),
            llm_input_tokens: result.llm.map(|l| to_i64(l.input_tokens)),
            llm_output_tokens: result.llm.map(|l| to_i64(l.output_tokens)),
            llm_ms: result.llm.map(|l| to_i64(l.request_ms)),
            truncated: result.truncated,
            limit_hit: result.limit.map(str::to_owned),
            // An error about a value ("expected an integer, got \"…\"") would keep the value
            // that `store_params` says not to keep.
            error: result.error.as_deref().map(|e| {
                if self.settings.store_params {
                    e.to_owned()
                } else if result.status == crate::result::Status::InvalidParams {
                    // Such an error is about a value, in whatever form it was parsed to (a
                    // number re-printed, JSON re-quoted): only which parameter is kept.
                    value_free(e)
                } else {
                    without_values(e, params)
                }
            }),
            origin: asked_by.map(|a| a.origin.clone()),
            request_id: asked_by.map(|a| a.request_id.clone()),
            cached: result.cached,
            queue_wait_ms: queue_wait(result, parent_id, asked_by).map(to_i64),
            spans: crate::insight::take_spans(),
        };
        // The row and its output's tail in one transaction; should the tail be what fails
        // (a line the store refuses), the row is kept alone.
        let output = self.output_lines(result);
        if let Err(both) = store.record_with_output(&record, &output) {
            if let StoreError::Deferred(why) = &both {
                // Kept by the store, to be written once it answers: not tried again here.
                result.warnings.push(format!("not recorded yet: {why}"));
                return;
            }
            if let Err(e) = store.record(&record) {
                result
                    .warnings
                    .push(format!("not recorded in the history: {e}"));
                return;
            }
            result.warnings.push(format!(
                "the output was not kept for `skillet logs`: {both}"
            ));
        }
        self.prune_history(store.as_ref(), result);
    }

    /// `params` hashed with the user's key; `None` (with a warning on `result`) when there is
    /// no key to hash with: an unkeyed hash would let a short value be guessed back.
    fn params_hash(&self, params: &Value, result: &mut ExecutionResult) -> Option<String> {
        let dir = self.settings.params_key_dir.as_deref()?;
        let key = self
            .params_key
            .get_or_init(|| ParamsKey::in_dir(dir).map_err(|e| e.to_string()));
        match key {
            Ok(key) => Some(key.hash(params)),
            Err(e) => {
                result
                    .warnings
                    .push(format!("the parameters' hash was not recorded: {e}"));
                None
            }
        }
    }

    /// Removes a bounded batch of history rows that `[history]` no longer keeps, so the history
    /// stays within its limits a little at a time instead of in one long pause. When nothing is
    /// due this is a few index lookups.
    fn prune_history(&self, store: &dyn Store, result: &mut ExecutionResult) {
        // Even with `[history]` keeping everything: expired state and channel messages past
        // their own retention are not history, and go all the same.
        let settings = &self.settings;
        let day_ms: i64 = 86_400_000;
        let rule = Retention {
            before_ms: settings.history_keep_days.map(|days| {
                now_ms().saturating_sub(
                    i64::try_from(days)
                        .unwrap_or(i64::MAX)
                        .saturating_mul(day_ms),
                )
            }),
            max_rows: settings.history_max_rows,
            batch: Some(PRUNE_BATCH),
            dry_run: false,
        };
        if let Err(e) = store.prune(&rule) {
            result.warnings.push(format!(
                "old history was not pruned: {e}; `skillet history prune` tries again"
            ));
        }
    }
}

/// How long an attempt queued: in its asker's queue (the daemon's jobs, the MCP server's cap,
/// a batch's slots), which only the call's first attempt waited in (a retry or a fallback
/// waited for its backoff or for the attempt before it), plus for a slot of the skill's own
/// `concurrency` bound, which every attempt waits for; `None` when it waited in neither.
fn queue_wait(
    result: &ExecutionResult,
    parent_id: Option<&str>,
    asked_by: Option<&AskedBy>,
) -> Option<u64> {
    let asked = asked_by
        .and_then(|a| a.queue_wait_ms)
        .filter(|_| result.attempt <= 1 && parent_id.is_none());
    match (asked, result.slot_wait_ms) {
        (None, None) => None,
        (a, s) => Some(a.unwrap_or(0).saturating_add(s.unwrap_or(0))),
    }
}

/// Rows (executions, and ended sessions) one recorded run removes at most: a few milliseconds
/// of work even when a lowered limit leaves a large backlog.
const PRUNE_BATCH: usize = 200;

/// A parameter error without the value it was about: the part that names the parameter.
fn value_free(error: &str) -> String {
    let head = error.split_once(": ").map_or(error, |(head, _)| head);
    format!("{head}: refused (the value is not kept: [history] store_params is off)")
}

/// `text` with the parameter values in `params` taken out: each string as Rust quotes it
/// (how parameter errors show a value) and, when it is 4 characters or longer, as it is (so
/// are numbers of 4 digits or more).
fn without_values(text: &str, params: &Value) -> String {
    fn leaves(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
            Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
            _ => {}
        }
    }
    let mut values = Vec::new();
    leaves(params, &mut values);
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for v in values {
        out = out.replace(&format!("{v:?}"), "(a value not kept)");
        if v.chars().count() >= 4 {
            out = out.replace(v.as_str(), "(a value not kept)");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn parameter_values_leave_the_error() {
        let params = serde_json::json!({"pin": "hunter2secret", "n": "ab", "list": ["deep-value"], "code": 480213});
        assert_eq!(
            without_values(
                "parameter `pin`: expected an integer, got \"hunter2secret\"",
                &params
            ),
            "parameter `pin`: expected an integer, got (a value not kept)"
        );
        assert_eq!(
            without_values("`n`: got \"ab\"; about deep-value", &params),
            "`n`: got (a value not kept); about (a value not kept)"
        );
        assert_eq!(without_values("nothing here", &params), "nothing here");
        assert_eq!(
            without_values("got 480213", &params),
            "got (a value not kept)"
        );
        assert_eq!(
            super::value_free("parameter `i`: expected an integer, got 100000000000000000000"),
            "parameter `i`: refused (the value is not kept: [history] store_params is off)"
        );
    }
}
