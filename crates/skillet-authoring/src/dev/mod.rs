//! `skillet dev`: watch one skill, and on every save validate it, run it again with the same
//! parameters and show what changed in its output.
//!
//! A save that breaks the skill does not stop the loop: the diagnostics are reported and the
//! last good version keeps answering (the registry keeps it, see
//! `skillet_registry::Registry::discover_keeping`), so the author fixes the file and carries on.
//! Runs go through [`Engine::run`] exactly like `skillet run`: same sandbox, limits, grants and
//! history (recorded with origin `dev`).

mod watch;

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};
use skillet_engine::{
    AskedBy, CacheUse, Cancel, Engine, EngineSetup, RunOverrides, RunRequest, StdinSource,
};
use skillet_registry::{Registry, SkillEntry};
use skillet_spec::{Diagnostic, SkillKind};

use crate::isolate::{Changes, View};

pub use watch::{DEBOUNCE, Watcher, watch_and_reload};

/// Why `skillet dev` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// No skill answers to the name.
    #[error("no skill `{name}`; {hint}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// What to do instead.
        hint: String,
    },
    /// The kernel's file watching could not be set up.
    #[error(
        "cannot watch the skill's files: {0}; raise fs.inotify.max_user_watches or free some watches"
    )]
    Watch(#[from] notify_debouncer_mini::notify::Error),
    /// The async runtime is gone.
    #[error("the file watcher stopped; start `skillet dev` again")]
    WatcherGone,
}

/// What `skillet dev` runs, and how.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The skill's name or alias.
    pub name: String,
    /// The parameters every run gets.
    pub params: Map<String, Value>,
    /// Where relative `path` parameters start.
    pub caller_dir: PathBuf,
    /// Permissions from the command line, as for `skillet run`.
    pub overrides: RunOverrides,
}

/// How the skill's file stands after a reload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Validation {
    /// The file is valid; this version is used.
    Valid,
    /// The file is broken; the last good version is still used.
    KeptLastGood {
        /// What is wrong, as `skillet validate` reports it.
        errors: Vec<Diagnostic>,
    },
    /// The file is broken and there is no good version to fall back on yet.
    Broken {
        /// What is wrong, as `skillet validate` reports it.
        errors: Vec<Diagnostic>,
    },
    /// The skill file is gone (deleted or renamed).
    Missing,
}

/// One run of the skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevRun {
    /// Its execution id, as the history records it.
    pub execution_id: String,
    /// `ok`, `failed`, `timeout`…
    pub status: String,
    /// The process's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// What it wrote to stdout.
    pub stdout: String,
    /// What it wrote to stderr.
    pub stderr: String,
    /// Why it did not succeed, when skillet knows.
    pub error: Option<String>,
    /// How long the run took.
    pub duration_ms: u64,
}

