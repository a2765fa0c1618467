//! `prompts/get`: a prompt skill rendered with the client's arguments.
//!
//! A `prompt_inline` skill is one user message. A `conversation` skill is the rendered prompt,
//! its guided questions, and one embedded resource per context file, so the client's own model
//! can hold the conversation.

use rmcp::ErrorData as McpError;
use rmcp::model::{GetPromptRequestParams, GetPromptResult, PromptMessage, Role};
use skillet_engine::{ContextRequestError, render_prompt, resolve_params};
use skillet_registry::Environment;
use skillet_spec::SkillKind;

use crate::server::Snapshot;

pub(crate) fn get(
    env: &Environment,
    snapshot: &Snapshot,
    request: GetPromptRequestParams,
) -> Result<GetPromptResult, McpError> {
    let (skill_dir, spec) = snapshot
        .catalog
        .prompt_skill(&request.name)
        .and_then(|skill| snapshot.registry.resolve(skill))
        .and_then(|entry| Some((entry.skill_dir(), entry.spec.as_ref()?)))
        .ok_or_else(|| {
            McpError::invalid_params(
                format!(
                    "no prompt named `{}`; prompts/list gives the current ones",
                    request.name
                ),
                None,
            )
        })?;
    let root = env.workspace_root().unwrap_or_else(|| env.cwd.clone());
    let arguments = request.arguments.unwrap_or_default();
    let values = resolve_params(spec, &arguments, &root)
        .map_err(|problems| McpError::invalid_params(problems.join("\n"), None))?;
    let skill_dir = std::fs::canonicalize(skill_dir).unwrap_or_else(|_| skill_dir.into());
    let mut text = render_prompt(spec, &skill_dir, &values);
    if spec.kind != SkillKind::Conversation {
        return Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(spec.description.clone().unwrap_or_default()),
        );
    }

    if !spec.guided_questions.is_empty() {
        text.push_str("\n\nAsk me these questions, one at a time, before you answer:");
        for (i, q) in spec.guided_questions.iter().enumerate() {
            text.push_str(&format!("\n{}. {q}", i + 1));
        }
    }
    let mut messages = Vec::new();
    if spec.context_files.is_some() {
        let report = snapshot
            .engine
            .context(&snapshot.registry, &spec.name, &arguments, &root)
            .map_err(|e| match e {
                ContextRequestError::InvalidParams(_) => {
                    McpError::invalid_params(e.to_string(), None)
                }
                other => McpError::internal_error(other.to_string(), None),
            })?;
        let chosen = report.selection;
        if !chosen.files.is_empty() {
            text.push_str(&format!(
                "\n\nThe {} project file{} below {} the context.",
                chosen.files.len(),
                if chosen.files.len() == 1 { "" } else { "s" },
                if chosen.files.len() == 1 { "is" } else { "are" }
            ));
        }
        if !chosen.skipped.is_empty() {
            let left: Vec<String> = chosen
                .skipped
                .iter()
                .map(|s| format!("{} ({})", s.path, s.reason))
                .collect();
            text.push_str(&format!("\nLeft out: {}.", left.join(", ")));
        }
        messages.extend(chosen.files.into_iter().map(|file| {
            PromptMessage::new_resource(
                Role::User,
                format!("file://{}", file.absolute.display()),
                Some("text/plain".to_owned()),
                Some(file.text),
                None,
                None,
                None,
            )
        }));
    }
    messages.insert(0, PromptMessage::new_text(Role::User, text));
    Ok(GetPromptResult::new(messages)
        .with_description(spec.description.clone().unwrap_or_default()))
}
