//! The package commands: install, update, uninstall, verify, search, marketplace.

use clap::{Args, Subcommand};

// `skillet install`.
#[derive(Debug, Args)]
#[command(
    after_help = "Before anything lands, the permissions each skill asks for are shown; on a terminal
you are asked y/N, elsewhere --yes is required. Installing never grants anything.

Examples:
  skillet install document-skills@anthropic-agent-skills   PACKAGE@MARKETPLACE
  skillet install review-kit@^2.1                          a semver requirement
  skillet install ./path/to/pkg
  skillet install git+https://example.test/skills.git#v1.2
  skillet install https://example.test/pkg.tar.gz --sha256 HEX
  skillet install --locked                                 exactly what skillet.lock says"
)]
pub struct InstallArgs {
    /// What to install: PACKAGE, PACKAGE@MARKETPLACE, PACKAGE@REQ (a semver requirement such as
    /// ^2.1), a folder (./path), git+URL[#REF], or an https:// or file:// .tar.gz URL (with
    /// --sha256). With --locked and nothing named: everything skillet.lock lists.
    pub packages: Vec<String>,
    /// The archive's sha256 (required for an archive URL).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Install into the global scope instead of this workspace.
    #[arg(long)]
    pub global: bool,
    /// Reproduce exactly what skillet.lock says, or fail.
    #[arg(long)]
    pub locked: bool,
    /// Do not ask: accept the permissions shown (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be installed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet update`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  skillet update --dry-run
  skillet update review-kit --yes")]
pub struct UpdateArgs {
    /// The package to update (default: every installed package).
    pub package: Option<String>,
    /// The global scope instead of this workspace.
    #[arg(long)]
    pub global: bool,
    /// Show version and permission changes, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask: accept the changes shown (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet uninstall`.
#[derive(Debug, Args)]
#[command(after_help = "Refused while another installed package depends on it.

Examples:
  skillet uninstall review-kit
  skillet uninstall review-kit --prune     also remove what only it needed")]
pub struct UninstallArgs {
    /// The package to remove.
    pub package: String,
    /// Also remove the dependencies nothing else needs any more.
    #[arg(long)]
    pub prune: bool,
    /// Accepted for symmetry with install and update, so scripts can pass it everywhere:
    /// removing grants nothing, so uninstall never asks.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The global scope instead of this workspace.
    #[arg(long)]
    pub global: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit 0 when every file matches, 1 when any was changed or removed.

Examples:
  skillet verify
  skillet verify --accept       keep the files as they are now"
)]
pub struct VerifyArgs {
    /// The global scope instead of this workspace.
    #[arg(long)]
    pub global: bool,
    /// Accept the files as they are now: record their digests in skillet.lock.
    #[arg(long)]
    pub accept: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet search`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  skillet search pdf
  skillet search review --json")]
pub struct SearchArgs {
    /// Words to look for in package names and descriptions.
    pub query: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

// `skillet marketplace`.
#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  skillet marketplace add ./team-skills
  skillet marketplace add https://example.test/index.json
  skillet marketplace add git@host:org/skills.git#main
  skillet marketplace list
  skillet marketplace update
  skillet marketplace remove team-skills")]
pub enum MarketplaceCommand {
    /// Add a marketplace: a local folder, a git URL (#REF for a branch, tag or commit), or an
    /// https URL of an index.
    Add {
        /// Where it is.
        source: String,
        /// The name to refer to it by (default: the name it gives itself).
        #[arg(long)]
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the added marketplaces.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetch the newest copy of one marketplace, or of all.
    Update {
        /// The marketplace (default: all).
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget a marketplace (installed packages stay).
    Remove {
        /// The marketplace.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
