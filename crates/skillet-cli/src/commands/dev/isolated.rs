//! Isolated runs for `skillet dev` and `skillet test`: the view of the workspace they run in,
//! the engine whose workspace it is, and how what they changed is shown and applied.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use skillet_authoring::isolate::{Applied, ChangeKind, Changes, Limits, View};
use skillet_engine::{Engine, EngineSettings, EngineSetup};
use skillet_registry::Registry;
use skillet_store::SqliteStore;

use crate::context::Context;
use crate::output;

/// A throwaway view of the workspace, the setup and skills seen from it, and its engine.
pub struct Isolated {
    pub view: View,
    pub setup: EngineSetup,
    pub engine: Engine,
}

impl Isolated {
    /// Copies the workspace `root` and sets up runs in the copy. Its state, result cache and
    /// history live beside the copy (gone with it): a test or dev run never reads or fills the
    /// user's. The real workspace is protected like skillet's own directories, so no grant
    /// (typed, configured, or reached through a link in the copy) writes into it.
    pub fn new(ctx: &Context, root: &Path) -> Result<Isolated> {
        let view = View::create(root, Limits::default())?;
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
        let store = SqliteStore::open(&data.join("skillet.db"))?;
        let mut settings =
            EngineSettings::from_config(&setup.env, &setup.config, Some(Arc::new(store)));
        settings.protected.push(view.real_root().to_path_buf());
        let engine = Engine::new(settings);
        Ok(Isolated {
            view,
            setup,
            engine,
        })
    }

    /// The skills as seen from the copy.
    pub fn registry(&self) -> Registry {
        Context::logged(self.setup.registry())
    }
}

/// A test report with what the tests changed in their copy of the workspace.
#[derive(serde::Serialize)]
pub struct WithChanges<'a> {
    #[serde(flatten)]
    pub report: &'a skillet_authoring::TestReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_changes: Option<&'a Changes>,
}

/// Prints what an isolated run changed, on stdout, with what to do about it.
pub fn print_changes(ctx: &Context, view: &View, changes: &Changes, applying: bool) {
    print_changes_at(ctx, view.real_root(), changes, applying);
}

/// [`print_changes`], for the workspace `root`.
pub fn print_changes_at(ctx: &Context, root: &Path, changes: &Changes, applying: bool) {
    let shown = ctx.shown(root).display().to_string();
    let place = if shown.is_empty() {
        ".".to_owned()
    } else {
        shown
    };
    if changes.is_empty() {
        println!(
            "── workspace: the run changed no file (it ran in a copy of {})",
            output::field(&place)
        );
        return;
    }
    let tail = if applying {
        "applying them to the real tree"
    } else {
        "the real tree is unchanged; --apply writes them"
    };
    println!(
        "── workspace: the run changed {} entr{} in its copy of {}; {tail}",
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
/// left alone.
pub fn apply(view: &View, changes: &Changes) -> Result<Applied> {
    let applied = view.apply(changes)?;
    if !applied.applied.is_empty() {
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
