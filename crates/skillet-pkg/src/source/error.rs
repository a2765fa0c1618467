//! What can go wrong fetching a package. Every message names the source and says what to do.

use std::io;
use std::path::PathBuf;

/// A fetch that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading the source or writing the staging directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot read", "cannot write").
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's reason.
        #[source]
        source: io::Error,
    },
    /// A folder source that is not a folder.
    #[error(
        "{path} is not a folder: give the folder that holds the package (its skillet-package.toml, .claude-plugin/ or SKILL.md)"
    )]
    NotADir {
        /// The path given.
        path: PathBuf,
    },
    /// A folder given as the source does not exist.
    #[error(
        "{path} does not exist: give the folder that holds the package (a relative path starts from the current directory, or from -C), or a package's name to install it from an added marketplace (`skillet search WORD` finds one)"
    )]
    NoSuchDir {
        /// The path given.
        path: PathBuf,
    },
    /// A file in the package that is neither a regular file, a folder nor a symbolic link.
    #[error(
        "{path} in {source_name} is a {kind}: a package holds only regular files and folders; remove it from the package"
    )]
    SpecialFile {
        /// The entry, relative to the package.
        path: String,
        /// What it is ("device", "FIFO", "socket").
        kind: &'static str,
        /// The source being fetched.
        source_name: String,
    },
    /// A symbolic link that is not a link to a regular file inside the package.
    #[error(
        "{path} in {source_name} is a symbolic link to {target:?}, {reason}: a package's symbolic links may only name a regular file inside the package; replace it with the file itself"
    )]
    Link {
        /// The link, relative to the package.
        path: String,
        /// Where it points.
        target: String,
        /// Why it is refused.
        reason: &'static str,
        /// The source being fetched.
        source_name: String,
    },
    /// A regular file with more than one name: it may be a file outside the package.
    #[error(
        "{path} in {source_name} has {links} hard links, so it may be a file outside the package: copy it (cp) to give it a name of its own"
    )]
    HardLink {
        /// The file, relative to the package.
        path: String,
        /// How many names it has.
        links: u64,
        /// The source being fetched.
        source_name: String,
    },
    /// A package past a size or count limit.
    #[error(
        "{source_name} is too large: more than {limit}; a package this large is refused (split it, or remove what a skill does not need)"
    )]
    TooLarge {
        /// The limit, in words ("100000 files and folders", "512 MiB").
        limit: String,
        /// The source being fetched.
        source_name: String,
    },
    /// The `git` program is not installed.
    #[error(
        "the `git` program was not found: install git (for example `apt install git`) to install packages from git repositories"
    )]
    GitMissing,
    /// A git URL or reference skillet refuses to hand to `git`.
    #[error("{what} {value:?} is refused: {reason}")]
    GitArgument {
        /// "git URL" or "git reference".
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A `git` command failed.
    #[error(
        "git {step} failed for {url}: {stderr}\ncheck the URL and the branch, tag or commit, and that you can reach the repository (`git ls-remote {url}`)"
    )]
    Git {
        /// The git subcommand ("fetch", "checkout").
        step: &'static str,
        /// The repository.
        url: String,
        /// What git said, trimmed.
        stderr: String,
    },
    /// A `git` command ran past the fetch's time limit and was killed.
    #[error(
        "fetching {url} with git took longer than {seconds} s and was stopped: check your network and the URL, and try again"
    )]
    GitTimeout {
        /// The repository.
        url: String,
        /// The limit.
        seconds: u64,
    },
    /// The checked-out commit is not the one the lockfile names.
    #[error(
        "{url} gave commit {actual}, not {expected} as skillet.lock says: the repository changed its history; run `skillet update` to choose a new commit"
    )]
    GitCommitMismatch {
        /// The repository.
        url: String,
        /// The commit asked for.
        expected: String,
        /// The commit checked out.
        actual: String,
    },
    /// A package folder inside a repository that is missing or leaves it.
    #[error("the folder {subdir:?} {reason} in {url}: name a folder inside the repository")]
    Subdir {
        /// The folder as given.
        subdir: String,
        /// "does not exist", "is outside the repository", "is not a folder".
        reason: &'static str,
        /// The repository.
        url: String,
    },
    /// An archive URL skillet cannot fetch.
    #[error("{url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// A sha256 that is not 64 hexadecimal digits.
    #[error(
        "{value:?} is not a sha256 digest: give the archive's 64 hexadecimal digits (`sha256sum FILE`)"
    )]
    BadDigest {
        /// The value given.
        value: String,
    },
    /// The archive's bytes do not have the digest they must have.
    #[error(
        "the archive {url} has sha256 {actual}, but {expected} was expected: it was changed or corrupted; nothing was unpacked. Check the digest with the package's publisher"
    )]
    DigestMismatch {
        /// The archive.
        url: String,
        /// The digest that was required.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
    },
    /// An HTTP status other than success.
    #[error("{url} answered HTTP {status}: check the URL{hint}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status, as "404 Not Found".
        status: String,
        /// More advice for some statuses.
        hint: &'static str,
    },
    /// A connection or transfer error.
    #[error("cannot download {url}: {reason}; check your network and the URL")]
    Http {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A download that stopped sending bytes.
    #[error("the download of {url} stalled: no data for {seconds} s; try again later")]
    Stalled {
        /// The URL.
        url: String,
        /// The stall limit.
        seconds: u64,
    },
    /// An archive entry that would land outside the package, or is not a plain file or folder.
    #[error(
        "the archive {url} has an unsafe entry {entry:?}: {reason}; nothing of it was installed. Ask the package's publisher for a clean archive"
    )]
    UnsafeEntry {
        /// The archive.
        url: String,
        /// The entry's name, as stored.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// An archive that cannot be read as `.tar.gz`.
    #[error("the archive {url} cannot be read as .tar.gz: {reason}")]
    BadArchive {
        /// The archive.
        url: String,
        /// What failed.
        reason: String,
    },
}

impl SourceError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SourceError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
