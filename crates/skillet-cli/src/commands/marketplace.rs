//! `skillet marketplace` and `skillet search`.
//!
//! Everything an index says (names of marketplaces, descriptions, URLs) is someone else's text:
//! it reaches the terminal only through the `output` presets.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use skillet_pkg::marketplace::{
    ChangeStatus, Marketplace, MarketplaceError, MarketplaceSource, Marketplaces, Updated,
    search as find_packages,
};

use crate::cli::{MarketplaceCommand, SearchArgs};
use crate::context::Context;
use crate::output;
use crate::progress::Bars;

/// What to type to add a marketplace, for messages that find none.
const ADD_HINT: &str = "`skillet marketplace add SOURCE` adds one: a folder, a git URL (#REF for a branch, tag or commit) or an https URL of an index JSON";

pub fn run(ctx: &Context, command: &MarketplaceCommand) -> Result<ExitCode> {
    let mut marketplaces = Marketplaces::open(&ctx.env)?;
    match command {
        MarketplaceCommand::Add { source, name, json } => {
            add(ctx, &mut marketplaces, source, name.as_deref(), *json)
        }
        MarketplaceCommand::List { json } => list(&marketplaces, *json),
        MarketplaceCommand::Update { name, json } => {
            update(&mut marketplaces, name.as_deref(), *json)
        }
        MarketplaceCommand::Remove { name, json } => remove(&mut marketplaces, name, *json),
    }
}

