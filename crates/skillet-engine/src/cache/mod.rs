//! The result cache: a skill with a `cache` block is answered from the store when a call with
//! the same key (see [`key`]) ended ok within the skill's `ttl`, without starting a process.
//! Only calls that ended ok are kept; the store bounds the total size (least recently used
//! results go first). Whoever calls the engine (the CLI, the MCP server, the daemon) shares it.

use std::io::Read as _;

use skillet_registry::SkillEntry;
use skillet_sandbox::{OutputChunk, StdinSource, Stream};
use skillet_spec::SkillSpec;
use skillet_store::{CacheEntry, now_ms};

use crate::engine::{Engine, RunRequest};
use crate::result::{ExecutionResult, Status};

mod conversation;
mod files;
mod key;

pub(crate) use conversation::{AnswerCache, cache_note};
pub(crate) use files::hex_digest;
use key::{KeyInputs, cache_key};

/// How one call uses the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheUse {
    /// Answer from the cache when a result is there; store the result of a run that ends ok.
    #[default]
    Use,
    /// Run whatever the cache holds, and store the new result (`--refresh`).
    Refresh,
    /// Neither read nor write the cache (`--no-cache`).
    Off,
}

/// Stdin larger than this is not read in for a key: the call runs uncached.
const MAX_KEYED_STDIN: usize = 64 << 20;

/// What the cache knows about a call about to run: its key, or why it has none.
pub(crate) struct Pending {
    key: String,
    skill: String,
    ttl_ms: i64,
    /// Each file the key read, with its stamp when the key was made.
    read: Vec<(String, Option<FileStamp>)>,
}

/// What tells that a file was written: any write moves its change time, even one that puts
/// the same bytes back.
type FileStamp = (u64, u64, u64, i64, i64, i64, i64);

fn stamp(path: &str) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ))
}

impl Pending {
    /// The first keyed file that was written (or appeared, or went) since the key was made:
    /// the run may have read either version, so its result belongs to no one key.
    fn changed(&self) -> Option<&str> {
        self.read
            .iter()
            .find(|(path, before)| stamp(path) != *before)
            .map(|(path, _)| path.as_str())
    }
}

/// The part of a call the key is made of, besides the skill.
pub(crate) enum Made<'a> {
    /// A code skill's process.
    Process(
        &'a crate::invocation::Invocation,
        &'a skillet_sandbox::SandboxPolicy,
    ),
    /// A prompt skill's text.
    Prompt(&'a str),
}

impl Engine {
    /// Looks the call up. `Ok(result)` is a hit to return as is; `Err(Some(pending))` a miss
    /// whose result [`Engine::cache_store`] keeps; `Err(None)` a call the cache stays out of.
    /// Reads piped stdin in (the key covers it) and hands it on to the run as bytes.
    pub(crate) fn cache_lookup(
        &self,
        entry: &SkillEntry,
        spec: &SkillSpec,
        made: Made<'_>,
        request: &mut RunRequest,
        warnings: &mut Vec<String>,
    ) -> Result<ExecutionResult, Option<Pending>> {
        let Some(cache) = spec.cache.as_ref() else {
            return Err(None);
        };
        let Some(store) = self.settings.store.as_deref() else {
            return Err(None);
        };
        if request.overrides.cache == CacheUse::Off || self.settings.cache_max_bytes == 0 {
            return Err(None);
        }
        let stdin = match keyed_stdin(&mut request.stdin) {
            Ok(bytes) => bytes,
            Err(why) => {
                warnings.push(format!("not cached: {why}"));
                return Err(None);
            }
        };
        let started = std::time::Instant::now();
        let (process, prompt) = match made {
            Made::Process(invocation, policy) => (Some((invocation, policy)), None),
            Made::Prompt(text) => (None, Some(text)),
        };
        let inputs = KeyInputs {
            spec,
            entry,
            workspace: self.settings.workspace.as_deref(),
            process,
            prompt,
            stdin: &stdin,
        };
        let (key, read) = match cache_key(&inputs, Some(store)) {
            Ok(made) => made,
            Err(why) => {
                warnings.push(format!("not cached: {why}"));
                return Err(None);
            }
        };
        let pending = Pending {
            key,
            skill: spec.name.clone(),
            ttl_ms: i64::try_from(cache.ttl_s().saturating_mul(1000)).unwrap_or(i64::MAX),
            read: read
                .into_iter()
                .map(|p| {
                    let s = stamp(&p);
                    (p, s)
                })
                .collect(),
        };
        if request.overrides.cache == CacheUse::Refresh {
            return Err(Some(pending));
        }
        match store.cache_lookup(&spec.name, &pending.key, now_ms(), true) {
            Ok(Some(hit)) => Ok(replay(hit, request, started)),
            Ok(None) => Err(Some(pending)),
            Err(e) => {
                warnings.push(format!("the cache could not be read: {e}"));
                Err(None)
            }
        }
    }

