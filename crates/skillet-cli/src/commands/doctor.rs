//! `skillet doctor`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_engine::conversation::describe_llm;

use crate::context::Context;
use crate::output;

pub fn run(as_json: bool, repair: bool, cwd: Option<&Path>) -> Result<ExitCode> {
    let report = skillet_sandbox::probe::report();
    // The configuration is read only for [llm]: a broken file must not hide the sandbox report.
    let ctx = Context::new(cwd);
    let llm = match &ctx {
        Ok(ctx) => describe_llm(ctx.config.llm.as_ref()).map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot read the configuration: {e:#}")),
    };
    let env = match &ctx {
        Ok(ctx) => Some(ctx.env.clone()),
        Err(_) => skillet_registry::Environment::from_process().ok(),
    };
    let postgres = ctx
        .as_ref()
        .ok()
        .and_then(|ctx| ctx.store_location().ok())
        .filter(|l| matches!(l, skillet_engine::StoreLocation::Postgres { .. }));
    let store = match &postgres {
        Some(location) => crate::commands::store_check::check_postgres(location),
        None => crate::commands::store_check::check(env.as_ref(), repair),
    };
    let (llm_state, llm_detail) = match &llm {
        Ok(detail) => ("active", detail.clone()),
        Err(why) => ("unavailable", why.clone()),
    };
    if as_json {
        let mut rows: Vec<_> = report
            .iter()
            .map(|r| json!({"layer": r.layer, "state": r.state.as_str(), "detail": r.detail}))
            .collect();
        rows.push(json!({"layer": "llm", "state": llm_state, "detail": llm_detail}));
        rows.push(store.json());
        output::json(&rows)?;
        return Ok(store.exit_code());
    }
    let rows: Vec<Vec<String>> = report
        .iter()
        .map(|r| {
            vec![
                r.layer.to_owned(),
                r.state.as_str().to_owned(),
                r.detail.clone(),
            ]
        })
        .collect();
    print!("{}", output::table(&["LAYER", "STATE", "DETAIL"], &rows));
    let missing: Vec<&str> = report
        .iter()
        .filter(|r| r.missing_essential())
        .map(|r| r.layer)
        .collect();
    if missing.is_empty() {
        println!("\nCode skills run fully sandboxed on this machine.");
    } else {
        println!(
            "\nMissing: {}. Code skills are refused unless the global skillet.toml sets\n[sandbox] isolation = \"best-effort\", or a run passes --allow-unsandboxed.",
            missing.join(", ")
        );
    }
    // The model's name and the store's path come from configuration and the file system.
    println!("Conversation skills: {}.", output::field(&llm_detail));
    println!("History store: {}", output::text(&store.sentence()));
    Ok(store.exit_code())
}
