//! The person (or program) on the other side of a conversation.

use std::collections::VecDeque;

/// Something to show while a conversation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown<'a> {
    /// A piece of the model's answer, as it streams in.
    Text(&'a str),
    /// The model finished an answer.
    AnswerEnd,
    /// The summary's request is about to be sent (its text follows as [`Shown::Text`]).
    SummaryStart,
    /// Something worth saying that is not the model's: a retry, a question left unanswered.
    Note(&'a str),
}

/// Answers guided questions, follows up on the model's answers, and sees the conversation.
pub trait Participant: Send {
    /// The answer to one of the skill's `guided_questions`; `None` leaves it unanswered.
    fn answer(&mut self, question: &str) -> Option<String>;

    /// The next message after the model's answer number `turn` (of at most `max_turns`);
    /// `None` ends the conversation.
    fn follow_up(&mut self, turn: u32, max_turns: u32) -> Option<String>;

    /// Shows what happens as it happens. Does nothing unless overridden.
    fn show(&mut self, shown: Shown<'_>) {
        let _ = shown;
    }
}

/// Answers given beforehand, in order: the guided questions' first, then follow-ups. What an
/// MCP client sends, or `skillet run --answers FILE`.
///
/// ```
/// use skillet_engine::conversation::{Participant, ScriptedAnswers};
/// let mut answers = ScriptedAnswers::new(["the parser", "and the tests?"]);
/// assert_eq!(answers.answer("What changed?").as_deref(), Some("the parser"));
/// assert_eq!(answers.follow_up(1, 5).as_deref(), Some("and the tests?"));
/// assert_eq!(answers.follow_up(2, 5), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ScriptedAnswers {
    answers: VecDeque<String>,
}

impl ScriptedAnswers {
    /// These answers, in order.
    pub fn new<S: Into<String>>(answers: impl IntoIterator<Item = S>) -> ScriptedAnswers {
        ScriptedAnswers {
            answers: answers.into_iter().map(Into::into).collect(),
        }
    }

    /// One answer per non-empty line of `text`.
    pub fn from_lines(text: &str) -> ScriptedAnswers {
        ScriptedAnswers::new(text.lines().map(str::trim_end).filter(|l| !l.is_empty()))
    }

    /// The next answer, if any is left.
    pub fn next_answer(&mut self) -> Option<String> {
        self.answers.pop_front()
    }
}

impl Participant for ScriptedAnswers {
    fn answer(&mut self, _question: &str) -> Option<String> {
        self.next_answer()
    }

    fn follow_up(&mut self, _turn: u32, _max_turns: u32) -> Option<String> {
        self.next_answer()
    }
}

/// Passes everything on, and keeps the notes (retries) for the outcome's warnings too.
pub(super) struct Noting<'a> {
    pub(super) inner: &'a mut dyn Participant,
    pub(super) notes: &'a mut Vec<String>,
}

impl Participant for Noting<'_> {
    fn answer(&mut self, question: &str) -> Option<String> {
        self.inner.answer(question)
    }

    fn follow_up(&mut self, turn: u32, max_turns: u32) -> Option<String> {
        self.inner.follow_up(turn, max_turns)
    }

    fn show(&mut self, shown: Shown<'_>) {
        if let Shown::Note(note) = shown {
            self.notes.push(note.to_owned());
        }
        self.inner.show(shown);
    }
}
