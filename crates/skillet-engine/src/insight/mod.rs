//! What a run tells about itself when asked (`skillet run --debug`, `--profile`): which file
//! answered, the parameters after checking, the process and its sandbox policy, every attempt,
//! and where the time went.
//!
//! The engine measures its own phases: an [`Observe`] given to [`Engine::run_observed`]
//! (crate::Engine::run_observed) is in scope for the whole call (a task-local), and the run
//! path marks phase boundaries with [`lap`], which attributes the time since the previous mark
//! to a phase. So the phases partition the call's timeline and never add up to more than its
//! wall time, whatever happens between them. Without an `Observe` in scope every mark is a
//! no-op lookup.

mod plan;
mod report;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use skillet_registry::SkillEntry;
use skillet_spec::SkillSpec;

use skillet_store::{MAX_SPANS, SpanRecord};

use crate::params::ParamValues;
use crate::result::ExecutionResult;
pub use plan::{EnvOrigin, EnvVar, LimitsView, MountView, PlanView, PolicyView, ProcessView};
pub(crate) use report::micros;
pub use report::{
    AttemptView, ConversationView, DebugReport, LayersView, ParamView, PhaseTimes, Profile,
    SourceView,
};

/// A stretch of a call that skillet accounts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Finding the skill: discovery of the skill files, the name, aliases, enable and trust.
    Resolve,
    /// Checking the values against the declarations and building the argv.
    Validate,
    /// Turning the policy into a confined process: grants resolved, scratch, cgroup, paths
    /// opened, namespaces, private root, Landlock and seccomp, up to the program's exec.
    SandboxSetup,
    /// The skill's own program, from its exec to its end (for a prompt skill: rendering).
    Process,
    /// After the program ended: strays killed, output drained, cgroup and scratch removed.
    Teardown,
    /// The history: opening it, the circuit breaker's state, recording each attempt.
    Store,
    /// Waiting between attempts (the retry's backoff).
    RetryWait,
    /// Looking the call up in the result cache (a skill with a `cache` block).
    CacheLookup,
    /// Waiting on a conversation's model: one request, its retries included.
    LlmRequest,
}

impl Phase {
    /// Its name, as spans and profiles say it (`sandbox_setup`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Validate => "validate",
            Phase::SandboxSetup => "sandbox_setup",
            Phase::Process => "process",
            Phase::Teardown => "teardown",
            Phase::Store => "store",
            Phase::RetryWait => "retry_wait",
            Phase::CacheLookup => "cache_lookup",
            Phase::LlmRequest => "llm_request",
        }
    }
}

tokio::task_local! {
    static OBSERVER: Observe;
}

/// Asks a run for its debug report, its profile, or both, and measures it meanwhile. Clones
/// share one record. The clock starts when it is made: make it before the skills are
/// discovered, and mark the end of discovery with [`Observe::lap`]`(Phase::Resolve)`.
#[derive(Debug, Clone)]
pub struct Observe(Arc<Mutex<Recorder>>);

impl Recorder {
    /// `took` of `phase` from `from`: summed for the profile, kept as a span for the history.
    fn add(&mut self, phase: Phase, from: Instant, took: Duration) {
        self.phases.add(phase, took);
        // Bounded: a call's marks beyond what any row keeps are only summed.
        if self.spans.len() < MAX_SPANS * 4 {
            self.spans.push(SpanRecord {
                phase: phase.as_str().to_owned(),
                start_us: report::micros(from.saturating_duration_since(self.started)),
                duration_us: report::micros(took),
            });
        }
    }
}

#[derive(Debug)]
struct Recorder {
    debug: bool,
    profile: bool,
    started: Instant,
    last: Instant,
    phases: PhaseTimes,
    cpu: Option<Duration>,
    peak_memory_kb: Option<u64>,
    source: Option<SourceView>,
    params: Vec<ParamView>,
    plan: Option<PlanView>,
    layers: Option<(Vec<String>, Vec<String>)>,
    attempts: Vec<AttemptView>,
    conversation: Option<ConversationView>,
    /// Every mark, in order, for the spans each attempt's history row keeps.
    spans: Vec<SpanRecord>,
    /// How many of `spans` an attempt has taken already.
    spans_taken: usize,
}

