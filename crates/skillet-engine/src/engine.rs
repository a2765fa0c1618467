//! Running a skill by name: resolve, check parameters, build the invocation, execute.
//!
//! Everything up to execution is [`Engine::prepare`], so what `skillet run --dry-run` shows is
//! exactly what `skillet run` would do.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use skillet_registry::{Grant, Registry, SkillEntry};
use skillet_sandbox::{Isolation, OutputChunk, StdinSource, Stream};
use skillet_spec::{SkillKind, SkillSpec};
use skillet_store::now_ms;
use tokio::sync::mpsc;

use crate::breaker::BreakerConfig;
use crate::hint::Hint;
use crate::insight::{Phase, lap};
use crate::invocation::Invocation;
use crate::policy::{DEFAULT_TIMEOUT_S, wall_time_s};
use crate::policy::{PolicyContext, PolicyPlan};
use crate::recovery::{RetryPlan, max_attempts};
use crate::result::{ExecutionResult, Status};

mod gate;
mod grant_scope;
mod history;
mod output_log;
mod settings;

pub use settings::EngineSettings;

/// How many fallbacks may answer for one call, one after another.
pub const MAX_FALLBACK_DEPTH: usize = 3;

/// The environment variable that tells a code skill where the workspace root is.
pub const WORKSPACE_ENV: &str = "SKILLET_WORKSPACE";

/// The environment variable that tells a code skill where its own folder is (the files it
/// ships), since it runs elsewhere.
pub const SKILL_DIR_ENV: &str = "SKILLET_SKILL_DIR";

/// One call of a skill.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Parameter values by name (strings are parsed for typed parameters).
    pub params: Map<String, Value>,
    /// Standard input of the process.
    pub stdin: StdinSource,
    /// The caller's directory: a code skill runs there when it lies in the workspace (else
    /// in the workspace root), and relative `path` values and grants start there too.
    pub caller_dir: PathBuf,
    /// Receives output as it arrives, for showing it live.
    pub live: Option<mpsc::UnboundedSender<OutputChunk>>,
    /// What the user allows this one run (command-line flags).
    pub overrides: RunOverrides,
    /// Who asked, kept in the history; `None` for the command line.
    pub asked_by: Option<AskedBy>,
    /// Stops the run when thrown; it then ends `cancelled` and is recorded so.
    pub cancel: Option<crate::Cancel>,
}

/// Who asked for a run other than the command line, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedBy {
    /// The interface: `mcp`.
    pub origin: String,
    /// The id of the request within it (an MCP JSON-RPC request id).
    pub request_id: String,
    /// How long the call waited in the asker's queue before it was run (the daemon's job
    /// queue, the MCP server's cap on calls at once), kept in the history row of its first
    /// attempt; `None` when it did not queue.
    pub queue_wait_ms: Option<u64>,
}

/// Per-run permissions from the command line, on top of the configured grants.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RunOverrides {
    /// Extra grants (`--allow-net`, `--allow-read`, `--allow-write`, `--allow-env`).
    pub grant: Grant,
    /// Run without confinement (`--allow-unsandboxed`).
    pub unsandboxed: bool,
    /// Keep the scratch directory (`--keep-tmp`).
    pub keep_scratch: bool,
    /// Whether the result cache answers or keeps this run (`--no-cache`, `--refresh`).
    pub cache: crate::CacheUse,
}

impl RunOverrides {
    /// Whether nothing is overridden: a run any machine may make as its own configuration says
    /// (a grant or `--allow-unsandboxed` is the submitting user's to give, on their machine).
    pub fn is_none(&self) -> bool {
        self.grant == skillet_registry::Grant::default()
            && !self.unsandboxed
            && !self.keep_scratch
            && self.cache == crate::CacheUse::default()
    }
}

/// A call that passed every check and is ready to execute.
// One exists per call, briefly; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Prepared<'r> {
    /// A prompt skill, rendered.
    Prompt {
        /// The skill.
        spec: &'r SkillSpec,
        /// The rendered prompt.
        text: String,
    },
    /// A code skill's process and the policy it runs under.
    Process {
        /// The skill.
        spec: &'r SkillSpec,
        /// Where it was found (which grant is its own depends on it).
        entry: &'r SkillEntry,
        /// Program, argv, directory and environment.
        invocation: Invocation,
        /// Limits and notes about unenforced declarations.
        plan: PolicyPlan,
    },
}

