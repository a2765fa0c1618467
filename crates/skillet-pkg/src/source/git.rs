//! Fetching a git repository with the `git` program, as cargo and uv do: it knows the user's
//! credentials, SSH setup and proxies, and is the reference for every protocol.
//!
//! The repository is untrusted, so `git` runs hardened: no system config, hooks pointed at
//! `/dev/null`, only the https/http/ssh/git transports (and `file` only for a local URL), no
//! submodules, no terminal prompt, in its own process group under one time limit for the whole
//! fetch. The checkout is then copied into the package folder under the tree policy in
//! `dir.rs` (which drops `.git` and refuses links leaving the package) and deleted.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::dir::copy_tree;
use super::progress::{Phase, Progress};
use super::{FetchOptions, Fetched, Pinned, SourceError};

/// What to fetch from a repository.
pub(crate) struct GitTarget<'a> {
    pub(crate) url: &'a str,
    pub(crate) reference: Option<&'a str>,
    /// For `install --locked`: the commit that must be checked out.
    pub(crate) commit: Option<&'a str>,
    pub(crate) subdir: Option<&'a str>,
}

/// Repository-locating and config-injecting variables that would point `git` somewhere else
/// than the fresh checkout (a user running skillet from a git hook has several set).
const CLEARED_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_SYSTEM",
    "GIT_TEMPLATE_DIR",
    "GIT_EXEC_PATH",
    "GIT_QUARANTINE_PATH",
];

pub(crate) fn fetch_git(
    target: &GitTarget<'_>,
    staging: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    check_url(target.url)?;
    if let Some(reference) = target.reference {
        check_reference(reference)?;
    }
    if let Some(commit) = target.commit
        && !is_full_hash(commit)
    {
        return Err(SourceError::GitArgument {
            what: "git commit",
            value: commit.into(),
            reason: "a locked commit is a full hexadecimal hash; run `skillet update` to lock one",
        });
    }
    std::fs::create_dir_all(staging).map_err(|e| SourceError::io("cannot create", staging, e))?;
    let checkout = staging.join(".git-checkout");
    // git runs in the checkout, so a relative path must be made absolute first.
    let url = if target.url.starts_with("./") || target.url.starts_with("../") {
        std::path::absolute(target.url)
            .map_err(|e| SourceError::io("cannot read", target.url, e))?
            .to_string_lossy()
            .into_owned()
    } else {
        target.url.to_owned()
    };
    let git = Git {
        program: &options.git_program,
        url: &url,
        local: is_local(target.url),
        checkout: &checkout,
        deadline: Instant::now() + options.git_timeout,
        timeout: options.git_timeout,
    };
    let _phase = Phase::start(
        progress,
        &format!("fetching {}", super::without_credentials(target.url)),
        None,
    );
    let result = fetch_into(&git, target, staging, options, progress);
    // The checkout is scratch whether or not the fetch worked; a failure to remove it leaves
    // only files in staging, which the installer removes with the rest.
    let _ = std::fs::remove_dir_all(&checkout);
    result
}

