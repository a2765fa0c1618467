//! Isolated runs for `skillet dev` and `skillet test`: the view of the workspace they run in,
//! the engine whose workspace it is, and how what they changed is shown and applied.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use skillet_authoring::isolate::{Applied, ChangeKind, Changes, Limits, View};
use skillet_engine::{Engine, EngineSettings, EngineSetup};
use skillet_registry::Registry;
use skillet_store::{ExecutionQuery, SqliteStore, Store};

use crate::context::Context;
use crate::output;

/// A throwaway view of the workspace, the setup and skills seen from it, and its engine.
pub struct Isolated {
    pub view: View,
    pub setup: EngineSetup,
    pub engine: Engine,
    /// The copy's own store: state, result cache and, until [`keep_history`], history.
    pub store: Arc<SqliteStore>,
}

impl Isolated {
    /// Copies the workspace `root` and sets up runs in the copy. Its state, result cache and
    /// history live beside the copy (gone with it): a test or dev run never reads or fills the
    /// user's. The real workspace is protected like skillet's own directories, so no grant
    /// (typed, configured, or reached through a link in the copy) writes into it.
    pub fn new(ctx: &Context, root: &Path) -> Result<Isolated> {
        let view = View::create(root, Limits::default())?;
        tracing::debug!(isolation = %view.backing(), "isolated runs see {}", view.backing());
        let cwd = view.map(&ctx.env.cwd);
        let cwd = if cwd.starts_with(view.root()) {
            cwd
        } else {
            view.root()
        };
        let setup = EngineSetup::load_in(&ctx.env, &cwd)
            .context("cannot read the configuration of the workspace's copy")?;
        let data = view.data_dir();
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot make {}", data.display()))?;
        let store = Arc::new(SqliteStore::open(&data.join("skillet.db"))?);
        let mut settings = EngineSettings::from_config(
            &setup.env,
            &setup.config,
            Some(store.clone() as Arc<dyn Store>),
        );
        // Grants the user made for real runs name the copy here; whatever still reaches the
        // real tree (through a link, say) is refused like skillet's own directories.
        for grant in settings.grants.values_mut() {
            map_grant(&view, grant, setup.env.home.as_deref());
        }
        // The copy's skills are the real workspace's: a grant listing it is theirs, and the
        // hints on how to grant name it, not the copy.
        settings.skills_workspace = Some(view.real_root().to_path_buf());
        settings.protected.push(view.real_root().to_path_buf());
        let engine = Engine::new(settings);
        Ok(Isolated {
            view,
            setup,
            engine,
            store,
        })
    }

    /// Copies the executions recorded in the copy's store into the user's history, so
    /// `skillet history` and `skillet trace` show isolated runs as they show real ones (their
    /// state and cached results stay behind, and go with the copy).
    pub fn keep_history(&self, ctx: &Context) {
        keep_history(ctx, &self.store);
    }

    /// The skills as seen from the copy.
    pub fn registry(&self) -> Registry {
        Context::logged(self.setup.registry())
    }
}

/// See [`Isolated::keep_history`].
pub fn keep_history(ctx: &Context, from: &SqliteStore) {
    let Ok(real) = ctx.store() else {
        // `Context::engine` already warned that executions are not recorded.
        return;
    };
    let mut failed = None;
    let scanned = from.scan(
        &ExecutionQuery::default(),
        &mut |record| match real.record(&record) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    );
    if let Some(e) = failed
        .map(anyhow::Error::from)
        .or(scanned.err().map(Into::into))
    {
        eprintln!(
            "skillet: warning: the isolated runs are not in the history: {}",
            output::text(&e.to_string())
        );
    }
}

/// `grant`'s paths that lead into the real workspace, moved into `view`.
pub fn map_grant(view: &View, grant: &mut skillet_registry::Grant, home: Option<&Path>) {
    for typed in grant.read.iter_mut().chain(grant.write.iter_mut()) {
        *typed = view.map_grant(typed, home);
    }
}

/// A test report with what the tests changed in their copy of the workspace.
#[derive(serde::Serialize)]
pub struct WithChanges<'a> {
    #[serde(flatten)]
    pub report: &'a skillet_authoring::TestReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_changes: Option<&'a Changes>,
    /// How the isolated runs saw the workspace: an overlay, or a copy and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<&'a skillet_authoring::isolate::Backing>,
}

/// Prints what an isolated run changed, on stdout, with what to do about it.
pub fn print_changes(view: &View, changes: &Changes, applying: bool) {
    let tail = if applying {
        "applying them to the real tree"
    } else {
        "the real tree is unchanged; --apply writes them"
    };
    print_changes_at(view.real_root(), changes, tail);
}

/// [`print_changes`], for the workspace `root`.
pub fn print_changes_at(root: &Path, changes: &Changes, tail: &str) {
    let place = root.display().to_string();
    if changes.is_empty() {
        println!(
            "── workspace: the run changed no file (it ran in an isolated view of {})",
            output::field(&place)
        );
        return;
    }
    println!(
        "── workspace: the run changed {} entr{} in its view of {}; {tail}",
        changes.entries.len(),
        if changes.entries.len() == 1 {
            "y"
        } else {
            "ies"
        },
        output::field(&place)
    );
    for c in &changes.entries {
        let suffix = if c.kind == skillet_authoring::isolate::Kind::Dir {
            "/"
        } else {
            ""
        };
        println!(
            "  {:<9} {}{suffix}",
            c.change.as_str(),
            output::path(&c.path)
        );
    }
    for c in &changes.entries {
        if let Some(diff) = &c.diff
            && c.change != ChangeKind::Removed
        {
            print!("{}", output::text(diff));
            if !diff.ends_with('\n') {
                println!();
            }
        }
    }
}

/// Applies `changes` to the real tree and says what happened; an error when something was
/// left alone. With `json`, only what was left alone is said (on stderr).
pub fn apply(view: &View, changes: &Changes, json: bool) -> Result<Applied> {
    let applied = view.apply(changes)?;
    if !json && !applied.applied.is_empty() {
        println!(
            "── applied {} change{} to the real tree",
            applied.applied.len(),
            if applied.applied.len() == 1 { "" } else { "s" }
        );
    }
    for s in &applied.skipped {
        eprintln!(
            "skillet: not applied: {}: {}",
            output::path(&s.path),
            output::text(&s.reason)
        );
    }
    Ok(applied)
}