/// What one reload found and did.
#[derive(Debug, Clone, Serialize)]
pub struct Reload {
    /// 0 for the first run, then one more per reload.
    pub number: u64,
    /// The skill's name.
    pub skill: String,
    /// The files whose change started this reload (none for the first run).
    pub changed: Vec<PathBuf>,
    /// How the skill's file stands.
    pub validation: Validation,
    /// The run, when there was a version to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<DevRun>,
    /// Why the skill was not run although a version was there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    /// Whether the output (stdout, stderr, status) differs from the previous run's.
    pub output_changed: bool,
    /// Unified diff of stdout against the previous run's; empty when equal or first.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stdout_diff: String,
    /// Unified diff of stderr against the previous run's; empty when equal or first.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr_diff: String,
    /// From the first change seen to this report, in milliseconds (reads, validation, run).
    pub reload_ms: u64,
    /// What the run changed in its throwaway view of the workspace, against the real tree
    /// (isolated runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// Where isolated runs happen: a view of the workspace (copied afresh before every run), the
/// configuration and skills as seen from it, and an engine whose workspace it is (with its own
/// state, cache and history).
#[derive(Debug)]
pub struct DevIsolation {
    /// The view.
    pub view: View,
    /// The setup of the view's copy of the working directory.
    pub setup: EngineSetup,
    /// The engine runs go through.
    pub engine: Engine,
    /// The skills as last read from the view.
    registry: Option<Registry>,
}

impl DevIsolation {
    /// Runs go through `engine`, with `setup` (both made for `view`).
    pub fn new(view: View, setup: EngineSetup, engine: Engine) -> DevIsolation {
        DevIsolation {
            view,
            setup,
            engine,
            registry: None,
        }
    }
}

/// One skill under development: its last good version and its last output.
#[derive(Debug)]
pub struct DevLoop {
    setup: EngineSetup,
    engine: Engine,
    options: DevOptions,
    /// The skills as last read; broken files in it hold their last good version.
    registry: Registry,
    /// The skill file, once found.
    path: Option<PathBuf>,
    last: Option<DevRun>,
    reloads: u64,
    isolation: Option<DevIsolation>,
    /// What the last isolated run changed, for `--apply` at the end.
    last_changes: Option<Changes>,
}

impl DevLoop {
    /// Finds the skill; fails when no file declares it (a broken one still starts the loop,
    /// waiting for the fix).
    pub fn new(
        setup: EngineSetup,
        engine: Engine,
        options: DevOptions,
    ) -> Result<DevLoop, DevError> {
        let registry = setup.registry();
        let Some(entry) = registry.resolve(&options.name) else {
            let hint = match registry.suggest(&options.name) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "create it with `skillet create {}` or see `skillet list`",
                    options.name
                ),
            };
            return Err(DevError::NotFound {
                name: options.name,
                hint,
            });
        };
        let path = Some(entry.path.clone());
        Ok(DevLoop {
            setup,
            engine,
            options,
            registry,
            path,
            last: None,
            reloads: 0,
            isolation: None,
            last_changes: None,
        })
    }

    /// Changes the command line's grants (to name a view's paths instead of the real tree's).
    pub fn map_overrides(&mut self, map: impl FnOnce(&mut skillet_registry::Grant)) {
        map(&mut self.options.overrides.grant);
    }

    /// Runs against a throwaway view of the workspace instead of the real tree.
    pub fn isolated(mut self, isolation: DevIsolation) -> DevLoop {
        self.isolation = Some(isolation);
        self
    }

    /// What the last isolated run changed in its view, and the view (to apply them).
    pub fn last_changes(&self) -> Option<(&View, &Changes)> {
        Some((&self.isolation.as_ref()?.view, self.last_changes.as_ref()?))
    }

    /// The skill file being watched.
    pub fn skill_file(&self) -> Option<&PathBuf> {
        self.path.as_ref()
    }

    /// The paths to watch now: the skill's file or package folder, the directories its context
    /// patterns start in, and the files its `path` parameters name.
    pub fn watch_targets(&self) -> Vec<watch::Target> {
        let entry = self.entry();
        watch::targets(
            self.path.as_deref(),
            entry.and_then(|e| e.spec.as_deref()),
            self.setup.env.workspace_root().as_deref(),
            &self.options,
        )
    }

    /// The skill's own file, or its folder for a folder skill: changes there are edits.
    fn own_files(&self) -> Option<PathBuf> {
        let file = self.path.as_ref()?;
        let name = file.file_name()?.to_str()?;
        let own =
            if name == skillet_spec::PACKAGE_SKILL_FILE || name == skillet_spec::AGENT_SKILL_FILE {
                file.parent()?
            } else {
                file
            };
        // Events name resolved paths.
        match own.parent().and_then(|p| p.canonicalize().ok()) {
            Some(parent) => Some(parent.join(own.file_name()?)),
            None => Some(own.to_path_buf()),
        }
    }

    fn entry(&self) -> Option<&SkillEntry> {
        let path = self.path.as_ref()?;
        self.registry.entries().iter().find(|e| &e.path == path)
    }

    /// Reads the skills again (keeping the last good version of a broken file), runs the
    /// skill when there is a version to run, and compares its output with the previous run's.
    pub async fn reload(
        &mut self,
        changed: Vec<PathBuf>,
        since: Instant,
        cancel: &Cancel,
    ) -> Reload {
        if self.reloads > 0 || self.last.is_some() {
            self.registry =
                Registry::discover_keeping(&self.setup.env, &self.setup.config, &self.registry);
        }
        let number = self.reloads;
        self.reloads += 1;
        let validation = self.validation();
        let mut reload = Reload {
            number,
            skill: self.options.name.clone(),
            changed,
            validation,
            run: None,
            not_run: None,
            output_changed: false,
            stdout_diff: String::new(),
            stderr_diff: String::new(),
            reload_ms: 0,
            changes: None,
        };
        let runnable = matches!(
            reload.validation,
            Validation::Valid | Validation::KeptLastGood { .. }
        );
        if runnable {
            match self.entry().and_then(|e| e.spec.as_ref()).map(|s| s.kind) {
                Some(SkillKind::Conversation) => {
                    reload.not_run = Some(
                        "conversation skills are validated but not run by `skillet dev` yet: \
                         they need a model; try one with `skillet run NAME`"
                            .to_owned(),
                    );
                }
                Some(SkillKind::CodeSession) => {
                    reload.not_run = Some(
                        "code_session skills are validated but not run by `skillet dev` yet; \
                         try one with `skillet session start NAME`"
                            .to_owned(),
                    );
                }
                _ => {
                    let (run, changes) = match self.isolation.is_some() {
                        true => self.run_isolated(number, cancel).await,
                        false => (self.run_once(number, cancel).await, None),
                    };
                    if changes.is_some() {
                        self.last_changes.clone_from(&changes);
                    }
                    reload.changes = changes;
                    if let Some(previous) = &self.last {
                        reload.stdout_diff = unified_diff(&previous.stdout, &run.stdout);
                        reload.stderr_diff = unified_diff(&previous.stderr, &run.stderr);
                        reload.output_changed = previous.stdout != run.stdout
                            || previous.stderr != run.stderr
                            || previous.status != run.status
                            || previous.exit_code != run.exit_code;
                    } else {
                        reload.output_changed = true;
                    }
                    self.last = Some(run.clone());
                    reload.run = Some(run);
                }
            }
        }
        reload.reload_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
        reload
    }

    fn validation(&mut self) -> Validation {
        let Some(path) = self.path.clone() else {
            return Validation::Missing;
        };
        if let Some(kept) = self.registry.kept().iter().find(|k| k.path == path) {
            return Validation::KeptLastGood {
                errors: kept.errors.clone(),
            };
        }
        match self.registry.entries().iter().find(|e| e.path == path) {
            None => {
                // The file may have come back under the name (renamed, or made again).
                if let Some(entry) = self.registry.resolve(&self.options.name) {
                    self.path = Some(entry.path.clone());
                    return self.validation();
                }
                Validation::Missing
            }
            Some(entry) if entry.is_valid() => Validation::Valid,
            Some(entry) => Validation::Broken {
                errors: entry.errors().cloned().collect(),
            },
        }
    }

    /// One run in a fresh copy of the workspace, and what it changed there.
    async fn run_isolated(&mut self, number: u64, cancel: &Cancel) -> (DevRun, Option<Changes>) {
        let Some(iso) = self.isolation.as_mut() else {
            return (self.run_once(number, cancel).await, None);
        };
        let failed = |error: String| DevRun {
            execution_id: String::new(),
            status: "error".to_owned(),
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            error: Some(error),
            duration_ms: 0,
        };
        if let Err(e) = iso.view.sync() {
            return (failed(e.to_string()), None);
        }
        // Read from the fresh copy, keeping the last good version of a file broken mid-edit
        // (the copy lies at the same place every time).
        let registry = match &iso.registry {
            Some(previous) => {
                Registry::discover_keeping(&iso.setup.env, &iso.setup.config, previous)
            }
            None => iso.setup.registry(),
        };
        let iso = self.isolation.as_ref().map(|i| (&i.view, &i.engine));
        let Some((view, engine)) = iso else {
            return (failed("the view is gone".to_owned()), None);
        };
        let caller_dir = view.map(&self.options.caller_dir);
        let run = self
            .run_with(engine, &registry, caller_dir, number, cancel)
            .await;
        let changes = match view.changes() {
            Ok(c) => Some(c),
            Err(e) => {
                let mut run = run;
                run.error = Some(format!("cannot compare the view with the workspace: {e}"));
                if let Some(iso) = self.isolation.as_mut() {
                    iso.registry = Some(registry);
                }
                return (run, None);
            }
        };
        if let Some(iso) = self.isolation.as_mut() {
            iso.registry = Some(registry);
        }
        (run, changes)
    }

    async fn run_once(&self, number: u64, cancel: &Cancel) -> DevRun {
        self.run_with(
            &self.engine,
            &self.registry,
            self.options.caller_dir.clone(),
            number,
            cancel,
        )
        .await
    }

    async fn run_with(
        &self,
        engine: &Engine,
        registry: &Registry,
        caller_dir: PathBuf,
        number: u64,
        cancel: &Cancel,
    ) -> DevRun {
        let request = RunRequest {
            params: self.options.params.clone(),
            stdin: StdinSource::Null,
            caller_dir,
            live: None,
            overrides: RunOverrides {
                // Every save must show what this version does, never a stored answer of an
                // earlier one; and a version being edited must not fill the user's cache.
                cache: CacheUse::Off,
                ..self.options.overrides.clone()
            },
            asked_by: Some(AskedBy {
                origin: "dev".to_owned(),
                request_id: format!("{}#{number}", self.options.name),
                queue_wait_ms: None,
            }),
            cancel: Some(cancel.clone()),
        };
        let name = self
            .entry()
            .map_or(self.options.name.clone(), |e| e.name.clone());
        let result = engine.run(registry, &name, request).await;
        DevRun {
            execution_id: result.execution_id,
            status: result.status.as_str().to_owned(),
            exit_code: result.exit_code,
            stdout: result.stdout,
            stderr: result.stderr,
            error: result.error,
            duration_ms: result.duration_ms,
        }
    }
}

/// `before` against `after`, as `-previous` / `+now` lines with some context; empty when equal.
fn unified_diff(before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header("previous run", "this run")
        .to_string()
}