/// Runs skills. Holds only configuration, so one engine serves any number of calls.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    pub(crate) settings: EngineSettings,
    /// The warm pools of the long-lived process this engine serves calls in (the daemon,
    /// `skillet mcp`); `None` in a one-shot process, which refuses pooled skills.
    pub(crate) pools: Option<std::sync::Arc<crate::session::Pools>>,
    /// The key parameters are hashed with in the history, read (or made) at the first run
    /// recorded; the error, said with every run, when it cannot be.
    pub(crate) params_key:
        std::sync::Arc<std::sync::OnceLock<Result<skillet_store::ParamsKey, String>>>,
}

impl Engine {
    /// An engine for these settings.
    pub fn new(settings: EngineSettings) -> Self {
        Engine {
            settings,
            pools: None,
            params_key: std::sync::Arc::default(),
        }
    }

    /// This engine serving pooled `code_session` skills from `pools` (see
    /// [`crate::session::Pools`]).
    pub fn with_pools(mut self, pools: std::sync::Arc<crate::session::Pools>) -> Self {
        self.pools = Some(pools);
        self
    }

    /// The memory limit in MiB a run of `name` would get with `overrides`, for a queue's
    /// memory budget: 0 for a skill that runs no program, or that is not found or not valid
    /// (its run then fails at once, holding nothing).
    pub fn memory_mb(&self, registry: &Registry, name: &str, overrides: &RunOverrides) -> u64 {
        registry
            .resolve(name)
            .filter(|e| e.is_valid())
            .and_then(|e| Some((e, e.spec.as_deref()?)))
            .filter(|(_, s)| s.kind.is_code())
            .map_or(0, |(entry, spec)| {
                crate::run_limits(spec, &self.policy_context(entry, overrides)).max_memory_mb
            })
    }

    /// The policy context of one skill: its configured grant (see `grant_scope`) plus the
    /// run's overrides.
    pub fn policy_context(&self, entry: &SkillEntry, overrides: &RunOverrides) -> PolicyContext {
        let configured = self.configured_grant(entry);
        let mut grant = configured.grant.cloned().unwrap_or_default();
        let flags_from = (grant.read.len(), grant.write.len());
        let extra = &overrides.grant;
        grant.read.extend(extra.read.iter().cloned());
        grant.write.extend(extra.write.iter().cloned());
        grant.env.extend(extra.env.iter().cloned());
        grant.raise_limits |= extra.raise_limits;
        if let Some(net) = &extra.network {
            grant.network = Some(net.clone());
        }
        PolicyContext {
            defaults: self.settings.defaults.clone(),
            grant,
            isolation: Some(if overrides.unsandboxed {
                Isolation::Disabled
            } else {
                self.settings.isolation.unwrap_or(Isolation::Required)
            }),
            keep_scratch: overrides.keep_scratch,
            scratch_total_mb: self.settings.scratch_total_mb,
            workspace: self.settings.workspace.clone(),
            dir: None,
            flags_from,
            home: self.settings.home.clone(),
            protected: self.settings.protected.clone(),
            skill_dirs: self.settings.skill_dirs.clone(),
            grant_workspace: configured.workspace,
            grant_withheld: configured.withheld,
        }
    }

    /// Runs the skill called `name` (or with that alias). Never fails: every outcome, including
    /// "no such skill", is an [`ExecutionResult`] with a status.
    ///
    /// A skill with a `retry` block is run again after retryable failures (see [`RetryPlan`]);
    /// every attempt is recorded with the same correlation id, and the last one is returned.
    /// Piped standard input is consumed by the first attempt; later ones read end of file.
    /// A skill with a `circuit_breaker` is refused at once while its circuit is open (see
    /// [`BreakerConfig`](crate::BreakerConfig)). When the call fails for a retryable reason or its circuit is open, a
    /// skill's `fallback` answers instead, and the result names both.
    pub async fn run(
        &self,
        registry: &Registry,
        name: &str,
        request: RunRequest,
    ) -> ExecutionResult {
        // Measured all the same, for the spans each attempt's history row keeps.
        crate::Observe::new(false, false)
            .scope(self.call(registry, name, request, None, 0))
            .await
    }

