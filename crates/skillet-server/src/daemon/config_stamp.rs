//! Whether the global `skillet.toml` changed since the daemon last read it: its watchers
//! (alerts, trace export) read it again only then, so a setting written after the daemon
//! started takes effect within a tick, and an unchanged file costs one `stat`.

use std::path::PathBuf;
use std::time::SystemTime;

use skillet_registry::Environment;

/// The global file's modification time and size when it was last read.
pub(super) struct ConfigStamp {
    file: Option<PathBuf>,
    stamp: Option<(SystemTime, u64)>,
}

impl ConfigStamp {
    /// A stamp that has seen nothing yet: the first [`ConfigStamp::changed`] says true.
    pub(super) fn new(env: &Environment) -> ConfigStamp {
        ConfigStamp {
            file: env
                .global_dir()
                .map(|d| d.join(skillet_registry::CONFIG_FILE)),
            stamp: None,
        }
    }

    /// Whether the file changed (or appeared, or went) since the last call; true the first
    /// time and while there is no file to stamp.
    pub(super) fn changed(&mut self) -> bool {
        let stamp = self.file.as_ref().and_then(|file| {
            let meta = std::fs::metadata(file).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        });
        if stamp == self.stamp && self.stamp.is_some() {
            return false;
        }
        self.stamp = stamp;
        true
    }
}
