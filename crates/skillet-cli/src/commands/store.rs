//! `skillet store status | migrate | copy`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use serde_json::json;
use skillet_engine::StoreLocation;
use skillet_store::{SqliteStore, StoreError, StoreStatus};
use skillet_store_postgres::{CopyProgress, PostgresStore, copy_from_sqlite};

use crate::cli::StoreCommand;
use crate::context::Context;
use crate::output;

pub fn run(ctx: &Context, command: &StoreCommand) -> Result<ExitCode> {
    match command {
        StoreCommand::Status { json } => status(ctx, *json),
        StoreCommand::Migrate { json } => migrate(ctx, *json),
        StoreCommand::Copy {
            from,
            to,
            password_file,
            json,
        } => copy(ctx, from, to.as_deref(), password_file.as_deref(), *json),
    }
}

fn status(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let location = ctx.store_location()?;
    let (backend, shown) = describe(&location);
    let read = read_status(&location);
    if as_json {
        let mut value = json!({
            "backend": backend,
            "location": shown,
            "reachable": read.is_ok(),
            "error": read.as_ref().err().map(ToString::to_string),
        });
        if let Ok(status) = &read {
            value["schema_version"] = json!(status.schema_version);
            value["supported_version"] = json!(status.supported_version);
            value["server_version"] = json!(status.server_version);
            value["rows"] = status
                .tables
                .iter()
                .map(|t| (t.table.to_owned(), json!(t.rows)))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        output::json(&value)?;
    } else {
        println!("backend    {backend}");
        println!("location   {}", output::text(&shown));
        match &read {
            Err(e) => println!("reachable  no: {}", output::text(&e.to_string())),
            Ok(status) => {
                println!("reachable  yes");
                let schema = match status.schema_version {
                    0 => "none yet (the first command that records a run makes it)".to_owned(),
                    v if v == status.supported_version => format!("version {v}, up to date"),
                    v if v < status.supported_version => format!(
                        "version {v}; this skillet writes {} (`skillet store migrate`)",
                        status.supported_version
                    ),
                    v => format!(
                        "version {v}, newer than this skillet understands ({}); upgrade skillet",
                        status.supported_version
                    ),
                };
                println!("schema     {schema}");
                if !status.server_version.is_empty() {
                    println!("server     {}", status.server_version);
                }
                if !status.tables.is_empty() {
                    let rows: Vec<Vec<String>> = status
                        .tables
                        .iter()
                        .map(|t| vec![t.table.to_owned(), t.rows.to_string()])
                        .collect();
                    print!("\n{}", output::table(&["TABLE", "ROWS"], &rows));
                }
            }
        }
    }
    // A schema newer than this skillet reads is as unusable as one out of reach.
    let usable = read
        .as_ref()
        .is_ok_and(|status| status.schema_version <= status.supported_version);
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What the store holds, read without creating or migrating it.
fn read_status(location: &StoreLocation) -> Result<StoreStatus, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => {
            if std::fs::symlink_metadata(path).is_err() {
                return Ok(StoreStatus {
                    backend: "sqlite",
                    location: path.display().to_string(),
                    schema_version: 0,
                    supported_version: skillet_store::SCHEMA_VERSION,
                    server_version: String::new(),
                    tables: Vec::new(),
                });
            }
            SqliteStore::open(path)?.status()
        }
        StoreLocation::Postgres { url, .. } => {
            let password = location.password()?;
            PostgresStore::connect(url, password.as_deref())?.status()
        }
    }
}

