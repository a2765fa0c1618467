//! State a code skill keeps between runs (see docs/state.md): the document is prepared at
//! `$SKILLET_STATE` before the run, read back after a run that ended ok, and committed by a
//! compare-and-swap on the revision the run started from. A run that fails, is killed or times
//! out commits nothing; a document that is not JSON, is too large or is not a plain file is
//! refused and the run's result says why. When another run committed first, the skill's
//! `on_conflict` decides: run again on the newer state (a bounded number of times), or fail.
//! Migrations to a newer `state.version` run in the sandbox on a copy, and the old document
//! stays until every step succeeded.

mod files;
mod held_output;
mod identity;
mod migrate;
mod notes;
mod session;

use std::path::PathBuf;
use std::sync::Arc;

use held_output::HeldOutput;
use skillet_registry::{Registry, SkillEntry};
use skillet_spec::{DEFAULT_MAX_STATE_KB, OnConflict, SkillSpec, StateSpec};
use skillet_store::{StateCommit, StateKey, StateWrite, Store};

use crate::engine::{Engine, RunRequest};
use crate::execute::execute;
use crate::invocation::Invocation;
use crate::policy::{Kind, PolicyContext, PolicyPlan, settle};
use crate::result::{ExecutionResult, Status};

pub(crate) use identity::sharers;
pub use identity::{state_key, state_key_workspace, state_owner};

pub(crate) use files::StateDir;
pub(crate) use notes::Notes;
pub(crate) use session::{PooledBase, SessionState, Settled};

/// The environment variable naming the run's state document.
pub const STATE_ENV: &str = "SKILLET_STATE";
/// The environment variable naming the directory of documents shared with the skill,
/// `<skill>.json` each, read-only.
pub const STATE_SHARED_ENV: &str = "SKILLET_STATE_SHARED";
/// Runs of one call when others keep committing first (`on_conflict: retry`).
pub const MAX_CONFLICT_RUNS: u32 = 10;

const STATE_KB: Kind = Kind {
    field: "max_state_kb",
    unit: " KiB",
    builtin: DEFAULT_MAX_STATE_KB,
    global: |d| d.max_state_kb,
};

/// The largest document `spec` may keep under `ctx`, in bytes: its `state.max_kb` held at the
/// user's cap (`[defaults] max_state_kb`, default 1024 KiB) by the one limit rule.
pub fn max_state_bytes(spec: &SkillSpec, ctx: &PolicyContext, warnings: &mut Vec<String>) -> u64 {
    let asked = spec.state.as_ref().and_then(|s| s.max_kb);
    settle(&STATE_KB, asked, &spec.name, ctx, warnings).saturating_mul(1024)
}

/// Why a stateful run stopped before or after its process: the message of an `error` result.
type Refusal = String;

/// A stop, with the run's own result when its process ran (its output is kept).
type Stop = (Refusal, Option<Box<ExecutionResult>>);

/// One stateful call's fixed parts.
struct Call<'a> {
    spec: &'a SkillSpec,
    decl: &'a StateSpec,
    entry: &'a SkillEntry,
    store: Arc<dyn Store>,
    key: StateKey,
    /// The documents it may read: (sharer's name, its key).
    shares: Vec<(String, StateKey)>,
    max_bytes: u64,
    /// Credentials this run was given for itself only (`--allow-env`, not `[grants]`): what it
    /// saves could carry them to later runs, which were not given them, so nothing is saved.
    one_run_secrets: OneRunSecrets,
}

/// The credentials a run or session was given for itself only, and how the user would grant
/// them for good instead (for a workspace skill, with the grant's `workspaces`).
#[derive(Debug, Clone, Default)]
pub(crate) struct OneRunSecrets {
    pub(crate) names: Vec<String>,
    pub(crate) grant_hint: String,
}