    /// [`Engine::run`], measured and explained as `observe` asks: the result then carries
    /// `debug` and `profile` (see [`crate::Observe`]).
    pub async fn run_observed(
        &self,
        registry: &Registry,
        name: &str,
        request: RunRequest,
        observe: &crate::Observe,
    ) -> ExecutionResult {
        let mut result = observe
            .scope(self.call(registry, name, request, None, 0))
            .await;
        observe.finish(&mut result);
        result
    }

    /// One call, possibly as the fallback of another: `origin` is then the first call's
    /// correlation id and the id of the execution it stands in for.
    fn call<'a>(
        &'a self,
        registry: &'a Registry,
        name: &'a str,
        request: RunRequest,
        origin: Option<(String, String)>,
        depth: usize,
    ) -> Pin<Box<dyn Future<Output = ExecutionResult> + Send + 'a>> {
        Box::pin(async move {
            let params = Value::Object(request.params.clone());
            let entry = registry.resolve(name);
            let found = entry
                .filter(|e| e.is_valid())
                .and_then(|e| Some((e, e.spec.as_deref()?)));
            let spec = found.map(|(_, s)| s);
            let per_attempt = Duration::from_secs(found.map_or(DEFAULT_TIMEOUT_S, |(e, s)| {
                wall_time_s(s, &self.policy_context(e, &request.overrides))
            }));
            let breaker = spec
                .and_then(|s| s.circuit_breaker.as_ref())
                .map(|cb| BreakerConfig::new(cb, per_attempt));
            let retry = spec.and_then(|s| s.retry.as_ref());
            let mut warnings = Vec::new();
            // The user's cap on attempts, not the skill's wish: each may take the whole limit.
            let attempts = found.map_or(1, |(e, s)| {
                max_attempts(
                    s,
                    &self.policy_context(e, &request.overrides),
                    &mut warnings,
                )
            });
            let mut plan = RetryPlan::with_attempts(retry, attempts, per_attempt, Instant::now());
            lap(Phase::Resolve);
            let admitted = self.admit(name, breaker.as_ref(), &mut warnings);
            lap(Phase::Store);
            let result = match admitted {
                Some(mut refused) => {
                    if let Some((correlation, _)) = &origin {
                        refused.correlation_id = correlation.clone();
                    }
                    self.record(
                        &mut refused,
                        entry,
                        &params,
                        now_ms(),
                        origin.as_ref().map(|o| o.1.as_str()),
                        request.asked_by.as_ref(),
                    );
                    crate::insight::attempt(&refused);
                    lap(Phase::Store);
                    refused
                }
                None => {
                    let mut r = self
                        .attempts(
                            registry,
                            name,
                            &request,
                            entry,
                            &params,
                            &mut plan,
                            origin.as_ref(),
                        )
                        .await;
                    // A cancelled call says nothing about the skill's health.
                    if let Some(cfg) = breaker.as_ref().filter(|_| r.status != Status::Cancelled) {
                        self.settle(name, r.status, cfg, &mut r.warnings);
                        lap(Phase::Store);
                    }
                    r
                }
            };
            let mut result = result;
            result.warnings.splice(0..0, warnings);
            let fallback = spec.and_then(|s| s.fallback.as_deref());
            let failed_over = result.status == Status::CircuitOpen || plan.retryable(&result);
            match fallback {
                Some(other) if failed_over && depth < MAX_FALLBACK_DEPTH => {
                    let origin = Some((result.correlation_id.clone(), result.execution_id.clone()));
                    let mut answer = self.call(registry, other, request, origin, depth + 1).await;
                    answer.warnings.insert(
                        0,
                        format!(
                            "`{name}` ended {}; its fallback `{other}` answered",
                            result.status.as_str()
                        ),
                    );
                    answer.fallback_from = Some(name.to_owned());
                    answer
                }
                _ => result,
            }
        })
    }

    /// Every attempt of one call under `plan`.
    #[allow(clippy::too_many_arguments)]
    async fn attempts(
        &self,
        registry: &Registry,
        name: &str,
        request: &RunRequest,
        entry: Option<&SkillEntry>,
        params: &Value,
        plan: &mut RetryPlan,
        origin: Option<&(String, String)>,
    ) -> ExecutionResult {
        let mut correlation: Option<String> = origin.map(|o| o.0.clone());
        let mut notes = Vec::new();
        let mut attempt = 1;
        loop {
            let started = now_ms();
            let skill = entry.map_or(name, |e| e.name.as_str());
            let mut result = crate::cancel::attempt(skill, request, |request| {
                self.run_unrecorded(registry, name, request)
            })
            .await;
            result.attempt = attempt;
            result.correlation_id = correlation
                .get_or_insert_with(|| result.execution_id.clone())
                .clone();
            self.record(
                &mut result,
                entry,
                params,
                started,
                origin.map(|o| o.1.as_str()),
                request.asked_by.as_ref(),
            );
            crate::insight::attempt(&result);
            lap(Phase::Store);
            if attempt >= plan.max_attempts || !plan.retryable(&result) {
                result.warnings.extend(notes);
                return result;
            }
            let what = match result.exit_code {
                Some(code) => format!("{} (exit code {code})", result.status.as_str()),
                None => result.status.as_str().to_owned(),
            };
            match plan.next_delay(Instant::now()) {
                Some(delay) => {
                    notes.push(format!(
                        "attempt {attempt} of {} {what}; retried after {} ms",
                        plan.max_attempts,
                        delay.as_millis()
                    ));
                    crate::insight::retry(delay, &format!("{what}: retryable"));
                    tokio::time::sleep(delay).await;
                    lap(Phase::RetryWait);
                    attempt += 1;
                }
                None => {
                    notes.push(format!("attempt {attempt} {what}; no retry: another attempt could not finish before the call's deadline"));
                    crate::insight::no_retry(
                        "not retried: another attempt could not finish before the call's deadline",
                    );
                    result.warnings.extend(notes);
                    return result;
                }
            }
        }
    }

    async fn run_unrecorded(
        &self,
        registry: &Registry,
        name: &str,
        request: RunRequest,
    ) -> ExecutionResult {
        let prepared = match self.prepare(
            registry,
            name,
            &request.params,
            &request.caller_dir,
            &request.overrides,
        ) {
            Ok(prepared) => prepared,
            Err(refused) => return *refused,
        };
        match prepared {
            Prepared::Prompt { spec, text } if spec.cache.is_some() => {
                self.prompt_cached(registry, spec, text, request)
            }
            Prepared::Prompt { spec, text } => {
                if let Some(live) = &request.live {
                    let _ = live.send(OutputChunk {
                        stream: Stream::Stdout,
                        bytes: text.clone().into_bytes(),
                    });
                }
                let mut result = ExecutionResult::new(&spec.name, Status::Ok);
                result.stdout = text;
                result.exit_code = Some(0);
                result
            }
            Prepared::Process {
                spec,
                entry,
                invocation,
                plan,
            } if crate::session::is_pooled(spec) => match &self.pools {
                Some(pools) => {
                    pools
                        .call(self, registry, entry, invocation, plan, &request)
                        .await
                }
                None => crate::session::pool::no_pool_here(spec),
            },
            Prepared::Process { spec, .. } if spec.kind == SkillKind::CodeSession => {
                ExecutionResult::new(&spec.name, Status::Error)
                    .with_error(format!(
                        "`{name}` is a code_session skill: it keeps an interpreter running between \
                         calls, so it is used through a session",
                        name = spec.name
                    ))
                    .with_hint(Hint::StartSession {
                        skill: spec.name.clone(),
                    })
            }
            Prepared::Process {
                spec,
                invocation,
                mut plan,
                ..
            } => {
                let (_slot, note, waited) =
                    match self.slot(registry, spec, &request.caller_dir).await {
                        Ok(held) => held,
                        Err(refused) => return *refused,
                    };
                let run_dir = self.run_dir(&request.caller_dir);
                // Served until the run ends, when this is dropped.
                let _channels = match self.open_channels(registry, spec, &run_dir, &mut plan) {
                    Ok(broker) => broker,
                    Err(refused) => {
                        return ExecutionResult::new(&spec.name, Status::Error).with_error(refused);
                    }
                };
                let mut result = if spec.cache.is_some() {
                    self.execute_cached(registry, spec, invocation, plan, request)
                        .await
                } else {
                    self.execute_stateful(registry, spec, invocation, plan, request)
                        .await
                };
                result.warnings.extend(note);
                result.slot_wait_ms =
                    waited.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX));
                result
            }
        }
    }
}
