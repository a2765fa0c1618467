//! Running a skill by name: resolve, check parameters, build the invocation, execute.
//!
//! Everything up to execution is [`Engine::prepare`], so what `skillet run --dry-run` shows is
//! exactly what `skillet run` would do.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use skillet_registry::{Defaults, Registry, SkillEntry};
use skillet_sandbox::{Exit, OutputChunk, ProcessSpec, StdinSource, Stream};
use skillet_spec::{SkillKind, SkillSpec};
use tokio::sync::mpsc;

use crate::invocation::{Invocation, build_invocation, render_prompt};
use crate::params::resolve_params;
use crate::policy::{PolicyPlan, plan_policy};
use crate::result::{ExecutionResult, Status};

/// One call of a skill.
#[derive(Debug, Default)]
pub struct RunRequest {
    /// Parameter values by name (strings are parsed for typed parameters).
    pub params: Map<String, Value>,
    /// Standard input of the process.
    pub stdin: StdinSource,
    /// The caller's directory: relative `path` values are resolved against it.
    pub caller_dir: PathBuf,
    /// Receives output as it arrives, for showing it live.
    pub live: Option<mpsc::UnboundedSender<OutputChunk>>,
}

/// A call that passed every check and is ready to execute.
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
        /// Program, argv, directory and environment.
        invocation: Invocation,
        /// Limits and notes about unenforced declarations.
        plan: PolicyPlan,
    },
}

/// Runs skills. Holds only configuration, so one engine serves any number of calls.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    defaults: Defaults,
}

impl Engine {
    /// An engine with the user's defaults (from `skillet.toml`).
    pub fn new(defaults: Defaults) -> Self {
        Engine { defaults }
    }

    /// Runs the skill called `name` (or with that alias). Never fails: every outcome, including
    /// "no such skill", is an [`ExecutionResult`] with a status.
    pub async fn run(
        &self,
        registry: &Registry,
        name: &str,
        request: RunRequest,
    ) -> ExecutionResult {
        let prepared = match self.prepare(registry, name, &request.params, &request.caller_dir) {
            Ok(prepared) => prepared,
            Err(refused) => return *refused,
        };
        match prepared {
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
                invocation,
                plan,
            } => execute(spec, invocation, plan, request).await,
        }
    }

    /// Everything before execution: find the skill, check it can run, check the values, build
    /// the prompt or the process. A refusal comes back as the result the run would have had.
    pub fn prepare<'r>(
        &self,
        registry: &'r Registry,
        name: &str,
        params: &Map<String, Value>,
        caller_dir: &Path,
    ) -> Result<Prepared<'r>, Box<ExecutionResult>> {
        let entry = registry
            .resolve(name)
            .ok_or_else(|| not_found(registry, name))?;
        let spec = runnable(entry)?;
        let invalid = |problems: Vec<String>| {
            ExecutionResult::new(&spec.name, Status::InvalidParams).with_error(problems.join("\n"))
        };
        let values = resolve_params(spec, params, caller_dir).map_err(invalid)?;
        match spec.kind {
            SkillKind::PromptInline => Ok(Prepared::Prompt { spec, text: render_prompt(spec, &values) }),
            SkillKind::CodeInline => {
                let invocation = build_invocation(spec, entry.skill_dir(), &values).map_err(invalid)?;
                let plan = plan_policy(spec, &self.defaults, invocation.env.clone());
                Ok(Prepared::Process { spec, invocation, plan })
            }
            SkillKind::CodeSession | SkillKind::Conversation => Err(Box::new(ExecutionResult::new(&spec.name, Status::Error).with_error(format!(
                "{} skills are not supported yet: they need the session daemon, which is not built yet",
                spec.kind
            )))),
        }
    }
}

fn not_found(registry: &Registry, name: &str) -> Box<ExecutionResult> {
    let hint = match registry.suggest(name) {
        Some(close) => format!("did you mean `{close}`?"),
        None => "`skillet list` shows the skills available here".to_owned(),
    };
    Box::new(
        ExecutionResult::new(name, Status::NotFound)
            .with_error(format!("no skill named `{name}`; {hint}")),
    )
}

/// The skill of a valid entry, or the error a broken one answers with.
fn runnable(entry: &SkillEntry) -> Result<&SkillSpec, Box<ExecutionResult>> {
    match &entry.spec {
        Some(spec) if entry.is_valid() => Ok(spec),
        _ => {
            let count = entry.errors().count();
            let first = entry
                .errors()
                .next()
                .map(ToString::to_string)
                .unwrap_or_default();
            Err(Box::new(ExecutionResult::new(&entry.name, Status::Error).with_error(format!(
                "skill `{name}` is broken ({count} error{s}; `skillet validate {name}` lists them):\n{first}",
                name = entry.name,
                s = if count == 1 { "" } else { "s" },
            ))))
        }
    }
}

async fn execute(
    spec: &SkillSpec,
    invocation: Invocation,
    plan: PolicyPlan,
    request: RunRequest,
) -> ExecutionResult {
    let process = ProcessSpec {
        program: invocation.program.into(),
        args: invocation.args.into_iter().map(Into::into).collect(),
        cwd: invocation.cwd,
        stdin: request.stdin,
    };
    let mut result = match skillet_sandbox::run(&process, &plan.policy, request.live).await {
        Ok(outcome) => {
            let status = match (outcome.timed_out, outcome.exit) {
                (true, _) => Status::Timeout,
                (false, Exit::Code(0)) => Status::Ok,
                (false, _) => Status::Failed,
            };
            let mut r = ExecutionResult::new(&spec.name, status);
            r.exit_code = (!outcome.timed_out).then(|| outcome.exit.shell_code());
            r.stdout = String::from_utf8_lossy(&outcome.stdout).into_owned();
            r.stderr = String::from_utf8_lossy(&outcome.stderr).into_owned();
            r.duration_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
            r.truncated = outcome.stdout_truncated || outcome.stderr_truncated;
            if outcome.timed_out {
                r.error = Some(format!(
                    "killed after the {} s wall-clock limit",
                    plan.policy.wall_time.as_secs()
                ));
            }
            r
        }
        Err(e) => ExecutionResult::new(&spec.name, Status::Error).with_error(e.to_string()),
    };
    result.warnings = plan.warnings;
    result
}
