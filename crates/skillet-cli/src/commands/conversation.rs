//! `skillet run` on a conversation skill, and `skillet session resume`: the terminal side of a
//! conversation.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use serde_json::{Map, Value, json};
use skillet_engine::conversation::{
    ConversationError, ConversationOutcome, ConversationRequest, Participant, ScriptedAnswers,
    Shown,
};
use skillet_engine::{Hint, Status};
use skillet_registry::Registry;

use crate::context::Context;
use crate::output;

/// Where the person's side of the conversation comes from.
enum Answers {
    /// Typed at the terminal, one line each.
    Terminal,
    /// Given beforehand (`--answers FILE`, `--answers -`).
    Given(ScriptedAnswers),
    /// Nothing: stdin is not a terminal and no answers were given; one answer is asked for.
    Nothing,
}

/// The conversation on this terminal: the model's answers stream to stdout, questions and
/// notes go to stderr.
struct Console {
    answers: Answers,
    quiet: bool,
    /// The answer streaming now.
    current: String,
    /// The last whole answer shown, to tell whether the summary was already shown.
    shown: String,
    /// The summary's header was printed.
    summing_up: bool,
}

impl Console {
    fn new(answers: Option<&Path>, json: bool) -> Result<Console> {
        let answers = match answers {
            Some(path) if path == Path::new("-") => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the answers from stdin")?;
                Answers::Given(ScriptedAnswers::from_lines(&text))
            }
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the answers file {}", path.display()))?;
                Answers::Given(ScriptedAnswers::from_lines(&text))
            }
            None if std::io::stdin().is_terminal() && !json => Answers::Terminal,
            None => Answers::Nothing,
        };
        Ok(Console {
            answers,
            quiet: json,
            current: String::new(),
            shown: String::new(),
            summing_up: false,
        })
    }

    /// A console that shows nothing and has no answers, for reporting an error.
    fn quiet() -> Console {
        Console {
            answers: Answers::Nothing,
            quiet: true,
            current: String::new(),
            shown: String::new(),
            summing_up: false,
        }
    }

    fn read_line(prompt: &str) -> Option<String> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end().to_owned()),
        }
    }
}

impl Participant for Console {
    fn answer(&mut self, question: &str) -> Option<String> {
        match &mut self.answers {
            Answers::Terminal => {
                // The skill file's question.
                Console::read_line(&format!("{}\n> ", output::text(question)))
                    .filter(|a| !a.trim().is_empty())
            }
            Answers::Given(given) => given.next_answer(),
            Answers::Nothing => None,
        }
    }

    fn follow_up(&mut self, turn: u32, max_turns: u32) -> Option<String> {
        match &mut self.answers {
            Answers::Terminal => Console::read_line(&format!(
                "\n[{turn}/{max_turns}] your reply (an empty line ends the conversation)\n> "
            ))
            .filter(|a| !a.trim().is_empty()),
            Answers::Given(given) => given.next_answer(),
            Answers::Nothing => None,
        }
    }

    fn show(&mut self, shown: Shown<'_>) {
        match shown {
            Shown::Note(note) => eprintln!("skillet: note: {}", output::text(note)),
            _ if self.quiet => {}
            Shown::Text(text) => {
                self.current.push_str(text);
                // A closed stdout (`| head`) must not end the conversation.
                // The model's words, which a prompt injection can fill with escape sequences:
                // made safe, line breaks kept (`--json` has them exact).
                let mut out = std::io::stdout().lock();
                let _ = out
                    .write_all(output::text(text).as_bytes())
                    .and_then(|()| out.flush());
            }
            Shown::AnswerEnd => {
                if !self.current.ends_with('\n') {
                    println!();
                }
                self.shown = std::mem::take(&mut self.current);
            }
            Shown::SummaryStart => {
                self.summing_up = true;
                eprintln!("\n── summary ──");
            }
        }
    }
}

/// Whether `name` is a conversation skill, so `skillet run` holds a conversation.
pub fn is_conversation(registry: &Registry, name: &str) -> bool {
    registry
        .resolve(name)
        .and_then(|e| e.spec.as_ref())
        .is_some_and(|s| s.kind == skillet_spec::SkillKind::Conversation)
}

/// `skillet run NAME` for a conversation skill.
pub fn run(
    ctx: &Context,
    registry: &Registry,
    name: &str,
    params: Map<String, Value>,
    options: &ConversationOptions<'_>,
) -> Result<ExitCode> {
    let mut console = Console::new(options.answers, options.json)?;
    let engine = ctx.engine();
    let request = ConversationRequest {
        params,
        caller_dir: ctx.env.cwd.clone(),
        max_turns: options.max_turns,
        asked_by: None,
        cache: options.cache,
    };
    // Measured whether or not --debug or --profile asked: the history keeps the spans.
    let unobserved = skillet_engine::Observe::new(false, false);
    let observe = options.observe.unwrap_or(&unobserved);
    let outcome = runtime()?.block_on(engine.converse_observed(
        registry,
        name,
        request,
        &mut console,
        None,
        observe,
    ));
    let (profile, debug) = observe.reports();
    if options.json {
        return finish_observed(name, outcome, profile, debug);
    }
    let code = finish(name, outcome, &console, false);
    super::run_insight::write_reports(debug.as_deref(), profile.as_deref());
    code
}

