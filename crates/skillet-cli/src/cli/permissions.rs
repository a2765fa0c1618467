//! `--allow-…`: what the user grants one run, on top of the global configuration.

use clap::Args;

// `--allow-…`: permissions for one run, on top of `[grants]` in the global skillet.toml.
#[derive(Debug, Args)]
#[command(next_help_heading = "Permissions (for this run, on top of [grants] in skillet.toml)")]
pub struct PermissionArgs {
    /// Grant this run the host's network.
    #[arg(long)]
    pub allow_net: bool,
    /// Grant TCP connections to HOST:PORT only (ports are enforced, host names are not). Repeat for more.
    #[arg(long, value_name = "HOST:PORT")]
    pub allow_connect: Vec<String>,
    /// Grant read access to PATH (relative paths start at the workspace). Repeat for more.
    #[arg(long, value_name = "PATH")]
    pub allow_read: Vec<String>,
    /// Grant write access to PATH. Repeat for more.
    #[arg(long, value_name = "PATH")]
    pub allow_write: Vec<String>,
    /// Pass the environment variable NAME through, even if it looks like a credential.
    #[arg(long, value_name = "NAME")]
    pub allow_env: Vec<String>,
    /// Let the skill's resource_limits exceed skillet's defaults.
    #[arg(long)]
    pub allow_raise_limits: bool,
    /// Run without any sandbox (only limits and a clean environment). Only for skills you trust.
    #[arg(long)]
    pub allow_unsandboxed: bool,
}

impl PermissionArgs {
    /// The engine's form of these flags; `keep_scratch` is `--keep-tmp`.
    pub fn overrides(&self, keep_scratch: bool) -> skillet_engine::RunOverrides {
        use skillet_registry::{Grant, GrantedNetwork};
        let network = if self.allow_net {
            Some(GrantedNetwork::All(true))
        } else if !self.allow_connect.is_empty() {
            Some(GrantedNetwork::Destinations(self.allow_connect.clone()))
        } else {
            None
        };
        skillet_engine::RunOverrides {
            grant: Grant {
                read: self.allow_read.clone(),
                write: self.allow_write.clone(),
                network,
                env: self.allow_env.clone(),
                raise_limits: self.allow_raise_limits,
                // Flags are given for the one skill being run, whichever scope it is in.
                workspaces: Vec::new(),
            },
            unsandboxed: self.allow_unsandboxed,
            keep_scratch,
            cache: skillet_engine::CacheUse::default(),
        }
    }
}
