//! `skillet health`: the checks that say whether skillet can run skills here, then each
//! skill's recent health (skillet-observe's verdicts, from the same figures as `stats`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use skillet_authoring::Outcome;
use skillet_engine::conversation::{describe_llm, llm_base_url, reach, redacted_url as redacted};
use skillet_observe::{HealthState, SkillHealth, skill_health};
use skillet_sandbox::probe::LayerState;
use skillet_server::{Client, ClientError};
use skillet_store::now_ms;

use super::store_check::StoreState;
use crate::cli::HealthArgs;
use crate::context::Context;
use crate::output;

/// How long the LLM endpoint has to accept a connection.
const REACH_TIMEOUT: Duration = Duration::from_secs(3);

/// One check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Ok,
    Warn,
    Fail,
}

#[derive(Serialize)]
struct Check {
    check: &'static str,
    state: State,
    detail: String,
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report {
    healthy: bool,
    since: String,
    checks: Vec<Check>,
    skills: Vec<SkillHealth>,
    /// With `--smoke`: every skill's tests, as `skillet test --json` reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    smoke: Option<skillet_authoring::TestReport>,
}

pub fn run(ctx: &Context, args: &HealthArgs) -> Result<ExitCode> {
    let since_ms = now_ms()
        .saturating_sub(super::history::parse_duration_ms(&args.since)?)
        .max(0);
    let mut checks = vec![daemon(), sandbox(), llm(ctx)];
    let (store, skills) = store_and_skills(ctx, since_ms);
    checks.insert(1, store);
    let smoke = if args.smoke {
        let report = super::test::smoke(ctx)?;
        checks.push(smoke_check(&report));
        Some(report)
    } else {
        None
    };
    let healthy = checks.iter().all(|c| c.state != State::Fail)
        && skills.iter().all(|s| s.state != HealthState::Failing);
    let code = if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if args.json {
        output::json(&Report {
            healthy,
            since: output::rfc3339(since_ms),
            checks,
            skills,
            smoke,
        })?;
        return Ok(code);
    }
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.check.to_owned(),
                word(c.state).to_owned(),
                c.detail.clone(),
            ]
        })
        .collect();
    print!("{}", output::table(&["CHECK", "STATE", "DETAIL"], &rows));
    println!();
    if skills.is_empty() {
        println!("no skill ran in the last {}", args.since);
    } else {
        let now = now_ms();
        let rows: Vec<Vec<String>> = skills
            .iter()
            .map(|s| {
                vec![
                    s.skill.clone(),
                    s.state.as_str().to_owned(),
                    s.runs.to_string(),
                    s.success_rate
                        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0)),
                    s.breaker.clone().unwrap_or_else(|| "-".to_owned()),
                    s.last_error.as_ref().map_or_else(
                        || "-".to_owned(),
                        |e| {
                            format!(
                                "{} {}: {}",
                                output::ago(now.saturating_sub(e.at_ms)),
                                e.status,
                                output::one_line(&e.message)
                            )
                        },
                    ),
                ]
            })
            .collect();
        println!("skills, over the last {}:", args.since);
        print!(
            "{}",
            output::table(
                &[
                    "SKILL",
                    "HEALTH",
                    "RUNS",
                    "SUCCESS",
                    "BREAKER",
                    "LAST ERROR"
                ],
                &rows
            )
        );
    }
    Ok(code)
}

/// The smoke tests as a check: failing when any test failed or could not be judged.
fn smoke_check(report: &skillet_authoring::TestReport) -> Check {
    let s = &report.summary;
    let first_bad = report
        .tests
        .iter()
        .find(|t| !matches!(t.outcome, Outcome::Passed | Outcome::Skipped { .. }));
    let (state, detail) = match (s.total, first_bad) {
        (0, _) => (
            State::Warn,
            "no skill has tests: add a \"tests\" entry (docs/authoring.md)".to_owned(),
        ),
        (_, None) => (
            State::Ok,
            format!(
                "{} passed, {} skipped (`skillet test`)",
                s.passed, s.skipped
            ),
        ),
        (_, Some(t)) => (
            State::Fail,
            format!(
                "{} failed, {} errors of {}; first: {} #{} {} (`skillet test {}` shows why)",
                s.failed, s.errors, s.total, t.skill, t.index, t.name, t.skill
            ),
        ),
    };
    Check {
        check: "smoke tests",
        state,
        detail,
    }
}

