//! What a registry looks like to an agent: the tools and prompts of its available skills.
//!
//! | skill type      | tools                                 | prompt |
//! |-----------------|---------------------------------------|--------|
//! | `code_inline`   | `NAME`                                | -      |
//! | `code_session`  | `NAME` (`input`, `session_id`), `NAME.close` | - |
//! | `prompt_inline` | `NAME` (returns the rendered text)    | `NAME` |
//! | `conversation`  | `NAME` (held with skillet's `[llm]`)   | `NAME`, with the context files |
//!
//! Every tool but `NAME.close` declares an `outputSchema`, the shape of its `structuredContent`.
//!
//! Broken, disabled and untrusted skills are left out, and aliases are not repeated as tools.
//! Both lists are sorted by name, so the same skills always give the same lists.

use std::sync::Arc;

use rmcp::model::{JsonObject, Prompt, PromptArgument, Tool, ToolAnnotations};
use serde_json::{Value, json};
use skillet_registry::{Availability, Config, Environment, Registry};
use skillet_spec::{ParamKind, ParameterSpec, SkillKind, SkillSpec};

use crate::outcome;

/// The argument of a session tool that carries the code to send.
pub const INPUT_ARG: &str = "input";
/// The argument of a session tool naming the session to continue.
pub const SESSION_ARG: &str = "session_id";
/// What follows a session skill's name in the name of its closing tool.
pub const CLOSE_SUFFIX: &str = ".close";

/// The argument of a conversation tool holding the person's side: the answers to the guided
/// questions, then follow-up messages.
pub const ANSWERS_ARG: &str = "answers";

/// What calling a tool does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolTarget {
    /// Runs a `code_inline` skill, or renders a `prompt_inline` one.
    Run(String),
    /// Sends to (starting it first when needed) a session of a `code_session` skill.
    Session(String),
    /// Ends a session of this `code_session` skill.
    CloseSession(String),
    /// Holds (or continues) a conversation of this `conversation` skill.
    Conversation(String),
}

/// The tools and prompts of one registry.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tools: Vec<(Tool, ToolTarget)>,
    prompts: Vec<(Prompt, String)>,
    /// How many valid skills are hidden, and why.
    pub hidden: Vec<(String, Availability)>,
}

impl Catalog {
    /// The catalog of the skills in `registry` that `config` lets agents see.
    pub fn build(registry: &Registry, config: &Config, env: &Environment) -> Catalog {
        let mut catalog = Catalog::default();
        for entry in registry.entries() {
            let Some(spec) = entry.spec.as_ref().filter(|_| entry.is_valid()) else {
                continue;
            };
            match config.availability(env, entry) {
                Availability::Available => catalog.add(spec),
                other => catalog.hidden.push((entry.name.clone(), other)),
            }
        }
        catalog.tools.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        catalog.prompts.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        catalog
    }

    fn add(&mut self, spec: &SkillSpec) {
        let name = spec.name.clone();
        let description = spec.description.clone().unwrap_or_default();
        match spec.kind {
            SkillKind::CodeInline => {
                let tool = Tool::new(name.clone(), description, input_schema(&spec.parameters))
                    .with_raw_output_schema(Arc::new(outcome::execution_schema()));
                self.tools.push((tool, ToolTarget::Run(name)));
            }
            SkillKind::CodeSession => self.add_session(spec),
            SkillKind::PromptInline => {
                let text = format!("{description} (returns the rendered prompt text)");
                let tool = Tool::new(
                    name.clone(),
                    text.trim().to_owned(),
                    input_schema(&spec.parameters),
                )
                .with_raw_output_schema(Arc::new(outcome::execution_schema()))
                .annotate(ToolAnnotations::new().read_only(true).open_world(false));
                self.tools.push((tool, ToolTarget::Run(name.clone())));
                self.prompts.push((prompt(spec), name));
            }
            SkillKind::Conversation => {
                self.add_conversation(spec);
                self.prompts.push((prompt(spec), name));
            }
        }
    }

