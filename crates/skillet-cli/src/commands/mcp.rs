//! `skillet mcp`: MCP on standard input and output.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use skillet_engine::session::SessionManager;
use skillet_mcp::{DEFAULT_MAX_CONCURRENT_CALLS, McpOptions, SkillServer};

use crate::cli::McpArgs;
use crate::context::Context;

/// The concurrency limit: the flag, else `[mcp] max_concurrent_calls`, else the default.
pub fn max_concurrent(ctx: &Context, flag: Option<usize>) -> usize {
    flag.or(ctx.config.mcp.max_concurrent_calls)
        .unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS)
}

pub fn run(ctx: &Context, args: &McpArgs) -> Result<ExitCode> {
    let store = match ctx.store() {
        Ok(store) => Some(store),
        Err(e) => {
            eprintln!(
                "skillet mcp: warning: calls are not recorded: {}",
                crate::output::explain(&e)
            );
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let server = SkillServer::new(McpOptions {
            env: ctx.env.clone(),
            sessions: Arc::new(SessionManager::new(store.clone())),
            store,
            max_concurrent_calls: max_concurrent(ctx, args.max_concurrent),
        })?;
        report_hidden(&server);
        skillet_mcp::serve_stdio(server).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr which skills agents will not see, so a missing tool is not a mystery.
fn report_hidden(server: &SkillServer) {
    let hidden = server.hidden();
    let untrusted = hidden
        .iter()
        .filter(|(_, a)| *a == skillet_registry::Availability::Untrusted)
        .count();
    if untrusted > 0 {
        eprintln!(
            "skillet mcp: {untrusted} workspace skill{} not served: this workspace is not trusted; `skillet trust` serves them",
            if untrusted == 1 { " is" } else { "s are" }
        );
    }
    for (name, _) in hidden
        .iter()
        .filter(|(_, a)| *a == skillet_registry::Availability::Disabled)
    {
        eprintln!("skillet mcp: `{name}` is disabled and not served");
    }
}