fn fetch_into(
    git: &Git<'_>,
    target: &GitTarget<'_>,
    staging: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    let checkout_arg = git.checkout.as_os_str().to_owned();
    git.run(
        "init",
        None,
        &[
            "init".as_ref(),
            "-q".as_ref(),
            "--template=".as_ref(),
            checkout_arg.as_os_str(),
        ],
    )?;
    let want = target.commit.or(target.reference).unwrap_or("HEAD");
    let shallow = git.run(
        "fetch",
        Some(git.checkout),
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "--no-tags",
            "--no-recurse-submodules",
            "--",
            git.url,
            want,
        ]
        .map(AsRef::as_ref),
    );
    let checkout_what = match shallow {
        Ok(_) => "FETCH_HEAD".to_owned(),
        // A server may refuse a commit asked for by hash (no allowReachableSHA1InWant), and a
        // short hash can only be found in the full history: fetch every branch and tag.
        Err(SourceError::Git { .. }) if looks_like_hash(want) => {
            git.run(
                "fetch",
                Some(git.checkout),
                &[
                    "fetch",
                    "-q",
                    "--no-recurse-submodules",
                    "--",
                    git.url,
                    "+refs/heads/*:refs/skillet/heads/*",
                    "+refs/tags/*:refs/skillet/tags/*",
                ]
                .map(AsRef::as_ref),
            )?;
            format!("{want}^{{commit}}")
        }
        Err(e) => return Err(e),
    };
    git.run(
        "checkout",
        Some(git.checkout),
        &["checkout", "-q", "--detach", checkout_what.as_str()].map(AsRef::as_ref),
    )?;
    let head = git.run(
        "rev-parse",
        Some(git.checkout),
        &["rev-parse", "--verify", "HEAD"].map(AsRef::as_ref),
    )?;
    let commit = head.trim().to_owned();
    if let Some(expected) = target.commit
        && !commit.eq_ignore_ascii_case(expected)
    {
        return Err(SourceError::GitCommitMismatch {
            url: super::without_credentials(target.url),
            expected: expected.into(),
            actual: commit,
        });
    }
    let shown = super::without_credentials(target.url);
    let package = package_dir(git.checkout, target.subdir, &shown)?;
    let root = staging.join("package");
    let source_name = match target.reference {
        Some(reference) => format!("{shown}#{reference}"),
        None => shown.clone(),
    };
    copy_tree(
        &package,
        &root,
        &source_name,
        options.tree_limits(),
        progress,
    )?;
    Ok(Fetched {
        root,
        pinned: Pinned::Git {
            url: shown,
            commit,
            reference: target.reference.map(str::to_owned),
            subdir: target.subdir.map(str::to_owned),
        },
    })
}

/// The package's folder in the checkout, after resolving every link in it, which must stay
/// inside the checkout.
fn package_dir(checkout: &Path, subdir: Option<&str>, url: &str) -> Result<PathBuf, SourceError> {
    let base = checkout
        .canonicalize()
        .map_err(|e| SourceError::io("cannot read", checkout, e))?;
    let Some(subdir) = subdir.filter(|s| !s.is_empty() && *s != ".") else {
        return Ok(base);
    };
    let err = |reason| SourceError::Subdir {
        subdir: subdir.into(),
        reason,
        url: url.into(),
    };
    if Path::new(subdir).is_absolute() {
        return Err(err("is an absolute path"));
    }
    let resolved = match base.join(subdir).canonicalize() {
        Ok(path) => path,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(err("does not exist")),
        Err(e) => return Err(SourceError::io("cannot read", base.join(subdir), e)),
    };
    let inside = resolved
        .strip_prefix(&base)
        .map_err(|_| err("is outside the repository"))?;
    if inside.components().any(|c| c.as_os_str() == ".git") {
        return Err(err("is inside .git"));
    }
    if !resolved.is_dir() {
        return Err(err("is not a folder"));
    }
    Ok(resolved)
}

struct Git<'a> {
    program: &'a Path,
    url: &'a str,
    local: bool,
    checkout: &'a Path,
    deadline: Instant,
    timeout: Duration,
}

