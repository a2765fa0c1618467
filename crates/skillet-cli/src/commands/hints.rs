//! The way on from a refusal, as the command to type: the engine names what would help
//! ([`Hint`]); how to ask for it on this command line is said here, once.

use skillet_engine::Hint;

use crate::output::shell_word;

/// What to append to the store's "unreadable database" error: the command that moves it aside.
pub fn repair_store(path: &std::path::Path) -> String {
    format!(
        " (`skillet doctor --repair` renames it to {}.corrupt-<time> and creates a new one)",
        path.display()
    )
}

/// What to append to a refusal's message: `; …` or ` (…)`, or nothing for a hint this build
/// does not know how to say (better unsaid than guessed).
pub fn in_words(hint: &Hint) -> String {
    let w = |name: &str| shell_word(name);
    match hint {
        Hint::ListSkills => "; `skillet list` shows the skills available here".to_owned(),
        Hint::Validate { skill } => format!("\n`skillet validate {}` lists every error", w(skill)),
        Hint::Enable { skill } => format!("; `skillet enable {}` turns it back on", w(skill)),
        Hint::ResetBreaker { skill } => {
            format!(" (`skillet breaker reset {}` closes it now)", w(skill))
        }
        Hint::StartSession { skill } => format!(
            ". Start one with `skillet session start {s}`, then send to it with \
             `skillet session send ID 'input'` or `skillet run {s} --session ID`",
            s = w(skill)
        ),
        Hint::Converse { skill } => {
            format!("; start a conversation with `skillet run {}`", w(skill))
        }
        Hint::Run { skill } => format!("; `skillet run {}` runs it", w(skill)),
        Hint::SandboxLayers => ". `skillet doctor` shows every layer; set [sandbox] isolation = \
             \"best-effort\" in the global skillet.toml to run with what this machine supports, \
             or pass --allow-unsandboxed to run this once without confinement"
            .to_owned(),
        Hint::NameWorkspace => ". Run skillet from a project directory, or name one: \
             `skillet -C DIR ...` for any command, or `skillet run NAME --workspace DIR`"
            .to_owned(),
        Hint::ListSessions => "; `skillet session list` shows them".to_owned(),
        Hint::CloseSession {
            skill,
            or_replace_oldest: true,
        } => format!(
            "; close one with `skillet session close ID` (`skillet session list {}` shows them), \
             or start with --replace-oldest to close the oldest",
            w(skill)
        ),
        Hint::CloseSession { skill, .. } => format!(
            "; close one with `skillet session close ID` (`skillet session list {}` shows them)",
            w(skill)
        ),
        Hint::SendToSession { session_id } => {
            format!("; send to it with `skillet session send {}`", w(session_id))
        }
        Hint::SessionLogs { session_id } => format!(
            "; `skillet session logs {}` shows the conversation",
            w(session_id)
        ),
        Hint::RaiseMaxTurns { to, .. } => format!("; resume with --max-turns {to} to go on"),
        Hint::ResumeConversation { session_id } => {
            format!("; `skillet session resume {}` continues it", w(session_id))
        }
        _ => String::new(),
    }
}
