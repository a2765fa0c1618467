//! `skillet create` and `skillet test`: writing skills.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The type of skill `skillet create` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SkillType {
    /// Run a command once per call.
    #[value(name = "code_inline")]
    CodeInline,
    /// Keep an interpreter alive across calls.
    #[value(name = "code_session")]
    CodeSession,
    /// Render a prompt.
    #[value(name = "prompt_inline")]
    PromptInline,
    /// A guided exchange with the configured model.
    #[value(name = "conversation")]
    Conversation,
}

impl SkillType {
    /// The format's type.
    pub fn kind(self) -> skillet_spec::SkillKind {
        match self {
            SkillType::CodeInline => skillet_spec::SkillKind::CodeInline,
            SkillType::CodeSession => skillet_spec::SkillKind::CodeSession,
            SkillType::PromptInline => skillet_spec::SkillKind::PromptInline,
            SkillType::Conversation => skillet_spec::SkillKind::Conversation,
        }
    }
}

/// The script template of a code_inline skill in a package folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScriptTemplate {
    /// `NAME/skill.json` running `scripts/main.py`.
    PythonScript,
    /// `NAME/skill.json` running `scripts/main.sh`.
    ShellScript,
}

// `skillet create`.
#[derive(Debug, Args)]
#[command(
    after_help = "What it writes passes `skillet validate` and `skillet test` as written; it never
overwrites anything. docs/authoring.md has the details.

Examples:
  skillet create lint-rs --type code_inline --description 'Lint the Rust files'
  skillet create tidy --template python-script    NAME/skill.json and scripts/main.py
  skillet create tidy-sh --template shell-script  NAME/skill.json and scripts/main.sh
  skillet create review --type conversation --global
  skillet create outline --type prompt_inline --json"
)]
pub struct CreateArgs {
    /// The new skill's name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// Its type.
    #[arg(
        long = "type",
        value_enum,
        value_name = "TYPE",
        default_value = "code_inline"
    )]
    pub kind: SkillType,
    /// Write into the global skills directory (~/.config/skillet/skills) instead of this
    /// workspace's .skillet/skills.
    #[arg(long)]
    pub global: bool,
    /// A package folder with a script (code_inline only).
    #[arg(long, value_enum, value_name = "TEMPLATE")]
    pub template: Option<ScriptTemplate>,
    /// Its one-line description (default: a TODO to replace).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Print JSON: {name, type, skill_file, files}.
    #[arg(long)]
    pub json: bool,
}

// `skillet test`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each test calls its skill through the same sandbox, limits and grants as `skillet run`,
several at a time, each stopped at its time limit. Snapshot tests compare stdout with
__snapshots__/<skill>-<n>.txt beside the skill. A conversation test replays its cassette,
__cassettes__/<skill>-<n>.json beside the skill, offline: it fails, with a diff, when the
request the skill would send now (template, system prompt, context files, model) differs
from the recorded one, and fails when there is none. `--record` holds the conversation
with the model [llm] configures, once, and stores it; cassettes never hold the API key.

Tests run in a throwaway copy of the workspace (without .git, .env and credential files) with
their own state, result cache and history: what they change in it is listed at the end, with a
diff for small text files, and written to the real tree only with --apply. --no-isolate runs
them in the real tree, with the real state and cache.

Examples:
  skillet test explain --record         hold its conversation once, store the cassette
  skillet test                          every skill of this workspace (cassettes replayed)
  skillet test count-lines greet --jobs 2
  skillet test --junit report.xml       also write JUnit XML for CI
  skillet test --json | jq .summary
  skillet test greet --update-snapshots   store the output as the snapshot"
)]
pub struct TestArgs {
    /// Skills to test, by name or alias (default: every skill of this workspace, or the global
    /// ones outside a workspace; installed packages only when named).
    pub names: Vec<String>,
    /// Print JSON: {summary: {total, passed, failed, errors, skipped, duration_ms}, tests:
    /// [{skill, index, name, outcome, mismatches | reason | message, observed, execution_id,
    /// duration_ms}]}.
    #[arg(long)]
    pub json: bool,
    /// Also write the results as JUnit XML to FILE, for CI systems.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub junit: Option<PathBuf>,
    /// Tests run at the same time (default: the number of CPU cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Store each snapshot test's output as its snapshot instead of comparing with it.
    #[arg(long)]
    pub update_snapshots: bool,
    /// Hold each conversation test with the model [llm] configures and store the exchange as
    /// its cassette (__cassettes__/<skill>-<n>.json), instead of replaying the stored one.
    #[arg(long)]
    pub record: bool,
    /// Write what the tests changed in their copy of the workspace to the real tree.
    #[arg(long, conflicts_with = "no_isolate")]
    pub apply: bool,
    /// Run the tests in the real workspace, with the real state and cache (no copy).
    #[arg(long)]
    pub no_isolate: bool,
}
