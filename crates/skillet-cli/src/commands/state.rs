//! `skillet state`: show and change what skills keep between runs. Every change is a
//! compare-and-swap like a run's commit, so it never loses a run's update (nor a run the CLI's).

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use skillet_registry::SkillEntry;
use skillet_store::{StateCommit, StateKey, StateRecord, StateWrite, Store};

use super::state_doc;
use crate::cli::StateCommand;
use crate::context::Context;
use crate::output;

/// Attempts of one change while runs keep committing first.
const CHANGE_ATTEMPTS: u32 = 50;

pub fn run(ctx: &Context, args: &StateCommand) -> Result<ExitCode> {
    let store = ctx.store()?;
    match args {
        StateCommand::Ls { skill, json } => list(ctx, store.as_ref(), skill.as_deref(), *json),
        StateCommand::Get { skill, key } => {
            let target = Target::new(ctx, skill)?;
            let doc = target.object(store.as_ref())?;
            let Some((_, value)) = doc.iter().rev().find(|(k, _)| k == key) else {
                bail!(output::failure(
                    1,
                    format!(
                        "the state of `{}` has no key `{}`",
                        output::field(skill),
                        output::field(key)
                    ),
                    Some(format!("see its keys with `skillet state ls {skill}`")),
                ));
            };
            println!("{}", state_doc::pretty(value));
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Set { skill, key, value } => {
            let value = set_value(value)?;
            let target = Target::new(ctx, skill)?;
            target.change(store.as_ref(), |doc| {
                let mut members = as_object(skill, doc)?;
                // Where the key was (its first place, any second copy dropped), or last.
                match members.iter().position(|(k, _)| k == key) {
                    Some(at) => {
                        members[at].1 = value.clone();
                        let mut n = 0;
                        members.retain(|(k, _)| {
                            n += usize::from(k == key);
                            k != key || n == 1
                        });
                    }
                    None => members.push((key.clone(), value.clone())),
                }
                Ok(Some(state_doc::object(&members)))
            })?;
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Rm { skill, key } => {
            let target = Target::new(ctx, skill)?;
            let mut had = false;
            target.change(store.as_ref(), |doc| {
                let mut members = as_object(skill, doc)?;
                let before = members.len();
                members.retain(|(k, _)| k != key);
                had = members.len() < before;
                Ok(Some(state_doc::object(&members)))
            })?;
            if !had {
                eprintln!(
                    "skillet: the state of `{}` had no key `{}`",
                    output::field(skill),
                    output::field(key)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Clear { skill } => {
            let target = Target::new(ctx, skill)?;
            target.change(store.as_ref(), |_| Ok(None))?;
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Export { skill } => {
            let target = Target::new(ctx, skill)?;
            let record = target.read(store.as_ref())?;
            let doc = record.and_then(|r| r.doc).unwrap_or_else(|| "{}".into());
            serde_json::from_str::<serde::de::IgnoredAny>(&doc)
                .context("the stored state is not JSON")?;
            // Printed from the stored text: a number is printed as it was written, never
            // rounded through a float.
            println!("{}", state_doc::pretty(&doc));
            Ok(ExitCode::SUCCESS)
        }
        StateCommand::Import { skill } => {
            let target = Target::new(ctx, skill)?;
            let mut text = String::new();
            std::io::stdin()
                .take(target.max_bytes.saturating_mul(4).saturating_add(1))
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            let text = import_document(skill, &text)?;
            target.change(store.as_ref(), |_| Ok(Some(text.clone())))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One skill's document, as the engine keys it.
struct Target<'a> {
    name: &'a str,
    key: StateKey,
    version: u32,
    ttl_ms: Option<i64>,
    max_bytes: u64,
}

impl<'a> Target<'a> {
    fn new(ctx: &Context, name: &'a str) -> Result<Target<'a>> {
        let registry = ctx.registry_for(name);
        let Some(entry) = registry.resolve(name) else {
            bail!(output::failure(
                1,
                format!("no skill named `{}`", output::field(name)),
                Some("see the skills with `skillet list`".into()),
            ));
        };
        let Some(decl) = entry.spec.as_ref().and_then(|s| s.state.as_ref()) else {
            bail!(output::failure(
                1,
                format!("`{}` keeps no state", output::field(name)),
                Some(
                    "a skill keeps state when its file declares \"state\": {\"version\": 1}".into()
                ),
            ));
        };
        let key = key_of(ctx, entry).context("the skill keeps no state")?;
        let spec = entry.spec.as_ref().context("the skill is broken")?;
        let engine = ctx.engine();
        let policy = engine.policy_context(entry, &Default::default());
        let max_bytes = skillet_engine::state::max_state_bytes(spec, &policy, &mut Vec::new());
        Ok(Target {
            name,
            key,
            version: decl.version,
            ttl_ms: decl
                .ttl_days
                .map(|d| i64::from(d).saturating_mul(86_400_000)),
            max_bytes,
        })
    }

    fn read(&self, store: &dyn Store) -> Result<Option<StateRecord>> {
        Ok(store.state(&self.key)?)
    }

    fn object(&self, store: &dyn Store) -> Result<Vec<(String, String)>> {
        let doc = self.read(store)?.and_then(|r| r.doc);
        as_object(self.name, doc.as_deref())
    }

    /// Replaces the document with what `change` makes of the current one, retried while runs
    /// commit first; `None` clears it.
    fn change(
        &self,
        store: &dyn Store,
        mut change: impl FnMut(Option<&str>) -> Result<Option<String>>,
    ) -> Result<()> {
        for attempt in 0..CHANGE_ATTEMPTS {
            let record = self.read(store)?;
            let rev = record.as_ref().map_or(0, |r| r.rev);
            let doc = record.as_ref().and_then(|r| r.doc.as_deref());
            // A document a migration has not lifted yet keeps its version; a new one is the
            // skill's.
            let version = record
                .as_ref()
                .filter(|r| r.doc.is_some())
                .map_or(self.version, |r| r.schema_version);
            let text = change(doc)?;
            // The whole new document, not only what came in: a value set under a key is one
            // level deeper in it than on its own.
            if let Some(t) = &text
                && let Err(p) = state_doc::check(t)
            {
                bail!(output::failure(
                    1,
                    format!(
                        "the new state of `{}` is {}",
                        output::field(self.name),
                        p.message
                    ),
                    Some(format!(
                        "{} (a value set under a key sits one level inside the document)",
                        p.hint
                    )),
                ));
            }
            if let Some(t) = &text
                && t.len() as u64 > self.max_bytes
            {
                bail!(output::failure(
                    1,
                    format!(
                        "the new state of `{}` is {} bytes, over its limit of {} KiB; nothing was changed",
                        output::field(self.name),
                        t.len(),
                        self.max_bytes / 1024
                    ),
                    Some("keep less in it, or raise `[defaults] max_state_kb` in the global skillet.toml".into()),
                ));
            }
            let write = StateWrite {
                doc: text.as_deref(),
                schema_version: version,
                writer: "cli",
                ttl_ms: self.ttl_ms,
            };
            match store.commit_state(&self.key, rev, &write)? {
                StateCommit::Committed(_) => return Ok(()),
                // A short pause that grows, so two writers that met do not meet again at once.
                StateCommit::Conflict(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(2 + u64::from(attempt) * 3))
                }
            }
        }
        bail!(
            "the state of `{}` kept changing while this command ran; nothing was changed. Try again",
            output::field(self.name)
        )
    }
}

fn key_of(ctx: &Context, entry: &SkillEntry) -> Option<StateKey> {
    skillet_engine::state::state_key(entry, &workspace(ctx))
}

fn workspace(ctx: &Context) -> std::path::PathBuf {
    ctx.env
        .workspace_root()
        .unwrap_or_else(|| ctx.env.cwd.clone())
}

/// The top-level members of a stored document, each value as its exact text.
fn as_object(skill: &str, doc: Option<&str>) -> Result<Vec<(String, String)>> {
    let Some(doc) = doc else {
        return Ok(Vec::new());
    };
    // Stored before documents were checked as strictly, it may be past what a key walk takes.
    if let Err(p) = state_doc::check(doc) {
        bail!(output::failure(
            1,
            format!(
                "the stored state of `{}` cannot be edited key by key: {}",
                output::field(skill),
                p.message
            ),
            Some(format!(
                "{}; `skillet state export {skill}` prints it, `skillet state clear {skill}` removes it",
                p.hint
            )),
        ));
    }
    match state_doc::members(doc) {
        Ok(members) => Ok(members),
        Err(_) => bail!(output::failure(
            1,
            format!(
                "the state of `{}` is not a JSON object, so it has no keys",
                output::field(skill)
            ),
            Some(format!(
                "use `skillet state export {skill}` and `skillet state import {skill}`"
            )),
        )),
    }
}

/// `state set`'s VALUE as the text to store: JSON when it parses (kept as written, so an
/// integer beyond 64 bits stays exact), else a string. JSON with a key twice is refused.
fn set_value(value: &str) -> Result<String> {
    if serde_json::from_str::<serde::de::IgnoredAny>(value).is_err() {
        return Ok(Value::String(value.to_owned()).to_string());
    }
    state_doc::check(value).map_err(|p| {
        output::failure(
            1,
            format!("VALUE: {}", p.message),
            Some(format!(
                "{}; or quote it to store it as a string: '\"...\"'",
                p.hint
            )),
        )
    })?;
    Ok(value.trim().to_owned())
}

/// `state import`'s document as the text to store: one JSON object, no key twice at any
/// depth, kept as written.
fn import_document(skill: &str, text: &str) -> Result<String> {
    let export = format!("give a JSON object such as `skillet state export {skill}` prints");
    state_doc::check(text).map_err(|p| {
        output::failure(
            1,
            format!("standard input is refused: {}", p.message),
            Some(format!("{}; {export}", p.hint)),
        )
    })?;
    if let Err(kind) = state_doc::members(text) {
        bail!(output::failure(
            1,
            format!(
                "standard input is {kind}, not a JSON object: a state document is an object of \
                 keys (what `state get` and `state set` reach); nothing was changed"
            ),
            Some(format!(
                "wrap it in an object, e.g. {{\"items\": ...}}; {export}"
            )),
        ));
    }
    Ok(text.trim().to_owned())
}

#[derive(serde::Serialize)]
struct Row {
    skill: String,
    owner: String,
    scope: &'static str,
    keys: Vec<String>,
    bytes: usize,
    version: u32,
    rev: i64,
    updated_at: String,
    writer: String,
}

fn list(ctx: &Context, store: &dyn Store, skill: Option<&str>, json: bool) -> Result<ExitCode> {
    let owner = match skill {
        Some(name) => {
            let registry = ctx.registry_for(name);
            let Some(entry) = registry.resolve(name) else {
                bail!(output::failure(
                    1,
                    format!("no skill named `{}`", output::field(name)),
                    Some("see the skills with `skillet list`".into()),
                ));
            };
            Some(skillet_engine::state::state_owner(entry))
        }
        None => None,
    };
    let ws = skillet_engine::state::state_key_workspace(&workspace(ctx));
    let rows: Vec<Row> = store
        .states(&ws, owner.as_deref())?
        .into_iter()
        .map(|r| {
            let doc = r.doc.unwrap_or_default();
            let keys = match serde_json::from_str::<Value>(&doc) {
                Ok(Value::Object(m)) => m.keys().cloned().collect(),
                _ => Vec::new(),
            };
            let name = r.key.owner.rsplit(['/', ':']).next().unwrap_or_default();
            Row {
                skill: name.to_owned(),
                scope: if r.key.workspace.is_empty() {
                    "global"
                } else {
                    "workspace"
                },
                owner: r.key.owner,
                keys,
                bytes: doc.len(),
                version: r.schema_version,
                rev: r.rev,
                updated_at: output::rfc3339(r.updated_at_ms),
                writer: r.writer,
            }
        })
        .collect();
    if json {
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "No skill state here. A code_inline skill keeps state with \"state\": {{\"version\": 1}}; see docs/state.md."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.skill.clone(),
                r.owner.clone(),
                r.scope.to_owned(),
                r.keys.join(", "),
                r.bytes.to_string(),
                r.version.to_string(),
                r.writer.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "SKILL",
                "OWNER",
                "KEPT FOR",
                "KEYS",
                "BYTES",
                "VERSION",
                "LAST WRITER"
            ],
            &table
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// `skillet channel`: channels share the state's rules, and live beside it.
pub fn channel(ctx: &Context, args: &crate::cli::ChannelCommand) -> Result<ExitCode> {
    super::channel::run(ctx, args, &workspace(ctx))
}
