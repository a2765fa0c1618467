//! `skillet test`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use skillet_authoring::{Outcome, RunOptions, TestReport, TestResult, collect_cases, run_tests};
use skillet_registry::Scope;

use super::dev::isolated;
use crate::cli::TestArgs;
use crate::context::Context;
use crate::output;

/// The workspace, and the scope whose skills are tested: the workspace's when there is one,
/// else the global skills.
fn tested_scope(ctx: &Context) -> (Option<std::path::PathBuf>, Scope) {
    let workspace = ctx.env.workspace_root();
    let scope = if workspace.is_some() {
        Scope::Workspace
    } else {
        Scope::Global
    };
    (workspace, scope)
}

/// Every skill's tests, as `skillet test` runs them with no names (in an isolated copy of the
/// workspace, changes kept out of it), for `skillet health --smoke`.
pub(super) fn smoke(ctx: &Context) -> Result<TestReport> {
    let registry = ctx.registry();
    let (workspace, scope) = tested_scope(ctx);
    let collected = collect_cases(&registry, &[], scope);
    let options = RunOptions {
        jobs: std::thread::available_parallelism().map_or(1, usize::from),
        update_snapshots: false,
        record: false,
        caller_dir: workspace.clone().unwrap_or_else(|| ctx.env.cwd.clone()),
        overrides: skillet_engine::RunOverrides::default(),
    };
    let report = match &workspace {
        Some(root) => {
            let iso = isolated::Isolated::new(ctx, root)?;
            let options = RunOptions {
                caller_dir: iso.view.map(&options.caller_dir),
                ..options
            };
            let report = run_tests(&iso.engine, &iso.registry(), &collected.cases, &options);
            iso.keep_history(ctx);
            report
        }
        None => run_tests(&ctx.engine(), &registry, &collected.cases, &options),
    };
    super::stats::record_tests(ctx, &registry, &report);
    Ok(report)
}

pub fn run(ctx: &Context, args: &TestArgs) -> Result<ExitCode> {
    let registry = ctx.registry();
    let (workspace, scope) = tested_scope(ctx);
    let collected = collect_cases(&registry, &args.names, scope);
    for name in &collected.without_tests {
        if !args.names.is_empty() {
            eprintln!(
                "skillet: note: `{}` has no tests; add a \"tests\" entry (docs/authoring.md)",
                output::field(name)
            );
        }
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |n| n as usize,
    );
    let options = RunOptions {
        jobs,
        update_snapshots: args.update_snapshots,
        record: args.record,
        caller_dir: workspace.clone().unwrap_or_else(|| ctx.env.cwd.clone()),
        overrides: skillet_engine::RunOverrides::default(),
    };
    // In a throwaway copy of the workspace, unless the user opts out (issue 22).
    let isolated = match &workspace {
        Some(root) if !args.no_isolate => Some(isolated::Isolated::new(ctx, root)?),
        _ => None,
    };
    let report = match &isolated {
        Some(iso) => {
            let options = RunOptions {
                caller_dir: iso.view.map(&options.caller_dir),
                ..options
            };
            run_tests(&iso.engine, &iso.registry(), &collected.cases, &options)
        }
        None => run_tests(&ctx.engine(), &registry, &collected.cases, &options),
    };
    let changes = match &isolated {
        Some(iso) => {
            iso.keep_history(ctx);
            Some(iso.view.changes()?)
        }
        None => None,
    };
    super::stats::record_tests(ctx, &registry, &report);
    if let Some(file) = &args.junit {
        let path = ctx.env.cwd.join(file);
        // A repository may ship `report.xml` as a link to a file of the user's: it is replaced,
        // never followed.
        skillet_spec::files::replace_file(
            &path,
            skillet_authoring::junit::to_xml(&report).as_bytes(),
        )
        .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    if args.json {
        output::json(&isolated::WithChanges {
            report: &report,
            workspace_changes: changes.as_ref(),
            isolation: isolated.as_ref().map(|iso| iso.view.backing()),
        })?;
    } else {
        print_report(&report);
        if report.tests.is_empty() {
            println!(
                "no tests to run: no skill {} has a \"tests\" entry; add one (docs/authoring.md)",
                if args.names.is_empty() {
                    "here"
                } else {
                    "named"
                }
            );
        }
    }
    let mut applied_all = true;
    if let (Some(iso), Some(changes)) = (&isolated, &changes) {
        if !args.json {
            isolated::print_changes(&iso.view, changes, args.apply);
        }
        if args.apply && !changes.is_empty() {
            applied_all = isolated::apply(&iso.view, changes, args.json)?
                .skipped
                .is_empty();
        }
    }
    Ok(if report.success() && applied_all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(output::EXIT_FAILURE)
    })
}

fn print_report(report: &TestReport) {
    for t in &report.tests {
        print_result(t);
    }
    let s = &report.summary;
    if s.total == 0 {
        return;
    }
    println!();
    println!(
        "test result: {}. {} passed, {} failed, {} errors, {} skipped; {} tests in {:.2} s",
        if report.success() { "ok" } else { "FAILED" },
        s.passed,
        s.failed,
        s.errors,
        s.skipped,
        s.total,
        s.duration_ms as f64 / 1000.0
    );
}

fn print_result(t: &TestResult) {
    let title = format!(
        "{} #{} {}",
        output::field(&t.skill),
        t.index,
        output::field(&t.name)
    );
    match &t.outcome {
        Outcome::Passed => println!("PASS  {title} ({} ms)", t.duration_ms),
        Outcome::Failed { mismatches } => {
            let Some(first) = mismatches.first() else {
                return;
            };
            println!(
                "FAIL  {title}: {}: {}",
                first.field,
                output::text(&first.message)
            );
            if let Some(diff) = &first.diff {
                for line in output::text(diff).lines() {
                    println!("      {line}");
                }
            }
            if mismatches.len() > 1 {
                let rest: Vec<&str> = mismatches[1..].iter().map(|m| m.field.as_str()).collect();
                println!("      also failed: {}", rest.join(", "));
            }
            if let Some(error) = t.observed.as_ref().and_then(|o| o.error.as_ref()) {
                println!("      skillet: {}", output::text(error));
            }
        }
        Outcome::Skipped { reason } => println!("SKIP  {title}: {}", output::text(reason)),
        Outcome::Error { message } if t.index == 0 => {
            println!(
                "ERROR {}: {}",
                output::field(&t.skill),
                output::text(message)
            );
        }
        Outcome::Error { message } => println!("ERROR {title}: {}", output::text(message)),
    }
    if let Some(path) = &t.snapshot_written {
        println!("      snapshot written: {}", output::path(path));
    }
    if let Some(path) = &t.cassette_written {
        println!("      cassette written: {}", output::path(path));
    }
}
