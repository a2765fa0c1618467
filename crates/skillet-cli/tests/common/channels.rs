//! Channel fixtures: a python client of `$SKILLET_CHANNEL_FD` and the skills that run it.

use serde_json::{Value, json};

use super::{World, interpreter};

/// A channel client: the skill's argument is a JSON array of requests, each sent on
/// `$SKILLET_CHANNEL_FD`; prints the array of answers. `body_len` makes a body of that many
/// bytes, `repeat` sends a request that many times (answers counted by outcome).
pub const CLIENT: &str = r#"
import json, os, sys
_fd = int(os.environ["SKILLET_CHANNEL_FD"])
_r = os.fdopen(_fd, "rb")
_w = os.fdopen(os.dup(_fd), "wb", buffering=0)

def call(**req):
    if "body_len" in req:
        req["body"] = "x" * req.pop("body_len")
    _w.write(json.dumps(req).encode() + b"\n")
    return json.loads(_r.readline())

if len(sys.argv) > 1 and sys.argv[1].startswith("["):
    answers = []
    for req in json.loads(sys.argv[1]):
        n = req.pop("repeat", 1)
        if n == 1:
            answers.append(call(**req))
        else:
            got = [call(**dict(req)) for _ in range(n)]
            answers.append({"sent": sum(a["ok"] for a in got),
                            "refused": sorted({a.get("error", "")[:60] for a in got if not a["ok"]})})
    print(json.dumps(answers))
"#;

/// A code_inline skill running the client, with `channels` when given.
pub fn client_skill(w: &World, name: &str, channels: Option<Value>) {
    let mut skill = json!({
        "name": name, "description": "d", "type": "code_inline",
        "command": interpreter("python3"), "args": ["chan.py", "{reqs}"],
        "parameters": [{"name": "reqs", "type": "string", "required": true}],
    });
    if let Some(c) = channels {
        skill["channels"] = c;
    }
    w.skill(name, skill);
}

pub fn world() -> World {
    let w = World::new();
    w.write("chan.py", CLIENT);
    w
}

/// Runs `skill` with `requests`; the answers.
pub fn call(w: &World, skill: &str, requests: Value) -> Vec<Value> {
    let reqs = format!("reqs={requests}");
    let (code, r) = w.run_json(&[skill, "--param", &reqs]);
    assert_eq!(code, 0, "{r}");
    serde_json::from_str(r["stdout"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {r}"))
}
