//! Everything up to execution: the skill a name resolves to, its parameters, the directory it
//! runs in, its invocation and its sandbox policy. `skillet run --dry-run` shows exactly this.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use skillet_registry::{Registry, SkillEntry};
use skillet_spec::{SkillKind, SkillSpec};

use crate::engine::{Engine, Prepared, RunOverrides, SKILL_DIR_ENV, WORKSPACE_ENV};
use crate::hint::Hint;
use crate::insight::{self, Phase};
use crate::invocation::{Dirs, build_invocation, render_prompt};
use crate::params::{confine_paths, resolve_params};
use crate::policy::{OneResolution, PolicyError, plan_policy, real_path};
use crate::result::{ExecutionResult, Status};

impl Engine {
    /// Where a call from `caller_dir` runs, and where its relative values and grants start:
    /// the caller's real directory when it lies in the workspace, else the workspace root.
    /// Callers with no directory of their own (MCP, the daemon) pass the workspace root.
    pub fn run_dir(&self, caller_dir: &Path) -> PathBuf {
        // Real, so that it compares with the (real) workspace.
        let caller = real_path(caller_dir);
        match self.settings.workspace.as_deref().map(real_path) {
            Some(ws) if !caller.starts_with(&ws) => ws,
            _ => caller,
        }
    }

