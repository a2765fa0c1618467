//! `skillet create`.

use std::process::ExitCode;

use anyhow::Result;
use skillet_authoring::{CreateError, CreateRequest, Template, create_skill};

use crate::cli::{CreateArgs, ScriptTemplate};
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, args: &CreateArgs) -> Result<ExitCode> {
    let dir = if args.global {
        let Some(global) = ctx.env.global_dir() else {
            return Err(output::failure(
                output::EXIT_FAILURE,
                "cannot tell where the global skills directory is",
                Some("set HOME or XDG_CONFIG_HOME, or drop --global".into()),
            ));
        };
        global.join("skills")
    } else {
        let Some(root) = ctx.env.workspace_root() else {
            return Err(output::failure(
                output::EXIT_FAILURE,
                format!(
                    "no workspace here ({} is too wide to be one)",
                    output::path(&ctx.env.cwd)
                ),
                Some("run it inside your project, or write a global skill with --global".into()),
            ));
        };
        // Discovery does not follow a workspace's `.skillet` out through a link, so neither
        // does create: a cloned repository's `.skillet -> ~/.config/skillet` must not turn
        // `create` into writing a global skill.
        for dir in [root.join(".skillet"), root.join(".skillet").join("skills")] {
            if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(output::failure(
                    output::EXIT_FAILURE,
                    format!("{} is a symbolic link", output::path(&dir)),
                    Some(
                        "skillet reads and writes a workspace's skills only in a real .skillet directory: replace the link with a directory".into(),
                    ),
                ));
            }
        }
        root.join(".skillet").join("skills")
    };
    let request = CreateRequest {
        name: args.name.clone(),
        kind: args.kind.kind(),
        template: match args.template {
            None => Template::Plain,
            Some(ScriptTemplate::PythonScript) => Template::PythonScript,
            Some(ScriptTemplate::ShellScript) => Template::ShellScript,
        },
        description: args.description.clone(),
        dir,
    };
    let created = match create_skill(&request) {
        Ok(created) => created,
        Err(e) => {
            let code = match e {
                CreateError::InvalidName(_) | CreateError::TemplateForKind { .. } => {
                    output::EXIT_INVALID_PARAMS
                }
                _ => output::EXIT_FAILURE,
            };
            return Err(output::failure(code, e.to_string(), None));
        }
    };
    super::stats::record_create(ctx, &created.name, &request.dir);
    // The skill's `$schema` names `skill.schema.json` beside the skills directory: it must be
    // there, and be this skillet's schema. The skill itself is written either way.
    if let Some(parent) = request.dir.parent()
        && let Err(e) = skillet_authoring::setup::write_schema(parent)
    {
        eprintln!(
            "skillet: warning: the skill's \"$schema\" names {}, which was not written: {}",
            output::path(&parent.join("skill.schema.json")),
            output::text(&e.to_string())
        );
    }
    if args.json {
        output::json(&created)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "created {} skill `{}`:",
        created.kind,
        output::field(&created.name)
    );
    for file in &created.files {
        println!("  {}", output::path(&ctx.shown(file)));
    }
    let name = output::shell_word(&created.name);
    if created.kind == skillet_spec::SkillKind::Conversation.as_str() {
        // Its test replays a recorded conversation, so it fails until one is recorded.
        println!(
            "next: edit it, then `skillet validate {name} && skillet test {name} --record` (holds \
             its test's conversation with the model [llm] configures, once; later `skillet test` \
             runs replay it offline)"
        );
    } else {
        println!("next: edit it, then `skillet validate {name} && skillet test {name}`");
    }
    Ok(ExitCode::SUCCESS)
}
