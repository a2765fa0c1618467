//! The shapes `--debug` and `--profile` report in: nested under `debug` and `profile` in
//! `skillet run --json`, and rendered as text by the CLI.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use skillet_registry::SkillEntry;
use skillet_spec::SkillSpec;

use super::{Phase, PlanView};
use crate::params::ParamValues;
use crate::result::ExecutionResult;

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Time spent in each [`Phase`], in microseconds, over every attempt (and fallback) of a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// Discovery and resolving the name.
    pub resolve: u64,
    /// Checking the values, building the argv.
    pub validate: u64,
    /// From the policy to the program's exec.
    pub sandbox_setup: u64,
    /// The skill's program itself.
    pub process: u64,
    /// After the program ended, until the sandbox was cleaned up.
    pub teardown: u64,
    /// The history.
    pub store: u64,
    /// Backoff between attempts.
    pub retry_wait: u64,
    /// Result cache lookups.
    pub cache_lookup: u64,
    /// Waiting on a conversation's model.
    pub llm_request: u64,
}

impl PhaseTimes {
    pub(crate) fn add(&mut self, phase: Phase, d: Duration) {
        let slot = match phase {
            Phase::Resolve => &mut self.resolve,
            Phase::Validate => &mut self.validate,
            Phase::SandboxSetup => &mut self.sandbox_setup,
            Phase::Process => &mut self.process,
            Phase::Teardown => &mut self.teardown,
            Phase::Store => &mut self.store,
            Phase::RetryWait => &mut self.retry_wait,
            Phase::CacheLookup => &mut self.cache_lookup,
            Phase::LlmRequest => &mut self.llm_request,
        };
        *slot = slot.saturating_add(micros(d));
    }

    /// All phases together.
    pub fn total(&self) -> u64 {
        [
            self.resolve,
            self.validate,
            self.sandbox_setup,
            self.process,
            self.teardown,
            self.store,
            self.retry_wait,
            self.cache_lookup,
            self.llm_request,
        ]
        .iter()
        .fold(0, |a, b| a.saturating_add(*b))
    }

    /// The phases with their names, in the order a call goes through them.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("resolve", self.resolve),
            ("cache_lookup", self.cache_lookup),
            ("validate", self.validate),
            ("sandbox_setup", self.sandbox_setup),
            ("process", self.process),
            ("llm_request", self.llm_request),
            ("teardown", self.teardown),
            ("store", self.store),
            ("retry_wait", self.retry_wait),
        ]
    }
}

/// `--profile`: where the time of one call went, so a slow skill can be told from a slow runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The whole call, from before discovery to the result, in microseconds.
    pub wall_us: u64,
    /// CPU time (user + system) of the skill's processes, every attempt together; absent when
    /// nothing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_us: Option<u64>,
    /// Largest resident set of the skill's processes, in KiB; absent when nothing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory_kb: Option<u64>,
    /// Attempts made (fallbacks included).
    pub attempts: usize,
    /// Time per phase.
    pub phases_us: PhaseTimes,
    /// skillet's own share: every phase but `process` and `retry_wait`.
    pub skillet_us: u64,
    /// Time no phase accounts for (the call's own bookkeeping): `wall_us` minus the phases.
    pub other_us: u64,
    /// Reaching the daemon that served the call, starting it when none ran (a pooled skill's
    /// call); absent for a call the command ran itself. Part of `skillet_us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_us: Option<u64>,
}

impl Profile {
    pub(crate) fn new(
        wall: Duration,
        cpu: Option<Duration>,
        peak_memory_kb: Option<u64>,
        phases_us: PhaseTimes,
        attempts: usize,
    ) -> Profile {
        let wall_us = micros(wall);
        let total = phases_us.total();
        Profile {
            wall_us,
            cpu_us: cpu.map(micros),
            peak_memory_kb,
            attempts,
            skillet_us: total - phases_us.process - phases_us.retry_wait,
            other_us: wall_us.saturating_sub(total),
            phases_us,
            connect_us: None,
        }
    }

    /// This profile, made in the daemon that served the call, as the command that sent it saw
    /// the call: `connect` to reach the daemon and `wall` in all. The socket's own time is
    /// then part of `other_us`.
    pub fn served_by_daemon(&mut self, connect: Duration, wall: Duration) {
        let connect_us = micros(connect);
        self.wall_us = self.wall_us.max(micros(wall));
        self.connect_us = Some(connect_us);
        self.skillet_us = self.skillet_us.saturating_add(connect_us);
        self.other_us = self
            .wall_us
            .saturating_sub(self.phases_us.total().saturating_add(connect_us));
    }
}

