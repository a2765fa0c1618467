//! Running skills' self-tests through the engine, several at once, each with a time limit.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skillet_engine::session::{SessionManager, SessionStart};
use skillet_engine::{AskedBy, Cancel, Engine, RunOverrides, RunRequest, StdinSource};
use skillet_registry::{Registry, Scope};
use skillet_spec::{SkillKind, SkillTest};

use crate::expect::{Mismatch, Observed, check};
use crate::report::{Outcome, TestReport, TestResult};
use crate::{cassette, snapshot};

/// Time a test gets beyond the skill's own limit before it is stopped: the sandbox's own
/// timeout should always fire first, so this only catches what it cannot (a hung setup).
const TIMEOUT_MARGIN: Duration = Duration::from_secs(10);

/// One test to run.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The skill's name.
    pub skill: String,
    /// The test's number within the skill, from 1.
    pub index: usize,
    /// The test's name.
    pub name: String,
    /// The test; `None` when the skill could not be tested at all (see `problem`).
    pub test: Option<SkillTest>,
    /// The skill's type.
    pub kind: Option<SkillKind>,
    /// The skill's folder (its snapshots are beneath it).
    pub skill_dir: PathBuf,
    /// Why the skill cannot be tested (not found, invalid): reported as an error.
    pub problem: Option<String>,
}

/// The tests chosen, and what the user should know about the choice.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// The tests, in order of skill name, then test number.
    pub cases: Vec<TestCase>,
    /// Skills named that have no tests.
    pub without_tests: Vec<String>,
}

/// The tests of the skills `names` (names or aliases); with none, of every valid skill of
/// `scope` that is not part of an installed package. A name that does not resolve, or a skill
/// that is broken, becomes a case that reports the problem as an error.
pub fn collect_cases(registry: &Registry, names: &[String], scope: Scope) -> Collected {
    let mut collected = Collected::default();
    let mut seen = std::collections::BTreeSet::new();
    let problem = |skill: &str, message: String| TestCase {
        skill: skill.to_owned(),
        index: 0,
        name: "(skill)".to_owned(),
        test: None,
        kind: None,
        skill_dir: PathBuf::new(),
        problem: Some(message),
    };
    let entries: Vec<&skillet_registry::SkillEntry> = if names.is_empty() {
        registry
            .entries()
            .iter()
            .filter(|e| e.scope == scope && e.package.is_none())
            .collect()
    } else {
        let mut chosen = Vec::new();
        for name in names {
            match registry.resolve(name) {
                Some(entry) => chosen.push(entry),
                None => {
                    let hint = match registry.suggest(name) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "`skillet list` shows the skills here".to_owned(),
                    };
                    collected
                        .cases
                        .push(problem(name, format!("no skill `{name}`; {hint}")));
                }
            }
        }
        chosen
    };
    for entry in entries {
        if !seen.insert(entry.path.clone()) {
            continue;
        }
        let Some(spec) = entry.spec.as_ref().filter(|_| entry.is_valid()) else {
            let first = entry
                .errors()
                .next()
                .map(|d| d.message.clone())
                .unwrap_or_default();
            collected.cases.push(problem(
                &entry.name,
                format!(
                    "the skill is invalid ({first}); run `skillet validate {}` and fix what it shows",
                    entry.name
                ),
            ));
            continue;
        };
        if spec.tests.is_empty() {
            collected.without_tests.push(spec.name.clone());
        }
        for (i, test) in spec.tests.iter().enumerate() {
            collected.cases.push(TestCase {
                skill: spec.name.clone(),
                index: i + 1,
                name: test
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("test {}", i + 1)),
                test: Some(test.clone()),
                kind: Some(spec.kind),
                skill_dir: entry.skill_dir().to_path_buf(),
                problem: None,
            });
        }
    }
    collected
}

/// How tests are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tests run at the same time (at least 1).
    pub jobs: usize,
    /// Write every snapshot from this run's output instead of comparing with it.
    pub update_snapshots: bool,
    /// Hold conversation tests with the configured model and store each as a cassette,
    /// instead of replaying the stored one.
    pub record: bool,
    /// Where relative `path` parameters start (the workspace root, so tests do not depend on
    /// where they are started).
    pub caller_dir: PathBuf,
    /// Permissions from the command line, as for `skillet run`.
    pub overrides: RunOverrides,
}

