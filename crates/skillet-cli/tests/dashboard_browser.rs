//! The dashboard of `skillet serve --http` in a real headless Chromium, driven by Playwright
//! (tests/dashboard/dashboard_browser.py): a run appears live, its detail opens, a breaker is
//! closed from the page, output that looks like markup stays text, and the page fits a phone.
//! Screenshots are kept under target/tmp/dashboard-screenshots-UID.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::{Path, PathBuf};

use common::World;
use common::served::Served;
use serde_json::json;

const DRIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/dashboard/dashboard_browser.py"
);

/// The system's Chromium, if it has one.
fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The front door's rule for the dashboard: the page without the token, its data and its
/// action only with it, its action only as a POST from its own origin, and nothing for a page
/// that rebinds a name of its own to loopback.
#[test]
fn the_page_is_open_but_its_data_and_actions_need_the_token() {
    let w = World::new();
    let served = Served::start(&w);
    let base = served.base();
    let host = base.trim_start_matches("http://");
    let bearer = format!("Bearer {}", served.token);
    let own = ("Host", host);
    let token = ("Authorization", bearer.as_str());
    let request = |method: &str, path: &str, headers: &[(&str, &str)]| {
        common::served::raw_http(base, method, path, headers, "")
    };
    let (status, page) = request("GET", "/", &[own]);
    assert_eq!(status, 200);
    assert!(page.contains("/assets/app.js") && !page.contains(&served.token));
    assert_eq!(request("GET", "/assets/app.css", &[own]).0, 200);
    for (method, path) in [
        ("GET", "/api/overview"),
        ("GET", "/api/executions"),
        ("POST", "/api/breakers/x/close"),
        ("GET", "/favicon.ico"),
    ] {
        assert_eq!(request(method, path, &[own]).0, 401, "{method} {path}");
    }
    assert_eq!(request("GET", "/api/overview", &[own, token]).0, 200);
    assert_eq!(
        request("POST", "/api/breakers/x/close", &[own, token]).0,
        200
    );
    // Only the one action takes a POST.
    assert_eq!(request("POST", "/api/overview", &[own, token]).0, 405);
    assert_eq!(
        request("DELETE", "/api/breakers/x/close", &[own, token]).0,
        405
    );
    // Another site's page, even with the token, and a rebound name.
    let evil = ("Origin", "http://evil.example");
    assert_eq!(
        request("POST", "/api/breakers/x/close", &[own, token, evil]).0,
        403
    );
    assert_eq!(request("GET", "/", &[("Host", "evil.example")]).0, 403);
    // Not by sending two names, an absolute-form target, or no name at all.
    assert_eq!(request("GET", "/", &[own, ("Host", "evil.example")]).0, 403);
    assert_eq!(request("GET", "http://evil.example/", &[own]).0, 403);
    let (status, _) = request("GET", "/", &[]);
    assert!(status == 403 || status == 400, "{status}");
}

#[test]
fn the_dashboard_shows_runs_live_and_closes_a_breaker_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        // CI installs Debian's chromium (.ci/run): there this test must run, not skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "no Chromium on this CI machine: .ci/run should have installed Debian's `chromium`"
        );
        println!("SKIPPED: no Chromium here (apt-get install chromium)");
        return;
    };
    let w = World::new();
    let sh = |name: &str, script: &str, extra: serde_json::Value| {
        let mut spec = json!({"name": name, "description": "d", "type": "code_inline",
                              "command": "sh", "args": ["-c", script]});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        w.skill(name, spec);
    };
    sh("greet", "echo hello from greet", json!({}));
    sh(
        "markup",
        "echo '<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>'",
        json!({}),
    );
    sh(
        "flaky",
        "echo flaking >&2; exit 1",
        json!({"circuit_breaker": {"failure_threshold": 2, "reset_after_s": 600}}),
    );
    let served = Served::start(&w);
    // One folder per user: CI runs the suite as root and again as an unprivileged user.
    let uid = rustix::process::getuid().as_raw();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("dashboard-screenshots-{uid}"));
    std::fs::create_dir_all(&shots).unwrap();
    let out = w
        .command(&common::mcp::python())
        .arg(DRIVER)
        .args(["--base", served.base(), "--token", &served.token])
        .arg("--skillet")
        .arg(assert_cmd::cargo::cargo_bin("skillet"))
        .arg("--chromium")
        .arg(&chromium)
        .arg("--shots")
        .arg(&shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser checks failed\nstdout:\n{stdout}\nstderr:\n{stderr}\ndaemon log:\n{}",
        w.daemon_log()
    );
    for check in [
        "the run appears live",
        "the close button closed the circuit",
        "nothing overflows a phone's width",
        "no script errors (the content policy held)",
    ] {
        assert!(stdout.contains(check), "{check} was not checked:\n{stdout}");
    }
}