/// `--debug`: every decision of one call, for a person finding out why it misbehaved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebugReport {
    /// The file that answered, and what it shadowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<SourceView>,
    /// The parameters after checking: coerced to their types, defaults applied.
    pub params: Vec<ParamView>,
    /// The process and its sandbox policy (absent for a prompt skill, or when refused before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanView>,
    /// The confinement layers the sandbox reported active and missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<LayersView>,
    /// Every attempt, and why it was retried.
    pub attempts: Vec<AttemptView>,
    /// What a conversation sent, and to where (a conversation skill only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationView>,
    /// Time per phase, in microseconds.
    pub phases_us: PhaseTimes,
    /// The whole call, in microseconds.
    pub wall_us: u64,
    /// The daemon's socket, for a call it served (a pooled skill's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<PathBuf>,
    /// Reaching that daemon, starting it when none ran, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_us: Option<u64>,
}

impl DebugReport {
    /// This report, made in the daemon at `socket` that served the call, as the command that
    /// sent it saw the call: `connect` to reach the daemon and `wall` in all.
    pub fn served_by_daemon(&mut self, socket: PathBuf, connect: Duration, wall: Duration) {
        // What the process was passed came from the daemon's environment, not the caller's.
        for var in self.plan.iter_mut().flat_map(|p| p.process.env.iter_mut()) {
            if var.from == super::EnvOrigin::YourEnvironment {
                var.from = super::EnvOrigin::DaemonEnvironment;
                var.shown = var
                    .shown
                    .replace("your environment", "the daemon's environment");
            }
        }
        self.daemon = Some(socket);
        self.connect_us = Some(micros(connect));
        self.wall_us = self.wall_us.max(micros(wall));
    }
}

/// Where a conversation's requests went and what the first one held, by size: its text is
/// what `--dry-run` shows, and the key is never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    /// `openai` or `anthropic` (the wire format).
    pub provider: String,
    /// The model asked.
    pub model: String,
    /// The API's address, without any user, password, query or fragment it was written with.
    pub endpoint: String,
    /// Most tokens an answer may take.
    pub max_tokens: u32,
    /// The context files quoted in the first message, relative to the workspace.
    pub context_files: Vec<String>,
    /// Characters of the system prompt.
    pub system_chars: usize,
    /// Characters of the first message (context files, prompt, guided answers, notes).
    pub first_message_chars: usize,
    /// Answers the conversation may take.
    pub max_turns: u32,
}

/// The layers a run had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayersView {
    /// Active, by name.
    pub active: Vec<String>,
    /// Wanted but unavailable here (best-effort isolation only).
    pub missing: Vec<String>,
}

/// The file a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    /// The name as asked (an alias, maybe).
    pub asked: String,
    /// The skill's name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// `workspace`, `global` or `package`.
    pub scope: String,
    /// The package it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Files of the same name it hides, lower in precedence.
    pub shadows: Vec<PathBuf>,
}

impl SourceView {
    pub(crate) fn new(entry: &SkillEntry, asked: &str) -> SourceView {
        SourceView {
            asked: asked.to_owned(),
            name: entry.name.clone(),
            file: entry.path.clone(),
            scope: entry.scope_label().to_owned(),
            package: entry.package.as_ref().map(|p| p.name.clone()),
            shadows: entry.shadows.clone(),
        }
    }
}

/// One parameter after checking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamView {
    /// Its name.
    pub name: String,
    /// Its declared type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value the skill gets, typed (`path` values made absolute); absent when the
    /// parameter is optional and was not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// `given`, `default`, or `absent`.
    pub from: String,
    /// The value as typed, when checking changed it (a string coerced to a number, a relative
    /// path made absolute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typed: Option<Value>,
}

impl ParamView {
    pub(crate) fn all(
        spec: &SkillSpec,
        given: &Map<String, Value>,
        values: &ParamValues,
    ) -> Vec<ParamView> {
        spec.parameters
            .iter()
            .map(|p| {
                let typed = given.get(&p.name).filter(|v| !v.is_null());
                let value = values.get(&p.name).map(skillet_spec::ParamValue::to_json);
                let from = match (typed, &value) {
                    (Some(_), _) => "given",
                    (None, Some(_)) => "default",
                    (None, None) => "absent",
                };
                ParamView {
                    name: p.name.clone(),
                    kind: p.kind.as_str().to_owned(),
                    typed: typed.filter(|t| Some(*t) != value.as_ref()).cloned(),
                    value,
                    from: from.to_owned(),
                }
            })
            .collect()
    }
}

/// One attempt of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: u32,
    /// The skill it ran (a fallback's name differs from the first).
    pub skill: String,
    /// Its execution id.
    pub execution_id: String,
    /// How it ended.
    pub status: String,
    /// The program's exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The program's wall time, in milliseconds.
    pub duration_ms: u64,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was retried: after how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Why it was retried, or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl AttemptView {
    pub(crate) fn new(r: &ExecutionResult) -> AttemptView {
        AttemptView {
            attempt: r.attempt,
            skill: r.skill.clone(),
            execution_id: r.execution_id.clone(),
            status: r.status.as_str().to_owned(),
            exit_code: r.exit_code,
            duration_ms: r.duration_ms,
            error: r.error.clone(),
            retry_after_ms: None,
            note: None,
        }
    }
}