impl OneRunSecrets {
    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl Engine {
    /// Executes a prepared code_inline process, with its state when it declares one.
    pub(crate) async fn execute_stateful(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        invocation: Invocation,
        plan: PolicyPlan,
        request: RunRequest,
    ) -> ExecutionResult {
        let Some(decl) = spec.state.as_ref() else {
            return execute(spec, invocation, plan, request).await;
        };
        let mut warnings = Vec::new();
        let outcome = match self.state_call(registry, spec, decl, &request, &mut warnings) {
            Ok(call) => call.run(invocation, plan, request, &mut warnings).await,
            Err(refused) => Err((refused, None)),
        };
        let mut result = outcome.unwrap_or_else(|(refused, ran)| {
            let mut r = ran.map_or_else(|| ExecutionResult::new(&spec.name, Status::Error), |r| *r);
            r.status = Status::Error;
            r.error = Some(refused);
            r
        });
        result.warnings.splice(0..0, warnings);
        result
    }

    fn state_call<'a>(
        &self,
        registry: &'a Registry,
        spec: &'a SkillSpec,
        decl: &'a StateSpec,
        request: &RunRequest,
        warnings: &mut Vec<String>,
    ) -> Result<Call<'a>, Refusal> {
        let store = self.settings.store.clone().ok_or_else(|| {
            format!(
                "`{}` keeps state, which lives in skillet's database, and none is open here; \
                 see the warning above about the database and fix what it names",
                spec.name
            )
        })?;
        let entry = registry
            .resolve(&spec.name)
            .filter(|e| e.spec.as_ref().is_some_and(|s| s.name == spec.name))
            .ok_or_else(|| format!("`{}` is no longer found", spec.name))?;
        let workspace: PathBuf = self
            .settings
            .workspace
            .clone()
            .unwrap_or_else(|| self.run_dir(&request.caller_dir));
        let key = state_key(entry, &workspace)
            .ok_or_else(|| format!("`{}` declares no state", spec.name))?;
        if identity::global_refused(entry) {
            warnings.push(format!(
                "`{}` asks for \"scope\": \"global\" state, which only the user's own skills \
                 get; it keeps one state per workspace",
                spec.name
            ));
        }
        let ctx = self.policy_context(entry, &request.overrides);
        let max_bytes = max_state_bytes(spec, &ctx, warnings);
        let granted = self.configured_grant(entry).grant;
        let names: Vec<String> = request
            .overrides
            .grant
            .env
            .iter()
            .filter(|n| !granted.is_some_and(|g| g.env.contains(n)))
            .filter(|n| {
                crate::credential_reason(n, std::env::var_os(n.as_str()).as_deref()).is_some()
            })
            .cloned()
            .collect();
        let one_run_secrets = OneRunSecrets {
            grant_hint: ctx.grant_hint(&spec.name, &format!("env = {:?}", names)),
            names,
        };
        Ok(Call {
            spec,
            decl,
            entry,
            store,
            key,
            shares: identity::shares(registry, entry, &workspace),
            max_bytes,
            one_run_secrets,
        })
    }
}