    fn add_conversation(&mut self, spec: &SkillSpec) {
        let mut schema = input_schema(&spec.parameters);
        let questions = if spec.guided_questions.is_empty() {
            String::new()
        } else {
            format!(
                ", in order: the answers to its questions ({}), then follow-up messages",
                spec.guided_questions.join(" / ")
            )
        };
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert(
                ANSWERS_ARG.into(),
                json!({"type": "array", "items": {"type": "string"},
                       "description": format!("Your side of the conversation{questions}. Each follow-up gets one more answer from the model.")}),
            );
            properties.insert(
                SESSION_ARG.into(),
                json!({"type": "string", "description": "Continue this earlier conversation (from a result's session_id) with `answers` as the next messages; the other parameters are not used then. Empty counts as left out."}),
            );
        }
        let description = format!(
            "{} Holds the conversation with the model skillet is configured with, fed with the project files the skill names, and returns its summary and a session_id.",
            spec.description.as_deref().unwrap_or_default()
        );
        self.tools.push((
            Tool::new(spec.name.clone(), description.trim().to_owned(), schema)
                .with_raw_output_schema(Arc::new(outcome::conversation_schema()))
                .annotate(ToolAnnotations::new().read_only(true).open_world(true)),
            ToolTarget::Conversation(spec.name.clone()),
        ));
    }

    fn add_session(&mut self, spec: &SkillSpec) {
        let name = &spec.name;
        let mut schema = input_schema(&spec.parameters);
        let properties = schema.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(
                INPUT_ARG.into(),
                json!({"type": "string", "description": "Code to send to the interpreter; its output is the result. Leave out to only start a session."}),
            );
            properties.insert(
                SESSION_ARG.into(),
                json!({"type": "string", "description": "The session to continue, from an earlier result. Leave out (or empty) to start a new session; the other parameters apply only then."}),
            );
        }
        let pooled = skillet_engine::session::is_pooled(spec);
        let description = if pooled {
            format!(
                "{} A call with `input` and no session_id runs it on a warm interpreter in a fresh \
                 namespace: nothing is kept for the next call. To keep state, call without \
                 input to start a session, then pass its session_id back. \
                 `{name}{CLOSE_SUFFIX}` ends a session.",
                spec.description.as_deref().unwrap_or_default()
            )
        } else {
            format!(
                "{} Keeps an interpreter alive between calls: a call without session_id starts one and \
                 returns its session_id; pass it back to continue with the same state. \
                 `{name}{CLOSE_SUFFIX}` ends it.",
                spec.description.as_deref().unwrap_or_default()
            )
        };
        // A pooled call answers as a run does, a session call as a session: either shape.
        let output = if pooled {
            as_object(json!({
                "type": "object",
                "anyOf": [outcome::execution_schema(), outcome::session_schema()],
            }))
        } else {
            outcome::session_schema()
        };
        self.tools.push((
            Tool::new(name.clone(), description.trim().to_owned(), schema)
                .with_raw_output_schema(Arc::new(output)),
            ToolTarget::Session(name.clone()),
        ));
        let close = json!({
            "type": "object",
            "properties": {SESSION_ARG: {"type": "string", "description": "The session to end."}},
            "required": [SESSION_ARG],
            "additionalProperties": false,
        });
        self.tools.push((
            Tool::new(
                format!("{name}{CLOSE_SUFFIX}"),
                format!("Ends a session of `{name}` and frees its interpreter."),
                as_object(close),
            )
            .annotate(ToolAnnotations::new().destructive(false).idempotent(true)),
            ToolTarget::CloseSession(name.clone()),
        ));
    }

    /// Every tool, in order.
    pub fn tools(&self) -> Vec<Tool> {
        self.tools.iter().map(|(t, _)| t.clone()).collect()
    }

    /// The tool called `name`.
    pub fn tool(&self, name: &str) -> Option<(&Tool, &ToolTarget)> {
        self.tools
            .iter()
            .find(|(t, _)| t.name == name)
            .map(|(t, target)| (t, target))
    }

    /// Every prompt, in order.
    pub fn prompts(&self) -> Vec<Prompt> {
        self.prompts.iter().map(|(p, _)| p.clone()).collect()
    }

    /// The skill behind the prompt called `name`.
    pub fn prompt_skill(&self, name: &str) -> Option<&str> {
        self.prompts
            .iter()
            .find(|(p, _)| p.name == name)
            .map(|(_, skill)| skill.as_str())
    }
}

