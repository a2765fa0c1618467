//! `skillet breaker`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_store::now_ms;

use crate::cli::{BreakerArgs, BreakerCommand};
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &BreakerArgs) -> Result<ExitCode> {
    let store = ctx.store()?;
    if let Some(BreakerCommand::Reset { skill, json }) = &args.reset {
        let existed = store.reset_breaker(skill)?;
        if *json {
            output::json(&serde_json::json!({"skill": skill, "reset": existed}))?;
        } else if existed {
            println!("closed the circuit of `{}`", output::field(skill));
        } else {
            println!(
                "`{}` has no circuit breaker state; nothing to reset",
                output::field(skill)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let breakers: Vec<_> = store
        .breakers()?
        .into_iter()
        .filter(|b| args.skill.as_ref().is_none_or(|s| s == &b.skill))
        .collect();
    if args.json {
        output::json(&breakers)?;
        return Ok(ExitCode::SUCCESS);
    }
    if breakers.is_empty() {
        println!(
            "No circuit breaker state recorded. Skills get one with a `circuit_breaker` block."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    // `output::table` makes every cell safe: the rows come from the store.
    let rows: Vec<Vec<String>> = breakers
        .iter()
        .map(|b| {
            let since = b
                .opened_at_ms
                .map_or("-".into(), |t| format!("{} s ago", (now - t).max(0) / 1000));
            vec![
                b.skill.clone(),
                b.state.clone(),
                b.consecutive_failures.to_string(),
                since,
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["SKILL", "STATE", "FAILURES IN A ROW", "OPENED"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}