    /// Keeps the result of a missed call when it ended ok.
    pub(crate) fn cache_store(&self, pending: Option<Pending>, result: &mut ExecutionResult) {
        let (Some(pending), Some(store)) = (pending, self.settings.store.as_deref()) else {
            return;
        };
        if result.status != Status::Ok {
            return;
        }
        // A result that prints a credential the run was given is not kept: cached results are
        // stored as they are (log tails are redacted; a cached answer must come back exact).
        if let Some((name, _)) = result.given_credentials.iter().find(|(_, value)| {
            crate::policy::credential_forms(value)
                .iter()
                .any(|form| result.stdout.contains(form) || result.stderr.contains(form))
        }) {
            result.warnings.push(format!(
                "not cached: the output holds the value of {name} (as it is or encoded), a \
                 credential given to the run, and cached results are stored as they are"
            ));
            return;
        }
        if let Some(path) = pending.changed() {
            result.warnings.push(format!(
                "not cached: {path} changed while the skill ran, so its output may belong to either version"
            ));
            return;
        }
        let now = now_ms();
        let entry = CacheEntry {
            key: pending.key,
            skill: pending.skill,
            exit_code: result.exit_code.map(i64::from),
            stdout: result.stdout.clone(),
            stderr: result.stderr.clone(),
            truncated: result.truncated,
            execution_id: Some(result.execution_id.clone()),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(pending.ttl_ms),
            last_used_at_ms: now,
            hits: 0,
        };
        if let Err(e) = store.cache_put(&entry, self.settings.cache_max_bytes) {
            result
                .warnings
                .push(format!("the result was not cached: {e}"));
        }
    }
}

/// The bytes the run will read on stdin, read in now when they come from a pipe or a file, and
/// handed on to the run as bytes.
fn keyed_stdin(stdin: &mut StdinSource) -> Result<Vec<u8>, String> {
    match stdin {
        StdinSource::Null => Ok(Vec::new()),
        StdinSource::Bytes(bytes) => Ok(bytes.clone()),
        StdinSource::Pipe => Err("its stdin is a pipe written while it runs".into()),
        StdinSource::Inherit => {
            // A terminal is not read by a run (it gets /dev/null): nothing to key.
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                return Ok(Vec::new());
            }
            let mut bytes = Vec::new();
            let read = std::io::stdin()
                .lock()
                .take(MAX_KEYED_STDIN as u64 + 1)
                .read_to_end(&mut bytes);
            if read.is_err() {
                // Nothing could be read: the run reads the same nothing.
                *stdin = StdinSource::Bytes(bytes);
                return Err("its stdin could not be read".into());
            }
            if bytes.len() > MAX_KEYED_STDIN {
                // The run still gets all of it.
                let _ = std::io::stdin().lock().read_to_end(&mut bytes);
                *stdin = StdinSource::Bytes(bytes);
                return Err(format!(
                    "its stdin is larger than {} MiB",
                    MAX_KEYED_STDIN >> 20
                ));
            }
            *stdin = StdinSource::Bytes(bytes.clone());
            Ok(bytes)
        }
    }
}

/// The stored result as this call's, shown live like a run's output.
fn replay(hit: CacheEntry, request: &RunRequest, started: std::time::Instant) -> ExecutionResult {
    if let Some(live) = &request.live {
        for (stream, text) in [(Stream::Stdout, &hit.stdout), (Stream::Stderr, &hit.stderr)] {
            if !text.is_empty() {
                let _ = live.send(OutputChunk {
                    stream,
                    bytes: text.clone().into_bytes(),
                });
            }
        }
    }
    let mut result = ExecutionResult::new(&hit.skill, Status::Ok);
    result.exit_code = hit.exit_code.and_then(|c| i32::try_from(c).ok());
    result.stdout = hit.stdout;
    result.stderr = hit.stderr;
    result.truncated = hit.truncated;
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result.cached = true;
    result
}

impl Engine {
    /// A prepared code skill with a `cache` block: answered from the cache, or run and kept.
    pub(crate) async fn execute_cached(
        &self,
        registry: &skillet_registry::Registry,
        spec: &SkillSpec,
        invocation: crate::invocation::Invocation,
        plan: crate::policy::PolicyPlan,
        mut request: RunRequest,
    ) -> ExecutionResult {
        let mut warnings = Vec::new();
        let looked = match registry.resolve(&spec.name) {
            Some(entry) => self.cache_lookup(
                entry,
                spec,
                Made::Process(&invocation, &plan.policy),
                &mut request,
                &mut warnings,
            ),
            None => Err(None),
        };
        crate::insight::lap(crate::insight::Phase::CacheLookup);
        let mut result = match looked {
            Ok(hit) => hit,
            Err(pending) => {
                let mut result = crate::execute::execute(spec, invocation, plan, request).await;
                self.cache_store(pending, &mut result);
                result
            }
        };
        result.warnings.extend(warnings);
        result
    }

    /// A rendered prompt skill with a `cache` block.
    pub(crate) fn prompt_cached(
        &self,
        registry: &skillet_registry::Registry,
        spec: &SkillSpec,
        text: String,
        mut request: RunRequest,
    ) -> ExecutionResult {
        let mut warnings = Vec::new();
        let looked = match registry.resolve(&spec.name) {
            Some(entry) => self.cache_lookup(
                entry,
                spec,
                Made::Prompt(&text),
                &mut request,
                &mut warnings,
            ),
            None => Err(None),
        };
        crate::insight::lap(crate::insight::Phase::CacheLookup);
        let mut result = match looked {
            Ok(hit) => hit,
            Err(pending) => {
                if let Some(live) = &request.live {
                    let _ = live.send(OutputChunk {
                        stream: Stream::Stdout,
                        bytes: text.clone().into_bytes(),
                    });
                }
                let mut result = ExecutionResult::new(&spec.name, Status::Ok);
                result.stdout = text;
                result.exit_code = Some(0);
                self.cache_store(pending, &mut result);
                result
            }
        };
        result.warnings.extend(warnings);
        result
    }
}
