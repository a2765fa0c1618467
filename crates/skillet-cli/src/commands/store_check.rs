//! The history store's part of `skillet doctor`: is it readable, and `--repair` when it is not.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use skillet_engine::StoreLocation;
use skillet_registry::Environment;
use skillet_store::{SqliteStore, StoreError};

/// What the doctor found about the store.
pub enum StoreState {
    /// Readable.
    Ok(PathBuf),
    /// Not created yet.
    Absent(PathBuf),
    /// Unreadable; `--repair` would move it aside.
    Broken { path: PathBuf, error: String },
    /// Unreadable, moved aside, and a fresh store made.
    Repaired {
        path: PathBuf,
        moved_to: PathBuf,
        error: String,
    },
    /// Cannot be used for another reason (no data directory, too new, permissions).
    Unavailable {
        path: Option<PathBuf>,
        error: String,
    },
}

/// The store file of `env` when there is one; else the state that says why not (no data
/// directory, or not created yet). Looking never creates it: the first run does.
pub fn located(env: Option<&Environment>) -> Result<PathBuf, StoreState> {
    let Some(path) = env
        .and_then(Environment::data_dir)
        .map(|d| d.join("skillet.db"))
    else {
        return Err(StoreState::Unavailable {
            path: None,
            error: "neither XDG_DATA_HOME nor HOME is set, so there is nowhere to keep the history"
                .into(),
        });
    };
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(StoreState::Absent(path));
    }
    Ok(path)
}

/// Checks the store of `env`; with `repair`, an unreadable one is renamed to
/// `<name>.corrupt-<time>` and a fresh one created.
pub fn check(env: Option<&Environment>, repair: bool) -> StoreState {
    let path = match located(env) {
        Ok(path) => path,
        Err(state) => return state,
    };
    let opened = SqliteStore::open(&path).and_then(|s| s.check());
    match opened {
        Ok(()) => StoreState::Ok(path),
        Err(StoreError::Corrupt { problem, .. }) if repair => {
            let moved = SqliteStore::move_aside(&path)
                .and_then(|moved| SqliteStore::open(&path).map(|_| moved));
            match moved {
                Ok(moved_to) => StoreState::Repaired {
                    path,
                    moved_to,
                    error: problem,
                },
                Err(e) => StoreState::Unavailable {
                    path: Some(path),
                    error: format!("it is unreadable ({problem}), and moving it aside failed: {e}"),
                },
            }
        }
        Err(e @ StoreError::Corrupt { .. }) => StoreState::Broken {
            error: format!("{e}{}", super::hints::repair_store(&path)),
            path,
        },
        Err(e) => StoreState::Unavailable {
            path: Some(path),
            error: e.to_string(),
        },
    }
}

/// Checks a PostgreSQL store (`[store] url`): reached, schema made, one write committed.
/// `--repair` has nothing to do there: a damaged server is its administrator's to mend.
pub fn check_postgres(location: &StoreLocation) -> StoreState {
    let shown = location.shown();
    match location.open(false).and_then(|store| store.ready()) {
        Ok(()) => StoreState::Ok(shown),
        Err(e) => StoreState::Unavailable {
            path: Some(shown),
            error: e.to_string(),
        },
    }
}

impl StoreState {
    /// The row of `skillet doctor --json`. `state` keeps the other rows' words (`active`,
    /// `unavailable`); `corrupt` says when `--repair` would help, `repaired` when it did.
    pub fn json(&self) -> Value {
        let (state, path) = match self {
            StoreState::Ok(p) | StoreState::Absent(p) | StoreState::Repaired { path: p, .. } => {
                ("active", Some(p))
            }
            StoreState::Broken { path, .. } => ("unavailable", Some(path)),
            StoreState::Unavailable { path, .. } => ("unavailable", path.as_ref()),
        };
        let detail = match self {
            StoreState::Broken { error, .. } | StoreState::Unavailable { error, .. } => {
                error.clone()
            }
            _ => self.sentence(),
        };
        let mut row = json!({"layer": "store", "state": state, "detail": detail, "path": path});
        match self {
            StoreState::Broken { .. } => row["corrupt"] = json!(true),
            StoreState::Repaired {
                moved_to, error, ..
            } => {
                row["repaired"] = json!(true);
                row["moved_to"] = json!(moved_to);
                row["error"] = json!(error);
            }
            _ => {}
        }
        row
    }

    /// One sentence for people.
    pub fn sentence(&self) -> String {
        match self {
            StoreState::Ok(p) => format!("{} is readable.", p.display()),
            StoreState::Absent(p) => format!(
                "{} does not exist yet; the first run creates it.",
                p.display()
            ),
            StoreState::Broken { error, .. } => format!("{error}."),
            StoreState::Repaired {
                path,
                moved_to,
                error,
            } => format!(
                "{} was unreadable ({error}); moved it to {} and created a fresh, empty store. \
                 The old history stays in the moved file.",
                path.display(),
                moved_to.display()
            ),
            StoreState::Unavailable { error, .. } => format!("unavailable: {error}."),
        }
    }

    /// Non-zero while the store cannot be used.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            StoreState::Broken { .. } | StoreState::Unavailable { .. } => ExitCode::from(1),
            _ => ExitCode::SUCCESS,
        }
    }
}