    /// The skill `name` names, if it exists, is valid and is not disabled; otherwise the
    /// result a call of it ends with.
    pub(crate) fn usable<'r>(
        &self,
        registry: &'r Registry,
        name: &str,
    ) -> Result<(&'r SkillEntry, &'r SkillSpec), Box<ExecutionResult>> {
        if let Some(problem) = &self.settings.workspace_config_error {
            return Err(Box::new(
                ExecutionResult::new(name, Status::Error).with_error(problem.clone()),
            ));
        }
        let entry = registry
            .resolve(name)
            .ok_or_else(|| not_found(registry, name))?;
        let spec = runnable(entry)?;
        let disabled = std::iter::once(&spec.name)
            .chain(&spec.aliases)
            .find(|n| self.settings.disabled.contains(*n));
        if let Some(off) = disabled {
            return Err(Box::new(
                ExecutionResult::new(&spec.name, Status::Error)
                    .with_error(format!("`{off}` is disabled"))
                    .with_hint(Hint::Enable { skill: off.clone() }),
            ));
        }
        // A package's skills are off with it (`skillet disable PACKAGE`).
        if let Some(package) = entry.package.as_ref().filter(|p| {
            let marker = skillet_registry::Config::package_entry(&p.name);
            self.settings.disabled.contains(&marker)
        }) {
            return Err(Box::new(
                ExecutionResult::new(&spec.name, Status::Error)
                    .with_error(format!(
                        "`{}` belongs to the package `{}`, which is disabled",
                        spec.name, package.name
                    ))
                    .with_hint(Hint::Enable {
                        skill: package.name.clone(),
                    }),
            ));
        }
        Ok((entry, spec))
    }

    /// Everything before execution: find the skill, check it can run, check the values, build
    /// the prompt or the process. A refusal comes back as the result the run would have had.
    pub fn prepare<'r>(
        &self,
        registry: &'r Registry,
        name: &str,
        params: &Map<String, Value>,
        caller_dir: &Path,
        overrides: &RunOverrides,
    ) -> Result<Prepared<'r>, Box<ExecutionResult>> {
        // Every path of this run's plan resolved against one view of the file system.
        let _view = OneResolution::begin();
        let (entry, spec) = self.usable(registry, name)?;
        insight::source(entry, name);
        insight::lap(Phase::Resolve);
        let invalid = |problems: Vec<String>| {
            ExecutionResult::new(&spec.name, Status::InvalidParams).with_error(problems.join("\n"))
        };
        let run_dir = self.run_dir(caller_dir);
        let skill_dir = real_path(entry.skill_dir());
        let mut values = resolve_params(spec, params, &run_dir).map_err(invalid)?;
        if let (true, Some(ws)) = (spec.kind.is_code(), &self.settings.workspace) {
            confine_paths(spec, params, &mut values, ws).map_err(invalid)?;
        }
        insight::params(spec, params, &values);
        match spec.kind {
            SkillKind::PromptInline => {
                insight::lap(Phase::Validate);
                let text = render_prompt(spec, &skill_dir, &values);
                // Rendering is all a prompt skill does.
                insight::lap(Phase::Process);
                Ok(Prepared::Prompt { spec, text })
            }
            SkillKind::CodeInline | SkillKind::CodeSession => {
                let refused = |e: PolicyError| {
                    let mut result =
                        ExecutionResult::new(&spec.name, Status::Error).with_error(e.to_string());
                    result.hint = e.hint();
                    Box::new(result)
                };
                if let Some(cwd) = &self.settings.no_workspace {
                    return Err(refused(PolicyError::NoWorkspace { cwd: cwd.clone() }));
                }
                let dirs = Dirs {
                    skill: &skill_dir,
                    run: &run_dir,
                };
                let mut invocation = build_invocation(spec, dirs, &values).map_err(invalid)?;
                insight::lap(Phase::Validate);
                let mut ctx = self.policy_context(entry, overrides);
                ctx.dir = Some(run_dir.clone());
                let mut env = invocation.env.clone();
                if let Some(ws) = &self.settings.workspace {
                    env.push((WORKSPACE_ENV.to_owned(), ws.display().to_string()));
                }
                env.push((SKILL_DIR_ENV.to_owned(), skill_dir.display().to_string()));
                let plan = plan_policy(spec, entry.skill_dir(), &invocation.program, &ctx, env)
                    .map_err(refused)?;
                if let Some(real) = &plan.program {
                    invocation.program = real.display().to_string();
                }
                // The directory the process starts in is resolved like every other path, and
                // must lie in what it may read (a `working_dir` of `sub -> ~` would not).
                let cwd = real_path(&invocation.cwd);
                let fs = &plan.policy.fs;
                if !fs.read.iter().chain(&fs.write).any(|r| cwd.starts_with(r)) {
                    return Err(refused(PolicyError::WorkingDir {
                        dir: invocation.cwd,
                        real: cwd,
                    }));
                }
                invocation.cwd = cwd;
                insight::plan(&invocation, &plan);
                insight::lap(Phase::SandboxSetup);
                Ok(Prepared::Process {
                    spec,
                    entry,
                    invocation,
                    plan,
                })
            }
            // A conversation needs someone to talk to, not a one-shot call.
            SkillKind::Conversation => Err(Box::new(
                ExecutionResult::new(&spec.name, Status::Error)
                    .with_error(format!(
                        "`{name}` is a conversation skill: it is held with the model configured \
                         in [llm], not run once",
                        name = spec.name
                    ))
                    .with_hint(Hint::Converse {
                        skill: spec.name.clone(),
                    }),
            )),
        }
    }
}

fn not_found(registry: &Registry, name: &str) -> Box<ExecutionResult> {
    let result = ExecutionResult::new(name, Status::NotFound);
    Box::new(match registry.suggest(name) {
        Some(close) => {
            result.with_error(format!("no skill named `{name}`; did you mean `{close}`?"))
        }
        None => result
            .with_error(format!("no skill named `{name}`"))
            .with_hint(Hint::ListSkills),
    })
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
            Err(Box::new(
                ExecutionResult::new(&entry.name, Status::Error)
                    .with_error(format!(
                        "skill `{name}` is broken ({count} error{s}, the first below):\n{first}",
                        name = entry.name,
                        s = if count == 1 { "" } else { "s" },
                    ))
                    .with_hint(Hint::Validate {
                        skill: entry.name.clone(),
                    }),
            ))
        }
    }
}
