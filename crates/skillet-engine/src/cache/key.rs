//! The cache key of one call: a digest of everything its result may depend on. Two calls share
//! a key only when they would run the same skill content with the same argv, environment,
//! stdin, sandbox policy (so the grants in effect) and keyed file contents.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use sha2::{Digest as _, Sha256};
use skillet_registry::SkillEntry;
use skillet_sandbox::SandboxPolicy;
use skillet_spec::{ParamKind, SkillSpec, param_env_var};
use skillet_store::Store;

use super::files::{Digester, hex_digest};
use crate::invocation::Invocation;

/// Files of a skill's own folder that are hashed at most; a larger folder is not cached.
const MAX_SKILL_FILES: usize = 2_000;
/// Files `key_files` (or a folder a `path` parameter names) may match at most.
const MAX_KEY_FILES: usize = 20_000;
/// Bumped whenever what goes into a key changes, so old entries never answer.
const KEY_VERSION: &str = "skillet-cache-key-v1";

/// Why a call's key could not be made; the call then runs uncached, with this as a warning.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    /// A `key_files` pattern is not usable.
    #[error("cache key_files pattern: {0}")]
    Pattern(String),
    /// Too many files to hash on every call.
    #[error("{what} match more than {max} files, too many to hash on every call; narrow them")]
    TooMany {
        /// `key_files`, the skill's folder, a `path` parameter.
        what: String,
        /// The bound.
        max: usize,
    },
}

/// What a call is, for its key.
pub(crate) struct KeyInputs<'a> {
    pub(crate) spec: &'a SkillSpec,
    pub(crate) entry: &'a SkillEntry,
    pub(crate) workspace: Option<&'a Path>,
    /// The process (code skills).
    pub(crate) process: Option<(&'a Invocation, &'a SandboxPolicy)>,
    /// The rendered prompt (prompt skills).
    pub(crate) prompt: Option<&'a str>,
    pub(crate) stdin: &'a [u8],
}

/// Feeds labelled, length-prefixed fields, so no two different inputs hash alike.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn field(&mut self, label: &str, value: impl AsRef<[u8]>) {
        let value = value.as_ref();
        self.0.update((label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
    }
}

/// The key of one call, and every file it read (the run must leave them as they were for its
/// result to be kept under this key).
pub(crate) fn cache_key(
    inputs: &KeyInputs<'_>,
    store: Option<&dyn Store>,
) -> Result<(String, Vec<String>), KeyError> {
    let spec = inputs.spec;
    let cache = spec.cache.as_ref();
    let mut h = KeyHasher(Sha256::new());
    h.field("version", KEY_VERSION);
    h.field("skill", &spec.name);
    h.field("spec", serde_json::to_string(spec).unwrap_or_default());

    // Every file the key reads, gathered first so the digest index is asked once.
    let mut files: Vec<(String, String)> = Vec::new(); // (label, absolute path)
    for path in skill_files(inputs.entry)? {
        files.push(("skill-file".into(), path));
    }
    if let Some((invocation, policy)) = inputs.process {
        h.field("program", &invocation.program);
        for arg in &invocation.args {
            h.field("arg", arg);
        }
        h.field("cwd", invocation.cwd.as_os_str().as_encoded_bytes());
        for (name, value) in &invocation.env {
            h.field("env", format!("{name}={value}"));
        }
        // The grants in effect, the limits and every variable the process gets.
        h.field("policy", format!("{policy:?}"));
        for name in &policy.env_passthrough {
            let value = std::env::var_os(name);
            h.field(
                "passthrough",
                format!("{name}={:?}", value.as_ref().map(|v| v.as_encoded_bytes())),
            );
        }
        // The program and any argument that names a file: scripts, and files given as
        // positional values, are read by the run.
        let program = program_file(&invocation.program, policy);
        for candidate in program.into_iter().chain(
            invocation
                .args
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| invocation.cwd.join(a)),
        ) {
            if candidate.is_file() {
                files.push(("argv-file".into(), text(&candidate)));
            }
        }
        for param in spec.parameters.iter().filter(|p| p.kind == ParamKind::Path) {
            let var = param_env_var(&param.name);
            let Some((_, value)) = invocation.env.iter().find(|(k, _)| *k == var) else {
                continue;
            };
            let path = Path::new(value);
            if path.is_dir() {
                let what = format!("the folder of parameter `{}`", param.name);
                for file in walk(path, None, true, &what)? {
                    files.push((format!("param:{}", param.name), file));
                }
            } else {
                files.push((format!("param:{}", param.name), value.clone()));
            }
        }
    }
    if let Some(prompt) = inputs.prompt {
        h.field("prompt", prompt);
    }
    h.field("stdin", inputs.stdin);
    if let Some(cache) = cache {
        for name in &cache.key_env {
            let value = std::env::var_os(name);
            h.field(
                "key_env",
                format!("{name}={:?}", value.as_ref().map(|v| v.as_encoded_bytes())),
            );
        }
        if !cache.key_files.is_empty() {
            let root = inputs
                .workspace
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            for file in key_files(&cache.key_files, &root)? {
                files.push(("key-file".into(), file));
            }
        }
    }

    let paths: Vec<String> = files.iter().map(|(_, p)| p.clone()).collect();
    let mut digester = Digester::new(store, &paths);
    for (label, path) in &files {
        let digest = digester.digest(path);
        h.field(label, format!("{path}\0{digest}"));
    }
    digester.save();
    Ok((hex_digest(h.0), paths))
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The skill's own files: its file, and when it is a package folder (`skill.json`, `SKILL.md`)
/// everything in that folder, so editing a script it ships is a new key.
fn skill_files(entry: &SkillEntry) -> Result<Vec<String>, KeyError> {
    let file_name = entry.path.file_name().and_then(|n| n.to_str());
    if matches!(file_name, Some("skill.json" | "SKILL.md")) {
        let mut files = walk(entry.skill_dir(), None, false, "the skill's folder")?;
        if files.len() > MAX_SKILL_FILES {
            return Err(KeyError::TooMany {
                what: "the skill's folder".into(),
                max: MAX_SKILL_FILES,
            });
        }
        files.sort();
        Ok(files)
    } else {
        Ok(vec![text(&entry.path)])
    }
}

