//! The text a conversation sends: instructions, the first message (context files, the rendered
//! prompt, the guided answers) and the summary.

use skillet_spec::{SkillSpec, template::Template};

use crate::context::ContextFile;
use crate::params::ParamValues;

/// Asked of the model at the end of a conversation of more than one turn when the skill sets
/// no `completion.summary_prompt`.
pub const DEFAULT_SUMMARY_PROMPT: &str = "Sum up this conversation for the person who started it: what was concluded, what was decided, and what is left open. Be brief.";

/// The instructions every request of a conversation carries.
pub(crate) fn system_prompt(spec: &SkillSpec) -> String {
    let what = spec
        .description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    format!(
        "This conversation runs the skillet skill `{}`{what}\n\
         Project files are quoted in <file path=\"…\"> blocks; a file cut to fit the budget ends \
         with a [truncated: N more lines] marker.",
        spec.name
    )
}

/// The first message: each context file in a `<file>` block, then the rendered prompt, then
/// each answered guided question with its answer.
pub(crate) fn first_message(
    files: &[ContextFile],
    prompt: &str,
    answers: &[(String, String)],
) -> String {
    let mut parts = Vec::new();
    for file in files {
        let newline = if file.text.ends_with('\n') { "" } else { "\n" };
        parts.push(format!(
            "<file path=\"{}\">\n{}{newline}</file>",
            file.path, file.text
        ));
    }
    let prompt = prompt.trim();
    if !prompt.is_empty() {
        parts.push(prompt.to_owned());
    }
    for (question, answer) in answers {
        parts.push(format!("Q: {question}\nA: {answer}"));
    }
    parts.join("\n\n")
}

/// The first message after the notes of earlier conversations, when the skill keeps any.
pub(crate) fn with_notes(notes: Option<&crate::state::Notes>, first: String) -> String {
    match notes.and_then(crate::state::Notes::block) {
        Some(block) => format!("{block}\n\n{first}"),
        None => first,
    }
}

/// What the summary of a conversation says: the skill's `completion.summary_format` with
/// `{summary}`, `{last_answer}`, `{turns}`, `{skill}` and the parameters filled in, or the
/// summary itself. An unknown placeholder renders as empty text.
pub(crate) fn summary_text(
    spec: &SkillSpec,
    values: &ParamValues,
    summary: &str,
    last_answer: &str,
    turns: u32,
) -> String {
    let Some(format) = spec
        .completion
        .as_ref()
        .and_then(|c| c.summary_format.as_deref())
    else {
        return summary.to_owned();
    };
    let turns = turns.to_string();
    let texts: std::collections::BTreeMap<&str, String> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_text()))
        .collect();
    Template::parse(format)
        .render(|name| {
            Some(match name {
                "summary" => summary,
                "last_answer" => last_answer,
                "turns" => turns.as_str(),
                "skill" => spec.name.as_str(),
                other => texts.get(other).map_or("", String::as_str),
            })
        })
        .unwrap_or_default()
}

/// The request for the summary: the skill's `summary_prompt` (with parameters filled in), or
/// [`DEFAULT_SUMMARY_PROMPT`]; `None` when a single answer is its own summary.
pub(crate) fn summary_prompt(spec: &SkillSpec, values: &ParamValues, turns: u32) -> Option<String> {
    match spec
        .completion
        .as_ref()
        .and_then(|c| c.summary_prompt.as_deref())
    {
        Some(prompt) => {
            let texts: std::collections::BTreeMap<&str, String> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_text()))
                .collect();
            Template::parse(prompt)
                .render(|name| Some(texts.get(name).map_or("", String::as_str)))
                .ok()
        }
        None if turns > 1 => Some(DEFAULT_SUMMARY_PROMPT.to_owned()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use skillet_spec::ParamValue;

    fn spec(v: serde_json::Value) -> SkillSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_first_message_quotes_files_then_the_prompt_then_the_answers() {
        let file = ContextFile {
            path: "src/a.rs".into(),
            absolute: "/w/src/a.rs".into(),
            size: 3,
            modified_ms: 0,
            why: "matched",
            text: "fn a() {}".into(),
            truncated_lines: None,
        };
        let answers = [("What changed?".to_owned(), "the parser".to_owned())];
        assert_eq!(
            first_message(&[file], "Review {this}.\n", &answers),
            "<file path=\"src/a.rs\">\nfn a() {}\n</file>\n\nReview {this}.\n\nQ: What changed?\nA: the parser"
        );
    }

    #[test]
    fn the_summary_format_fills_in_the_conversation_and_parameters() {
        let s = spec(
            json!({"name": "rev", "type": "conversation", "prompt_template": "x",
            "completion": {"summary_format": "{skill} on {file} after {turns} turns: {summary} ({nope})"}}),
        );
        let values = ParamValues::from([("file".to_owned(), ParamValue::Text("a.rs".into()))]);
        assert_eq!(
            summary_text(&s, &values, "fine", "last", 2),
            "rev on a.rs after 2 turns: fine ()"
        );
        let plain = spec(json!({"name": "rev", "type": "conversation", "prompt_template": "x"}));
        assert_eq!(summary_text(&plain, &values, "fine", "last", 2), "fine");
        assert_eq!(summary_prompt(&plain, &values, 1), None);
        assert_eq!(
            summary_prompt(&plain, &values, 2).as_deref(),
            Some(DEFAULT_SUMMARY_PROMPT)
        );
    }
}
