//! What a change will do, as text for a person and as one stable JSON object.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;
use skillet_pkg::install::consent::{self, Defaults, SkillPermissions};
use skillet_pkg::install::{Change, Transaction, installed_packages};

use super::Target;
use crate::output;

/// One package a change touches.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub name: String,
    /// The version it will have (`null` when removed).
    pub version: Option<String>,
    /// The version installed before (`null` when it was not).
    pub previous: Option<String>,
    /// `install`, `update`, `downgrade`, `reinstall` or `remove`.
    pub action: &'static str,
    /// Where it comes from, pinned (`null` when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<skillet_pkg::source::Pinned>,
    /// Whether the user asked for it (not only as a dependency).
    pub requested: bool,
    /// What each of its skills asks for.
    pub skills: Vec<SkillPermissions>,
    /// What changed since the installed version, in words.
    pub changes: Vec<String>,
}

/// A whole change, before or after it is made.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub scope: &'static str,
    pub directory: PathBuf,
    pub packages: Vec<Planned>,
    /// Installed packages now recorded as asked for (they came as dependencies).
    pub now_requested: Vec<String>,
}

impl Plan {
    pub fn new(target: &Target, txn: &Transaction<'_>, defaults: &Defaults) -> Result<Plan> {
        let (_, installed) = installed_packages(&target.paths)?;
        let mut packages = Vec::new();
        for change in txn.changes() {
            let old = installed.iter().find(|i| &i.locked.name == change.name());
            let old_perms = old.map(|o| consent::permissions(&o.skills, defaults));
            let previous = old.map(|o| o.locked.version.clone());
            packages.push(match change {
                Change::Install { staged, requested } => {
                    let skills = consent::permissions(&staged.skills, defaults);
                    let version = &staged.manifest.version;
                    let action = match &previous {
                        None => "install",
                        Some(p) if p < version => "update",
                        Some(p) if p > version => "downgrade",
                        Some(_) => "reinstall",
                    };
                    let changes = old_perms
                        .map(|o| consent::changes(&o, &skills))
                        .unwrap_or_default();
                    Planned {
                        name: staged.manifest.name.to_string(),
                        version: Some(version.to_string()),
                        previous: previous.map(|v| v.to_string()),
                        action,
                        source: Some(staged.pinned.clone()),
                        requested: *requested || old.is_some_and(|o| o.locked.requested),
                        skills,
                        changes,
                    }
                }
                Change::Remove { name } => Planned {
                    name: name.to_string(),
                    version: None,
                    previous: previous.map(|v| v.to_string()),
                    action: "remove",
                    source: None,
                    requested: old.is_some_and(|o| o.locked.requested),
                    skills: old_perms.unwrap_or_default(),
                    changes: Vec::new(),
                },
            });
        }
        Ok(Plan {
            scope: target.scope.as_str(),
            directory: target.paths.packages(),
            packages,
            now_requested: txn.marked().iter().map(ToString::to_string).collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// "these 3 packages", "review-kit 2.1.0".
    pub fn what(&self) -> String {
        match self.packages.as_slice() {
            [one] => match &one.version {
                Some(v) => format!("{} {v}", one.name),
                None => one.name.clone(),
            },
            many => format!("these {} packages", many.len()),
        }
    }

    fn where_(&self) -> String {
        match self.scope {
            "global" => format!("your global packages ({})", output::path(&self.directory)),
            _ => format!("this workspace ({})", output::path(&self.directory)),
        }
    }

    pub fn print_text(&self, dry_run: bool) {
        if self.packages.is_empty() {
            println!("Nothing to change in {}.", self.where_());
            self.print_now_requested(dry_run);
            return;
        }
        self.print_now_requested(dry_run);
        let lead = if dry_run {
            "Would change"
        } else {
            "Changes to"
        };
        println!("{lead} {}:", self.where_());
        for p in &self.packages {
            let version = p.version.as_deref().unwrap_or("");
            let line = match (p.action, &p.previous) {
                ("install", _) => format!("install {} {version}", p.name),
                ("remove", Some(prev)) => format!("remove {} {prev}", p.name),
                (action, Some(prev)) => format!("{action} {} {prev} -> {version}", p.name),
                (action, None) => format!("{action} {} {version}", p.name),
            };
            let from = p
                .source
                .as_ref()
                .map(|s| format!(" (from {})", skillet_pkg::install::pinned_text(s)))
                .unwrap_or_default();
            let dep = if p.requested { "" } else { ", a dependency" };
            println!("  {}{}{dep}", output::field(&line), output::field(&from));
            if p.action == "remove" {
                continue;
            }
            let mut plain = Vec::new();
            for s in &p.skills {
                let asks = if !s.errors.is_empty() {
                    format!("broken: {}", s.errors.join("; "))
                } else if s.asks.is_empty() {
                    plain.push(s.skill.as_str());
                    continue;
                } else {
                    format!("asks for {}", s.asks.join("; "))
                };
                println!(
                    "    skill {}: {}",
                    output::field(&s.skill),
                    output::field(&asks)
                );
            }
            // Skills that ask for nothing share one line, so the ones that do stand out.
            match plain.as_slice() {
                [] => {}
                [one] => println!(
                    "    skill {}: asks for nothing beyond the defaults",
                    output::field(one)
                ),
                many => println!(
                    "    {} skills ask for nothing beyond the defaults: {}",
                    many.len(),
                    output::field(&many.join(", "))
                ),
            }
            if p.previous.is_some() {
                if p.changes.is_empty() {
                    println!(
                        "    permissions unchanged since {}",
                        p.previous.as_deref().unwrap_or("")
                    );
                } else {
                    for c in &p.changes {
                        println!("    changed: {}", output::field(c));
                    }
                }
            }
        }
        if self.packages.iter().any(|p| p.action != "remove") {
            println!(
                "Installing grants nothing: a skill gets what it asks for beyond the defaults only where your own grants (global skillet.toml, --allow-… flags) allow it."
            );
        }
    }

    fn print_now_requested(&self, dry_run: bool) {
        if self.now_requested.is_empty() {
            return;
        }
        let verb = if dry_run { "Would record" } else { "Recording" };
        println!(
            "{verb} {} as asked for (installed before as a dependency): `uninstall --prune` keeps it.",
            output::field(&self.now_requested.join(", "))
        );
    }

    /// The JSON answer: the packages installed, updated and removed, each with its version,
    /// skills and permissions.
    pub fn print_json(&self, dry_run: bool) -> Result<()> {
        let of = |actions: &[&str]| -> Vec<&Planned> {
            self.packages
                .iter()
                .filter(|p| actions.contains(&p.action))
                .collect()
        };
        output::json(&serde_json::json!({
            "scope": self.scope,
            "directory": self.directory,
            "dry_run": dry_run,
            "installed": of(&["install", "reinstall"]),
            "updated": of(&["update", "downgrade"]),
            "removed": of(&["remove"]),
            "now_requested": self.now_requested,
            "grants": "none: installing never grants anything; grants stay in your global skillet.toml",
        }))
    }

    /// Says what was done.
    pub fn done(&self, json: bool) -> Result<()> {
        if json {
            return self.print_json(false);
        }
        for p in &self.packages {
            let skills = p.skills.len();
            let line = match p.action {
                "remove" => format!("Removed {}.", p.name),
                action => format!(
                    "{} {} {} ({skills} skill{}).",
                    match action {
                        "install" => "Installed",
                        "update" => "Updated",
                        "downgrade" => "Downgraded",
                        _ => "Reinstalled",
                    },
                    p.name,
                    p.version.as_deref().unwrap_or(""),
                    if skills == 1 { "" } else { "s" }
                ),
            };
            println!("{}", output::field(&line));
        }
        Ok(())
    }
}