impl Git<'_> {
    /// Runs one git command under the fetch's deadline; returns its stdout.
    fn run(
        &self,
        step: &'static str,
        dir: Option<&Path>,
        args: &[&std::ffi::OsStr],
    ) -> Result<String, SourceError> {
        let mut command = Command::new(self.program);
        if let Some(dir) = dir {
            command.arg("-C").arg(dir);
        }
        let file_allow = if self.local { "always" } else { "never" };
        for config in [
            "core.hooksPath=/dev/null",
            "core.fsmonitor=false",
            "core.autocrlf=false",
            "submodule.recurse=false",
            "fetch.recurseSubmodules=false",
            "protocol.allow=never",
            "protocol.https.allow=always",
            "protocol.http.allow=always",
            "protocol.ssh.allow=always",
            "protocol.git.allow=always",
            "protocol.ext.allow=never",
            &format!("protocol.file.allow={file_allow}"),
            "advice.detachedHead=false",
            "init.defaultBranch=skillet",
            "gc.auto=0",
            "maintenance.auto=false",
        ] {
            command.arg("-c").arg(config);
        }
        command.args(args);
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            // The user's own git configuration could rewrite the URL (`url.*.insteadOf`),
            // run a credential helper or a proxy command: a fetch for skillet reads none of it.
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so a timeout kills git's helpers (ssh, git-remote-https) too.
            .process_group(0);
        let child = command.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SourceError::GitMissing
            } else {
                SourceError::io("cannot run", "git", e)
            }
        })?;
        self.wait(step, child)
    }

    fn wait(&self, step: &'static str, mut child: Child) -> Result<String, SourceError> {
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= self.deadline => {
                    let _ = rustix::process::kill_process_group(
                        rustix::process::Pid::from_child(&child),
                        rustix::process::Signal::KILL,
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(SourceError::GitTimeout {
                        url: super::without_credentials(self.url),
                        seconds: self.timeout.as_secs().max(1),
                    });
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(SourceError::io("cannot wait for", "git", e)),
            }
        };
        let stdout = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        if status.success() {
            return Ok(String::from_utf8_lossy(&stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        Err(SourceError::Git {
            step,
            url: super::without_credentials(self.url),
            // git may quote the URL it was given, token and all.
            stderr: if tail.is_empty() {
                status.to_string()
            } else {
                super::without_credentials(&tail)
            },
        })
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        out
    })
}

fn check_url(url: &str) -> Result<(), SourceError> {
    let refuse = |reason| SourceError::GitArgument {
        what: "git URL",
        value: url.into(),
        reason,
    };
    if url.is_empty() {
        return Err(refuse("it is empty"));
    }
    if url.starts_with('-') {
        return Err(refuse(
            "it starts with '-', which git would read as an option",
        ));
    }
    if url.chars().any(char::is_control) {
        return Err(refuse("it holds a control character"));
    }
    if let Some(part) = url_host_parts(url)
        .into_iter()
        .find(|p| p.starts_with('-') || p.to_ascii_lowercase().starts_with("%2d"))
    {
        // `ssh://-oProxyCommand=...` or `-oProxyCommand=...@host:path`: ssh would read it as
        // an option and run a command.
        let _ = part;
        return Err(refuse(
            "its host or user name starts with '-', which ssh would read as an option",
        ));
    }
    if names_transport_helper(url) {
        return Err(refuse(
            "a transport helper (TRANSPORT::ADDRESS) is not allowed; use an https, ssh, git or file URL",
        ));
    }
    Ok(())
}

/// Whether git would hand `url` to a transport helper, a program named by the URL
/// (`ext::sh -c …`, `fd::17`, `git+ext::…`): as git decides it, a scheme-like name (a letter,
/// then letters, digits, `+`, `-`, `.`) right at the start, followed by `::`. An IPv6 address
/// (`https://[::1]/repo`, `ssh://git@[fe80::1]/repo`) has `::` too, but after the scheme's `:`,
/// so it names no helper.
pub(crate) fn names_transport_helper(url: &str) -> bool {
    let scheme = url
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_digit() || "+-.".contains(c))))
        })
        .map_or(url.len(), |(i, _)| i);
    scheme > 0 && url[scheme..].starts_with("::")
}

/// The user and host of a git URL in any form git accepts (`scheme://user@host:port/path`,
/// `git+scheme://...`, scp-like `user@host:path`); empty when it names neither (a local path).
fn url_host_parts(url: &str) -> Vec<&str> {
    let url = url.strip_prefix("git+").unwrap_or(url);
    let authority = if let Some((_, rest)) = url.split_once("://") {
        rest.split('/').next().unwrap_or("")
    } else {
        // scp-like: a ':' before any '/'; anything else is a local path.
        match url.split_once(':') {
            Some((head, _)) if !head.contains('/') => head,
            _ => return Vec::new(),
        }
    };
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let host = host.trim_start_matches('[');
    let mut parts: Vec<&str> = user.into_iter().collect();
    parts.push(host);
    parts
}

fn check_reference(reference: &str) -> Result<(), SourceError> {
    let refuse = |reason| SourceError::GitArgument {
        what: "git reference",
        value: reference.into(),
        reason,
    };
    if reference.is_empty() {
        return Err(refuse("it is empty; name a branch, tag or commit"));
    }
    if reference.starts_with('-') {
        return Err(refuse(
            "it starts with '-', which git would read as an option",
        ));
    }
    if reference.contains("..")
        || !reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c))
    {
        return Err(refuse(
            "a branch, tag or commit is letters, digits and '.', '_', '/', '+', '-' (no '..')",
        ));
    }
    Ok(())
}

fn is_local(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("file://")
        || url.starts_with('/')
        || url.starts_with("./")
        || url.starts_with("../")
}

fn looks_like_hash(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_full_hash(text: &str) -> bool {
    (text.len() == 40 || text.len() == 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}
