//! `skillet trust`, `skillet enable` and `skillet disable`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_registry::{ConfigScope, config_path, set_disabled, set_trusted};

use crate::cli::{ToggleArgs, TrustArgs};
use crate::context::Context;
use crate::output;

pub fn trust(ctx: &Context, args: &TrustArgs) -> Result<ExitCode> {
    if args.list {
        let trusted = &ctx.config.trust.workspaces;
        if args.json {
            output::json(&trusted)?;
        } else if trusted.is_empty() {
            println!("No workspace is trusted; `skillet trust` in one trusts it.");
        } else {
            for dir in trusted {
                println!("{}", output::path(dir));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let root = match &args.dir {
        Some(dir) => {
            let dir = ctx.env.cwd.join(dir);
            if !dir.is_dir() {
                return Err(output::failure(
                    output::EXIT_SKILLET_ERROR,
                    format!("{}: no such directory", dir.display()),
                    Some("name an existing workspace: `skillet trust DIR`".into()),
                ));
            }
            dir
        }
        None => match ctx.env.workspace_root() {
            Some(root) => root,
            None => {
                return Err(output::failure(
                    output::EXIT_SKILLET_ERROR,
                    "not in a workspace",
                    Some("name one: `skillet trust DIR`".into()),
                ));
            }
        },
    };
    let changed = set_trusted(&ctx.env, &root, !args.revoke)?;
    let file = config_path(&ctx.env, ConfigScope::Global)?;
    if args.json {
        output::json(&json!({
            "workspace": root,
            "trusted": !args.revoke,
            "changed": changed,
            "config": file,
        }))?;
    } else {
        let verb = match (args.revoke, changed) {
            (false, true) => "now trusted",
            (false, false) => "already trusted",
            (true, true) => "no longer trusted",
            (true, false) => "was not trusted",
        };
        // A cloned repository's folder is named by whoever published it.
        println!("{}: {verb} ({})", output::path(&root), output::path(&file));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn toggle(ctx: &Context, args: &ToggleArgs, disable: bool) -> Result<ExitCode> {
    // An installed package's name turns off (or on) all of its skills.
    if let Some(code) = crate::commands::package_toggle::toggle(ctx, args, disable)? {
        return Ok(code);
    }
    // One name: resolved as `run` resolves it, so the skill turned off is the one `run` runs.
    let registry = ctx.registry_for(&args.name);
    // An alias turns off the skill it names; an unknown name is most likely a typo.
    let name = match registry.resolve(&args.name) {
        Some(entry) => entry.name.clone(),
        None if !disable => args.name.clone(),
        None => return Err(crate::commands::info::not_found(&registry, &args.name)),
    };
    let scope = if args.workspace {
        ConfigScope::Workspace
    } else {
        ConfigScope::Global
    };
    let changed = set_disabled(&ctx.env, scope, &name, disable)?;
    let file = config_path(&ctx.env, scope)?;
    let state = if disable { "disabled" } else { "enabled" };
    if args.json {
        output::json(&json!({
            "skill": name,
            "state": state,
            "changed": changed,
            "config": file,
        }))?;
    } else if changed {
        println!(
            "{}: {state} ({})",
            output::field(&name),
            output::path(&file)
        );
    } else {
        println!(
            "{}: already {state} in {}",
            output::field(&name),
            output::path(&file)
        );
    }
    if !disable {
        let still = skillet_registry::Config::load(&ctx.env)?;
        if still.disabled.contains(&name) {
            let other = if args.workspace { "" } else { " --workspace" };
            eprintln!(
                "skillet: warning: `{}` is still disabled by the other skillet.toml; `skillet enable {}{other}`",
                output::field(&name),
                output::field(&output::shell_word(&name))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
