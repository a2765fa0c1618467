//! The params and results of the `job.*` methods: background runs the daemon queues
//! (docs/jobs.md).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skillet_store::JobRecord;

pub use skillet_engine::Priority;

/// `job.submit`: what `skillet run NAME … --detach` would run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobSubmitParams {
    /// Skill name or alias.
    pub skill: String,
    /// Parameter values by name.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Text given to the skill on standard input (none: empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// The submitter's directory (absolute): the workspace is found from it, and the skill
    /// runs there as `skillet run` would.
    pub caller_dir: PathBuf,
    /// `--workspace DIR` (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<PathBuf>,
    /// How soon it runs.
    #[serde(default)]
    pub priority: Priority,
    /// The user's `--allow-…`, `--keep-tmp`, `--no-cache` flags.
    #[serde(default)]
    pub overrides: skillet_engine::RunOverrides,
    /// Who the job is queued for, for fair share (`$SKILLET_CLIENT`); none: the submitting
    /// process's session, as the daemon sees it (docs/jobs.md, "Fair share").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// `job.get`, `job.logs`, `job.cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobIdParams {
    /// The job (or a unique start of its id).
    pub id: String,
}

/// `job.wait`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobWaitParams {
    /// The job (or a unique start of its id).
    pub id: String,
    /// Longest wait in milliseconds (default and most: 30000); the job as it is then comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `job.list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobListParams {
    /// At most this many, newest first (0 or none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A job, as every `job.*` method answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// UUIDv7.
    pub id: String,
    /// The skill as asked.
    pub skill: String,
    /// `queued`, `running`, `finished`, `cancelled` or `lost`.
    pub status: String,
    /// `high`, `normal` or `low`.
    pub priority: String,
    /// Parameters, as JSON text.
    pub params: String,
    /// The directory it was submitted from.
    pub caller_dir: String,
    /// `--workspace`, when given.
    pub workspace: Option<String>,
    /// When it was accepted (ms since the epoch).
    pub submitted_at_ms: i64,
    /// When it left the queue.
    pub started_at_ms: Option<i64>,
    /// When it ended.
    pub finished_at_ms: Option<i64>,
    /// How long it waited in the queue.
    pub queue_wait_ms: Option<i64>,
    /// The execution it became (`skillet history show ID`).
    pub execution_id: Option<String>,
    /// The run's status (`ok`, `failed`, `timeout`, …), once it ran.
    pub outcome: Option<String>,
    /// The process's exit code.
    pub exit_code: Option<i32>,
    /// Whether output was cut.
    pub truncated: bool,
    /// Why it failed, was cancelled or was lost.
    pub error: Option<String>,
}

impl Job {
    /// Whether it is over: `finished`, `cancelled` or `lost`.
    pub fn is_over(&self) -> bool {
        !matches!(self.status.as_str(), "queued" | "running")
    }
}

impl From<&JobRecord> for Job {
    fn from(r: &JobRecord) -> Job {
        Job {
            id: r.id.clone(),
            skill: r.skill.clone(),
            status: r.status.clone(),
            priority: r.priority.clone(),
            params: r.params.clone(),
            caller_dir: r.caller_dir.clone(),
            workspace: r.workspace.clone(),
            submitted_at_ms: r.submitted_at_ms,
            started_at_ms: r.started_at_ms,
            finished_at_ms: r.finished_at_ms,
            queue_wait_ms: r.queue_wait_ms,
            execution_id: r.execution_id.clone(),
            outcome: r.outcome.clone(),
            exit_code: r.exit_code,
            truncated: r.truncated,
            error: r.error.clone(),
        }
    }
}

/// `job.logs` and `job.wait`: the job and its output so far (all of it once it is over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOutput {
    /// The job.
    pub job: Job,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_read_as_words_and_default_to_normal() {
        let p: JobSubmitParams =
            serde_json::from_str(r#"{"skill":"s","caller_dir":"/w","priority":"high"}"#).unwrap();
        assert_eq!(p.priority, Priority::High);
        let p: JobSubmitParams =
            serde_json::from_str(r#"{"skill":"s","caller_dir":"/w"}"#).unwrap();
        assert_eq!(p.priority, Priority::Normal);
        assert!(serde_json::from_str::<Priority>(r#""urgent""#).is_err());
    }
}
