//! `skillet stats --authoring` (the runs' figures are run_stats.rs's), and the recording of authoring events that `create`, `test`
//! and `dev` do.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use skillet_authoring::TestReport;
use skillet_authoring::dev::{Reload, Validation};
use skillet_registry::Registry;
use skillet_store::{AuthoringEvent, AuthoringQuery, AuthoringRecord, AuthoringStats, now_ms};

use crate::cli::StatsArgs;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &StatsArgs) -> Result<ExitCode> {
    if !args.authoring {
        return super::run_stats::run(ctx, args);
    }
    let root = ctx.env.workspace_root();
    let here = root.as_deref().map(key).unwrap_or_default();
    // A skill that exists is looked up where it lives; one that is gone (deleted, renamed) is
    // still found by name in this workspace and the global scope.
    let (skill, workspaces) = match &args.skill {
        Some(name) => match ctx.registry_for(name).resolve(name) {
            Some(entry) => (
                entry.name.clone(),
                vec![home(root.as_deref(), Some(&entry.path))],
            ),
            None => (name.clone(), places(&here)),
        },
        None => (String::new(), places(&here)),
    };
    let query = AuthoringQuery {
        workspaces,
        skill: args.skill.as_ref().map(|_| skill.clone()),
    };
    let stats = ctx.store()?.authoring_stats(&query)?;
    let now = now_ms();
    let rows: Vec<Row> = stats.iter().map(Row::from).collect();
    if args.json {
        output::json(&Report {
            workspace: (!here.is_empty()).then_some(here),
            skills: rows,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        let what = match &args.skill {
            Some(_) => format!("for `{}`", output::field(&skill)),
            None => "for any skill here".to_owned(),
        };
        println!(
            "no authoring activity recorded {what}: `skillet create`, `skillet test` and `skillet dev` record it as they run"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cells: Vec<Vec<String>> = stats
        .iter()
        .map(|s| {
            vec![
                s.skill.clone(),
                scope(&s.workspace).to_owned(),
                create_to_pass(s),
                s.test_runs.to_string(),
                failed(s),
                reloads(s),
                output::ago(now.saturating_sub(s.last_activity_ms)),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "SKILL",
                "SCOPE",
                "CREATE TO FIRST PASS",
                "TEST RUNS",
                "FAILED RUNS",
                "DEV RELOADS (SAVE TO RESULT)",
                "LAST ACTIVITY",
            ],
            &cells
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report {
    /// This workspace's root; `null` outside a workspace.
    workspace: Option<String>,
    skills: Vec<Row>,
}

/// One skill, as `--json` prints it.
#[derive(Serialize)]
struct Row {
    skill: String,
    scope: &'static str,
    created_at: Option<String>,
    first_pass_at: Option<String>,
    create_to_pass_ms: Option<i64>,
    test_runs: u64,
    failed_runs: u64,
    failure_rate: Option<f64>,
    tests_passed: u64,
    tests_failed: u64,
    dev_reloads: u64,
    dev_median_ms: Option<u64>,
    dev_p90_ms: Option<u64>,
    last_activity: String,
}

impl From<&AuthoringStats> for Row {
    fn from(s: &AuthoringStats) -> Row {
        Row {
            skill: s.skill.clone(),
            scope: scope(&s.workspace),
            created_at: s.created_at_ms.map(output::rfc3339),
            first_pass_at: s.first_pass_at_ms.map(output::rfc3339),
            create_to_pass_ms: s.create_to_pass_ms,
            test_runs: s.test_runs,
            failed_runs: s.failed_runs,
            failure_rate: s.failure_rate,
            tests_passed: s.tests_passed,
            tests_failed: s.tests_failed,
            dev_reloads: s.dev_reloads,
            dev_median_ms: s.dev_median_ms,
            dev_p90_ms: s.dev_p90_ms,
            last_activity: output::rfc3339(s.last_activity_ms),
        }
    }
}

fn scope(workspace: &str) -> &'static str {
    if workspace.is_empty() {
        "global"
    } else {
        "workspace"
    }
}

fn create_to_pass(s: &AuthoringStats) -> String {
    match (s.create_to_pass_ms, s.created_at_ms, s.test_runs) {
        (Some(ms), _, _) => duration(ms),
        (None, None, _) => "- (not made by create)".to_owned(),
        (None, Some(_), 0) => "- (never tested)".to_owned(),
        (None, Some(_), _) => "- (no passing run yet)".to_owned(),
    }
}

fn failed(s: &AuthoringStats) -> String {
    match s.failure_rate {
        Some(rate) => format!(
            "{} of {} ({:.0}%)",
            s.failed_runs,
            s.test_runs,
            rate * 100.0
        ),
        None => "-".to_owned(),
    }
}

fn reloads(s: &AuthoringStats) -> String {
    match (s.dev_median_ms, s.dev_p90_ms) {
        (Some(median), Some(p90)) => {
            format!("{}: median {median} ms, p90 {p90} ms", s.dev_reloads)
        }
        _ => "0".to_owned(),
    }
}

/// A span as a person reads it: `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`.
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match ms {
        ..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {} s", s / 60, s % 60),
        3_600_000..86_400_000 => format!("{} h {} min", s / 3600, s / 60 % 60),
        _ => format!("{} d {} h", s / 86_400, s / 3600 % 24),
    }
}

/// The workspace and global scope, or only the global one outside a workspace.
fn places(here: &str) -> Vec<String> {
    if here.is_empty() {
        vec![String::new()]
    } else {
        vec![here.to_owned(), String::new()]
    }
}

/// How a workspace root is stored.
fn key(root: &Path) -> String {
    root.to_string_lossy().into_owned()
}

/// Which workspace a skill file belongs to: this one when it lies inside it, else none
/// (global; an event of a skill elsewhere is kept with the global ones).
fn home(root: Option<&Path>, file: Option<&Path>) -> String {
    match (root, file) {
        (Some(root), Some(file)) if file.starts_with(root) => key(root),
        _ => String::new(),
    }
}

/// Records one event.
fn record(ctx: &Context, skill: &str, file: Option<&Path>, event: AuthoringEvent) {
    record_all(ctx, vec![(skill, file, event)]);
}

/// Records events, opening the store once. Analytics never stop the command that does the
/// work: a store that cannot be opened or written is logged at debug level (`-v`) and
/// otherwise ignored.
fn record_all(ctx: &Context, events: Vec<(&str, Option<&Path>, AuthoringEvent)>) {
    if events.is_empty() {
        return;
    }
    let root = ctx.env.workspace_root();
    let at_ms = now_ms();
    let written = ctx.store().and_then(|store| {
        for (skill, file, event) in events {
            store.record_authoring(&AuthoringRecord {
                workspace: home(root.as_deref(), file),
                skill: skill.to_owned(),
                at_ms,
                event,
            })?;
        }
        Ok(())
    });
    if let Err(e) = written {
        tracing::debug!("authoring event not recorded: {e:#}");
    }
}

/// `skillet create` wrote `skill` into `dir`.
pub(crate) fn record_create(ctx: &Context, skill: &str, dir: &Path) {
    record(ctx, skill, Some(dir), AuthoringEvent::Created);
}

/// One `skillet test` run: one event per skill it tested (a name that matched no skill is
/// left out).
pub(crate) fn record_tests(ctx: &Context, registry: &Registry, report: &TestReport) {
    let mut per_skill: BTreeMap<&str, (u32, u32, u32, u64)> = BTreeMap::new();
    for t in &report.tests {
        let counts = per_skill.entry(t.skill.as_str()).or_default();
        match t.outcome {
            skillet_authoring::Outcome::Passed => counts.0 += 1,
            skillet_authoring::Outcome::Failed { .. }
            | skillet_authoring::Outcome::Error { .. } => counts.1 += 1,
            skillet_authoring::Outcome::Skipped { .. } => counts.2 += 1,
        }
        counts.3 = counts.3.saturating_add(t.duration_ms);
    }
    let events = per_skill
        .into_iter()
        .filter_map(|(skill, (passed, failed, skipped, duration_ms))| {
            let entry = registry.resolve(skill)?;
            let event = AuthoringEvent::Tested {
                passed,
                failed,
                skipped,
                duration_ms,
            };
            Some((entry.name.as_str(), Some(entry.path.as_path()), event))
        })
        .collect();
    record_all(ctx, events);
}

/// The skill `skillet dev` watches, as events name it: its name (not the alias typed) and file.
pub(crate) struct DevSkill {
    name: String,
    file: Option<std::path::PathBuf>,
}

impl DevSkill {
    /// The skill `name` (or alias) refers to here.
    pub(crate) fn new(ctx: &Context, name: &str) -> DevSkill {
        match ctx.registry_for(name).resolve(name) {
            Some(entry) => DevSkill {
                name: entry.name.clone(),
                file: Some(entry.path.clone()),
            },
            None => DevSkill {
                name: name.to_owned(),
                file: None,
            },
        }
    }

    /// One reload of `skillet dev`; the first run, which no save started, is not one.
    pub(crate) fn record(&self, ctx: &Context, reload: &Reload) {
        if reload.number == 0 {
            return;
        }
        let outcome = match (&reload.run, &reload.validation) {
            (Some(run), _) => run.status.clone(),
            (None, Validation::Missing) => "missing".to_owned(),
            (None, Validation::Broken { .. } | Validation::KeptLastGood { .. }) => {
                "broken".to_owned()
            }
            (None, Validation::Valid) => "not_run".to_owned(),
        };
        let event = AuthoringEvent::DevReload {
            save_to_result_ms: reload.reload_ms,
            outcome,
        };
        record(ctx, &self.name, self.file.as_deref(), event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_400), "12.4 s");
        assert_eq!(duration(185_000), "3 min 5 s");
        assert_eq!(duration(7_800_000), "2 h 10 min");
        assert_eq!(duration(273_600_000), "3 d 4 h");
    }

    #[test]
    fn a_skill_belongs_to_the_workspace_it_lies_in() {
        let root = Path::new("/w/proj");
        assert_eq!(
            home(
                Some(root),
                Some(Path::new("/w/proj/.skillet/skills/a.json"))
            ),
            "/w/proj"
        );
        assert_eq!(
            home(Some(root), Some(Path::new("/w/project2/.skillet/skills"))),
            ""
        );
        assert_eq!(home(None, Some(Path::new("/w/proj/x"))), "");
    }
}
