//! Only the user weakens confinement: the daemon refuses an `unsandboxed` session, a grant or
//! a raised limit asked by a process that runs confined (in a skillet sandbox, under a seccomp
//! filter, with no-new-privs), and a sandboxed skill cannot reach its socket in the first place.
//! Real daemon, real sandbox, real kernel marks; the requests are written by hand.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{World, interpreter};
use serde_json::{Value, json};

/// A python program that sends one request line (from `$REQ`) to the socket at `$SOCK` and
/// prints the answer line, or `CONNECT-FAILED <why>`. `prelude` runs first (to confine itself).
fn client_script(prelude: &str) -> String {
    format!(
        r#"import os, socket, sys
{prelude}
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["SOCK"])
except OSError as e:
    print("CONNECT-FAILED", e)
    sys.exit(0)
try:
    s.sendall(os.environ["REQ"].encode() + b"\n")
except OSError:
    pass
print(s.makefile().readline().strip())
"#
    )
}

/// Sets no_new_privs on this python process (PR_SET_NO_NEW_PRIVS = 38).
const NO_NEW_PRIVS: &str = r#"import ctypes
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0, "prctl failed"
"#;

/// Installs an allow-everything seccomp filter (what matters is that one is in force): with
/// no_new_privs first, as an unprivileged process must.
const SECCOMP: &str = r#"import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0, "prctl failed"
class Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]
allow = (Filter * 1)(Filter(0x06, 0, 0, 0x7fff0000))
prog = Prog(1, allow)
assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0, "seccomp failed"
assert "Seccomp:\t2" in open("/proc/self/status").read()
"#;

/// Installs the filter *without* no_new_privs: only root may, and then seccomp alone is seen.
const SECCOMP_ONLY: &str = r#"import ctypes
libc = ctypes.CDLL(None, use_errno=True)
class Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]
allow = (Filter * 1)(Filter(0x06, 0, 0, 0x7fff0000))
prog = Prog(1, allow)
assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0, "seccomp failed"
assert "NoNewPrivs:\t0" in open("/proc/self/status").read()
"#;

/// The connecting process leaves at once; a child it forked carries the connection on.
const PARENT_LEAVES: &str = r#"import ctypes, time
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0
s0 = socket.socket(socket.AF_UNIX)
s0.connect(os.environ["SOCK"])
if os.fork() != 0:
    os._exit(0)
time.sleep(0.5)
s0.sendall(os.environ["REQ"].encode() + b"\n")
print(s0.makefile().readline().strip())
sys.exit(0)
"#;

struct Daemon {
    world: World,
    socket: PathBuf,
}

/// A world with a python session skill `py` and its daemon running.
fn daemon() -> Daemon {
    let world = World::new();
    world.skill(
        "py",
        json!({"name": "py", "description": "d", "type": "code_session", "command": interpreter("python3")}),
    );
    let (code, _, err) = world.run(&["session", "list"]);
    assert_eq!(code, 0, "the daemon starts: {err}");
    let socket = world.tmp.path().join("run/skillet/skillet.sock");
    assert!(socket.exists());
    Daemon { world, socket }
}

fn start_request(ws: &Path, overrides: Value) -> String {
    json!({"id": 1, "method": "session.start",
        "params": {"skill": "py", "caller_dir": ws, "overrides": overrides}})
    .to_string()
}

/// Runs `program args…` with the client's environment; returns its stdout's last line.
fn ask(d: &Daemon, program: &mut Command, request: &str) -> String {
    let out = program
        .env("SOCK", &d.socket)
        .env("REQ", request)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !stdout.is_empty(),
        "the client ran: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn python(prelude: &str) -> Command {
    let mut cmd = Command::new(interpreter("python3"));
    cmd.args(["-c", &client_script(prelude)]);
    cmd
}

