//! A skill's own bound on its runs at once (`"concurrency": {"max": N}`), held across every
//! skillet process of the user (`skillet run`, `batch`, the MCP server, the daemon): a run holds
//! one of N slot files locked with `flock` while it runs. The kernel drops a lock when its holder
//! exits or dies, so a crashed run never keeps a slot. The slots live in skillet's data
//! directory, out of every sandbox's reach: a skill cannot take its own slots, or another's.
//!
//! Waiting polls with backoff (10 ms, doubling to 200 ms). The bound is promised, not an order
//! among the runs that wait.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;
use sha2::{Digest, Sha256};
use skillet_registry::Registry;
use skillet_spec::SkillSpec;

use crate::engine::Engine;
use crate::result::{ExecutionResult, Status};

/// A held slot; dropping it lets another run start.
#[derive(Debug)]
pub(crate) struct Slot {
    _lock: File,
}

/// The longest pause between two looks for a free slot.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// The directory of `skill`'s slots under `base` (`skill` is who holds them: see
/// [`Engine::slot`]): named by a digest, so no skill name becomes a path.
fn slots_of(base: &Path, skill: &str) -> PathBuf {
    let digest = crate::cache::hex_digest(Sha256::new().chain_update(skill.as_bytes()));
    base.join(digest.trim_start_matches("sha256:"))
}

/// Waits until fewer than `max` runs of `skill` hold a slot under `base`, then holds one;
/// returns it with the time waited. Dropping the future (a cancelled call) stops the wait.
pub(crate) async fn acquire(
    base: &Path,
    skill: &str,
    max: u32,
) -> std::io::Result<(Slot, Duration)> {
    let dir = slots_of(base, skill);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(10);
    loop {
        for i in 0..max.max(1) {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(dir.join(format!("slot-{i}")))?;
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok((Slot { _lock: file }, started.elapsed())),
                Err(rustix::io::Errno::WOULDBLOCK) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

impl Engine {
    /// A slot among the runs `spec` allows at once, waited for, with a note when the wait was
    /// long enough to mention, and how long it was; none is needed without a `concurrency`
    /// block.
    ///
    /// The slots are the skill's by who it is, as its state is: a global skill (or one of a
    /// package installed globally) has one set in every workspace; a workspace skill has one per
    /// workspace, so a cloned repository's skill that takes the name of the user's rate-limited
    /// one cannot use up its slots, nor raise its bound.
    pub(crate) async fn slot(
        &self,
        registry: &Registry,
        spec: &SkillSpec,
        caller_dir: &Path,
    ) -> Result<(Option<Slot>, Option<String>, Option<Duration>), Box<ExecutionResult>> {
        let Some(bound) = &spec.concurrency else {
            return Ok((None, None, None));
        };
        let holder = match registry
            .resolve(&spec.name)
            .filter(|e| e.spec.as_ref().is_some_and(|s| s.name == spec.name))
        {
            Some(entry) => {
                let owner = crate::state::state_owner(entry);
                let users_own = entry.package.as_ref().map_or(entry.scope, |p| p.scope)
                    == skillet_registry::Scope::Global;
                if users_own {
                    owner
                } else {
                    let workspace = self
                        .settings
                        .workspace
                        .clone()
                        .unwrap_or_else(|| self.run_dir(caller_dir));
                    format!("{owner}@{}", crate::state::state_key_workspace(&workspace))
                }
            }
            None => spec.name.clone(),
        };
        let Some(base) = &self.settings.slots_dir else {
            return Ok((
                None,
                Some(format!(
                    "`{}` asks for at most {} runs at once, which is not enforced here: skillet \
                     has no data directory (set HOME or XDG_DATA_HOME)",
                    spec.name, bound.max
                )),
                None,
            ));
        };
        match acquire(base, &holder, bound.max).await {
            Ok((slot, waited)) => {
                let note = (waited >= Duration::from_secs(1)).then(|| {
                    format!(
                        "waited {:.1} s for one of the {} runs of `{}` allowed at once to end",
                        waited.as_secs_f64(),
                        bound.max,
                        spec.name
                    )
                });
                Ok((Some(slot), note, Some(waited)))
            }
            Err(e) => Err(Box::new(
                ExecutionResult::new(&spec.name, Status::Error).with_error(format!(
                    "cannot hold `{}` to its {} runs at once: {e} (in {})",
                    spec.name,
                    bound.max,
                    base.display()
                )),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn no_more_than_max_slots_are_held_and_a_dropped_one_is_taken_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, _) = acquire(tmp.path(), "s", 2).await.unwrap();
        let (_b, _) = acquire(tmp.path(), "s", 2).await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(300), acquire(tmp.path(), "s", 2));
        assert!(third.await.is_err(), "a third run got a slot");
        // Another skill has slots of its own.
        let (_c, _) = acquire(tmp.path(), "other", 1).await.unwrap();
        drop(a);
        let (_d, waited) =
            tokio::time::timeout(Duration::from_secs(2), acquire(tmp.path(), "s", 2))
                .await
                .unwrap()
                .unwrap();
        assert!(waited < Duration::from_secs(1));
    }
}
