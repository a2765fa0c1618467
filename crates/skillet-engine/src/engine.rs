//! Running a skill by name: resolve, check parameters, build the invocation, execute.

use std::path::PathBuf;

use serde_json::{Map, Value};
use skillet_registry::{Defaults, Registry, SkillEntry};
use skillet_sandbox::{OutputChunk, ProcessSpec, StdinSource};
use skillet_spec::SkillKind;
use tokio::sync::mpsc;

use crate::invocation::{build_invocation, render_prompt};
use crate::params::resolve_params;
use crate::policy::plan_policy;
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
        let Some(entry) = registry.resolve(name) else {
            let mut msg = format!("no skill named `{name}`");
            if let Some(close) = registry.suggest(name) {
                msg.push_str(&format!("; did you mean `{close}`?"));
            } else {
                msg.push_str("; `skillet list` shows the skills available here");
            }
            return ExecutionResult::new(name, Status::NotFound).with_error(msg);
        };
        self.run_entry(entry, request).await
    }

    /// Runs a skill already looked up.
    pub async fn run_entry(&self, entry: &SkillEntry, request: RunRequest) -> ExecutionResult {
        let spec = match (&entry.spec, entry.is_valid()) {
            (Some(spec), true) => spec,
            _ => {
                let first = entry
                    .errors()
                    .next()
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                let count = entry.errors().count();
                return ExecutionResult::new(&entry.name, Status::Error).with_error(format!(
                    "skill `{}` is broken ({count} error{}; `skillet validate {}` lists them):\n{first}",
                    entry.name,
                    if count == 1 { "" } else { "s" },
                    entry.name
                ));
            }
        };
        let values = match resolve_params(spec, &request.params, &request.caller_dir) {
            Ok(values) => values,
            Err(problems) => {
                return ExecutionResult::new(&spec.name, Status::InvalidParams)
                    .with_error(problems.join("\n"));
            }
        };
        match spec.kind {
            SkillKind::PromptInline => {
                let mut result = ExecutionResult::new(&spec.name, Status::Ok);
                result.stdout = render_prompt(spec, &values);
                result.exit_code = Some(0);
                if let Some(live) = &request.live {
                    let _ = live.send(OutputChunk { stream: skillet_sandbox::Stream::Stdout, bytes: result.stdout.clone().into_bytes() });
                }
                result
            }
            SkillKind::CodeInline => {
                let invocation = match build_invocation(spec, entry.skill_dir(), &values) {
                    Ok(inv) => inv,
                    Err(problems) => return ExecutionResult::new(&spec.name, Status::InvalidParams).with_error(problems.join("\n")),
                };
                let plan = plan_policy(spec, &self.defaults, invocation.env);
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
                            (false, skillet_sandbox::Exit::Code(0)) => Status::Ok,
                            (false, _) => Status::Failed,
                        };
                        let mut r = ExecutionResult::new(&spec.name, status);
                        r.exit_code = (!outcome.timed_out).then(|| outcome.exit.shell_code());
                        r.stdout = String::from_utf8_lossy(&outcome.stdout).into_owned();
                        r.stderr = String::from_utf8_lossy(&outcome.stderr).into_owned();
                        r.duration_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
                        r.truncated = outcome.stdout_truncated || outcome.stderr_truncated;
                        if outcome.timed_out {
                            r.error = Some(format!("killed after the {} s wall-clock limit", plan.policy.wall_time.as_secs()));
                        }
                        r
                    }
                    Err(e) => ExecutionResult::new(&spec.name, Status::Error).with_error(e.to_string()),
                };
                result.warnings = plan.warnings;
                result
            }
            SkillKind::CodeSession | SkillKind::Conversation => ExecutionResult::new(&spec.name, Status::Error).with_error(format!(
                "{} skills are not supported yet: they need the session daemon, which is not built yet",
                spec.kind
            )),
        }
    }
}
