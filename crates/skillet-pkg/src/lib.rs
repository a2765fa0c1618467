//! Packages of skills.
//!
//! This crate owns the package lifecycle: reading a package's manifest (skillet's own
//! `skillet-package.toml`, and read-only the Claude Code `.claude-plugin/plugin.json` and
//! `.claude-plugin/marketplace.json` files), indexes and marketplaces, fetching a package from
//! its source (a folder, a git repository, an archive) into a staging directory, resolving
//! dependencies between packages with `pubgrub`, writing `skillet.lock`, moving an install into
//! place atomically, and verifying that installed files have not changed since.
//!
//! It must not run skills, decide what they may do, or grant anything: installing a package
//! never weakens confinement (grants stay the user's). Discovery sees installed packages through
//! `skillet-registry` (the receipt each install leaves), never by reading `skillet.lock`.

mod download;
pub mod index;
pub mod install;
pub mod lock;
pub mod manifest;
pub mod marketplace;
mod name;
pub mod resolve;
pub mod source;
pub mod verify;

pub use name::{PackageName, PackageNameError};
