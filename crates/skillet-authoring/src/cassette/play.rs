//! One conversation test: recorded against the configured model (`--record`), or replayed
//! from its cassette, through the engine's real conversation path either way.

use std::path::PathBuf;
use std::time::Duration;

use skillet_engine::conversation::{ConversationOutcome, ConversationRequest, ScriptedAnswers};
use skillet_engine::{AskedBy, Engine};
use skillet_registry::Registry;
use skillet_spec::SkillTest;

use super::transport::{Recorder, Replayer};
use crate::expect::{Mismatch, Observed};
use crate::runner::{RunOptions, TestCase};

/// How one conversation test went.
#[derive(Debug, Default)]
pub(crate) struct Played {
    /// What the conversation produced: its summary as stdout, its warnings as stderr.
    pub observed: Observed,
    /// Whether the test's time limit stopped it.
    pub timed_out: bool,
    /// Why it failed before its expectations could be judged (no cassette, a changed request).
    pub mismatch: Option<Mismatch>,
    /// Why it could not be judged at all (an unreadable cassette).
    pub error: Option<String>,
    /// The cassette `--record` wrote.
    pub cassette_written: Option<PathBuf>,
}

/// Plays `test` of the conversation skill of `case`, stopped at `limit`.
pub(crate) async fn play(
    engine: &Engine,
    registry: &Registry,
    case: &TestCase,
    test: &SkillTest,
    options: &RunOptions,
    limit: Duration,
) -> Played {
    let mut played = Played::default();
    let request = ConversationRequest {
        params: test.params.clone(),
        caller_dir: options.caller_dir.clone(),
        max_turns: None,
        asked_by: Some(AskedBy {
            origin: "test".to_owned(),
            request_id: format!("{}#{}", case.skill, case.index),
            queue_wait_ms: None,
        }),
        // A test replays its cassette: an answer from the cache would test nothing.
        cache: skillet_engine::CacheUse::Off,
    };
    // The test's stdin answers the guided questions, then follows up, one line each, as
    // `skillet run --answers FILE` does.
    let mut participant = ScriptedAnswers::from_lines(test.stdin.as_deref().unwrap_or_default());
    let path = super::path(&case.skill_dir, &case.skill, case.index);
    if options.record {
        let recorder = Recorder::new();
        let held = engine.converse_through(
            registry,
            &case.skill,
            request,
            &mut participant,
            Some(&recorder),
        );
        let Ok(held) = tokio::time::timeout(limit, held).await else {
            return timed_out(played, "no cassette was written");
        };
        match held {
            Ok(outcome) => {
                match recorder
                    .cassette(&case.skill, case.index, &test.params)
                    .and_then(|c| super::write(&case.skill_dir, &c))
                {
                    Ok(at) => played.cassette_written = Some(at),
                    Err(e) => played.error = Some(e.to_string()),
                }
                played.observed = observed(&outcome);
            }
            Err(e) => played.observed = failed(&e, "no cassette was written: "),
        }
        return played;
    }
    let cassette = match super::read(&case.skill_dir, &case.skill, case.index) {
        Ok(Some(c)) => c,
        Ok(None) => {
            played.mismatch = Some(Mismatch::new(
                "cassette",
                format!(
                    "no cassette recorded yet ({}): record one with `skillet test --record {}` \
                     (it talks to the model [llm] configures, once), check it, and commit it",
                    path.display(),
                    case.skill
                ),
            ));
            return played;
        }
        Err(e) => {
            played.error = Some(e.to_string());
            return played;
        }
    };
    let skill_model = registry
        .resolve(&case.skill)
        .and_then(|e| e.spec.as_ref())
        .and_then(|s| s.model.clone());
    let replayer = Replayer::new(cassette, path, test.params.clone(), skill_model);
    let held = engine.converse_through(
        registry,
        &case.skill,
        request,
        &mut participant,
        Some(&replayer),
    );
    let Ok(held) = tokio::time::timeout(limit, held).await else {
        return timed_out(played, "the replay did not finish");
    };
    played.observed = match &held {
        Ok(outcome) => observed(outcome),
        Err(e) => failed(e, ""),
    };
    played.mismatch = replayer.finish();
    if played.mismatch.is_some() {
        // The conversation stopped because the replay refused the request: the mismatch
        // says why, the engine's words for the stop would only repeat it.
        played.observed.error = None;
    }
    played
}

fn timed_out(mut played: Played, what: &str) -> Played {
    played.timed_out = true;
    played.observed = Observed {
        status: "timeout".to_owned(),
        error: Some(format!(
            "the conversation was stopped at the test's time limit; {what}"
        )),
        ..Observed::default()
    };
    played
}

/// What a test sees of a finished conversation: its summary, as `skillet run` prints it.
fn observed(outcome: &ConversationOutcome) -> Observed {
    let mut stdout = outcome.summary.trim_end().to_owned();
    stdout.push('\n');
    Observed {
        status: "ok".to_owned(),
        exit_code: None,
        stdout,
        stderr: outcome
            .warnings
            .iter()
            .map(|w| format!("skillet: note: {w}\n"))
            .collect(),
        error: None,
    }
}

fn failed(e: &skillet_engine::conversation::ConversationError, before: &str) -> Observed {
    Observed {
        status: e.status().as_str().to_owned(),
        error: Some(format!("{before}{e}")),
        ..Observed::default()
    }
}
