//! Which of the parent's environment variables a code skill sees, and which look like
//! credentials that only the user may pass.

/// Parent variables every code skill sees: enough for programs to find themselves and speak the
/// user's language, nothing that identifies a service or holds a credential. (`HOME` and
/// `TMPDIR` point at the run's scratch directory.)
pub const DEFAULT_ENV_PASSTHROUGH: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TZ",
    "USER",
    "LOGNAME",
];

/// Whether a variable name looks like it holds a credential.
///
/// ```
/// use skillet_engine::looks_secret;
/// assert!(looks_secret("GITHUB_TOKEN") && looks_secret("AWS_REGION") && looks_secret("db_password"));
/// assert!(!looks_secret("PATH") && !looks_secret("LANG"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const PREFIXES: &[&str] = &[
        "AWS_",
        "AZURE_",
        "GCP_",
        "GOOGLE_",
        "SSH_",
        "GPG_",
        "OPENAI_",
        "ANTHROPIC_",
    ];
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "CREDENTIAL",
        "API_KEY",
        "APIKEY",
        "PRIVATE",
        "SESSION",
        "COOKIE",
        "AUTH",
    ];
    PREFIXES.iter().any(|p| upper.starts_with(p))
        || upper.ends_with("_KEY")
        || PARTS.iter().any(|p| upper.contains(p))
}
