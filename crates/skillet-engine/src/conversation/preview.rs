//! What a conversation would send first, without sending it (`skillet run --dry-run`).

use serde::Serialize;
use serde_json::{Map, Value};
use skillet_registry::Registry;

use super::{ConversationError, prompt, provider};
use crate::context_report::ContextRequestError;
use crate::engine::Engine;
use crate::params::resolve_params;

/// What a conversation would send first (`skillet run --dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct ConversationPreview {
    /// The instructions every request carries.
    pub system: String,
    /// The first message, before the guided questions' answers are added.
    pub first_message: String,
    /// The questions whose answers would follow it, as `Q: …` / `A: …`.
    pub guided_questions: Vec<String>,
    /// The context files quoted in it.
    pub context_files: Vec<String>,
    /// The model it would go to (`model at URL (provider)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_error: Option<String>,
}

impl Engine {
    /// What the first request of a conversation would send, sending nothing and leaving the
    /// context index as it was (`skillet run --dry-run`).
    pub fn preview_conversation(
        &self,
        registry: &Registry,
        name: &str,
        params: &Map<String, Value>,
        caller_dir: &std::path::Path,
    ) -> Result<ConversationPreview, ConversationError> {
        let (entry, spec) = self.conversation_skill(registry, name)?;
        let values =
            resolve_params(spec, params, caller_dir).map_err(ConversationError::InvalidParams)?;
        let files = match &spec.context_files {
            Some(wanted) => {
                let named: Vec<String> = values.values().map(|v| v.to_text()).collect();
                let named: Vec<&str> = named.iter().map(String::as_str).collect();
                let root = self
                    .context_root(caller_dir)
                    .map_err(ContextRequestError::from)?;
                crate::context::select_context(wanted, &root, &named)
                    .map_err(ContextRequestError::from)?
                    .files
            }
            None => Vec::new(),
        };
        let file = self.config_file();
        let (model, model_error) =
            match provider::provider_config(self.settings.llm.as_ref(), spec, &file) {
                Ok(c) => (
                    Some(format!(
                        "{} at {} ({})",
                        c.model,
                        // Shown on a terminal and in logs: never a password or key in the URL.
                        skillet_llm::redacted_url(&c.base_url),
                        c.kind.as_str()
                    )),
                    None,
                ),
                Err(e) => (None, Some(e.to_string())),
            };
        let first = prompt::first_message(
            &files,
            &crate::invocation::render_prompt(
                spec,
                &crate::policy::real_path(entry.skill_dir()),
                &values,
            ),
            &[],
        );
        // Reading the notes changes nothing; what went wrong reading them the run would say.
        let notes = self.conversation_notes(registry, spec, caller_dir, &mut Vec::new());
        Ok(ConversationPreview {
            system: prompt::system_prompt(spec),
            first_message: prompt::with_notes(notes.as_ref(), first),
            guided_questions: spec.guided_questions.clone(),
            context_files: files.iter().map(|f| f.path.clone()).collect(),
            model,
            model_error,
        })
    }
}