/// [`finish`] with `--json`, the debug report and the profile nested under `debug` and
/// `profile` as for every run.
fn finish_observed(
    what: &str,
    outcome: Result<ConversationOutcome, ConversationError>,
    profile: Option<Box<skillet_engine::Profile>>,
    debug: Option<Box<skillet_engine::DebugReport>>,
) -> Result<ExitCode> {
    let (mut shown, code) = match outcome {
        Ok(outcome) => (serde_json::to_value(&outcome)?, ExitCode::SUCCESS),
        Err(error) => (failure_json(what, &error), failure_code(&error)),
    };
    if let Value::Object(fields) = &mut shown {
        if let Some(debug) = debug {
            fields.insert("debug".into(), serde_json::to_value(debug)?);
        }
        if let Some(profile) = profile {
            fields.insert("profile".into(), serde_json::to_value(profile)?);
        }
    }
    output::json(&shown)?;
    Ok(code)
}

/// `skillet run NAME --dry-run` for a conversation skill: what the first request would send.
pub fn dry_run(
    ctx: &Context,
    registry: &Registry,
    name: &str,
    params: &Map<String, Value>,
    json: bool,
) -> Result<ExitCode> {
    let preview = match ctx
        .engine()
        .preview_conversation(registry, name, params, &ctx.env.cwd)
    {
        Ok(preview) => preview,
        Err(error) => return finish(name, Err(error), &Console::quiet(), json),
    };
    if json {
        output::json(&preview)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The prompt, the questions and the files' names are the skill's and the workspace's.
    match (&preview.model, &preview.model_error) {
        (Some(model), _) => println!("model:   {}", output::field(model)),
        (None, Some(error)) => println!("model:   none: {}", output::text(error)),
        (None, None) => {}
    }
    println!(
        "files:   {}",
        output::field(&preview.context_files.join(", "))
    );
    println!("\n── system ──\n{}", output::text(&preview.system));
    println!(
        "\n── first message ──\n{}",
        output::text(&preview.first_message)
    );
    for question in &preview.guided_questions {
        println!("\nQ: {}\nA: (your answer)", output::text(question));
    }
    Ok(ExitCode::SUCCESS)
}

/// `skillet session resume ID`.
pub fn resume(ctx: &Context, id: &str, options: &ConversationOptions<'_>) -> Result<ExitCode> {
    let mut console = Console::new(options.answers, options.json)?;
    let engine = ctx.engine();
    let registry = ctx.registry();
    let outcome = runtime()?.block_on(engine.resume_conversation(
        &registry,
        id,
        options.max_turns,
        None,
        &mut console,
    ));
    finish(id, outcome, &console, options.json)
}

/// The flags a conversation takes.
pub struct ConversationOptions<'a> {
    /// `--answers FILE|-`.
    pub answers: Option<&'a Path>,
    /// `--max-turns N`.
    pub max_turns: Option<u32>,
    /// `--json`.
    pub json: bool,
    /// `--no-cache`, `--refresh`.
    pub cache: skillet_engine::CacheUse,
    /// `--debug`, `--profile`: what they ask for, measured since before discovery.
    pub observe: Option<&'a skillet_engine::Observe>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// The error, and the command that gets it going.
fn said(error: &ConversationError) -> String {
    let mut text = error.to_string();
    match error.hint() {
        Some(Hint::ResumeConversation { session_id }) => {
            let how = match error {
                ConversationError::Llm { turns: 0, .. } => "sends it again",
                ConversationError::AnswerTimeout { .. } => "goes on from before that answer",
                _ => "continues it",
            };
            text.push_str(&format!(
                "; `skillet session resume {}` {how}",
                output::shell_word(&session_id)
            ));
        }
        Some(hint) => text.push_str(&super::hints::in_words(&hint)),
        None => {}
    }
    text
}

fn finish(
    what: &str,
    outcome: Result<ConversationOutcome, ConversationError>,
    console: &Console,
    json: bool,
) -> Result<ExitCode> {
    match outcome {
        Ok(outcome) => {
            if json {
                output::json(&outcome)?;
            } else {
                if outcome.summary.trim() != console.shown.trim() {
                    if !console.summing_up {
                        eprintln!("\n── summary ──");
                    }
                    println!("{}", output::text(outcome.summary.trim_end()));
                }
                for warning in &outcome.warnings {
                    eprintln!("skillet: note: {}", output::text(warning));
                }
                eprintln!(
                    "skillet: session {} ({} of at most {} answers from {}); `skillet session resume {}` continues it",
                    outcome.session_id,
                    outcome.turns,
                    outcome.max_turns,
                    output::field(&outcome.model),
                    outcome.session_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                output::json(&failure_json(what, &error))?;
            } else {
                eprintln!("skillet: error: {}", output::text(&said(&error)));
            }
            Ok(failure_code(&error))
        }
    }
}

/// A failed conversation as `--json` shows it.
fn failure_json(what: &str, error: &ConversationError) -> Value {
    json!({
        "skill": what,
        "status": error.status().as_str(),
        "error": said(error),
        "session_id": match error {
            ConversationError::Llm { session_id, .. }
            | ConversationError::AnswerTimeout { session_id, .. }
                if !session_id.is_empty() => Some(session_id),
            _ => None,
        },
    })
}

fn failure_code(error: &ConversationError) -> ExitCode {
    ExitCode::from(match error.status() {
        Status::InvalidParams => output::EXIT_INVALID_PARAMS,
        Status::Timeout => output::EXIT_TIMEOUT,
        Status::CircuitOpen => output::EXIT_CIRCUIT_OPEN,
        _ => output::EXIT_SKILLET_ERROR,
    })
}
