//! What differs between a recorded request and the one a skill would send now, in words a
//! skill's author acts on (which file, which message), each with its diff.

use serde_json::{Map, Value};

use super::{RecordedFile, RecordedRequest};
use crate::expect::labeled_diff;

/// One thing that differs: what, in a few words, and the recorded text against today's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What changed (`the system prompt`, `context file src/lib.rs`, `message 1 (user)`).
    pub what: String,
    /// Recorded (`-`) against now (`+`), when there is text to show.
    pub diff: Option<String>,
}

impl Difference {
    fn said(what: String) -> Difference {
        Difference { what, diff: None }
    }

    fn text(what: String, recorded: &str, now: &str) -> Difference {
        Difference {
            what,
            diff: Some(labeled_diff(recorded, now, ("recorded", "now"))),
        }
    }
}

/// Every difference between the request `recorded` and the request `now`: model, token
/// limit, system prompt, then each message.
pub fn differences(recorded: &RecordedRequest, now: &RecordedRequest) -> Vec<Difference> {
    let mut found = Vec::new();
    if recorded.model != now.model {
        found.push(Difference::said(format!(
            "the model (recorded `{}`, now `{}`)",
            recorded.model, now.model
        )));
    }
    if recorded.max_tokens != now.max_tokens {
        found.push(Difference::said(format!(
            "max_tokens (recorded {}, now {})",
            recorded.max_tokens, now.max_tokens
        )));
    }
    if recorded.system != now.system {
        found.push(Difference::text(
            "the system prompt".to_owned(),
            recorded.system.as_deref().unwrap_or_default(),
            now.system.as_deref().unwrap_or_default(),
        ));
    }
    let longest = recorded.messages.len().max(now.messages.len());
    for i in 0..longest {
        match (recorded.messages.get(i), now.messages.get(i)) {
            (Some(r), Some(n)) if r == n => {}
            (Some(r), Some(n)) => found.push(Difference::text(
                format!("message {} ({})", i + 1, role(n)),
                &r.content,
                &n.content,
            )),
            (Some(r), None) => found.push(Difference::text(
                format!("message {} ({}) is no longer sent", i + 1, role(r)),
                &r.content,
                "",
            )),
            (None, Some(n)) => found.push(Difference::text(
                format!("message {} ({}) is new", i + 1, role(n)),
                "",
                &n.content,
            )),
            (None, None) => {}
        }
    }
    found
}

/// What differs between the context files recorded and those chosen now: each file added,
/// left out or changed, and their order.
pub fn file_differences(recorded: &[RecordedFile], now: &[RecordedFile]) -> Vec<Difference> {
    let mut found = Vec::new();
    for r in recorded {
        match now.iter().find(|n| n.path == r.path) {
            None => found.push(Difference::said(format!(
                "context file {} is no longer sent",
                r.path
            ))),
            Some(n) if n.sha256 != r.sha256 => found.push(Difference::said(format!(
                "context file {} changed (sha256 {} recorded, {} now)",
                r.path,
                short(&r.sha256),
                short(&n.sha256)
            ))),
            Some(_) => {}
        }
    }
    for n in now {
        if !recorded.iter().any(|r| r.path == n.path) {
            found.push(Difference::said(format!("context file {} is new", n.path)));
        }
    }
    if found.is_empty() && recorded != now {
        let list = |files: &[RecordedFile]| {
            files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        found.push(Difference::said(format!(
            "the context files' order (recorded {}, now {})",
            list(recorded),
            list(now)
        )));
    }
    found
}

/// The test's parameters, when they changed since the recording.
pub fn param_differences(
    recorded: &Map<String, Value>,
    now: &Map<String, Value>,
) -> Vec<Difference> {
    if recorded == now {
        return Vec::new();
    }
    let pretty = |m: &Map<String, Value>| {
        let mut s = serde_json::to_string_pretty(m).unwrap_or_default();
        s.push('\n');
        s
    };
    vec![Difference::text(
        "the test's params".to_owned(),
        &pretty(recorded),
        &pretty(now),
    )]
}

fn role(m: &skillet_engine::conversation::Message) -> &'static str {
    match m.role {
        skillet_engine::conversation::Role::User => "user",
        skillet_engine::conversation::Role::Assistant => "assistant",
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use skillet_engine::conversation::Message;

    use super::*;

    fn request(system: &str, first: &str) -> RecordedRequest {
        RecordedRequest {
            model: "m".into(),
            max_tokens: 100,
            system: Some(system.into()),
            messages: vec![Message::user(first)],
        }
    }

    #[test]
    fn each_part_is_named() {
        let a = request("be brief", "Review a.rs for bugs.");
        assert!(differences(&a, &a).is_empty());
        let mut b = request("be brief", "Review a.rs for style.");
        b.model = "n".into();
        let found = differences(&a, &b);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].what, "the model (recorded `m`, now `n`)");
        assert_eq!(found[1].what, "message 1 (user)");
        let diff = found[1].diff.as_deref().unwrap_or_default();
        assert!(
            diff.contains("-Review a.rs for bugs.") && diff.contains("+Review a.rs for style."),
            "{diff}"
        );
        let c = request("be long", "Review a.rs for bugs.");
        assert_eq!(differences(&a, &c)[0].what, "the system prompt");
    }

    #[test]
    fn files_added_removed_changed_and_reordered() {
        let f = |p: &str, h: &str| RecordedFile {
            path: p.into(),
            sha256: h.repeat(64),
        };
        let was = [f("a", "1"), f("b", "2")];
        let whats = |now: &[RecordedFile]| -> Vec<String> {
            file_differences(&was, now)
                .into_iter()
                .map(|d| d.what)
                .collect()
        };
        assert!(whats(&was).is_empty());
        assert_eq!(
            whats(&[f("a", "1"), f("b", "3"), f("c", "4")]),
            [
                "context file b changed (sha256 222222222222 recorded, 333333333333 now)",
                "context file c is new"
            ]
        );
        assert_eq!(whats(&[f("a", "1")]), ["context file b is no longer sent"]);
        assert_eq!(
            whats(&[f("b", "2"), f("a", "1")]),
            ["the context files' order (recorded a, b, now b, a)"]
        );
    }
}
