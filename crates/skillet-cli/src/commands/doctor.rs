//! `skillet doctor`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::output;

pub fn run(as_json: bool) -> Result<ExitCode> {
    let report = skillet_sandbox::probe::report();
    if as_json {
        let rows: Vec<_> = report
            .iter()
            .map(|r| json!({"layer": r.layer, "state": r.state.as_str(), "detail": r.detail}))
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
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
        .filter(|r| {
            r.state == skillet_sandbox::probe::LayerState::Unavailable
                && ["landlock", "seccomp", "namespaces"].contains(&r.layer)
        })
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
    Ok(ExitCode::SUCCESS)
}