fn add(
    ctx: &Context,
    marketplaces: &mut Marketplaces,
    source: &str,
    name: Option<&str>,
    as_json: bool,
) -> Result<ExitCode> {
    let bars = Bars::new();
    let added = marketplaces.add(source, &ctx.env.cwd, name, &bars);
    bars.clear();
    let added = added.map_err(marketplace_failure)?;
    let m = &added.marketplace;
    let count = added.index.packages.len();
    let mut warnings = index_warnings(&added.index);
    if let skillet_pkg::marketplace::MarketplaceSource::Git { url, .. } = &m.source {
        warnings.extend(skillet_pkg::source::git_transport_warning(url));
    }
    if as_json {
        output::json(&json!({
            "name": m.name,
            "source": m.source,
            "commit": m.commit,
            "fetched": m.fetched_ms.map(output::rfc3339),
            "packages": count,
            "warnings": warnings,
            "list": marketplaces.list_file(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for w in &warnings {
        eprintln!("skillet: warning: {}", output::field(w));
    }
    println!(
        "Added marketplace `{}` ({}): {count} package{}.",
        output::field(&m.name),
        described(m),
        plural(count)
    );
    println!(
        "  `skillet search WORDS` looks through it; `skillet install PACKAGE@{}` installs from it.",
        output::field(&m.name)
    );
    Ok(ExitCode::SUCCESS)
}

/// Where a marketplace comes from and what was fetched, in words.
fn described(m: &Marketplace) -> String {
    let pinned = match (&m.commit, m.fetched_ms) {
        (Some(c), _) => format!(" at {}", short(c)),
        (None, Some(_)) => String::new(),
        (None, None) => String::new(),
    };
    match &m.source {
        MarketplaceSource::Dir { path } => format!("folder {}, read in place", output::path(path)),
        MarketplaceSource::Git { .. } => {
            format!("git {}{pinned}", output::field(&m.source.to_string()))
        }
        MarketplaceSource::Url { .. } => {
            format!("index {}", output::field(&m.source.to_string()))
        }
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The index's complaints about entries it skipped, if it kept any.
fn index_warnings(index: &skillet_pkg::index::Index) -> Vec<String> {
    index.warnings.iter().map(ToString::to_string).collect()
}

fn list(marketplaces: &Marketplaces, as_json: bool) -> Result<ExitCode> {
    let rows: Vec<(&Marketplace, Result<usize, MarketplaceError>)> = marketplaces
        .list()
        .iter()
        .map(|m| (m, marketplaces.index(m).map(|i| i.packages.len())))
        .collect();
    if as_json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(m, count)| {
                json!({
                    "name": m.name,
                    "source": m.source,
                    "commit": m.commit,
                    "sha256": m.sha256,
                    "fetched": m.fetched_ms.map(output::rfc3339),
                    "packages": count.as_ref().ok(),
                    "error": count.as_ref().err().map(ToString::to_string),
                })
            })
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No marketplace is added; {ADD_HINT}.");
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(m, count)| {
            let fetched = match (&m.source, &m.commit, m.fetched_ms) {
                (MarketplaceSource::Dir { .. }, _, _) => "read in place".to_owned(),
                (_, Some(c), Some(ms)) => format!("{} {}", short(c), output::timestamp(ms)),
                (_, None, Some(ms)) => output::timestamp(ms),
                (_, _, None) => "never".to_owned(),
            };
            let count = match count {
                Ok(n) => n.to_string(),
                Err(_) => "unreadable".to_owned(),
            };
            vec![m.name.clone(), m.source.to_string(), fetched, count]
        })
        .collect();
    print!(
        "{}",
        output::table(&["NAME", "SOURCE", "FETCHED", "PACKAGES"], &table)
    );
    for (_, count) in &rows {
        if let Err(e) = count {
            eprintln!("skillet: warning: {}", output::text(&e.to_string()));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn update(marketplaces: &mut Marketplaces, name: Option<&str>, as_json: bool) -> Result<ExitCode> {
    if name.is_none() && marketplaces.list().is_empty() {
        if as_json {
            output::json(&json!([]))?;
        } else {
            println!("No marketplace is added; {ADD_HINT}.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let bars = Bars::new();
    let results = marketplaces.update(name, &bars);
    bars.clear();
    let mut results = results.map_err(marketplace_failure)?;
    // One marketplace named: its failure is the command's error, as for `add`.
    if name.is_some()
        && results.len() == 1
        && let Some(Err(e)) = results.pop_if(|r| r.is_err())
    {
        return Err(marketplace_failure(e));
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    if as_json {
        let rows: Vec<_> = results
            .iter()
            .map(|r| match r {
                Ok(u) => serde_json::to_value(u).unwrap_or_default(),
                Err(e) => json!({"error": e.to_string()}),
            })
            .collect();
        output::json(&rows)?;
    } else {
        for r in &results {
            match r {
                Ok(u) => print_update(u),
                Err(e) => eprintln!("skillet: error: {}", output::text(&e.to_string())),
            }
        }
    }
    if failed > 0 {
        return Err(output::failure(
            output::EXIT_FAILURE,
            format!(
                "{failed} of {} marketplaces could not be updated",
                results.len()
            ),
            Some(
                "the others were updated; fix the source or `skillet marketplace remove NAME`"
                    .into(),
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_update(u: &Updated) {
    let m = &u.marketplace;
    let name = output::field(&m.name);
    let count = format!("{} package{}", u.packages, plural(u.packages));
    if u.in_place {
        println!("{name}: a folder, read in place: {count}");
        return;
    }
    let commit = match (&u.previous_commit, &m.commit) {
        (Some(a), Some(b)) if a != b => format!(", commit {} -> {}", short(a), short(b)),
        (_, Some(b)) => format!(", commit {}", short(b)),
        _ => String::new(),
    };
    if u.changes.is_empty() {
        println!("{name}: no change ({count}{commit})");
        return;
    }
    println!("{name}: {count}{commit}");
    for c in &u.changes {
        let list = |v: &[semver::Version]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let package = output::field(c.name.as_str());
        match c.status {
            ChangeStatus::New => println!("  + {package} {} (new)", list(&c.added)),
            ChangeStatus::Removed => {
                println!("  - {package} {} (no longer offered)", list(&c.removed));
            }
            ChangeStatus::Changed => {
                let mut parts = Vec::new();
                if !c.added.is_empty() {
                    parts.push(format!("new {}", list(&c.added)));
                }
                if !c.removed.is_empty() {
                    parts.push(format!("gone {}", list(&c.removed)));
                }
                println!("  ~ {package}: {}", parts.join("; "));
            }
        }
    }
}

fn remove(marketplaces: &mut Marketplaces, name: &str, as_json: bool) -> Result<ExitCode> {
    let removed = marketplaces.remove(name).map_err(marketplace_failure)?;
    if as_json {
        output::json(&json!({
            "name": removed.name,
            "source": removed.source,
            "removed": true,
        }))?;
    } else {
        println!(
            "Removed marketplace `{}` ({}).",
            output::field(&removed.name),
            output::field(&removed.source.to_string())
        );
        println!(
            "  Packages installed from it stay installed; `skillet list --installed` shows them."
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A marketplace error with the exit code it deserves: a name that is not added is "not found".
fn marketplace_failure(e: MarketplaceError) -> anyhow::Error {
    let code = match &e {
        MarketplaceError::Unknown { .. } => output::EXIT_NOT_FOUND,
        _ => output::EXIT_SKILLET_ERROR,
    };
    output::failure(code, e.to_string(), None)
}

/// `skillet search`: exit 0 with results, 1 with none (as `grep`), so scripts can test it.
pub fn search(ctx: &Context, args: &SearchArgs) -> Result<ExitCode> {
    let marketplaces = Marketplaces::open(&ctx.env)?;
    if marketplaces.list().is_empty() {
        return Err(output::failure(
            output::EXIT_FAILURE,
            "no marketplace is added, so there is nothing to search",
            Some(ADD_HINT.into()),
        ));
    }
    let (catalog, errors) = marketplaces.catalog();
    for e in &errors {
        eprintln!("skillet: warning: {}", output::text(&e.to_string()));
    }
    let hits = find_packages(&catalog, &args.query);
    if args.json {
        output::json(&hits)?;
    } else if hits.is_empty() {
        eprintln!(
            "No package matches `{}` in {} marketplace{}.",
            output::field(&args.query.join(" ")),
            catalog.marketplaces().len(),
            plural(catalog.marketplaces().len())
        );
    } else {
        let rows: Vec<Vec<String>> = hits
            .iter()
            .map(|h| {
                vec![
                    h.name.to_string(),
                    h.version.to_string(),
                    h.marketplace.clone(),
                    output::one_line(&h.description),
                ]
            })
            .collect();
        print!(
            "{}",
            output::table(&["NAME", "VERSION", "MARKETPLACE", "DESCRIPTION"], &rows)
        );
    }
    Ok(if hits.is_empty() {
        ExitCode::from(output::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}