impl Call<'_> {
    /// Runs the call (again, on conflict) and commits; an error names what to do.
    ///
    /// A call that may run again holds its output back from a live view until it is over and
    /// then passes on only the output of the run it ends with: a run whose state lost to
    /// another's is discarded, and its output must not be shown as the call's (a script's
    /// `n=$(skillet run counter)` would read every attempt's lines).
    async fn run(
        self,
        invocation: Invocation,
        plan: PolicyPlan,
        mut request: RunRequest,
        warnings: &mut Vec<String>,
    ) -> Result<ExecutionResult, Stop> {
        let held = match self.decl.on_conflict() {
            OnConflict::Retry => request.live.take().map(HeldOutput::new),
            OnConflict::Fail => None,
        };
        // `held` is dropped when this returns, or when the call is cut short: either way the
        // attempt it ends with is passed on then.
        self.run_until_saved(invocation, plan, request, held.as_ref(), warnings)
            .await
    }

    async fn run_until_saved(
        self,
        invocation: Invocation,
        plan: PolicyPlan,
        request: RunRequest,
        held: Option<&HeldOutput>,
        warnings: &mut Vec<String>,
    ) -> Result<ExecutionResult, Stop> {
        let name = &self.spec.name;
        let store_failed = |e: skillet_store::StoreError| {
            (
                format!("cannot read or write the state of `{name}`: {e}"),
                None,
            )
        };
        let shared = self.shared().map_err(store_failed)?;
        for run in 1..=MAX_CONFLICT_RUNS {
            let Some((rev, doc)) = self.base(&plan, &request, warnings).await? else {
                // Another run migrated or wrote first: start again from what it left.
                continue;
            };
            let dir = StateDir::create(doc.as_deref(), &shared)
                .map_err(|e| (format!("cannot prepare the state of `{name}`: {e}"), None))?;
            let mut plan = plan.clone();
            confine(&mut plan, &dir, self.max_bytes);
            let mut attempt = request.clone();
            if let Some(held) = held {
                attempt.live = Some(held.next_attempt());
            }
            let mut result = execute(self.spec, invocation.clone(), plan, attempt).await;
            explain_cap(&mut result, self.max_bytes);
            if result.status != Status::Ok {
                // A run that did not end ok commits nothing.
                return Ok(result);
            }
            let new = match dir.read_back(self.max_bytes) {
                Ok(new) => new,
                Err(e) => {
                    return Err((
                        format!(
                            "the run ended ok but its state was not saved: {e}. The state of \
                             `{name}` is unchanged"
                        ),
                        Some(Box::new(result)),
                    ));
                }
            };
            let unchanged = match (&new, &doc) {
                (Some(n), _) => *n == dir.initial,
                (None, None) => true,
                (None, Some(_)) => false,
            };
            if unchanged {
                return Ok(result);
            }
            if !self.one_run_secrets.is_empty() {
                let mut result = result;
                result.warnings.push(format!(
                    "the state of `{name}` was not saved: this run was given {} for itself only \
                     (--allow-env), and saved state would carry it to later runs and to the \
                     skills that read this one's state. To keep state, grant it in the global \
                     skillet.toml instead: {}",
                    self.one_run_secrets.names.join(", "),
                    self.one_run_secrets.grant_hint
                ));
                return Ok(result);
            }
            let write = self.write(new.as_deref(), &result.execution_id);
            match self
                .store
                .commit_state(&self.key, rev, &write)
                .map_err(store_failed)?
            {
                StateCommit::Committed(_) => return Ok(result),
                StateCommit::Conflict(_) if self.decl.on_conflict() == OnConflict::Fail => {
                    return Err((
                        format!(
                            "another run of `{name}` saved its state while this one ran, so this \
                             run's state was not saved (\"on_conflict\": \"fail\"). Run it again, \
                             or set \"on_conflict\": \"retry\" to rerun on the newer state"
                        ),
                        Some(Box::new(result)),
                    ));
                }
                StateCommit::Conflict(_) => {
                    // This run is thrown away: its output is not the call's.
                    if let Some(held) = held {
                        held.discard();
                    }
                    warnings.push(format!(
                        "run {run}: another run of `{name}` saved its state first; ran again on \
                         the newer state"
                    ));
                    tokio::time::sleep(crate::recovery::full_jitter(
                        std::time::Duration::from_millis(25 << run.min(6)),
                    ))
                    .await;
                }
            }
        }
        Err((
            format!(
                "the state of `{name}` kept changing under it: {MAX_CONFLICT_RUNS} runs each found \
                 another run had saved first, and none was saved. Run it again when fewer runs \
                 of `{name}` are under way"
            ),
            None,
        ))
    }

    /// The revision and document a run starts from, migrated to the skill's `state.version`
    /// (and the migration committed) when it is older; `None` when another run migrated or
    /// wrote first and the caller should read again.
    async fn base(
        &self,
        plan: &PolicyPlan,
        request: &RunRequest,
        warnings: &mut Vec<String>,
    ) -> Result<Option<(i64, Option<String>)>, Stop> {
        let name = &self.spec.name;
        let store_failed = |e: skillet_store::StoreError| {
            (
                format!("cannot read or write the state of `{name}`: {e}"),
                None,
            )
        };
        let record = self.store.state(&self.key).map_err(store_failed)?;
        let mut rev = record.as_ref().map_or(0, |r| r.rev);
        let mut doc = record.as_ref().and_then(|r| r.doc.clone());
        let stored = record
            .as_ref()
            .filter(|r| r.doc.is_some())
            .map(|r| r.schema_version);
        if let Some(version) = stored {
            if version > self.decl.version {
                return Err((
                    format!(
                        "the state of `{name}` has version {version}, newer than the skill's \
                         state version {}: an older copy of the skill is running. Restore \
                         the newer skill, or start over with `skillet state clear {name}`",
                        self.decl.version
                    ),
                    None,
                ));
            }
            if version < self.decl.version {
                let migrated = migrate::migrate(
                    self.spec,
                    self.decl,
                    self.entry,
                    doc.as_deref(),
                    version,
                    plan,
                    request,
                    self.max_bytes,
                )
                .await
                .map_err(|m| (m, None))?;
                if !self.one_run_secrets.is_empty() {
                    // This run sees the migrated document; it is not saved (see below).
                    doc = migrated;
                } else {
                    let write = self.write(migrated.as_deref(), "migration");
                    match self
                        .store
                        .commit_state(&self.key, rev, &write)
                        .map_err(store_failed)?
                    {
                        StateCommit::Committed(new) => {
                            warnings.push(format!(
                                "state of `{name}` migrated from version {version} to {}",
                                self.decl.version
                            ));
                            (rev, doc) = (new, migrated);
                        }
                        // Another run migrated or wrote first: the caller reads again.
                        StateCommit::Conflict(_) => return Ok(None),
                    }
                }
            }
        }
        Ok(Some((rev, doc)))
    }

    fn write<'w>(&self, doc: Option<&'w str>, writer: &'w str) -> StateWrite<'w> {
        StateWrite {
            doc,
            schema_version: self.decl.version,
            writer,
            ttl_ms: self
                .decl
                .ttl_days
                .map(|d| i64::from(d).saturating_mul(86_400_000)),
        }
    }

    /// The documents shared with this skill, by sharer's name.
    fn shared(&self) -> Result<Vec<(String, String)>, skillet_store::StoreError> {
        let mut out = Vec::new();
        for (sharer, key) in &self.shares {
            if let Some(doc) = self.store.state(key)?.and_then(|r| r.doc) {
                out.push((sharer.clone(), doc));
            }
        }
        Ok(out)
    }
}