fn word(state: State) -> &'static str {
    match state {
        State::Ok => "ok",
        State::Warn => "warn",
        State::Fail => "fail",
    }
}

fn daemon() -> Check {
    let check = |state, detail| Check {
        check: "daemon",
        state,
        detail,
    };
    let paths = match super::session::socket_paths(None) {
        Ok(paths) => paths,
        Err(e) => return check(State::Fail, format!("{e:#}")),
    };
    // Asking never starts one: a daemon that is not running is started by the command that
    // needs it.
    match Client::connect(&paths).and_then(|mut c| c.status()) {
        Ok(s) => check(
            State::Ok,
            format!(
                "running (pid {}, up {}s, {} live session(s))",
                s.pid,
                s.uptime_ms / 1000,
                s.live_sessions
            ),
        ),
        Err(ClientError::NotRunning(_)) => check(
            State::Ok,
            "not running; the first command that needs it starts it".into(),
        ),
        Err(e) => check(State::Fail, format!("{e}")),
    }
}

/// The store's check, and the skills' health read from it.
fn store_and_skills(ctx: &Context, since_ms: i64) -> (Check, Vec<SkillHealth>) {
    let check = |state, detail| Check {
        check: "store",
        state,
        detail,
    };
    // Not doctor's page-by-page check: that reads the whole file, half a second at a million
    // runs; one write below says more about whether runs can be recorded.
    let sqlite = matches!(
        ctx.store_location(),
        Ok(skillet_engine::StoreLocation::Sqlite(_))
    );
    match super::store_check::located(Some(&ctx.env)) {
        _ if !sqlite => {}
        Ok(_) => {}
        Err(StoreState::Absent(path)) => {
            return (
                check(
                    State::Ok,
                    format!(
                        "{} not created yet; the first run creates it",
                        path.display()
                    ),
                ),
                Vec::new(),
            );
        }
        Err(state) => return (check(State::Fail, state.sentence()), Vec::new()),
    }
    let store = match ctx.store() {
        Ok(store) => store,
        Err(e) => return (check(State::Fail, format!("{e:#}")), Vec::new()),
    };
    let written = match store.ready() {
        Ok(()) => check(State::Ok, "read and written".into()),
        Err(e) => check(State::Fail, format!("cannot be written: {e}")),
    };
    match skill_health(store.as_ref(), since_ms) {
        Ok(skills) => (written, skills),
        Err(e) => (
            check(State::Fail, format!("cannot be read: {e}")),
            Vec::new(),
        ),
    }
}

fn sandbox() -> Check {
    let report = skillet_sandbox::probe::report();
    let (missing, lesser): (Vec<_>, Vec<_>) = report
        .iter()
        .filter(|r| r.state == LayerState::Unavailable)
        .partition(|r| r.missing_essential());
    let names = |layers: &[&skillet_sandbox::LayerReport]| -> String {
        layers
            .iter()
            .map(|r| r.layer)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (state, detail) = match (missing.is_empty(), lesser.is_empty()) {
        (false, _) => (
            State::Fail,
            format!(
                "missing {}: code skills are refused unless [sandbox] isolation = \"best-effort\" (`skillet doctor` says why)",
                names(&missing)
            ),
        ),
        (true, false) => (
            State::Warn,
            format!(
                "code skills run sandboxed; not enforced here: {} (`skillet doctor` says why)",
                names(&lesser)
            ),
        ),
        (true, true) => (
            State::Ok,
            "every layer available: code skills run sandboxed".into(),
        ),
    };
    Check {
        check: "sandbox",
        state,
        detail,
    }
}

fn llm(ctx: &Context) -> Check {
    let check = |state, detail| Check {
        check: "llm",
        state,
        detail,
    };
    let Some(settings) = ctx.config.llm.as_ref() else {
        return check(
            State::Ok,
            "not configured (only conversation skills need it)".into(),
        );
    };
    let full = llm_base_url(settings);
    // Shown without a user, password or query: they may hold a key.
    let url = redacted(&full);
    match (reach(&full, REACH_TIMEOUT), describe_llm(Some(settings))) {
        (Err(why), _) => check(State::Fail, format!("{url}: {why}")),
        // Reached, but no request could carry a key.
        (Ok(_), Err(e)) => check(State::Warn, e.to_string().replace(&full, &url)),
        (Ok(took), Ok(_)) => check(
            State::Ok,
            format!("{url} accepts connections ({} ms)", took.as_millis()),
        ),
    }
}