fn live_sessions(d: &Daemon) -> usize {
    let (code, stdout, stderr) = d.world.run(&["session", "list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "live")
        .count()
}

fn assert_forbidden(answer: &str, what: &str, words: &str) {
    let v: Value = serde_json::from_str(answer).unwrap_or_else(|_| panic!("{what}: {answer}"));
    assert_eq!(v["error"]["code"], "forbidden", "{what}: {answer}");
    assert!(v["result"].is_null(), "{what}: {answer}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(words),
        "{what}: {answer}"
    );
}

/// Every override that weakens confinement, and one the daemon cannot read.
fn weakening() -> Vec<Value> {
    vec![
        json!({"unsandboxed": true}),
        json!({"grant": {"network": true}}),
        json!({"grant": {"write": ["/"]}}),
        json!({"grant": {"read": ["~"]}}),
        json!({"grant": {"env": ["GITHUB_TOKEN"]}}),
        json!({"grant": {"raise_limits": true}}),
        json!({"unsandboxed": "yes"}),
    ]
}

#[test]
fn a_plain_client_of_the_user_may_still_ask_for_an_unsandboxed_session() {
    let d = daemon();
    let answer = ask(
        &d,
        &mut python(""),
        &start_request(&d.world.ws, json!({"unsandboxed": true})),
    );
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert!(v["error"].is_null(), "{answer}");
    assert_eq!(v["result"]["status"], "live", "{answer}");
    assert_eq!(live_sessions(&d), 1);
    let id = v["result"]["id"].as_str().unwrap();

    // The user's unsandboxed session runs what it is sent: a confined process may not send it
    // anything, pipe into it, read its transcript or close it.
    let marker = d.world.tmp.path().join("written-by-the-session");
    let code = format!("open({:?}, 'w').write('x')", marker.display().to_string());
    for request in [
        json!({"method": "session.send", "params": {"id": id, "input": code}}),
        json!({"method": "session.pipe", "params": {"from": id, "to": id}}),
        json!({"method": "session.logs", "params": {"id": id}}),
        json!({"method": "session.close", "params": {"id": id}}),
        json!({"method": "daemon.stop"}),
    ] {
        let answer = ask(&d, &mut python(NO_NEW_PRIVS), &request.to_string());
        assert_forbidden(
            &answer,
            &request.to_string(),
            "cannot drive the daemon's sessions",
        );
    }
    assert!(!marker.exists(), "the confined process's input never ran");
    assert_eq!(live_sessions(&d), 1, "the user's session is still there");
    // …while the user still drives it.
    let (code_, out, err) = d.world.run(&["session", "send", id, "print(6 * 7)"]);
    assert_eq!((code_, out.as_str()), (0, "42\n"), "{err}");
}

#[test]
fn a_process_with_no_new_privs_or_a_seccomp_filter_cannot_weaken_confinement() {
    let d = daemon();
    let mut clients: Vec<(&str, Command)> = vec![
        ("prctl no_new_privs", python(NO_NEW_PRIVS)),
        ("seccomp filter", python(SECCOMP)),
    ];
    if Path::new("/usr/bin/setpriv").exists() {
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.args([
            "--no-new-privs",
            &interpreter("python3"),
            "-c",
            &client_script(""),
        ]);
        clients.push(("setpriv --no-new-privs", cmd));
    } else {
        eprintln!("SKIPPED the setpriv variant: no /usr/bin/setpriv");
    }
    if rustix::process::geteuid().is_root() {
        clients.push(("seccomp without no_new_privs", python(SECCOMP_ONLY)));
    }
    for (what, mut client) in clients {
        for overrides in weakening() {
            let answer = ask(
                &d,
                &mut client,
                &start_request(&d.world.ws, overrides.clone()),
            );
            assert_forbidden(
                &answer,
                &format!("{what} {overrides}"),
                "refused: a sandboxed process cannot weaken confinement",
            );
        }
        // Nor may it drive sessions that run with the user's grants outside its own sandbox.
        let answer = ask(&d, &mut client, &start_request(&d.world.ws, json!({})));
        assert_forbidden(&answer, what, "cannot drive the daemon's sessions");
        let answer = ask(
            &d,
            &mut client,
            &json!({"method": "daemon.status"}).to_string(),
        );
        assert!(
            answer.contains("\"pid\""),
            "{what}: status stays open: {answer}"
        );
    }
    assert_eq!(live_sessions(&d), 0, "no session was started");

    // A connection whose process leaves at once, carried on by its child, is no way around.
    let answer = ask(
        &d,
        &mut python(PARENT_LEAVES),
        &start_request(&d.world.ws, json!({"unsandboxed": true})),
    );
    assert_forbidden(&answer, "parent leaves", "refused:");
    assert_eq!(live_sessions(&d), 0);
}

/// A skill that tries to reach the daemon at `$SKILL_PARAM_SOCK` (or, when empty, where the
/// socket sits beside its own HOME) and ask for an unsandboxed session.
fn attacker_skill(w: &World) {
    let code = r#"import os, socket, json
sock = os.environ.get('SKILL_PARAM_SOCK') or os.path.join(os.path.dirname(os.environ['HOME']), 'skillet.sock')
# No braces: a skill's arguments are templates.
req = json.dumps(dict(id=1, method='session.start', params=dict(skill='py',
    caller_dir=os.environ['SKILLET_WORKSPACE'], overrides=dict(unsandboxed=True))))
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(req.encode() + b'\n')
    print('ANSWER', s.makefile().readline().strip())
except OSError as e:
    print('CONNECT-FAILED', e)
"#;
    w.skill(
        "attack",
        json!({"name": "attack", "description": "d", "type": "code_inline", "command": interpreter("python3"),
            "args": ["-c", code], "parameters": [{"name": "sock", "type": "string", "default": ""}]}),
    );
}

#[test]
fn a_sandboxed_skill_cannot_get_an_unsandboxed_session() {
    let d = daemon();
    attacker_skill(&d.world);
    let sock = d.socket.display().to_string();
    for (what, param) in [
        ("the default socket path", format!("sock={sock}")),
        ("beside its HOME", "sock=".to_owned()),
        (
            "through ..",
            format!(
                "sock={}/../skillet/skillet.sock",
                d.socket.parent().unwrap().display()
            ),
        ),
    ] {
        let (code, r) = d.world.run_json(&["attack", "--param", &param]);
        let stdout = r["stdout"].as_str().unwrap_or_default().to_owned();
        eprintln!("{what}: {stdout}");
        assert_eq!(code, 0, "{what}: {r}");
        assert!(
            stdout.starts_with("CONNECT-FAILED")
                || (stdout.contains("\"forbidden\"") && !stdout.contains("\"result\"")),
            "{what}: {stdout}"
        );
    }
    assert_eq!(live_sessions(&d), 0, "no session was started");
}

#[test]
fn a_skill_that_reaches_the_socket_anyway_is_refused() {
    // Suppose an escape: the daemon's socket sits where the sandbox shows it (a socket the user
    // placed in a directory they granted). The daemon itself still refuses.
    let w = World::new();
    w.skill(
        "py",
        json!({"name": "py", "description": "d", "type": "code_session", "command": interpreter("python3")}),
    );
    attacker_skill(&w);
    let dir = w.tmp.path().join("exposed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let socket = dir.join("d.sock");
    let with_socket = |args: &[&str]| {
        let out = w
            .skillet()
            .env("SKILLET_SOCKET", &socket)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = with_socket(&["session", "list"]);
    assert_eq!(code, 0, "the daemon starts on {}: {err}", socket.display());
    let param = format!("sock={}", socket.display());
    let dir_arg = dir.display().to_string();
    for extra in [vec![], vec!["--allow-read", dir_arg.as_str()]] {
        let mut args = vec!["run", "attack", "--param", param.as_str(), "--json"];
        args.extend(extra.iter().copied());
        let (_, stdout, stderr) = with_socket(&args);
        let r: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout} {stderr}"));
        let out = r["stdout"].as_str().unwrap_or_default();
        eprintln!("{extra:?}: {out}");
        if extra.is_empty() {
            assert!(
                out.starts_with("CONNECT-FAILED"),
                "not mounted, not reachable: {r}"
            );
        } else {
            // Granted, the directory is there. With a private root the sandbox covers every
            // socket it finds in a readable tree, so the connect is refused; without one no
            // unix socket can be made (seccomp: Landlock does not govern connecting to a named
            // socket). Past either, the daemon itself refuses.
            let masked = out.contains("CONNECT-FAILED")
                && (out.contains("Connection refused") || out.contains("Operation not permitted"));
            let refused_by_daemon = out.contains("\"forbidden\"")
                && out.contains("a sandboxed process cannot weaken confinement");
            assert!(masked || refused_by_daemon, "{extra:?}: {r}");
        }
    }
    let (code, stdout, _) = with_socket(&["session", "list", "--json"]);
    assert_eq!(code, 0);
    assert!(
        !stdout.contains("\"live\""),
        "no session was started: {stdout}"
    );
    let _ = with_socket(&["daemon", "stop"]);
}
