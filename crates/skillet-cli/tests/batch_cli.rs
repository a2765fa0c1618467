//! `skillet batch`: a file of calls, run a bounded number at a time through the real sandbox.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};

/// A trusted workspace with a skill that waits at a barrier: it leaves a mark in `marks/` (where
/// the sandbox also shows its read-only stand-ins for protected names, such as `skillet.toml`), then
/// waits up to 4 s until `want` marks are there. A call that gives up takes its own mark away
/// before it exits (and so before its slot is free), so until some call meets, the marks are never
/// more than the calls running: `want` calls meet only if they all run at once. Giving up is the
/// script's own doing, not the wall-clock limit's, so no kill races a call that is just meeting.
fn barrier_world(want: usize) -> World {
    let world = World::new();
    let marks = world.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    world.skill(
        "meet",
        json!({"name": "meet", "description": "Wait for the others", "type": "code_inline",
               "command": "sh",
               "args": ["-c", format!(
                   "touch {m}/mark-$SKILL_PARAM_ID; n=0; \
                    while [ $(ls {m} | grep -c '^mark-') -lt {want} ]; do \
                      n=$((n+1)); \
                      if [ $n -gt 80 ]; then rm {m}/mark-$SKILL_PARAM_ID; echo alone $SKILL_PARAM_ID; exit 3; fi; \
                      sleep 0.05; \
                    done; echo met $SKILL_PARAM_ID",
                   m = marks.display())],
               "timeout": 20,
               "parameters": [{"name": "id", "type": "string", "required": true}]}),
    );
    world.skill(
        "echo-in",
        json!({"name": "echo-in", "description": "Echo stdin", "type": "code_inline",
               "command": "cat"}),
    );
    let (code, _, stderr) = world.run(&["trust"]);
    assert_eq!(code, 0, "{stderr}");
    world
}

fn calls(world: &World, n: usize) -> String {
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{}\n",
                json!({"skill": "meet", "params": {"id": format!("c{i}")}})
            )
        })
        .collect();
    world.write("calls.jsonl", &text);
    "calls.jsonl".into()
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn allow_marks(world: &World) -> String {
    world.path("marks").display().to_string()
}

