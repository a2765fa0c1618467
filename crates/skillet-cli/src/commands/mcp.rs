//! `skillet mcp`: MCP on standard input and output; and the HTTP options of `skillet serve`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use skillet_engine::session::SessionManager;
use skillet_mcp::{
    DEFAULT_MAX_CONCURRENT_CALLS, DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT, HttpAuth,
    HttpOptions, McpOptions, SkillServer, StdioOptions,
};
use skillet_server::SocketPaths;

use crate::cli::{McpArgs, ServeArgs};
use crate::context::Context;

/// How `skillet serve --http` is exposed, from its flags. Without `--auth-token`,
/// `$SKILLET_MCP_TOKEN` or `--no-auth`, a new token is made, printed once on stderr and
/// written (by the daemon, once it holds its lock) to a 0600 file beside its socket.
pub fn http_options(args: &ServeArgs, paths: &SocketPaths) -> Result<Option<HttpOptions>> {
    let Some(addr) = args.http else {
        return Ok(None);
    };
    let from_file = match &args.auth_token_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read --auth-token-file {}", file.display()))?;
            let token = text.lines().next().unwrap_or_default().trim().to_owned();
            anyhow::ensure!(
                !token.is_empty(),
                "--auth-token-file {} is empty; write the token on its first line",
                file.display()
            );
            Some(token)
        }
        None => None,
    };
    let given = args.auth_token.clone().or(from_file).or_else(|| {
        std::env::var("SKILLET_MCP_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
    });
    let (auth, token_file) = if args.no_auth {
        eprintln!(
            "skillet serve: warning: --no-auth: MCP over HTTP on {addr} takes calls from any local user or process, with your files and sessions"
        );
        (HttpAuth::None, None)
    } else if let Some(token) = given {
        (HttpAuth::Bearer(token), None)
    } else {
        // A token printed for a daemon that then cannot start would mislead: the one running
        // has its own.
        if skillet_server::Client::connect(paths).is_ok() {
            anyhow::bail!(
                "a skillet daemon is already running on {}; `skillet daemon stop` stops it",
                paths.socket.display()
            );
        }
        let token = skillet_mcp::generate_token()?;
        let stem = paths
            .socket
            .file_stem()
            .map_or_else(|| "skillet".into(), |s| s.to_string_lossy().into_owned());
        let file = paths.dir().join(format!("{stem}.mcp-token"));
        eprintln!(
            "skillet serve: MCP over HTTP needs `Authorization: Bearer {token}`\n  \
             (the token is also in {}, readable only by you; --auth-token or $SKILLET_MCP_TOKEN choose one, --no-auth serves without)",
            file.display()
        );
        // The fragment never reaches the server or a Referer: the page reads it and sends it
        // as the bearer token.
        if addr.port() == 0 {
            eprintln!(
                "skillet serve: the dashboard is at / on the address below: open it with #token={token} at the end"
            );
        } else {
            eprintln!("skillet serve: the dashboard: http://{addr}/#token={token}");
        }
        (HttpAuth::Bearer(token), Some(file))
    };
    Ok(Some(HttpOptions {
        addr,
        auth,
        allowed_origins: args.allow_origin.clone(),
        max_sessions: args
            .max_sessions
            .map_or(DEFAULT_MAX_SESSIONS, |n| n as usize),
        session_idle_timeout: args
            .session_idle_timeout
            .map_or(DEFAULT_SESSION_IDLE_TIMEOUT, Duration::from_secs),
        token_file,
        shutdown: Default::default(),
    }))
}

/// The concurrency limit: the flag, else `[mcp] max_concurrent_calls`, else the default.
pub fn max_concurrent(ctx: &Context, flag: Option<usize>) -> usize {
    flag.or(ctx.config.mcp.max_concurrent_calls)
        .unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS)
}

pub fn run(ctx: &Context, args: &McpArgs) -> Result<ExitCode> {
    let store = match ctx.store_serving() {
        Ok(store) => Some(store),
        Err(e) => {
            eprintln!(
                "skillet mcp: warning: calls are not recorded: {}",
                crate::output::text(&crate::output::explain_with_hint(&e))
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
        // Runs wait for a turn in the daemon's job queue, as over HTTP, under this server's
        // own cap as well.
        if let Some(queue) = crate::commands::session::daemon_queue(
            max_concurrent(ctx, args.max_concurrent),
            "skillet mcp",
        ) {
            server.route_runs_through(queue);
        }
        report_hidden(&server);
        let mut options = StdioOptions::default();
        if let Some(max) = args.max_line_bytes {
            options.max_line_bytes = usize::try_from(max).unwrap_or(usize::MAX);
        }
        skillet_mcp::serve_stdio(server, options).await?;
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
        eprintln!(
            "skillet mcp: `{}` is disabled and not served",
            crate::output::field(name)
        );
    }
}
