//! One job queue for replicas on a shared PostgreSQL store: a busy replica's queued jobs are
//! taken by idle ones, each job runs exactly once, and a replica killed mid-job has the job
//! taken over by another once its lease lapses.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::collections::HashSet;

use common::World;
use common::queue::{detach, wait};
use common::served::Served;
use serde_json::json;
use skillet_store::Store;
use skillet_store_postgres::PostgresStore;
use skillet_store_postgres::test_server::fresh_url;

/// A machine of the team: the shared store, short leases, and `extra` settings of `[jobs]`.
fn replica(url: &str, jobs: &str) -> World {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[store]\nurl = \"{url}\"\n\n[jobs]\nlease_s = 2\n{jobs}"),
    );
    w
}

fn work_skill(w: &World, seconds: &str) {
    w.skill(
        "work",
        json!({"name": "work", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", format!("sleep {seconds}; echo done-$SKILL_PARAM_N")],
               "parameters": [{"name": "n", "type": "integer", "required": true}]}),
    );
}

#[test]
fn a_busy_replicas_jobs_are_taken_by_idle_ones_and_each_runs_once() {
    let Some(url) = fresh_url() else { return };
    // A runs one job at a time; B and C are idle.
    let a = replica(&url, "max_running = 1\n");
    let (b, c) = (replica(&url, ""), replica(&url, ""));
    work_skill(&a, "0.4");
    let _servers: Vec<Served> = [&a, &b, &c].into_iter().map(Served::start).collect();
    let ids: Vec<String> = (0..12)
        .map(|n| detach(&a, "work", &["-p", &format!("n={n}")]))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let done = wait(&a, id);
        assert_eq!(
            (
                done["job"]["status"].as_str(),
                done["job"]["outcome"].as_str()
            ),
            (Some("finished"), Some("ok")),
            "{done}"
        );
        assert_eq!(done["stdout"], format!("done-{n}\n"), "{done}");
    }
    let store = PostgresStore::open(&url, None).unwrap();
    let rows = store.jobs(false, 0).unwrap();
    let holders: HashSet<&str> = rows.iter().map(|j| j.holder.as_str()).collect();
    assert!(
        holders.len() >= 2,
        "A ran one at a time and B and C were idle, yet one daemon ran them all: {holders:?}"
    );
    // Each job ran once: one execution per job in the shared history.
    let (_, stdout, _) = a.run(&["history", "work", "--json", "--limit", "0"]);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let jobs_run: Vec<&str> = runs
        .iter()
        .filter(|r| r["origin"] == "job")
        .map(|r| r["request_id"].as_str().unwrap())
        .collect();
    let unique: HashSet<&&str> = jobs_run.iter().collect();
    assert_eq!((jobs_run.len(), unique.len()), (12, 12), "{jobs_run:?}");
}

#[test]
fn a_replica_killed_mid_job_has_its_job_taken_over_after_the_lease() {
    let Some(url) = fresh_url() else { return };
    let doomed = replica(&url, "");
    let survivor = replica(&url, "");
    work_skill(&doomed, "1.5");
    let mut doomed_server = Served::start(&doomed);
    let _survivor_server = Served::start(&survivor);
    let id = detach(&doomed, "work", &["-p", "n=7"]);
    // Running on the doomed replica: it took the job of its own queue.
    let store = PostgresStore::open(&url, None).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.job(&id).unwrap().unwrap().status != "running" {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let first_holder = store.job(&id).unwrap().unwrap().holder;
    doomed_server.kill();
    // Its lease (2 s) lapses; the survivor puts it back in the queue and runs it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let done = loop {
        let row = store.job(&id).unwrap().unwrap();
        if row.status == "finished" {
            break row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never taken over: {row:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(
        (done.outcome.as_deref(), done.stdout.as_str()),
        (Some("ok"), "done-7\n"),
        "{done:?}"
    );
    assert_ne!(done.holder, first_holder, "the survivor ran it");
    // The survivor's daemon answers for it too.
    let seen = wait(&survivor, &id);
    assert_eq!(seen["job"]["status"], "finished", "{seen}");
}

#[test]
fn a_job_running_on_another_replica_is_cancelled_from_the_one_it_was_given_to() {
    let Some(url) = fresh_url() else { return };
    // A runs one job at a time and is kept busy; B is idle and takes A's next one.
    let a = replica(&url, "max_running = 1\n");
    let b = replica(&url, "");
    work_skill(&a, "20");
    let _servers: Vec<Served> = [&a, &b].into_iter().map(Served::start).collect();
    let busy = detach(&a, "work", &["-p", "n=1"]);
    let moved = detach(&a, "work", &["-p", "n=2"]);
    let store = PostgresStore::open(&url, None).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let row = store.job(&moved).unwrap().unwrap();
        if row.status == "running" && !row.holder.is_empty() {
            let a_holder = store.job(&busy).unwrap().unwrap().holder;
            assert_ne!(row.holder, a_holder, "B should have taken it: {row:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B never took it: {row:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = a.run(&["jobs", "cancel", &moved, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let row = store.job(&moved).unwrap().unwrap();
    assert_eq!(row.status, "cancelled", "{row:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "the cancel reached B within a few of its looks, not after the 20 s run"
    );
    let (code, _, _) = a.run(&["jobs", "cancel", &busy]);
    assert_eq!(code, 0);
}