/// Runs `cases` through `engine`, `options.jobs` at a time, each on a thread of its own
/// driving its run, and returns their results in the order given.
pub fn run_tests(
    engine: &Engine,
    registry: &Registry,
    cases: &[TestCase],
    options: &RunOptions,
) -> TestReport {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<TestResult>>> = Mutex::new(vec![None; cases.len()]);
    let jobs = options.jobs.clamp(1, cases.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let result = match &runtime {
                        Ok(rt) => rt.block_on(run_case(engine, registry, case, options)),
                        Err(e) => errored(case, format!("cannot start a runtime: {e}"), 0),
                    };
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    let tests = results
        .into_iter()
        .zip(cases)
        .map(|(r, case)| r.unwrap_or_else(|| errored(case, "the test was not run".into(), 0)))
        .collect();
    TestReport::new(tests, elapsed_ms(started))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn errored(case: &TestCase, message: String, duration_ms: u64) -> TestResult {
    TestResult {
        skill: case.skill.clone(),
        index: case.index,
        name: case.name.clone(),
        outcome: Outcome::Error { message },
        observed: None,
        execution_id: None,
        snapshot_written: None,
        cassette_written: None,
        duration_ms,
    }
}

async fn run_case(
    engine: &Engine,
    registry: &Registry,
    case: &TestCase,
    options: &RunOptions,
) -> TestResult {
    let started = Instant::now();
    let (Some(test), Some(kind), None) = (&case.test, case.kind, &case.problem) else {
        let message = case.problem.clone().unwrap_or_default();
        return errored(case, message, 0);
    };
    let mut result = TestResult {
        skill: case.skill.clone(),
        index: case.index,
        name: case.name.clone(),
        outcome: Outcome::Passed,
        observed: None,
        execution_id: None,
        snapshot_written: None,
        cassette_written: None,
        duration_ms: 0,
    };
    let limit = time_limit(engine, registry, case, test, options);
    let mut mismatches = Vec::new();
    let (observed, timed_out) = if kind == SkillKind::Conversation {
        let played = cassette::play::play(engine, registry, case, test, options, limit).await;
        result.cassette_written = played.cassette_written;
        if let Some(message) = played.error {
            result.outcome = Outcome::Error { message };
        }
        // A request that differs from the recorded one stops the conversation: its answer
        // is not the skill's, so the expectations are not judged on it.
        if let Some(m) = played.mismatch {
            result.outcome = Outcome::Failed {
                mismatches: vec![m],
            };
            result.observed = Some(played.observed);
            result.duration_ms = elapsed_ms(started);
            return result;
        }
        (played.observed, played.timed_out)
    } else if kind == SkillKind::CodeSession {
        run_session(engine, registry, case, test, options, limit).await
    } else {
        let (observed, execution_id, timed_out) =
            run_once(engine, registry, case, test, options, limit).await;
        result.execution_id = execution_id;
        (observed, timed_out)
    };
    if timed_out {
        mismatches.push(Mismatch::new(
            "timeout",
            format!(
                "the test took longer than {} s and was stopped; raise the test's `timeout` or \
                 make the skill faster",
                limit.as_secs()
            ),
        ));
    }
    mismatches.extend(check(&test.expect, &observed));
    if test.expect.snapshot {
        match compare_snapshot(case, &observed.stdout, options.update_snapshots) {
            Ok((written, mismatch)) => {
                result.snapshot_written = written;
                mismatches.extend(mismatch);
            }
            Err(e) => {
                result.outcome = Outcome::Error {
                    message: e.to_string(),
                };
            }
        }
    }
    if !mismatches.is_empty() && result.outcome == Outcome::Passed {
        result.outcome = Outcome::Failed { mismatches };
    }
    result.observed = Some(observed);
    result.duration_ms = elapsed_ms(started);
    result
}

/// The test's own `timeout`, else the skill's limit (as this user's configuration sets it)
/// plus a margin.
fn time_limit(
    engine: &Engine,
    registry: &Registry,
    case: &TestCase,
    test: &SkillTest,
    options: &RunOptions,
) -> Duration {
    if let Some(secs) = test.timeout {
        return Duration::from_secs(secs.max(1));
    }
    let found = registry
        .resolve(&case.skill)
        .and_then(|e| Some((e, e.spec.as_deref()?)));
    let skill_s = found.map_or(skillet_engine::DEFAULT_TIMEOUT_S, |(e, s)| {
        skillet_engine::wall_time_s(s, &engine.policy_context(e, &options.overrides))
    });
    Duration::from_secs(skill_s) + TIMEOUT_MARGIN
}

/// One call through [`Engine::run`], as `skillet run` makes it, stopped at `limit`.
async fn run_once(
    engine: &Engine,
    registry: &Registry,
    case: &TestCase,
    test: &SkillTest,
    options: &RunOptions,
    limit: Duration,
) -> (Observed, Option<String>, bool) {
    let cancel = Cancel::new();
    let request = RunRequest {
        params: test.params.clone(),
        stdin: match &test.stdin {
            Some(text) => StdinSource::Bytes(text.clone().into_bytes()),
            None => StdinSource::Null,
        },
        caller_dir: options.caller_dir.clone(),
        live: None,
        overrides: options.overrides.clone(),
        asked_by: Some(AskedBy {
            origin: "test".to_owned(),
            request_id: format!("{}#{}", case.skill, case.index),
            queue_wait_ms: None,
        }),
        cancel: Some(cancel.clone()),
    };
    let run = engine.run(registry, &case.skill, request);
    tokio::pin!(run);
    let mut timed_out = false;
    let result = tokio::select! {
        r = &mut run => r,
        () = tokio::time::sleep(limit) => {
            timed_out = true;
            cancel.cancel(format!("the test's time limit ({} s)", limit.as_secs()));
            run.await
        }
    };
    let observed = Observed {
        status: result.status.as_str().to_owned(),
        exit_code: result.exit_code,
        stdout: result.stdout,
        stderr: result.stderr,
        error: result.error,
    };
    (observed, Some(result.execution_id), timed_out)
}

/// A `code_session` test: a session started for it, the test's `stdin` sent as one input,
/// the session closed.
async fn run_session(
    engine: &Engine,
    registry: &Registry,
    case: &TestCase,
    test: &SkillTest,
    options: &RunOptions,
    limit: Duration,
) -> (Observed, bool) {
    let sessions = SessionManager::new(None);
    let start = SessionStart {
        params: test.params.clone(),
        label: Some(format!("test {}#{}", case.skill, case.index)),
        caller_dir: options.caller_dir.clone(),
        overrides: options.overrides.clone(),
        replace_oldest: false,
    };
    let exchange = async {
        let record = sessions.start(engine, registry, &case.skill, start).await?;
        let input = test.stdin.clone().unwrap_or_default();
        let reply = sessions.send(&record.id, &input, "test").await;
        let _ = sessions.close(&record.id).await;
        reply
    };
    let (observed, timed_out) = match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(reply)) => {
            let outcome = reply.outcome.to_string();
            let (status, error) = match outcome.as_str() {
                "ok" => ("ok", None),
                "timeout" => (
                    "timeout",
                    Some("the input got no answer in time".to_owned()),
                ),
                "dead" => ("failed", Some("the interpreter went away".to_owned())),
                _ => ("failed", None),
            };
            (
                Observed {
                    status: status.to_owned(),
                    exit_code: reply.exit_status,
                    stdout: reply.stdout,
                    stderr: reply.stderr,
                    error,
                },
                false,
            )
        }
        Ok(Err(e)) => (
            Observed {
                status: "error".to_owned(),
                error: Some(e.to_string()),
                ..Observed::default()
            },
            false,
        ),
        Err(_) => (
            Observed {
                status: "timeout".to_owned(),
                ..Observed::default()
            },
            true,
        ),
    };
    sessions.shutdown().await;
    (observed, timed_out)
}

