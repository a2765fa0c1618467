//! `skillet trace EXECUTION_ID`: prints the spans an execution's history row keeps.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::cli::TraceArgs;
use crate::context::Context;
use crate::output;

/// Width of the bars drawn for the spans.
const BAR: u64 = 40;

pub fn run(ctx: &Context, args: &TraceArgs) -> Result<ExitCode> {
    let Some(r) = ctx.store()?.get(&args.id)? else {
        return Err(output::failure(
            1,
            format!("no execution has the id `{}`", output::field(&args.id)),
            Some("`skillet history` lists executions with their ids".into()),
        ));
    };
    if args.json {
        output::json(&json!({
            "execution": {
                "id": r.id, "skill": r.skill, "status": r.status, "attempt": r.attempt,
                "correlation_id": r.correlation_id,
                "started_at": output::rfc3339(r.started_at_ms), "duration_ms": r.duration_ms,
                "queue_wait_ms": r.queue_wait_ms,
            },
            "spans": r.spans,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} `{}` {} (attempt {} of call {}), started {}",
        output::field(&r.id),
        output::field(&r.skill),
        output::field(&r.status),
        r.attempt,
        output::field(&r.correlation_id),
        output::timestamp(r.started_at_ms)
    );
    if let Some(wait) = r.queue_wait_ms.filter(|w| *w > 0) {
        println!("it waited {wait} ms in the daemon's queue before the call started");
    }
    if r.spans.is_empty() {
        println!(
            "no spans were kept for it: it ran before this skillet kept them, or answered without measuring (a refusal before the call)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Wide arithmetic: spans are read from a file anyone with the user's rights can edit.
    let end = r
        .spans
        .iter()
        .map(|s| u128::from(s.start_us) + u128::from(s.duration_us))
        .max()
        .unwrap_or(0)
        .max(1);
    let rows: Vec<Vec<String>> = r
        .spans
        .iter()
        .map(|s| {
            let from = (u128::from(s.start_us) * u128::from(BAR) / end).min(u128::from(BAR));
            let width =
                (u128::from(s.duration_us) * u128::from(BAR) / end).clamp(1, u128::from(BAR));
            vec![
                output::field(&s.phase).into_owned(),
                ms(s.start_us),
                ms(s.duration_us),
                format!(
                    "{}{}",
                    " ".repeat(from as usize),
                    "#".repeat(width as usize)
                ),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["PHASE", "AT", "TOOK", "FROM THE CALL'S START"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}
