//! A PostgreSQL server for tests, and a fresh empty database (a schema of its own) per test.
//!
//! The server is `$SKILLET_TEST_POSTGRES_URL` when set (CI starts one cluster for the whole run);
//! otherwise a throwaway cluster that `.ci/postgres-cluster serve` starts for this test process
//! and stops when it exits. With no server binary to be had, [`fresh_url`] says why it skips
//! the test, loudly, and fails it instead when `SKILLET_REQUIRE_POSTGRES=1` (CI sets it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The variable naming a server to test against.
pub const URL_VAR: &str = "SKILLET_TEST_POSTGRES_URL";
/// The variable that turns a skip for want of a server into a failure.
pub const REQUIRE_VAR: &str = "SKILLET_REQUIRE_POSTGRES";

/// A server this process started: kept until the process exits, when the closed pipe tells the
/// script to stop it.
struct Started {
    url: String,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
static STARTED: OnceLock<Started> = OnceLock::new();
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The URL of a new, empty schema on the test server (its `search_path`, so a store opened on
/// it sees only its own tables): every store opened on the same URL shares it, as replicas
/// share a database. `None` when there is no server; the reason was printed.
///
/// # Panics
///
/// When there is no server and `SKILLET_REQUIRE_POSTGRES=1`, or the schema cannot be made.
pub fn fresh_url() -> Option<String> {
    let server = match SERVER.get_or_init(server) {
        Ok(url) => url.clone(),
        Err(why) => {
            if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
                panic!("{REQUIRE_VAR}=1 but there is no PostgreSQL server to test against: {why}");
            }
            eprintln!("SKIPPED (no PostgreSQL server: {why})");
            return None;
        }
    };
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    create_schema(&server, &schema)
        .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e}"));
    let sep = if server.contains('?') { '&' } else { '?' };
    Some(format!("{server}{sep}options=-c%20search_path%3D{schema}"))
}

fn server() -> Result<String, String> {
    if let Ok(url) = std::env::var(URL_VAR)
        && !url.is_empty()
    {
        return Ok(url);
    }
    let script = script().ok_or("the .ci/postgres-cluster script is not found")?;
    let dir = std::env::temp_dir().join(format!("skillet-pg-{}", std::process::id()));
    let mut child = Command::new(&script)
        .arg("serve")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdin = child.stdin.take().ok_or("no pipe to the cluster script")?;
    let stdout = child
        .stdout
        .take()
        .ok_or("no pipe from the cluster script")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line.trim().to_owned();
    if !url.starts_with("postgres://") {
        let mut why = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut why);
        }
        let _ = child.wait();
        return Err(format!(
            "{} could not start one ({}); set {URL_VAR} to a server's URL",
            script.display(),
            why.trim()
        ));
    }
    let started = STARTED.get_or_init(|| Started {
        url,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    });
    Ok(started.url.clone())
}

/// `.ci/postgres-cluster`, found from this crate's directory.
fn script() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres-cluster");
    path.is_file().then_some(path)
}

fn create_schema(server: &str, schema: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
            .await
            .map_err(|e| crate::error::describe(&e))?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(|e| crate::error::describe(&e))?;
        drop(client);
        let _ = driver.await;
        Ok(())
    })
}

/// A cluster of one test's own, which it may stop and start again (a database restarting under
/// load); stopped and removed when dropped. Other tests never share it.
pub struct PrivateCluster {
    script: PathBuf,
    dir: PathBuf,
    url: String,
}

impl PrivateCluster {
    /// A new cluster, or `None` (said why, loudly; a failure when `SKILLET_REQUIRE_POSTGRES=1`)
    /// when none can be started here.
    ///
    /// # Panics
    ///
    /// When none can be started and `SKILLET_REQUIRE_POSTGRES=1`.
    pub fn start() -> Option<PrivateCluster> {
        let started = script()
            .ok_or_else(|| "the .ci/postgres-cluster script is not found".to_owned())
            .and_then(|script| {
                let dir = std::env::temp_dir().join(format!(
                    "skillet-pg-private-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                let url = run_script(&script, "start", &dir)?;
                Ok(PrivateCluster { script, dir, url })
            });
        match started {
            Ok(cluster) => Some(cluster),
            Err(why) => {
                if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
                    panic!("{REQUIRE_VAR}=1 but no private PostgreSQL cluster could start: {why}");
                }
                eprintln!("SKIPPED (no private PostgreSQL cluster: {why})");
                None
            }
        }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (fast shutdown: sessions are cut, as in a crash or a failover).
    ///
    /// # Panics
    ///
    /// When the script fails.
    pub fn stop(&self) {
        run_script(&self.script, "stop", &self.dir).unwrap_or_else(|e| panic!("stop: {e}"));
    }

    /// Starts the stopped server again, on the same port with the same data.
    ///
    /// # Panics
    ///
    /// When the script fails.
    pub fn restart(&self) {
        run_script(&self.script, "start", &self.dir).unwrap_or_else(|e| panic!("start: {e}"));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = run_script(&self.script, "stop", &self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_script(
    script: &std::path::Path,
    what: &str,
    dir: &std::path::Path,
) -> Result<String, String> {
    let out = Command::new(script)
        .arg(what)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {what} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
