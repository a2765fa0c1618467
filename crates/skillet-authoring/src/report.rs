//! The outcome of a test run: one result per test, and the counts.

use serde::Serialize;

use crate::expect::{Mismatch, Observed};

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold: the first is shown, all are listed.
    Failed {
        /// Every expectation that did not hold, the first one first.
        mismatches: Vec<Mismatch>,
    },
    /// The test could not be run, and why (never a pass).
    Skipped {
        /// Why it was not run.
        reason: String,
    },
    /// The test could not be judged: the skill is broken, a snapshot unreadable…
    Error {
        /// What went wrong and what to do.
        message: String,
    },
}

impl Outcome {
    /// `passed`, `failed`, `skipped` or `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed { .. } => "failed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Error { .. } => "error",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// The skill.
    pub skill: String,
    /// The test's number within the skill, from 1.
    pub index: usize,
    /// The test's name (`test <n>` when it has none).
    pub name: String,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the run produced, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// The execution in `skillet history`, when one was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The snapshot written by `--update-snapshots`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_written: Option<std::path::PathBuf>,
    /// The cassette written by `--record`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cassette_written: Option<std::path::PathBuf>,
    /// How long it took.
    pub duration_ms: u64,
}

/// The counts of a test run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Tests run or skipped.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed an expectation.
    pub failed: usize,
    /// Could not be judged.
    pub errors: usize,
    /// Not run, with a reason.
    pub skipped: usize,
    /// Wall-clock time of the whole run.
    pub duration_ms: u64,
}

/// Every result of a run, in the order of the skills and their tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TestReport {
    /// The counts.
    pub summary: Summary,
    /// One per test.
    pub tests: Vec<TestResult>,
}

impl TestReport {
    pub(crate) fn new(tests: Vec<TestResult>, duration_ms: u64) -> TestReport {
        let mut summary = Summary {
            total: tests.len(),
            duration_ms,
            ..Summary::default()
        };
        for t in &tests {
            match t.outcome {
                Outcome::Passed => summary.passed += 1,
                Outcome::Failed { .. } => summary.failed += 1,
                Outcome::Skipped { .. } => summary.skipped += 1,
                Outcome::Error { .. } => summary.errors += 1,
            }
        }
        TestReport { summary, tests }
    }

    /// Whether nothing failed or errored (skipped tests are reported, not failures).
    pub fn success(&self) -> bool {
        self.summary.failed == 0 && self.summary.errors == 0
    }
}