/// What the run's writable state directory may hold while it runs, for a document of at most
/// `max_bytes`: the document and its replacement beside it (write a new file and rename it
/// over), with room for a few small files. Without a bound there, a run could fill the
/// memory-backed file system the state directories live on (they are not its scratch, which
/// has its own cap).
pub(crate) fn state_dir_cap(max_bytes: u64) -> u64 {
    max_bytes.saturating_mul(2).saturating_add(64 * 1024)
}

/// Lets the run write its state directory (up to [`state_dir_cap`]) and read the shared one,
/// and tells it where they are.
pub(crate) fn confine(plan: &mut PolicyPlan, dir: &StateDir, max_bytes: u64) {
    confine_policy(&mut plan.policy, dir, max_bytes);
}

/// [`confine`] on a bare policy: a pool member's, started before its call.
pub(crate) fn confine_policy(
    policy: &mut skillet_sandbox::SandboxPolicy,
    dir: &StateDir,
    max_bytes: u64,
) {
    let fs = &mut policy.fs;
    fs.write.push(dir.rw_dir());
    fs.capped.push((dir.rw_dir(), state_dir_cap(max_bytes)));
    fs.read.push(dir.shared_dir());
    policy.env.push((STATE_ENV.into(), dir.state_path().into()));
    policy
        .env
        .push((STATE_SHARED_ENV.into(), dir.shared_dir().into()));
}

/// Says, for a run killed because its state directory passed [`state_dir_cap`], which limit it
/// was and what to do.
pub(crate) fn explain_cap(result: &mut ExecutionResult, max_bytes: u64) {
    if result.limit != Some(skillet_sandbox::LimitHit::WriteCap.as_str()) {
        return;
    }
    result.error = Some(format!(
        "killed: the state directory (beside $SKILLET_STATE) held more than {} KiB, twice the \
         state limit of {} KiB and a little room; nothing was saved. Keep only the state \
         document there (write a new file beside it and rename it over), put other files in \
         $TMPDIR, or raise state.max_kb (at most [defaults] max_state_kb)",
        state_dir_cap(max_bytes) / 1024,
        max_bytes / 1024
    ));
}