/// The program's file: as written when it has a `/`, else the first match on the `PATH` the
/// process gets.
fn program_file(program: &str, policy: &SandboxPolicy) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = policy
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The files below `root` matching `patterns` (relative globs): the walk is ripgrep's, as for
/// context files (`.gitignore` and hidden files respected, links not followed), and a pattern
/// with no glob characters names its file whatever the ignore files say.
fn key_files(patterns: &[String], root: &Path) -> Result<Vec<String>, KeyError> {
    let mut set = GlobSetBuilder::new();
    let mut literal = Vec::new();
    for pattern in patterns {
        skillet_spec::check_key_glob(pattern).map_err(KeyError::Pattern)?;
        let trimmed = pattern.trim_start_matches("./");
        let glob = Glob::new(trimmed).map_err(|e| KeyError::Pattern(e.to_string()))?;
        set.add(glob);
        if !trimmed.contains(['*', '?', '[', '{']) {
            literal.push(text(&root.join(trimmed)));
        }
    }
    let set = set.build().map_err(|e| KeyError::Pattern(e.to_string()))?;
    // Walk only below each pattern's literal folders (`src/` of `src/**/*.rs`), not the
    // whole workspace.
    let mut bases: Vec<PathBuf> = patterns
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.trim_start_matches("./").split('/').collect();
            parts
                .iter()
                .take(parts.len().saturating_sub(1))
                .take_while(|part| !part.contains(['*', '?', '[', '{']))
                .fold(root.to_path_buf(), |dir, part| dir.join(part))
        })
        .collect();
    bases.sort();
    bases.dedup();
    // A base inside another is walked with it.
    let outer: Vec<PathBuf> = bases
        .iter()
        .filter(|b| !bases.iter().any(|o| o != *b && b.starts_with(o)))
        .cloned()
        .collect();
    let mut files = Vec::new();
    for base in outer.iter().filter(|b| b.is_dir()) {
        files.extend(walk(base, Some((root, &set)), true, "key_files")?);
        if files.len() > MAX_KEY_FILES {
            return Err(KeyError::TooMany {
                what: "key_files".into(),
                max: MAX_KEY_FILES,
            });
        }
    }
    for file in literal {
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Regular files below `root` (those matching `only`'s globs, relative to its folder),
/// absolute; at most [`MAX_KEY_FILES`].
fn walk(
    root: &Path,
    only: Option<(&Path, &GlobSet)>,
    filters: bool,
    what: &str,
) -> Result<Vec<String>, KeyError> {
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(false)
        .standard_filters(filters)
        .require_git(false)
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if let Some((base, set)) = only {
            let Ok(relative) = path.strip_prefix(base) else {
                continue;
            };
            if !set.is_match(relative) {
                continue;
            }
        }
        files.push(text(path));
        if files.len() > MAX_KEY_FILES {
            return Err(KeyError::TooMany {
                what: what.to_owned(),
                max: MAX_KEY_FILES,
            });
        }
    }
    Ok(files)
}
