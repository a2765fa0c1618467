//! Which files hold credentials by convention, by their name or their place: never sent to a
//! model as context, never exposed as part of a toolchain, never reached by a grant through
//! another name.

/// Whether `path` names a file that holds credentials by convention: environment files, private
/// keys and certificates, keystores, credential and password files. They are never sent to a
/// model, whatever the patterns say: a cloned repository's skill must not be able to ship a
/// developer's `config/credentials` to a third party, and a false positive costs one file of
/// context.
///
/// ```
/// assert!(skillet_spec::is_secret_file("deploy/prod.env"));
/// assert!(skillet_spec::is_secret_file("certs/server.key"));
/// assert!(skillet_spec::is_secret_file("/home/u/.cargo/credentials.toml"));
/// assert!(skillet_spec::is_secret_file("/home/u/.docker/config.json"));
/// assert!(skillet_spec::is_secret_file("infra/terraform.tfstate.backup"));
/// assert!(skillet_spec::is_secret_file("gcp/service-account-prod.json"));
/// assert!(!skillet_spec::is_secret_file("src/keys.rs"));
/// assert!(!skillet_spec::is_secret_file("web/config.json"));
/// ```
pub fn is_secret_file(path: &str) -> bool {
    const NAMES: &[&str] = &[
        ".env",
        ".envrc",
        ".netrc",
        ".npmrc",
        ".pypirc",
        ".pgpass",
        ".git-credentials",
        ".htpasswd",
        ".boto",
        ".s3cfg",
        ".vault-token",
        ".terraformrc",
        "terraform.rc",
        ".yarnrc.yml",
        ".dockercfg",
        "credentials",
        "credentials.json",
        "credentials.toml",
        "credentials.yml",
        "credentials.yaml",
        "secrets.json",
        "secrets.yaml",
        "secrets.yml",
        "secrets.toml",
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
    ];
    const EXTENSIONS: &[&str] = &[
        "env", "pem", "key", "p12", "pfx", "jks", "keystore", "kdbx", "ppk", "gpg", "tfstate",
    ];
    // Files whose name alone says nothing, but whose place does.
    const PLACES: &[&str] = &[
        ".docker/config.json",
        ".kube/config",
        ".config/gh/hosts.yml",
        ".config/hub",
        ".cargo/credentials",
    ];
    // Called for every matching file of a large tree: compared in place, nothing allocated.
    if PLACES.iter().any(|p| {
        path.strip_suffix(p)
            .is_some_and(|head| head.is_empty() || head.ends_with('/'))
    }) {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let starts = |prefix: &str| {
        name.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let ends = |suffix: &str| {
        name.len() >= suffix.len()
            && name
                .get(name.len() - suffix.len()..)
                .is_some_and(|s| s.eq_ignore_ascii_case(suffix))
    };
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
        || starts(".env.")
        || starts("id_rsa")
        || starts("id_ed25519")
        // Terraform state holds every secret it manages; cloud service-account keys.
        || ends(".tfstate.backup")
        || (starts("service-account") && ends(".json"))
        || name.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
        })
}
