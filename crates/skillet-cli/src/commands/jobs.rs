//! `skillet run NAME --detach` and `skillet jobs …`: background runs, handed to the daemon
//! through the same client as sessions, and printed.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value};
use skillet_server::api::{Job, JobListParams, JobOutput, JobSubmitParams};
use skillet_server::{ClientError, ErrorCode};

use crate::cli::{JobsArgs, JobsCommand, RunArgs};
use crate::commands::session::{client, refuse_damaged_store};
use crate::context::Context;
use crate::output;

/// Exit code of a job refused because the daemon's queue is full: try again later.
const EXIT_BUSY: u8 = 75;

/// `skillet run NAME … --detach`: queues the run in the daemon and prints the job's id.
pub fn detach(ctx: &Context, args: &RunArgs, params: Map<String, Value>) -> Result<ExitCode> {
    refuse_damaged_store(ctx)?;
    // Said here, with the CLI's exit code for it, rather than as a job that failed.
    let registry = ctx.registry_for(&args.name);
    if registry.resolve(&args.name).is_none() {
        return Err(crate::commands::info::not_found(&registry, &args.name));
    }
    if crate::commands::conversation::is_conversation(&registry, &args.name) {
        return Err(output::failure(
            output::EXIT_SKILLET_ERROR,
            format!(
                "--detach is not supported yet for conversation skills such as `{}`",
                args.name
            ),
            Some("run it without --detach".into()),
        ));
    }
    let submit = JobSubmitParams {
        skill: args.name.clone(),
        params,
        stdin: args.stdin.clone(),
        caller_dir: ctx.env.cwd.clone(),
        workspace: args.workspace.as_ref().map(|w| ctx.env.cwd.join(w)),
        priority: args.priority.unwrap_or_default().into(),
        overrides: super::run::overrides(args),
        // Fair share: by default the daemon counts this terminal's (session's) jobs together.
        client: std::env::var("SKILLET_CLIENT").ok(),
    };
    let job = match client(args.socket.as_deref())?.job_submit(&submit) {
        Ok(job) => job,
        Err(ClientError::Refused(e)) if e.code == ErrorCode::Busy => {
            let after = e.retry_after_ms.unwrap_or(1000);
            return Err(output::failure(
                EXIT_BUSY,
                e.message,
                Some(format!("try again in {} s", after.div_ceil(1000))),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        output::json(&serde_json::json!({ "job": job.id }))?;
    } else {
        println!("{}", output::field(&job.id));
    }
    Ok(ExitCode::SUCCESS)
}

/// `skillet jobs [wait|logs|cancel]`.
pub fn run(args: &JobsArgs) -> Result<ExitCode> {
    let socket = args.socket.as_deref();
    match &args.command {
        None => {
            let jobs = client(socket)?.job_list(&JobListParams {
                limit: Some(args.limit),
            })?;
            if args.json {
                output::json(&jobs)?;
            } else {
                print_list(&jobs);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(JobsCommand::Wait { id, timeout, json }) => {
            let deadline =
                timeout.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
            let mut client = client(socket)?;
            loop {
                let left = deadline.map(|d| {
                    u64::try_from(
                        d.saturating_duration_since(std::time::Instant::now())
                            .as_millis(),
                    )
                    .unwrap_or(u64::MAX)
                });
                let done = client.job_wait(id, left)?;
                if done.job.is_over() {
                    return print_output(&done, *json, true);
                }
                if left == Some(0) || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                    return Err(output::failure(
                        output::EXIT_TIMEOUT,
                        format!(
                            "job {} is still {} after {} s; it goes on",
                            done.job.id,
                            done.job.status,
                            timeout.unwrap_or(0)
                        ),
                        Some(format!(
                            "`skillet jobs wait {}` waits again; `skillet jobs cancel {}` stops it",
                            done.job.id, done.job.id
                        )),
                    ));
                }
            }
        }
        Some(JobsCommand::Logs { id, json }) => {
            let logs = client(socket)?.job_logs(id)?;
            print_output(&logs, *json, false)
        }
        Some(JobsCommand::Cancel { id, json }) => {
            let job = client(socket)?.job_cancel(id)?;
            if *json {
                output::json(&job)?;
            } else {
                println!(
                    "job {} is {}",
                    output::field(&job.id),
                    output::field(&job.status)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A job's output as `skillet run` prints a run's: stdout to stdout, stderr to stderr, then
/// what went wrong. With `exit_as_run`, the exit code is the run's.
fn print_output(out: &JobOutput, json: bool, exit_as_run: bool) -> Result<ExitCode> {
    if json {
        output::json(out)?;
    } else {
        // The skill's own bytes, as `skillet run` gives them.
        let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
        super::run::end_line_on_terminal(out.stdout.as_bytes());
        if out.job.truncated {
            eprintln!("skillet: output was cut at the job's cap");
        }
        if let Some(error) = &out.job.error {
            eprintln!(
                "skillet: job {}: {}",
                output::field(&out.job.status),
                output::text(error)
            );
        }
    }
    Ok(ExitCode::from(if exit_as_run {
        exit_code(&out.job)
    } else {
        0
    }))
}

/// The exit code `skillet run` would have given the job's run.
fn exit_code(job: &Job) -> u8 {
    match (job.status.as_str(), job.outcome.as_deref()) {
        ("cancelled", _) => super::run::EXIT_SIGINT,
        (_, Some("ok")) => 0,
        (_, Some("failed")) => job
            .exit_code
            .and_then(|c| u8::try_from(c).ok())
            .filter(|c| *c != 0)
            .unwrap_or(1),
        (_, Some("timeout")) => output::EXIT_TIMEOUT,
        (_, Some("resource_limit")) => output::EXIT_RESOURCE_LIMIT,
        (_, Some("circuit_open")) => output::EXIT_CIRCUIT_OPEN,
        (_, Some("sandbox_denied")) => output::EXIT_SANDBOX_DENIED,
        (_, Some("invalid_params")) => output::EXIT_INVALID_PARAMS,
        (_, Some("not_found")) => output::EXIT_NOT_FOUND,
        _ => output::EXIT_SKILLET_ERROR,
    }
}

fn print_list(jobs: &[Job]) {
    if jobs.is_empty() {
        println!("no jobs; start one with `skillet run NAME --detach`");
        return;
    }
    let now = skillet_store::now_ms();
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.clone(),
                j.skill.clone(),
                j.status.clone(),
                j.priority.clone(),
                output::ago(now - j.submitted_at_ms),
                j.queue_wait_ms
                    .map_or("-".to_owned(), |w| format!("{w} ms")),
                j.outcome.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "ID",
                "SKILL",
                "STATUS",
                "PRIORITY",
                "SUBMITTED",
                "WAITED",
                "OUTCOME"
            ],
            &rows
        )
    );
}
