//! `pool.run`: one stateless call of a pooled `code_session` skill, served by a warm
//! interpreter of the daemon's pool (docs/sessions.md, "Warm pools").

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `pool.run`: the skill, its parameters and its input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PoolRunParams {
    /// Skill name or alias.
    pub skill: String,
    /// Parameter values by name.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// The input, run in a fresh namespace of a pool member (none: empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// The caller's directory (absolute): the workspace is found from it.
    pub caller_dir: PathBuf,
    /// `--workspace DIR` (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<PathBuf>,
    /// The user's `--allow-…` flags.
    #[serde(default)]
    pub overrides: skillet_engine::RunOverrides,
    /// `--debug`: the execution carries `debug`, every decision of the call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub debug: bool,
    /// `--profile`: the execution carries `profile`, where the call's time went.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub profile: bool,
}

/// What a pooled call produced: the execution as `skillet run --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolRunReply {
    /// The execution, recorded in the history under its `execution_id`.
    pub execution: Value,
}
