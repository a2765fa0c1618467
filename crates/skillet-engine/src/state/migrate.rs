//! Lifting a state document to the skill's newer `state.version`: each step's command runs
//! under the skill's own sandbox policy, in the skill's folder, with `$SKILLET_STATE` naming
//! a copy of the document. Nothing is committed here: the caller commits the result only when
//! every step ended ok and left valid JSON, so a failed step leaves the old version in place.

use skillet_registry::SkillEntry;
use skillet_sandbox::StdinSource;
use skillet_spec::{SkillSpec, StateSpec};

use crate::engine::RunRequest;
use crate::execute::execute;
use crate::invocation::Invocation;
use crate::policy::{PolicyPlan, real_path};
use crate::result::Status;

use super::files::StateDir;

/// The document lifted from `from` to `decl.version`, or why not (the old one is kept).
#[allow(clippy::too_many_arguments)]
pub(super) async fn migrate(
    spec: &SkillSpec,
    decl: &StateSpec,
    entry: &SkillEntry,
    doc: Option<&str>,
    from: u32,
    plan: &PolicyPlan,
    request: &RunRequest,
    max_bytes: u64,
) -> Result<Option<String>, String> {
    let name = &spec.name;
    let skill_dir = real_path(entry.skill_dir());
    let mut doc = doc.map(str::to_owned);
    for version in from..decl.version {
        let kept = format!(
            "the state of `{name}` stays at version {from}; fix the migration, or start over \
             with `skillet state clear {name}`"
        );
        let Some((program, args)) = decl
            .migrate
            .get(&version.to_string())
            .and_then(|c| c.split_first())
        else {
            return Err(format!(
                "the state of `{name}` is at version {version} and the skill's is {}, but \
                 \"state\".\"migrate\" has no command for version {version}: add one \
                 (\"{version}\": [\"python3\", \"migrate.py\"]), or start over with `skillet \
                 state clear {name}`",
                decl.version
            ));
        };
        let program = if program.contains('/') && !program.starts_with('/') {
            skill_dir.join(program).display().to_string()
        } else {
            program.clone()
        };
        let dir = StateDir::create(doc.as_deref(), &[])
            .map_err(|e| format!("cannot prepare the migration of `{name}`'s state: {e}"))?;
        let mut plan = plan.clone();
        super::confine(&mut plan, &dir, max_bytes);
        let invocation = Invocation {
            program,
            args: args.to_vec(),
            cwd: skill_dir.clone(),
            env: Vec::new(),
        };
        let quiet = RunRequest {
            stdin: StdinSource::Null,
            caller_dir: request.caller_dir.clone(),
            overrides: request.overrides.clone(),
            ..RunRequest::default()
        };
        let mut result = execute(spec, invocation, plan, quiet).await;
        super::explain_cap(&mut result, max_bytes);
        if result.status != Status::Ok {
            let why = result
                .error
                .clone()
                .or_else(|| Some(result.stderr.trim().to_owned()).filter(|s| !s.is_empty()))
                .map(|w| format!(": {w}"))
                .unwrap_or_default();
            return Err(format!(
                "the migration of `{name}`'s state from version {version} to {} ended {}{why}; {kept}",
                version + 1,
                result.status.as_str(),
            ));
        }
        doc = dir.read_back(max_bytes).map_err(|e| {
            format!(
                "the migration of `{name}`'s state from version {version} to {} left no usable \
                 document ({e}); {kept}",
                version + 1
            )
        })?;
    }
    Ok(doc)
}
