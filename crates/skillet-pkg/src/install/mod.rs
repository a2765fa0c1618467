//! Installing, updating and removing packages in a scope: fetch into a staging directory,
//! check, ask, then move into place atomically, so an interrupted install leaves the previous
//! state intact.
//!
//! Every command that changes a scope's packages first takes the scope's lock ([`ScopeLock`]),
//! which also rolls back an install that was interrupted (its journal is still there) and
//! clears what an interrupted fetch left in staging. A change is then staged ([`stage`]),
//! summarised for consent ([`consent`]), and committed ([`Transaction::commit`]): the journal
//! is written first, then the directories are renamed, then `skillet.lock`; removing the
//! journal is the commit point.

pub mod consent;
mod error;
mod handle;
#[cfg(test)]
mod hostile_tests;
mod journal;
mod plan;
mod scope;
mod staging;
#[cfg(test)]
mod tests;
mod uninstall;

pub use error::InstallError;
pub use journal::{JOURNAL_FILE, Recovered};
pub use plan::{Change, Installed, Transaction, installed_packages};
pub use scope::{ScopeLock, ScopePaths, recover_if_interrupted};
pub use staging::{
    StagedPackage, StagingDir, pinned_text, source_text, stage, stage_entry, stage_pinned,
};
pub use uninstall::{cycle_of, dependents_of, prunable};
