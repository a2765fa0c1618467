//! The outside red team's sandbox findings, each reproduced end to end through `skillet run`
//! with the real binary and the real sandbox: credentials deeper than the old walk went, a tree
//! too wide for it, nested hooks under a write grant, host unix sockets, `.git/config` tokens,
//! secrets slipping through `env_passthrough`, skillet's own config under `--allow-read ~`, and
//! a grant of `$XDG_RUNTIME_DIR`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::Write as _;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use common::attack::*;
use common::{World, interpreter};
use serde_json::json;

/// A skill running `cat` on each of `files` (relative to the workspace), then `RAN`.
fn cat_skill(w: &World, files: &[&str]) {
    let list = files.join(" ");
    sh(
        w,
        "peek",
        &format!("cd \"$SKILLET_WORKSPACE\"; for f in {list}; do cat \"$f\"; done; echo RAN"),
    );
}

#[test]
fn credentials_at_any_depth_are_masked() {
    let w = world();
    let files = [
        "a/b/c/d/e/.env",
        "a/b/c/d/e/id_rsa",
        "a/b/c/d/e/f/g/h/credentials.json",
        "a/b/c/d/e/f/.env.production",
        "node_modules/pkg/lib/.env",
        "target/debug/build/.envrc",
    ];
    for f in files {
        w.write(f, SECRET);
    }
    cat_skill(&w, &files);
    let (code, r) = w.run_json(&["peek"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
}

#[test]
fn a_wide_tree_does_not_unmask_what_lies_past_the_old_bound() {
    let w = world();
    for i in 0..20_050 {
        std::fs::write(w.ws.join(format!("f{i:05}")), "").unwrap();
    }
    w.write("config/.env", SECRET);
    w.write("zzz/deep/er/still/secrets.json", SECRET);
    cat_skill(&w, &["config/.env", "zzz/deep/er/still/secrets.json"]);
    let (code, r) = w.run_json(&["peek"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
}

#[test]
fn nested_repositories_stay_read_only_at_any_depth_under_a_write_grant() {
    let w = world();
    for nested in ["v/a/b/c/d/nested", "v/a/b/c/d/e/f/g/h/other"] {
        std::fs::create_dir_all(w.path(&format!("{nested}/.git/hooks"))).unwrap();
    }
    sh(
        &w,
        "plant",
        "cd \"$SKILLET_WORKSPACE\"; \
         for r in v/a/b/c/d/nested v/a/b/c/d/e/f/g/h/other; do \
           printf '#!/bin/sh\\necho pwned\\n' > $r/.git/hooks/post-checkout 2>/dev/null; \
           echo x > $r/.git/config 2>/dev/null; \
         done; echo ok > v/a/b/c/d/allowed.txt; echo RAN",
    );
    let (code, r) = w.run_json(&["plant", "--allow-write", "."]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    // The grant works where it should, and nothing was planted in either repository.
    assert!(w.path("v/a/b/c/d/allowed.txt").exists(), "{r}");
    for nested in ["v/a/b/c/d/nested", "v/a/b/c/d/e/f/g/h/other"] {
        for f in [".git/hooks/post-checkout", ".git/config"] {
            assert!(
                !w.path(&format!("{nested}/{f}")).exists(),
                "{nested}/{f}: {r}"
            );
        }
    }
}

/// A host listener at `path` that sends [`SECRET`] to whoever connects, as a daemon would.
fn listen(path: &Path) -> UnixListener {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let l = UnixListener::bind(path).unwrap();
    let served = l.try_clone().unwrap();
    std::thread::spawn(move || {
        for mut c in served.incoming().flatten() {
            let _ = c.write_all(SECRET.as_bytes());
        }
    });
    l
}

#[test]
fn host_unix_sockets_cannot_be_reached_at_any_depth_nor_in_a_grant() {
    let w = world();
    let granted = w.tmp.path().join("data");
    let socks: Vec<PathBuf> = vec![
        w.path("s0.sock"),
        w.path("a/b/c/s3.sock"),
        w.path("a/b/c/d/e/f/g/s7.sock"),
        w.path(".git/fsmonitor--daemon.ipc"),
        granted.join("x/y/db.sock"),
    ];
    let _listeners: Vec<UnixListener> = socks.iter().map(|p| listen(p)).collect();
    // The listeners answer on the host: what the skill is refused is real.
    for p in &socks {
        let mut got = String::new();
        let mut c = std::os::unix::net::UnixStream::connect(p).unwrap();
        std::io::Read::read_to_string(&mut c, &mut got).unwrap();
        assert_eq!(got, SECRET);
    }
    let code = "import socket, sys\n\
                for p in sys.argv[1:]:\n\
                \x20   s = socket.socket(socket.AF_UNIX)\n\
                \x20   try:\n\
                \x20       s.connect(p); print('CONNECTED', p, s.recv(64))\n\
                \x20   except OSError as e:\n\
                \x20       print('refused', p, e)\n\
                print('RAN')\n";
    let mut args = vec![json!("-c"), json!(code)];
    args.extend(socks.iter().map(|p| json!(s(p))));
    w.skill(
        "dial",
        json!({"name": "dial", "description": "d", "type": "code_inline",
               "command": interpreter("python3"), "args": args}),
    );
    let (code, r) = w.run_json(&["dial", "--allow-read", &s(&granted)]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
    let out = r["stdout"].as_str().unwrap();
    assert!(!out.contains("CONNECTED"), "{out}");
    let refused = out.lines().filter(|l| l.starts_with("refused ")).count();
    assert_eq!(refused, socks.len(), "{out}");
}

#[test]
fn git_settings_are_masked_and_git_log_still_works() {
    let w = world();
    let git = |args: &[&str], dir: &Path| {
        let st = std::process::Command::new("git")
            .args(["-c", "user.email=a@b", "-c", "user.name=n"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(st.status.success(), "{st:?}");
    };
    std::fs::remove_dir_all(w.path(".git")).unwrap();
    git(&["init", "-q"], &w.ws);
    git(
        &["commit", "-q", "--allow-empty", "-m", "first-commit"],
        &w.ws,
    );
    let token = format!("https://x-access-token:{SECRET}@github.com/o/r");
    git(&["remote", "add", "origin", &token], &w.ws);
    git(
        &[
            "config",
            "http.https://github.com/.extraheader",
            &format!("AUTHORIZATION: basic {SECRET}"),
        ],
        &w.ws,
    );
    // A nested repository and a submodule's settings, deeper down.
    let nested = w.path("vendor/a/b/c/d/lib");
    std::fs::create_dir_all(&nested).unwrap();
    git(&["init", "-q"], &nested);
    git(&["remote", "add", "origin", &token], &nested);
    w.write(".git/modules/sub/config", &format!("url = {token}\n"));
    w.write(".git-credentials", &format!("{token}\n"));
    sh(
        &w,
        "gitpeek",
        "cd \"$SKILLET_WORKSPACE\"; cat .git/config vendor/a/b/c/d/lib/.git/config \
         .git/modules/sub/config .git-credentials; git --no-pager log --oneline; \
         git remote -v; echo RAN",
    );
    let (code, r) = w.run_json(&["gitpeek"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
    assert!(
        r["stdout"].as_str().unwrap().contains("first-commit"),
        "git log must still work: {r}"
    );
}

#[test]
fn secret_environment_variables_need_the_users_grant() {
    let w = world();
    let vars = [
        ("LDAP_BIND_PW", "hunter2-ldap"),
        ("DB_PW", "hunter2-db"),
        ("WALLET_MNEMONIC", "abandon ability able"),
        ("ENCRYPTION_KEYS", "k1,k2"),
        ("MASTER_KEY_B64", "bWFzdGVy"),
        ("SIGNING_KEY_1", "sign-1"),
        ("HMAC", "hmac-value"),
        ("OTP_SEED", "otp-seed-value"),
        ("PGPASS", "pg-pass-value"),
        ("NOTES", "9f86d081884c7d659a2feaa0c55ad015"),
        ("BLOB", "q7Jm2ZpX9vR4tK8wN3bL6yH1cF5dG0sA"),
    ];
    let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
    let script = names
        .iter()
        .map(|n| format!("echo \"{n}=${{{n}:-unset}}\";"))
        .collect::<String>()
        + "echo \"EDITOR=$EDITOR\"; echo RAN";
    w.skill(
        "envy",
        json!({"name": "envy", "description": "d", "type": "code_inline",
               "command": interpreter("sh"), "args": ["-c", script],
               "security": {"permissions": {"env_passthrough":
                   names.iter().chain(&["EDITOR"]).collect::<Vec<_>>()}}}),
    );
    let run = |extra: &[&str]| {
        let mut cmd = w.skillet();
        cmd.args(["run", "envy", "--json"]).args(extra);
        for (n, v) in vars {
            cmd.env(n, v);
        }
        cmd.env("EDITOR", "vim");
        let out = cmd.output().unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        r
    };
    let r = run(&[]);
    ran(&r);
    let out = r["stdout"].as_str().unwrap();
    for (n, v) in vars {
        assert!(!out.contains(v), "{n} passed without a grant: {out}");
    }
    assert!(
        out.contains("EDITOR=vim"),
        "a harmless variable still passes: {out}"
    );
    let warnings = r.to_string();
    assert!(warnings.contains("--allow-env LDAP_BIND_PW"), "{warnings}");
    // Granted by the user, it passes.
    let r = run(&["--allow-env", "LDAP_BIND_PW"]);
    assert!(
        r["stdout"]
            .as_str()
            .unwrap()
            .contains("LDAP_BIND_PW=hunter2-ldap"),
        "{r}"
    );
}

#[test]
fn skillets_own_settings_are_masked_under_a_grant_of_the_home() {
    let w = world();
    let cfg = "~/.config/skillet";
    for f in ["marketplaces.toml", "skillet.toml", "skillet.lock"] {
        // A comment: skillet.toml must still parse for the run to start.
        w.write(
            &format!("{cfg}/{f}"),
            &format!("# https://{SECRET}@git.example/x\n"),
        );
    }
    w.write(
        &format!("{cfg}/skills/mine.json"),
        "{\"note\": \"visible\"}",
    );
    let dir = w.path(cfg);
    sh(
        &w,
        "home",
        &format!(
            "for f in marketplaces.toml skillet.toml skillet.lock skills/mine.json; do \
             cat {}/$f; done; echo RAN",
            s(&dir)
        ),
    );
    let (code, r) = w.run_json(&["home", "--allow-read", "~"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
    assert!(r["stdout"].as_str().unwrap().contains("visible"), "{r}");
}

#[test]
fn a_grant_of_the_runtime_directory_is_refused_clearly() {
    let w = world();
    sh(&w, "rt", "echo RAN");
    let runtime = s(&w.tmp.path().join("run"));
    for flag in ["--allow-read", "--allow-write"] {
        let (code, r) = w.run_json(&["rt", flag, &runtime]);
        assert_ne!(code, 0, "{r}");
        let error = r["error"].as_str().unwrap_or("");
        assert!(
            error.contains("scratch directories") && error.contains(&runtime),
            "{flag}: {r}"
        );
        assert!(!error.contains("Read-only file system"), "{r}");
    }
}

#[test]
fn tools_logins_keyrings_browsers_and_histories_are_masked_under_a_grant_of_the_home() {
    let w = world();
    let masked = [
        ".terraform.d/credentials.tfrc.json",
        ".my.cnf",
        ".config/rclone/rclone.conf",
        ".config/composer/auth.json",
        ".m2/settings.xml",
        ".gradle/gradle.properties",
        ".local/share/keyrings/login.keyring",
        ".mozilla/firefox/p.default/logins.json",
        ".config/google-chrome/Default/Cookies",
        ".bash_history",
        ".zsh_history",
        ".psql_history",
        ".vault-token",
    ];
    for f in masked {
        w.write(&format!("~/{f}"), &format!("{SECRET} {f}\n"));
    }
    w.write("~/notes/todo.txt", "visible note\n");
    let home = s(&w.home);
    sh(
        &w,
        "home",
        &format!(
            "for f in {} notes/todo.txt; do cat {home}/$f 2>/dev/null; done; echo RAN",
            masked.join(" ")
        ),
    );
    let (code, r) = w.run_json(&["home", "--allow-read", "~"]);
    assert_eq!(code, 0, "{r}");
    ran(&r);
    no_secret(&r);
    assert!(
        r["stdout"].as_str().unwrap().contains("visible note"),
        "{r}"
    );
}
