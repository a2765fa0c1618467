//! One module per subcommand.

mod alerts;
mod batch;
mod breaker;
mod cache;
mod channel;
mod completions;
mod context;
mod conversation;
mod create;
mod daemon;
mod dev;
mod docs;
mod doctor;
mod health;
pub(crate) mod hints;
mod history;
pub(crate) mod history_prune;
mod hooks;
pub mod info;
mod init;
mod input_end;
mod install;
mod jobs;
mod list;
mod logs;
mod marketplace;
mod mcp;
mod migrate;
mod package_toggle;
mod run;
mod run_insight;
mod run_pool;
mod run_stats;
pub mod session;
mod state;
mod state_doc;
mod stats;
mod store;
mod store_check;
mod test;
mod trace;
mod trust;
mod validate;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Schema { .. } => {
            crate::output::json(&skillet_spec::skill_json_schema())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { json, repair } => doctor::run(json, repair, cli.cwd.as_deref()),
        Command::Daemon { command, socket } => daemon::run(&command, socket.as_deref()),
        Command::Jobs(args) => jobs::run(&args),
        Command::Completions { shell, json } => completions::run(shell, json),
        command => {
            // Overlaps the sandbox's once-per-process work with configuration and discovery.
            let _preparing = prepare_sandbox(&command);
            let ctx = Context::new(cli.cwd.as_deref())?;
            match command {
                Command::List(args) => list::run(&ctx, &args),
                Command::Info(args) => info::run(&ctx, &args),
                Command::Validate(args) => validate::run(&ctx, &args),
                Command::Run(args) => run::run(&ctx, &args),
                Command::Batch(args) => batch::run(&ctx, &args),
                Command::Migrate(args) => migrate::run(&ctx, &args),
                Command::History(args) => history::run(&ctx, &args),
                Command::Breaker(args) => breaker::run(&ctx, &args),
                Command::Session { command, socket } => {
                    session::run(&ctx, &command, socket.as_deref())
                }
                Command::Serve(args) => daemon::serve(&ctx, &args),
                Command::Mcp(args) => mcp::run(&ctx, &args),
                Command::Context(args) => context::run(&ctx, &args),
                Command::Trust(args) => trust::trust(&ctx, &args),
                Command::Install(args) => install::install(&ctx, &args),
                Command::Update(args) => install::update(&ctx, &args),
                Command::Uninstall(args) => install::uninstall(&ctx, &args),
                Command::Verify(args) => install::verify(&ctx, &args),
                Command::Search(args) => marketplace::search(&ctx, &args),
                Command::Marketplace { command } => marketplace::run(&ctx, &command),
                Command::Create(args) => create::run(&ctx, &args),
                Command::Test(args) => test::run(&ctx, &args),
                Command::Dev(args) => dev::run(&ctx, &args),
                Command::Docs(args) => docs::run(&ctx, &args),
                Command::Init(args) => init::run(&ctx, &args),
                Command::Hooks { command } => hooks::run(&ctx, &command),
                Command::State { command } => state::run(&ctx, &command),
                Command::Channel { command } => state::channel(&ctx, &command),
                Command::Cache { command } => cache::run(&ctx, &command),
                Command::Store { command } => store::run(&ctx, &command),
                Command::Stats(args) => stats::run(&ctx, &args),
                Command::Health(args) => health::run(&ctx, &args),
                Command::Alerts(args) => alerts::run(&ctx, &args),
                Command::Trace(args) => trace::run(&ctx, &args),
                Command::Logs(args) => logs::run(&ctx, &args),
                Command::Enable(args) => trust::toggle(&ctx, &args, false),
                Command::Disable(args) => trust::toggle(&ctx, &args, true),
                Command::Schema { .. }
                | Command::Completions { .. }
                | Command::Doctor { .. }
                | Command::Daemon { .. }
                | Command::Jobs(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Starts the sandbox's once-per-process work (what the kernel offers, the seccomp program,
/// the scratch directory, the shared offline network namespace) on a thread of its own, for
/// the commands that run skills in this process; see `skillet_sandbox::prepare`.
fn prepare_sandbox(command: &Command) -> Option<skillet_sandbox::Preparing> {
    let isolation = match command {
        Command::Run(args) if args.session.is_some() || args.dry_run || args.detach => {
            return None;
        }
        Command::Run(args) if args.allow.allow_unsandboxed => skillet_sandbox::Isolation::Disabled,
        Command::Batch(args) if args.allow.allow_unsandboxed => {
            skillet_sandbox::Isolation::Disabled
        }
        Command::Run(_) | Command::Batch(_) | Command::Mcp(_) | Command::Test(_) => {
            skillet_sandbox::Isolation::Required
        }
        _ => return None,
    };
    let mut policy = skillet_sandbox::SandboxPolicy::new(std::time::Duration::from_secs(30));
    policy.isolation = isolation;
    Some(skillet_sandbox::prepare(&policy))
}
