//! The job manager's rules that need no process: admission checks, recovery, ids.

use super::*;

fn jobs_in(dir: &std::path::Path, max_queued: usize) -> Arc<Jobs> {
    let store = skillet_store::SqliteStore::open(&dir.join("skillet.db")).unwrap();
    Arc::new(Jobs::new(
        Some(Arc::new(store)),
        Environment {
            cwd: dir.to_path_buf(),
            home: None,
            config_home: None,
            data_home: None,
        },
        "/run/test.sock".into(),
        JobLimits {
            max_running: 1,
            max_queued,
            aging: Duration::from_secs(30),
            memory_budget_mb: None,
        },
    ))
}

fn params(dir: &std::path::Path) -> JobSubmitParams {
    JobSubmitParams {
        skill: "s".into(),
        caller_dir: dir.to_path_buf(),
        ..JobSubmitParams::default()
    }
}

#[test]
fn oversized_stdin_and_relative_directories_are_refused_before_anything_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_in(dir.path(), 10);
    let big = JobSubmitParams {
        stdin: Some("x".repeat(MAX_JOB_STDIN_BYTES + 1)),
        ..params(dir.path())
    };
    let refused = jobs.submit(big, "c").unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest, "{}", refused.message);
    let relative = JobSubmitParams {
        caller_dir: "ws".into(),
        ..params(dir.path())
    };
    assert_eq!(
        jobs.submit(relative, "c").unwrap_err().code,
        ErrorCode::BadRequest
    );
    assert_eq!(jobs.active(), 0);
    assert!(jobs.list(0).unwrap().is_empty());
}

#[test]
fn a_dead_daemons_jobs_are_lost_and_a_live_ones_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_in(dir.path(), 10);
    let store = jobs.store.clone().unwrap();
    let row = |id: &str, holder: &str, pid: i64| JobRecord {
        id: id.into(),
        skill: "s".into(),
        status: "running".into(),
        priority: "normal".into(),
        params: "{}".into(),
        caller_dir: "/".into(),
        workspace: None,
        submitted_at_ms: 1,
        started_at_ms: Some(2),
        finished_at_ms: None,
        queue_wait_ms: Some(1),
        execution_id: None,
        outcome: None,
        exit_code: None,
        stdout: String::new(),
        stderr: String::new(),
        truncated: false,
        error: None,
        holder: holder.into(),
        holder_pid: pid,
        stdin: None,
        shareable: false,
    };
    // This socket's previous daemon: lost, whatever its pid now names.
    store.save_job(&row("0001", "/run/test.sock", 1)).unwrap();
    // Another socket's daemon that is alive (pid 1 always is): kept.
    store.save_job(&row("0002", "/run/other.sock", 1)).unwrap();
    // Another socket's daemon that is gone: lost.
    store
        .save_job(&row("0003", "/run/other.sock", i64::from(i32::MAX)))
        .unwrap();
    // A daemon of this machine, gone: lost. One of another machine sharing the store, whose
    // pid means nothing here: kept, however dead that pid looks on this one.
    let here = skillet_engine::session::this_host();
    store
        .save_job(&row(
            "0004",
            &format!("/run/x.sock on {here}"),
            i64::from(i32::MAX),
        ))
        .unwrap();
    store
        .save_job(&row(
            "0005",
            "/run/x.sock on 7c1f-other-boot//proc/ns",
            i64::from(i32::MAX),
        ))
        .unwrap();
    let lines = jobs.recover();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let status = |id: &str| store.job(id).unwrap().unwrap().status;
    assert_eq!(
        (status("0001"), status("0002"), status("0003")),
        ("lost".to_owned(), "running".to_owned(), "lost".to_owned())
    );
    assert_eq!(
        (status("0004"), status("0005")),
        ("lost".to_owned(), "running".to_owned())
    );
}

#[test]
fn ids_are_uuid_v7_and_sort_by_time() {
    let a = new_id();
    std::thread::sleep(Duration::from_millis(2));
    let b = new_id();
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "7");
    assert!(a < b, "{a} {b}");
}

#[test]
fn a_prefix_finds_only_a_unique_entry() {
    let map: HashMap<String, u8> = [("0193-aa".to_owned(), 1), ("0193-ab".to_owned(), 2)].into();
    assert_eq!(find(&map, "0193-aa"), Some(&1));
    assert_eq!(find(&map, "0193-ab"), Some(&2));
    assert_eq!(find(&map, "0193-a"), None, "ambiguous");
    assert_eq!(find(&map, ""), None);
}

/// The waiting jobs' standard input is bounded as a whole (red team 5, F9: 400 queued jobs of
/// 1 MiB each took the daemon to 451 MB): past it a submission is `busy`, and nothing queued
/// is dropped.
#[tokio::test]
async fn the_waiting_jobs_standard_input_is_bounded_as_a_whole() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_in(dir.path(), 1_000);
    // Nothing starts: every job waits.
    let jobs = Arc::new(Jobs {
        limits: JobLimits {
            max_running: 0,
            ..jobs.limits
        },
        ..Arc::try_unwrap(jobs).ok().unwrap()
    });
    let one = || JobSubmitParams {
        stdin: Some("x".repeat(MAX_JOB_STDIN_BYTES)),
        ..params(dir.path())
    };
    let fits = MAX_QUEUED_STDIN_BYTES / MAX_JOB_STDIN_BYTES;
    for _ in 0..fits {
        jobs.submit(one(), "c").unwrap();
    }
    let refused = jobs.submit(one(), "c").unwrap_err();
    assert_eq!(refused.code, ErrorCode::Busy, "{}", refused.message);
    assert!(
        refused.message.contains("standard input"),
        "{}",
        refused.message
    );
    assert_eq!(jobs.list(0).unwrap().len(), fits);
}