#[test]
fn calls_run_together_up_to_the_bound_and_no_further() {
    let world = barrier_world(4);
    let file = calls(&world, 4);
    let marks = allow_marks(&world);
    // Four at once: all four meet.
    let (code, stdout, stderr) = world.run(&[
        "batch",
        &file,
        "--jobs",
        "4",
        "--json",
        "--allow-write",
        &marks,
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let results = json_lines(&stdout);
    assert_eq!(results.len(), 4, "{stdout}");
    assert!(results.iter().all(|r| r["status"] == "ok"), "{stdout}");
    assert!(
        stderr.contains("4 calls") && stderr.contains("4 ok"),
        "{stderr}"
    );

    // Three at once: the fourth starts only when one of the first three has given up, so no
    // call ever meets.
    std::fs::remove_dir_all(world.path("marks")).unwrap();
    std::fs::create_dir_all(world.path("marks")).unwrap();
    let (code, stdout, stderr) = world.run(&[
        "batch",
        &file,
        "--jobs",
        "3",
        "--json",
        "--allow-write",
        &marks,
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let results = json_lines(&stdout);
    assert_eq!(results.len(), 4, "every call has a result: {stdout}");
    assert!(
        results
            .iter()
            .all(|r| r["exit_code"] == 3 && r["stdout"].as_str().unwrap().starts_with("alone")),
        "no call met another three: {stdout}"
    );
    assert!(
        stderr.contains("not:"),
        "the summary names the failures: {stderr}"
    );
}

#[test]
fn ordered_results_follow_the_file_and_unordered_ones_the_clock() {
    let world = barrier_world(1);
    world.skill(
        "slow",
        json!({"name": "slow", "description": "Sleep", "type": "code_inline",
               "command": "sleep", "args": ["1"]}),
    );
    let mut text = format!("{}\n", json!({"skill": "slow"}));
    for i in 0..3 {
        text.push_str(&format!(
            "{}\n",
            json!({"skill": "echo-in", "stdin": format!("in-{i}")})
        ));
    }
    world.write("mixed.jsonl", &text);
    let (code, stdout, stderr) = world.run(&["batch", "mixed.jsonl", "--jobs", "4", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let order: Vec<u64> = json_lines(&stdout)
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        order.last(),
        Some(&0),
        "the slow call finishes last: {stdout}"
    );

    let (code, stdout, stderr) =
        world.run(&["batch", "mixed.jsonl", "--jobs", "4", "--json", "--ordered"]);
    assert_eq!(code, 0, "{stderr}");
    let results = json_lines(&stdout);
    let order: Vec<u64> = results
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [0, 1, 2, 3], "{stdout}");
    let lines: Vec<u64> = results
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    // Each call got its own stdin.
    assert_eq!(results[2]["stdout"], "in-1", "{stdout}");
}

#[test]
fn a_bad_line_is_named_and_nothing_runs() {
    let world = barrier_world(1);
    let marks = allow_marks(&world);
    let text = format!(
        "{}\nnot json\n{}\n{{\"skill\": \"meet\", \"parms\": {{}}}}\n\n{{\"skill\": \"\"}}\n",
        json!({"skill": "meet", "params": {"id": "first"}}),
        json!({"skill": "meet", "params": {"id": "second"}}),
    );
    world.write("bad.jsonl", &text);
    let (code, stdout, stderr) = world.run(&["batch", "bad.jsonl", "--allow-write", &marks]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    for line in ["line 2:", "line 4:", "line 6:"] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }
    assert!(
        stderr.contains("parms"),
        "the unknown field is named: {stderr}"
    );
    assert!(
        !stderr.contains("line 1:") && !stderr.contains("line 3:"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(
        std::fs::read_dir(world.path("marks"))
            .unwrap()
            .next()
            .is_none(),
        "a call ran before the file was checked"
    );

    std::fs::write(world.path("latin1.jsonl"), b"{\"skill\": \"caf\xe9\"}\n").unwrap();
    let (code, _, stderr) = world.run(&["batch", "latin1.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");

    let (code, _, stderr) = world.run(&["batch", "missing.jsonl"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("missing.jsonl"), "{stderr}");
}

#[test]
fn every_call_gets_a_result_whatever_becomes_of_the_others() {
    let world = barrier_world(1);
    let marks = allow_marks(&world);
    let text = [
        json!({"skill": "meet", "params": {"id": "a"}}),
        json!({"skill": "no-such-skill"}),
        json!({"skill": "meet", "params": {}}),
        json!({"skill": "echo-in", "stdin": "hello"}),
    ]
    .iter()
    .map(|c| format!("{c}\n"))
    .collect::<String>();
    world.write("mixed.jsonl", &text);
    let (code, stdout, stderr) = world.run(&[
        "batch",
        "mixed.jsonl",
        "--ordered",
        "--json",
        "--allow-write",
        &marks,
    ]);
    assert_eq!(code, 1, "{stderr}");
    let statuses: Vec<String> = json_lines(&stdout)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["ok", "not_found", "invalid_params", "ok"],
        "{stdout}"
    );

    // The same batch for a person: a header per call, the skill's output, the errors.
    let (code, stdout, stderr) =
        world.run(&["batch", "mixed.jsonl", "--ordered", "--allow-write", &marks]);
    assert_eq!(code, 1);
    assert!(stdout.contains("== #0 meet (line 1): ok"), "{stdout}");
    assert!(stdout.contains("met a"), "{stdout}");
    assert!(stdout.contains("== #3 echo-in (line 4): ok"), "{stdout}");
    assert!(stdout.contains("hello"), "{stdout}");
    assert!(stderr.contains("no-such-skill"), "{stderr}");
    assert!(stderr.contains("2 ok, 2 not"), "{stderr}");
}

#[test]
fn calls_come_from_stdin_and_every_call_is_in_the_history() {
    let world = barrier_world(1);
    let text = (0..5)
        .map(|i| format!("{}\n", json!({"skill": "echo-in", "stdin": format!("{i}")})))
        .collect::<String>();
    let out = world
        .skillet()
        .args(["batch", "-", "--json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json_lines(&String::from_utf8_lossy(&out.stdout)).len(), 5);
    let (code, stdout, _) = world.run(&["history", "echo-in", "--json", "--limit", "0"]);
    assert_eq!(code, 0);
    let history: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(history.as_array().map(Vec::len), Some(5), "{stdout}");
}

#[test]
fn an_interrupt_cancels_running_calls_and_starts_no_more() {
    cancelled_by(rustix::process::Signal::INT, 130);
}

/// SIGTERM (a service manager stopping the batch) cancels the same way, and the exit code says
/// which signal it was, as `skillet run`'s does.
#[test]
fn a_terminate_signal_cancels_too_and_exits_143() {
    cancelled_by(rustix::process::Signal::TERM, 143);
}

fn cancelled_by(signal: rustix::process::Signal, exit_code: i32) {
    let world = barrier_world(1);
    world.skill(
        "nap",
        json!({"name": "nap", "description": "Sleep long", "type": "code_inline",
               "command": "sleep", "args": ["30"], "timeout": 60}),
    );
    let text = (0..6).map(|_| "{\"skill\": \"nap\"}\n").collect::<String>();
    world.write("naps.jsonl", &text);
    let child = world
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["batch", "naps.jsonl", "--jobs", "2", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Wait until both naps are running (two sleep processes under the batch).
    let deadline = Instant::now() + Duration::from_secs(20);
    while naps(pid) < 2 {
        assert!(Instant::now() < deadline, "the naps never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), signal).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the batch did not stop"
    );
    assert_eq!(out.status.code(), Some(exit_code), "{out:?}");
    let results = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(results.len(), 6, "every call has a result");
    assert!(
        results.iter().all(|r| r["status"] == "cancelled"),
        "{results:?}"
    );
    let not_started = results
        .iter()
        .filter(|r| {
            r["error"]
                .as_str()
                .is_some_and(|e| e.contains("not started"))
        })
        .count();
    assert_eq!(not_started, 4, "{results:?}");
    // Each id printed is one the history knows, the calls that never started included.
    for r in &results {
        let id = r["execution_id"].as_str().unwrap();
        let (code, shown, stderr) = world.run(&["history", "show", id, "--json"]);
        assert_eq!(code, 0, "{id}: {stderr}");
        let row: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(row["status"], "cancelled", "{row}");
        assert_eq!(row["origin"], "batch", "{row}");
    }
}

/// How many `sleep` processes descend from `pid`.
fn naps(pid: i32) -> usize {
    let mut count = 0;
    let mut parents = vec![pid];
    let entries: Vec<(i32, i32, String)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let (name, rest) = stat.split_once(") ")?;
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, ppid, name.rsplit('(').next()?.to_owned()))
        })
        .collect();
    while let Some(parent) = parents.pop() {
        for (p, ppid, name) in &entries {
            if *ppid == parent {
                parents.push(*p);
                count += usize::from(name == "sleep");
            }
        }
    }
    count
}

/// A skill's `"concurrency": {"max": 2}` holds across processes: two batches of 4 calls, each
/// free to run all 4 at once, never have more than 2 runs of the skill going together.
#[test]
fn a_skills_own_bound_holds_across_batches_and_processes() {
    let world = barrier_world(1);
    let log = world.path("marks");
    world.skill(
        "gate",
        json!({"name": "gate", "description": "Count who is inside", "type": "code_inline",
               "command": "sh",
               "args": ["-c", format!(
                   "n=$(ls {m} | grep -c '^in-'); touch {m}/in-$SKILL_PARAM_ID; sleep 0.4; x=$(ls {m} | grep -c '^in-'); echo $n $((x-1)) >> {m}/seen-$SKILL_PARAM_ID; rm {m}/in-$SKILL_PARAM_ID",
                   m = log.display())],
               "timeout": 20,
               "concurrency": {"max": 2},
               "parameters": [{"name": "id", "type": "string", "required": true}]}),
    );
    let marks = allow_marks(&world);
    let batch = |prefix: &str| {
        let text: String = (0..4)
            .map(|i| {
                format!(
                    "{}\n",
                    json!({"skill": "gate", "params": {"id": format!("{prefix}{i}")}})
                )
            })
            .collect();
        world
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args([
                "batch",
                "-",
                "--jobs",
                "4",
                "--json",
                "--allow-write",
                &marks,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
                child
            })
            .unwrap()
    };
    let (a, b) = (batch("a"), batch("b"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let results = json_lines(&String::from_utf8_lossy(&out.stdout));
        assert!(results.iter().all(|r| r["status"] == "ok"), "{results:?}");
    }
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&log).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with("seen-") {
            // Others inside when the run came in, and when it was about to leave.
            let text = std::fs::read_to_string(entry.path()).unwrap();
            seen.extend(text.split_whitespace().map(|n| n.parse::<u32>().unwrap()));
        }
    }
    assert_eq!(
        seen.len(),
        16,
        "every run counted, coming and going: {seen:?}"
    );
    assert!(
        seen.iter().all(|&n| n < 2),
        "a run found 2 others inside: {seen:?}"
    );
    assert!(seen.contains(&1), "runs never overlapped at all: {seen:?}");
}

/// In order, finished results wait for a slow call before them: the batch starts calls only so
/// far past it (four times --jobs, at least 64), so what waits in memory stays bounded.
#[test]
fn in_order_a_slow_call_holds_back_how_far_the_batch_runs_ahead() {
    let world = barrier_world(1);
    let marks = world.path("marks");
    world.skill(
        "count",
        json!({"name": "count", "description": "Count the marks, late", "type": "code_inline",
               "command": "sh",
               "args": ["-c", format!("sleep 2; ls {m} | grep -c '^mark-'", m = marks.display())],
               "timeout": 20}),
    );
    let mut text = format!("{}\n", json!({"skill": "count"}));
    for i in 0..300 {
        text.push_str(&format!(
            "{}\n",
            json!({"skill": "meet", "params": {"id": format!("f{i}")}})
        ));
    }
    world.write("ahead.jsonl", &text);
    let allow = allow_marks(&world);
    let (code, stdout, stderr) = world.run(&[
        "batch",
        "ahead.jsonl",
        "--jobs",
        "2",
        "--ordered",
        "--json",
        "--allow-write",
        &allow,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let results = json_lines(&stdout);
    assert_eq!(results.len(), 301);
    let ahead: u32 = results[0]["stdout"]
        .as_str()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        ahead <= 64,
        "{ahead} calls ran while the first one was still going"
    );
    assert!(ahead > 0, "nothing ran beside the slow call");
}