/// Compares `stdout` with the stored snapshot, or (updating) stores it.
fn compare_snapshot(
    case: &TestCase,
    stdout: &str,
    update: bool,
) -> Result<(Option<PathBuf>, Option<Mismatch>), snapshot::SnapshotError> {
    let stored = snapshot::read(&case.skill_dir, &case.skill, case.index)?;
    if update {
        if stored.as_deref() == Some(stdout) {
            return Ok((None, None));
        }
        let at = snapshot::write(&case.skill_dir, &case.skill, case.index, stdout)?;
        return Ok((Some(at), None));
    }
    let path = snapshot::path(&case.skill_dir, &case.skill, case.index);
    match stored {
        None => Ok((
            None,
            Some(Mismatch::new(
                "snapshot",
                format!(
                    "no snapshot stored yet ({}): run `skillet test {} --update-snapshots` to \
                     store this output, check it, and commit it",
                    path.display(),
                    case.skill
                ),
            )),
        )),
        Some(s) if s == stdout => Ok((None, None)),
        Some(s) => {
            let mut m = Mismatch::differs("snapshot", "stdout", &s, stdout);
            m.message = format!(
                "stdout differs from the snapshot {}; if the change is intended, run `skillet \
                 test {} --update-snapshots`",
                path.display(),
                case.skill
            );
            Ok((None, Some(m)))
        }
    }
}