impl Observe {
    /// A record asking for the debug report (`debug`) and the profile (`profile`).
    pub fn new(debug: bool, profile: bool) -> Observe {
        let now = Instant::now();
        Observe(Arc::new(Mutex::new(Recorder {
            debug,
            profile,
            started: now,
            last: now,
            phases: PhaseTimes::default(),
            cpu: None,
            peak_memory_kb: None,
            source: None,
            params: Vec::new(),
            plan: None,
            layers: None,
            attempts: Vec::new(),
            conversation: None,
            spans: Vec::new(),
            spans_taken: 0,
        })))
    }

    /// Attributes the time since the previous mark (or since this was made) to `phase`.
    pub fn lap(&self, phase: Phase) {
        self.with(|r| {
            let now = Instant::now();
            let (from, took) = (r.last, now.saturating_duration_since(r.last));
            r.add(phase, from, took);
            r.last = now;
        });
    }

    /// The marks made since the last take: the spans of the attempt being recorded.
    fn take_spans(&self) -> Vec<SpanRecord> {
        self.with(|r| {
            let spans = r.spans[r.spans_taken..].to_vec();
            r.spans_taken = r.spans.len();
            spans
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Recorder) -> T) -> T {
        // A poisoned record only means a panic elsewhere; what it holds is still the best known.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Runs `fut` with this record in scope for the engine's marks.
    pub(crate) async fn scope<F: std::future::Future>(&self, fut: F) -> F::Output {
        OBSERVER.scope(self.clone(), fut).await
    }

    /// Puts what was asked for into `result`.
    pub(crate) fn finish(&self, result: &mut ExecutionResult) {
        let (profile, debug) = self.reports();
        result.profile = profile;
        result.debug = debug;
    }

    /// What was asked for, as measured up to now: the profile and the debug report, each
    /// `None` unless asked for. For a call whose answer is not an [`ExecutionResult`] (a
    /// conversation); [`Engine::run_observed`](crate::Engine::run_observed) puts them in its
    /// result.
    pub fn reports(&self) -> (Option<Box<Profile>>, Option<Box<DebugReport>>) {
        self.with(|r| {
            let wall = r.started.elapsed();
            // What no mark claimed (the call's own bookkeeping) goes to no phase.
            let phases = r.phases.clone();
            let profile = r.profile.then(|| {
                Box::new(Profile::new(
                    wall,
                    r.cpu,
                    r.peak_memory_kb,
                    phases.clone(),
                    r.attempts.len(),
                ))
            });
            let debug = r.debug.then(|| {
                Box::new(DebugReport {
                    skill: r.source.take(),
                    params: std::mem::take(&mut r.params),
                    plan: r.plan.take(),
                    layers: r
                        .layers
                        .take()
                        .map(|(active, missing)| LayersView { active, missing }),
                    attempts: std::mem::take(&mut r.attempts),
                    conversation: r.conversation.take(),
                    phases_us: phases,
                    wall_us: report::micros(wall),
                    daemon: None,
                    connect_us: None,
                })
            });
            (profile, debug)
        })
    }
}

fn current(f: impl FnOnce(&Observe)) {
    let _ = OBSERVER.try_with(|o| f(o));
}

/// The spans of the attempt being recorded, from the call in scope (none when none is).
pub(crate) fn take_spans() -> Vec<SpanRecord> {
    OBSERVER.try_with(Observe::take_spans).unwrap_or_default()
}

/// Marks the end of a stretch of `phase` in the call in scope, if one is observed.
pub(crate) fn lap(phase: Phase) {
    current(|o| o.lap(phase));
}

/// Notes the file that answered to `asked` (debug only).
pub(crate) fn source(entry: &SkillEntry, asked: &str) {
    current(|o| {
        o.with(|r| {
            if r.debug {
                r.source = Some(SourceView::new(entry, asked));
            }
        })
    });
}

/// Notes the parameters after checking (debug only).
pub(crate) fn params(spec: &SkillSpec, given: &Map<String, Value>, values: &ParamValues) {
    current(|o| {
        o.with(|r| {
            if r.debug {
                r.params = ParamView::all(spec, given, values);
            }
        })
    });
}

/// Notes the process and the policy it is about to run under (debug only).
pub(crate) fn plan(invocation: &crate::Invocation, plan: &crate::PolicyPlan) {
    current(|o| {
        o.with(|r| {
            if r.debug {
                r.plan = Some(PlanView::new(invocation, plan));
            }
        })
    });
}

/// Notes where a conversation's requests go and what its first one holds (debug only).
pub(crate) fn conversation(view: impl FnOnce() -> ConversationView) {
    current(|o| {
        o.with(|r| {
            if r.debug {
                r.conversation = Some(view());
            }
        })
    });
}

/// Splits one call of the sandbox, which took `total` since the last mark, into its setup,
/// the program and its teardown, and keeps its CPU time, peak memory and active layers.
pub(crate) fn sandbox(total: Duration, outcome: &skillet_sandbox::Outcome) {
    current(|o| {
        o.with(|r| {
            let setup = outcome.setup.min(total);
            let teardown = outcome.teardown.min(total - setup);
            let process = total - setup - teardown;
            let began = r.last;
            r.add(Phase::SandboxSetup, began, setup);
            r.add(Phase::Process, began + setup, process);
            r.add(Phase::Teardown, began + setup + process, teardown);
            r.last = Instant::now();
            if let Some(cpu) = outcome.cpu_time {
                r.cpu = Some(r.cpu.unwrap_or_default() + cpu);
            }
            let peak = Some(outcome.peak_memory_kb).filter(|kb| *kb > 0);
            r.peak_memory_kb = r.peak_memory_kb.max(peak);
            r.layers = Some((
                outcome
                    .layers
                    .active
                    .iter()
                    .map(|l| (*l).to_owned())
                    .collect(),
                outcome.layers.missing.clone(),
            ));
        })
    });
}

/// Notes one attempt's end (its result as recorded).
pub(crate) fn attempt(result: &ExecutionResult) {
    current(|o| o.with(|r| r.attempts.push(AttemptView::new(result))));
}

/// Notes that the last attempt is retried after `delay`, and why.
pub(crate) fn retry(delay: Duration, why: &str) {
    current(|o| {
        o.with(|r| {
            if let Some(last) = r.attempts.last_mut() {
                last.retry_after_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                last.note = Some(why.to_owned());
            }
        })
    });
}

/// Notes why the last attempt was the last although it could have been retried.
pub(crate) fn no_retry(why: &str) {
    current(|o| {
        o.with(|r| {
            if let Some(last) = r.attempts.last_mut() {
                last.note = Some(why.to_owned());
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn laps_partition_the_wall_time() {
        let o = Observe::new(false, true);
        o.scope(async {
            lap(Phase::Resolve);
            tokio::time::sleep(Duration::from_millis(20)).await;
            lap(Phase::Process);
            tokio::time::sleep(Duration::from_millis(5)).await;
            lap(Phase::Store);
        })
        .await;
        let mut r = ExecutionResult::new("s", crate::Status::Ok);
        o.finish(&mut r);
        let p = r.profile.expect("profile asked for");
        assert!(p.phases_us.process >= 20_000, "{p:?}");
        assert!(p.phases_us.total() <= p.wall_us, "{p:?}");
        assert!(r.debug.is_none(), "debug was not asked for");
    }

    #[test]
    fn marks_outside_an_observed_call_do_nothing() {
        lap(Phase::Resolve);
        retry(Duration::from_millis(1), "x");
    }
}