/// The JSON Schema of a tool's arguments: one property per parameter, with its type, allowed
/// values, pattern, bounds, default and description. Extra arguments are refused.
///
/// ```
/// let parameters: Vec<skillet_spec::ParameterSpec> = serde_json::from_str(
///     r#"[{"name": "file", "type": "path", "required": true}]"#,
/// )?;
/// let schema = skillet_mcp::input_schema(&parameters);
/// assert_eq!(schema["required"], serde_json::json!(["file"]));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn input_schema(parameters: &[ParameterSpec]) -> JsonObject {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for p in parameters {
        properties.insert(p.name.clone(), property(p));
        if p.required && p.default.is_none() {
            required.push(Value::String(p.name.clone()));
        }
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    as_object(schema)
}

fn property(p: &ParameterSpec) -> Value {
    let (kind, counted) = match p.kind {
        ParamKind::String | ParamKind::Path | ParamKind::Enum => ("string", true),
        ParamKind::Number => ("number", false),
        ParamKind::Integer => ("integer", false),
        ParamKind::Boolean => ("boolean", false),
    };
    let mut schema = json!({ "type": kind });
    let mut description = p.description.clone().unwrap_or_default();
    if p.kind == ParamKind::Path {
        description = format!(
            "{description}{}A file system path; a relative one starts at the workspace root.",
            if description.is_empty() { "" } else { " " }
        );
    }
    if !description.is_empty() {
        schema["description"] = Value::String(description);
    }
    if p.kind == ParamKind::Enum {
        schema["enum"] = json!(p.values);
    }
    if let Some(pattern) = &p.pattern {
        // skillet matches the whole value; JSON Schema patterns match anywhere.
        schema["pattern"] = Value::String(format!("^(?:{pattern})$"));
    }
    let (min_key, max_key) = if counted {
        ("minLength", "maxLength")
    } else {
        ("minimum", "maximum")
    };
    if p.kind != ParamKind::Boolean && p.kind != ParamKind::Enum {
        if let Some(min) = p.min {
            schema[min_key] = number(min, counted);
        }
        if let Some(max) = p.max {
            schema[max_key] = number(max, counted);
        }
    }
    if let Some(default) = &p.default {
        schema["default"] = default.clone();
    }
    schema
}

/// A bound as JSON: lengths are whole numbers.
fn number(n: f64, whole: bool) -> Value {
    if whole || n.fract() == 0.0 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

fn prompt(spec: &SkillSpec) -> Prompt {
    let arguments = spec
        .parameters
        .iter()
        .map(|p| {
            let mut argument =
                PromptArgument::new(&p.name).with_required(p.required && p.default.is_none());
            if let Some(d) = &p.description {
                argument = argument.with_description(d);
            }
            argument
        })
        .collect::<Vec<_>>();
    let description = match spec.kind {
        SkillKind::Conversation => format!(
            "{} (a conversation: the messages carry the prompt and the project files it reads)",
            spec.description.as_deref().unwrap_or_default()
        ),
        _ => spec.description.clone().unwrap_or_default(),
    };
    Prompt::new(
        spec.name.clone(),
        Some(description.trim().to_owned()),
        (!arguments.is_empty()).then_some(arguments),
    )
}

fn as_object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: &str) -> Vec<ParameterSpec> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn schema_carries_types_bounds_enums_and_defaults() {
        let schema = input_schema(&params(
            r#"[
              {"name": "file", "type": "path", "required": true, "description": "File"},
              {"name": "n", "type": "integer", "min": 1, "max": 9, "default": 3, "required": true},
              {"name": "mode", "type": "enum", "values": ["a", "b"]},
              {"name": "tag", "type": "string", "pattern": "[a-z]+", "max": 8},
              {"name": "ratio", "type": "number", "min": 0.5},
              {"name": "loud", "type": "boolean"}
            ]"#,
        ));
        let p = &schema["properties"];
        assert_eq!(
            schema["required"],
            json!(["file"]),
            "a default satisfies required"
        );
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(p["file"]["type"], "string");
        assert!(
            p["file"]["description"]
                .as_str()
                .unwrap()
                .starts_with("File A file system path")
        );
        assert_eq!(
            p["n"],
            json!({"type": "integer", "minimum": 1, "maximum": 9, "default": 3})
        );
        assert_eq!(p["mode"], json!({"type": "string", "enum": ["a", "b"]}));
        assert_eq!(
            p["tag"],
            json!({"type": "string", "pattern": "^(?:[a-z]+)$", "maxLength": 8})
        );
        assert_eq!(p["ratio"], json!({"type": "number", "minimum": 0.5}));
        assert_eq!(p["loud"], json!({"type": "boolean"}));
    }
}
