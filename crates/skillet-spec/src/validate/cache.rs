//! The `cache` block: which kinds can be cached, its TTL, and the globs and variable names its
//! key is made of; and the `concurrency` block beside it.

use crate::diagnostic::Diagnostic;
use crate::model::{Concurrency, SkillKind, SkillSpec};

use super::{ENV_NAME, Findings};

pub(super) fn check_cache(spec: &SkillSpec, f: &mut Findings) {
    let Some(cache) = &spec.cache else {
        return;
    };
    match spec.kind {
        // A conversation is cached answer by answer, each keyed by the transcript before it.
        SkillKind::CodeInline | SkillKind::PromptInline | SkillKind::Conversation => {}
        SkillKind::CodeSession => f.key(
            "/cache",
            Diagnostic::error("a code_session skill cannot be cached: each call depends on what the session did before")
                .with_hint("remove `cache`, or make the skill code_inline"),
        ),
    }
    if cache.ttl == Some(0) {
        f.value(
            "/cache/ttl",
            Diagnostic::error("`ttl` is 0: nothing would ever be answered from the cache")
                .with_hint("give the seconds a result stays valid, e.g. 300, or remove `cache`"),
        );
    }
    for (i, pattern) in cache.key_files.iter().enumerate() {
        if let Err(problem) = check_key_glob(pattern) {
            f.value(
                format!("/cache/key_files/{i}"),
                Diagnostic::error(problem).with_hint(
                    "write a glob relative to the workspace root, such as \"src/**/*.rs\"",
                ),
            );
        }
    }
    for (i, name) in cache.key_env.iter().enumerate() {
        if !ENV_NAME.is_match(name) {
            f.value(
                format!("/cache/key_env/{i}"),
                Diagnostic::error(format!("{name:?} is not an environment variable name"))
                    .with_hint(
                        "use letters, digits and `_`, not starting with a digit, e.g. \"LANG\"",
                    ),
            );
        }
    }
}

/// The `concurrency` block: code_inline skills only, `max` from 1 to [`Concurrency::MAX`].
pub(super) fn check_concurrency(spec: &SkillSpec, f: &mut Findings) {
    let Some(concurrency) = &spec.concurrency else {
        return;
    };
    if spec.kind != SkillKind::CodeInline {
        f.key(
            "/concurrency",
            Diagnostic::error(format!(
                "`concurrency` bounds the runs of code_inline skills; a {} skill is not supported yet",
                spec.kind.as_str()
            ))
            .with_hint("remove `concurrency`"),
        );
    }
    if !(1..=Concurrency::MAX).contains(&concurrency.max) {
        f.value(
            "/concurrency/max",
            Diagnostic::error(format!(
                "`max` is {}: give how many runs may go at once, from 1 to {}",
                concurrency.max,
                Concurrency::MAX
            ))
            .with_hint("e.g. \"concurrency\": {\"max\": 2}"),
        );
    }
}

/// Why `pattern` cannot be a `key_files` glob, if it cannot.
pub fn check_key_glob(pattern: &str) -> Result<(), String> {
    let trimmed = pattern.trim_start_matches("./");
    if trimmed.is_empty() {
        return Err("an empty pattern matches nothing".to_owned());
    }
    if trimmed.starts_with('/') || trimmed.split('/').any(|part| part == "..") {
        return Err(format!(
            "{pattern:?} reaches outside the workspace; key_files are relative to the workspace root"
        ));
    }
    globset::Glob::new(trimmed)
        .map(drop)
        .map_err(|e| format!("{pattern:?} is not a valid glob: {}", e.kind()))
}