fn migrate(ctx: &Context, as_json: bool) -> Result<ExitCode> {
    let location = ctx.store_location()?;
    let (backend, shown) = describe(&location);
    let (from, to) = match &location {
        StoreLocation::Sqlite(path) => {
            let before = SqliteStore::schema_version_of(path)?;
            // Opening migrates.
            let after = SqliteStore::open(path)?.status()?.schema_version;
            (before, after)
        }
        StoreLocation::Postgres { url, .. } => {
            let password = location.password()?;
            let store = PostgresStore::connect(url, password.as_deref())?;
            let from = store.migrate()?;
            (from, skillet_store_postgres::SCHEMA_VERSION)
        }
    };
    if as_json {
        output::json(&json!({
            "backend": backend,
            "location": shown,
            "from_version": from,
            "to_version": to,
        }))?;
    } else if from == to {
        println!(
            "{} is at schema version {to}, up to date",
            output::text(&shown)
        );
    } else {
        println!("{}: schema version {from} -> {to}", output::text(&shown));
    }
    Ok(ExitCode::SUCCESS)
}

fn copy(
    ctx: &Context,
    from: &str,
    to: Option<&str>,
    password_file: Option<&Path>,
    as_json: bool,
) -> Result<ExitCode> {
    let source = if from == "sqlite" {
        match ctx.store_location()? {
            StoreLocation::Sqlite(path) => path,
            StoreLocation::Postgres { .. } => {
                let dir = ctx.env.data_dir().context(
                    "neither XDG_DATA_HOME nor HOME is set, so there is no SQLite store",
                )?;
                dir.join(skillet_engine::STORE_FILE)
            }
        }
    } else {
        ctx.env.cwd.join(from)
    };
    if !source.is_file() {
        if from != "sqlite" {
            bail!("there is no SQLite store at {}", source.display());
        }
        // No history on this machine yet: nothing to bring along, which is not an error.
        if as_json {
            output::json(&skillet_store_postgres::CopyReport::default())?;
        } else {
            println!(
                "there is no SQLite store at {}: nothing to copy",
                output::path(&source)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (url, password_file) = match (to, &ctx.config.store.url) {
        (Some(url), _) => (url.to_owned(), password_file.map(Path::to_path_buf)),
        (None, Some(url)) => (
            url.clone(),
            password_file
                .map(Path::to_path_buf)
                .or_else(|| ctx.config.store.password_file.clone()),
        ),
        (None, None) => bail!(
            "say where to copy to: --to postgres://USER@HOST/DATABASE, or set [store] url in the global skillet.toml"
        ),
    };
    let target_location = StoreLocation::Postgres {
        url: url.clone(),
        password_file,
    };
    let password = target_location.password()?;
    let target = PostgresStore::open(&url, password.as_deref())?;
    let sqlite = SqliteStore::open(&source)?;
    // A spinner on a terminal only: in a pipe or a log, nothing is drawn.
    let bar = if !as_json && std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let copied = copy_from_sqlite(&sqlite, &target, &mut |step| {
        bar.set_message(match step {
            CopyProgress::Executions(n) => format!("copying executions: {n}"),
            CopyProgress::Sessions(n) => format!("copying sessions: {n}"),
            CopyProgress::States(n) => format!("copying state documents: {n}"),
        });
        bar.tick();
    });
    bar.finish_and_clear();
    let report = copied?;
    if as_json {
        output::json(&report)?;
    } else {
        println!(
            "copied {} to {}:",
            output::path(&source),
            output::text(target.url())
        );
        println!(
            "  executions  {} added, {} already there",
            report.executions, report.executions_present
        );
        println!(
            "  sessions    {} added ({} turns), {} skipped (already there, or live on this machine)",
            report.sessions, report.turns, report.sessions_skipped
        );
        println!(
            "  state       {} documents added, {} already there (left as they were)",
            report.states, report.states_present
        );
        println!("not copied: circuit breakers, the result cache, background jobs, log tails");
    }
    Ok(ExitCode::SUCCESS)
}

/// The backend's name and where it is, as shown.
fn describe(location: &StoreLocation) -> (&'static str, String) {
    match location {
        StoreLocation::Sqlite(path) => ("sqlite", output::path(path)),
        StoreLocation::Postgres { .. } => ("postgres", location.shown().display().to_string()),
    }
}
