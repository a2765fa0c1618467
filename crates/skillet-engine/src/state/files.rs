//! The files a run sees its state through: a private directory made for the run, holding
//! `rw/state.json` and `shared/<skill>.json` (read-only). The run may write anything in `rw/`
//! (to replace the document by a rename), up to a bound the supervisor holds it to while it
//! runs (`state_dir_cap`). After the run the document is read back through the handle of `rw/` opened
//! before the run, never through a path the run could have changed: a link, a FIFO, a hard
//! link to a file elsewhere, or a file past the size limit is refused.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

/// The file name of the document inside the run's writable state directory.
pub(crate) const STATE_FILE: &str = "state.json";

/// A run's state directory, removed when dropped.
#[derive(Debug)]
pub(crate) struct StateDir {
    top: PathBuf,
    rw: File,
    /// What the run was given, to tell whether it changed anything.
    pub(crate) initial: String,
}

/// Why a run's document cannot be committed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadBackError {
    #[error("$SKILLET_STATE was replaced by something that is not a plain file ({0})")]
    NotAFile(&'static str),
    #[error("$SKILLET_STATE is {size} bytes, over the state limit of {max} KiB")]
    TooLarge { size: u64, max: u64 },
    #[error("$SKILLET_STATE is not valid JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("$SKILLET_STATE could not be read: {0}")]
    Io(#[from] std::io::Error),
}

impl StateDir {
    /// A fresh directory beside this process's scratch directories, with `doc` (or `{}`) as
    /// the run's document and each shared document under `shared/`. Not the system's `/tmp`:
    /// a skill granted `/tmp` could read and plant another running skill's state there.
    pub(crate) fn create(doc: Option<&str>, shared: &[(String, String)]) -> std::io::Result<Self> {
        let parent = skillet_sandbox::scratch_parent();
        skillet_sandbox::create_private_dir(&parent)?;
        let top = parent.join(format!("skillet-state-{}", uuid::Uuid::now_v7().simple()));
        let private = |dir: &Path| std::fs::DirBuilder::new().mode(0o700).create(dir);
        // `create` fails on an existing name, so nothing planted there is used.
        private(&top)?;
        let made = StateDir {
            rw: {
                private(&top.join("rw"))?;
                private(&top.join("shared"))?;
                File::open(top.join("rw"))?
            },
            top,
            initial: doc.unwrap_or("{}").to_owned(),
        };
        write_new(&made.top.join("rw").join(STATE_FILE), &made.initial)?;
        for (skill, text) in shared {
            write_new(&made.top.join("shared").join(format!("{skill}.json")), text)?;
        }
        Ok(made)
    }

    /// The document's path, for `$SKILLET_STATE`.
    pub(crate) fn state_path(&self) -> PathBuf {
        self.top.join("rw").join(STATE_FILE)
    }

    /// The writable directory, for the sandbox policy.
    pub(crate) fn rw_dir(&self) -> PathBuf {
        self.top.join("rw")
    }

    /// The shared documents' directory, for `$SKILLET_STATE_SHARED` and the policy.
    pub(crate) fn shared_dir(&self) -> PathBuf {
        self.top.join("shared")
    }

    /// The document the run left, checked: `None` when it removed the file (it cleared its
    /// state).
    pub(crate) fn read_back(&self, max_bytes: u64) -> Result<Option<String>, ReadBackError> {
        let fd = match rustix::fs::openat(
            self.rw.as_fd(),
            STATE_FILE,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err(ReadBackError::NotAFile("a symbolic link")),
            Err(e) => return Err(ReadBackError::Io(e.into())),
        };
        let st = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => {}
            FileType::Fifo => return Err(ReadBackError::NotAFile("a FIFO")),
            FileType::Socket => return Err(ReadBackError::NotAFile("a socket")),
            _ => return Err(ReadBackError::NotAFile("a device or directory")),
        }
        // A hard link would make skillet read, as this skill's state, a file it was not
        // given: whatever the link shares its data with.
        if st.st_nlink != 1 {
            return Err(ReadBackError::NotAFile("a file with other hard links"));
        }
        let mut text = String::new();
        let limit = max_bytes.saturating_add(1);
        File::from(fd).take(limit).read_to_string(&mut text)?;
        let size = text.len() as u64;
        if size > max_bytes {
            return Err(ReadBackError::TooLarge {
                size: u64::try_from(st.st_size).unwrap_or(size).max(size),
                max: max_bytes / 1024,
            });
        }
        // What `skillet state` and the next run read back: a document any of them would take
        // another way (a key twice) or not at all (too deep, a number past a double) is refused
        // here, before it is stored, rather than breaking every later run.
        skillet_spec::strict_json::parse(&text).map_err(ReadBackError::NotJson)?;
        Ok(Some(text))
    }
    /// Puts `doc` back as the document, through the handle of `rw/` (never a path the run
    /// could have redirected): a session's next input must start from the saved document, not
    /// from what a failed or unsaved input left. Whatever the run left at the name (a file, a
    /// link, a FIFO, an empty directory) is removed first, a directory with things in it is
    /// renamed aside; the new file is created, never opened.
    pub(crate) fn reset(&self, doc: &str) -> std::io::Result<()> {
        use std::io::Write;
        match rustix::fs::unlinkat(self.rw.as_fd(), STATE_FILE, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(rustix::io::Errno::ISDIR | rustix::io::Errno::PERM) => {
                match rustix::fs::unlinkat(
                    self.rw.as_fd(),
                    STATE_FILE,
                    rustix::fs::AtFlags::REMOVEDIR,
                ) {
                    Ok(()) => {}
                    // A directory with things in it: set aside under another name in `rw/`
                    // (one rename, nothing followed), where it still counts against the cap.
                    Err(rustix::io::Errno::NOTEMPTY | rustix::io::Errno::EXIST) => {
                        let aside = format!(".put-aside-{}", uuid::Uuid::now_v7().simple());
                        rustix::fs::renameat(
                            self.rw.as_fd(),
                            STATE_FILE,
                            self.rw.as_fd(),
                            aside.as_str(),
                        )?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
        let fd = rustix::fs::openat(
            self.rw.as_fd(),
            STATE_FILE,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        File::from(fd).write_all(doc.as_bytes())
    }
}

impl StateDir {
    /// Writes the documents shared with the skill under `shared/`, for a pooled call whose
    /// interpreter was started (with an empty `shared/`) before the call came.
    pub(crate) fn put_shared(&self, shared: &[(String, String)]) -> std::io::Result<()> {
        for (skill, text) in shared {
            write_new(&self.shared_dir().join(format!("{skill}.json")), text)?;
        }
        Ok(())
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        // A run may leave folders its user cannot list; they go too.
        skillet_sandbox::remove_tree(&self.top);
    }
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_a_fifo_a_hard_link_and_an_oversized_file_are_refused() {
        let dir = StateDir::create(Some("{\"a\":1}"), &[]).expect("create");
        assert_eq!(
            dir.read_back(1024).expect("read").as_deref(),
            Some("{\"a\":1}")
        );
        let path = dir.state_path();

        std::fs::remove_file(&path).expect("rm");
        assert_eq!(dir.read_back(1024).expect("read"), None, "removed: cleared");

        std::os::unix::fs::symlink("/etc/passwd", &path).expect("link");
        assert!(matches!(
            dir.read_back(1 << 20),
            Err(ReadBackError::NotAFile(_))
        ));
        std::fs::remove_file(&path).expect("rm");

        let elsewhere = dir.top.join("elsewhere.json");
        std::fs::write(&elsewhere, "{}").expect("write");
        std::fs::hard_link(&elsewhere, &path).expect("hard link");
        assert!(matches!(
            dir.read_back(1024),
            Err(ReadBackError::NotAFile(_))
        ));
        std::fs::remove_file(&path).expect("rm");

        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("fifo");
        assert!(matches!(
            dir.read_back(1024),
            Err(ReadBackError::NotAFile(_))
        ));
        std::fs::remove_file(&path).expect("rm");

        std::fs::write(&path, format!("\"{}\"", "x".repeat(3000))).expect("write");
        assert!(matches!(
            dir.read_back(2048),
            Err(ReadBackError::TooLarge { .. })
        ));
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(
            dir.read_back(2048),
            Err(ReadBackError::NotJson(_))
        ));
    }
}
