//! Writing skills: the loop a skill's author lives in.
//!
//! This crate owns the skill templates `skillet create` writes ([`create_skill`]), running a
//! skill's self-tests (its `tests` field, [`run_tests`]) and comparing what a run produced with
//! what the test expects: exit code, status, output equal to / containing / matching text, values
//! at JSON paths, and snapshots stored beside the skill ([`snapshot`]). Conversation tests
//! replay the model's answers from cassettes stored beside the skill ([`cassette`]). It reports
//! the outcome as text, JSON and JUnit XML ([`junit`]).
//!
//! It must not sandbox or execute anything by itself: every test is a call of
//! `skillet_engine::Engine` (and its session manager for `code_session` skills), exactly like
//! `skillet run`, so a test runs under the same sandbox, limits and grants as a real run and is
//! recorded in the history like one; a conversation test replaces only the model call, through
//! the engine's `ModelTransport`. It reads skills only through `skillet-registry`.

mod beside;
pub mod cassette;
mod create;
pub mod dev;
pub mod docs;
mod expect;
pub mod isolate;
pub mod junit;
mod report;
mod runner;
pub mod setup;
pub mod snapshot;
mod templates;

pub use create::{CreateError, CreateRequest, Created, Template, create_skill};
pub use expect::{Mismatch, Observed, check};
pub use report::{Outcome, Summary, TestReport, TestResult};
pub use runner::{Collected, RunOptions, TestCase, collect_cases, run_tests};
