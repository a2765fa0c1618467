//! One session's interpreter: a confined process, its pipes, and the exchange of one input for
//! one answer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skillet_sandbox::{Confined, Exit, ProcessSpec, SandboxPolicy, SpawnError, StdinSource};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::sync::Notify;

use super::framing::Framing;

/// Kept past the output cap so an end mark arriving after a flood is still seen.
const TAIL_WINDOW: usize = 4096;

/// One stream's unread bytes, filled by a reader task.
#[derive(Debug, Default)]
struct StreamBuf {
    state: Mutex<BufState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct BufState {
    bytes: Vec<u8>,
    truncated: bool,
    eof: bool,
}

impl StreamBuf {
    fn lock(&self) -> std::sync::MutexGuard<'_, BufState> {
        super::lock(&self.state)
    }

    /// Takes everything before `end` (at most the cap was kept), drops through `consumed`.
    fn take(&self, end: usize, consumed: usize) -> (Vec<u8>, bool) {
        let mut s = self.lock();
        let consumed = consumed.min(s.bytes.len());
        let mut taken: Vec<u8> = s.bytes.drain(..consumed).collect();
        taken.truncate(end.min(taken.len()));
        let truncated = std::mem::take(&mut s.truncated);
        (taken, truncated)
    }
}

async fn read_into<R: AsyncRead + Unpin>(mut reader: R, buf: Arc<StreamBuf>, cap: usize) {
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = reader.read(&mut chunk).await.unwrap_or(0);
        {
            let mut s = buf.lock();
            if n == 0 {
                s.eof = true;
            } else {
                s.bytes.extend_from_slice(&chunk[..n]);
                let len = s.bytes.len();
                if len > cap + 2 * TAIL_WINDOW {
                    // Keep the first `cap` bytes (the answer) and the tail (a possible end mark).
                    s.bytes.drain(cap..len - TAIL_WINDOW);
                    s.truncated = true;
                }
            }
        }
        buf.changed.notify_one();
        if n == 0 {
            return;
        }
    }
}

/// What one input produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Standard output (for jsonl, the response's `output`).
    pub stdout: String,
    /// Standard error (for jsonl, also the response's `error` and stray stdout lines).
    pub stderr: String,
    /// The input's status, when the protocol reports one.
    pub status: Option<i32>,
    /// Whether output was cut at the skill's output limit.
    pub truncated: bool,
    /// From writing the input to reading the end of its answer.
    pub duration: Duration,
}

impl Answer {
    /// The answer with each stream cut to `cap` bytes, marked truncated.
    fn capped(mut self, cap: usize) -> Answer {
        for text in [&mut self.stdout, &mut self.stderr] {
            if text.len() > cap {
                text.truncate(text.floor_char_boundary(cap));
            }
        }
        self.truncated = true;
        self
    }
}

/// Why an exchange did not produce an answer. The interpreter is unusable after any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// The process ended; its output so far is kept.
    Exited(Answer),
    /// No answer within the time limit; the output so far is kept.
    TimedOut(Answer),
    /// A pool's stateless call wrote more than the output limit on a stream: it is stopped
    /// there, as a run is, rather than left to flood until its timeout. The output up to the
    /// limit is kept. A session's input is never stopped for this (its extra output is dropped).
    OutputLimit(Answer),
}

/// A running interpreter.
#[derive(Debug)]
pub struct Interpreter {
    confined: Confined,
    stdin: Option<ChildStdin>,
    out: Arc<StreamBuf>,
    err: Arc<StreamBuf>,
    framing: Framing,
    next_id: u64,
    nonce: String,
    /// The output limit per stream, in bytes.
    cap: usize,
}

impl Interpreter {
    /// Starts `spec` under `policy` and, for framings that have one, waits for the handshake
    /// (banners and prelude output are dropped). A process that dies during the handshake is
    /// an error carrying its stderr.
    pub async fn start(
        mut spec: ProcessSpec,
        policy: &SandboxPolicy,
        framing: Framing,
        timeout: Duration,
    ) -> Result<Interpreter, StartError> {
        spec.stdin = StdinSource::Pipe;
        let mut confined = skillet_sandbox::spawn(&spec, policy).map_err(StartError::Spawn)?;
        let cap = policy.limits.max_output_bytes;
        let out = Arc::new(StreamBuf::default());
        let err = Arc::new(StreamBuf::default());
        if let Some(r) = confined.stdout.take() {
            tokio::spawn(read_into(r, out.clone(), cap));
        }
        if let Some(r) = confined.stderr.take() {
            tokio::spawn(read_into(r, err.clone(), cap));
        }
        let mut interpreter = Interpreter {
            stdin: confined.stdin.take(),
            confined,
            out,
            err,
            next_id: 0,
            nonce: format!("{:016x}", fastrand::u64(..)),
            framing,
            cap,
        };
        if interpreter.framing.has_handshake() {
            let prelude = interpreter.framing.prelude();
            let first = match &interpreter.framing {
                Framing::Prompt(_) => None,
                _ => Some(""),
            };
            let mut written = prelude.unwrap_or_default();
            if let Err(broken) = interpreter
                .exchange_with(first, &mut written, timeout, false)
                .await
            {
                let (answer, timed_out) = match broken {
                    Broken::Exited(a) | Broken::OutputLimit(a) => (a, false),
                    Broken::TimedOut(a) => (a, true),
                };
                let exit = interpreter.finish().await;
                return Err(StartError::NoHandshake {
                    timed_out,
                    exit,
                    stderr: answer.stderr,
                });
            }
        }
        Ok(interpreter)
    }

    /// The main process's id outside the sandbox.
    pub fn pid(&self) -> Option<u32> {
        self.confined.id()
    }

    /// Sends one input and waits for its answer.
    pub async fn exchange(&mut self, input: &str, timeout: Duration) -> Result<Answer, Broken> {
        self.exchange_with(Some(input), &mut String::new(), timeout, false)
            .await
    }

    /// Sends one input to run in a fresh namespace (a pool's stateless call) and waits for its
    /// answer; `None` when this interpreter has no reset recipe. Output past the limit ends it
    /// with [`Broken::OutputLimit`]: the member serves no other call, so nothing is lost by
    /// stopping it.
    pub async fn exchange_fresh(
        &mut self,
        input: &str,
        timeout: Duration,
    ) -> Option<Result<Answer, Broken>> {
        let token = format!("__skillet_{}_{}__", self.nonce, self.next_id + 1);
        let mut request = self.framing.fresh_request(input, &token)?;
        Some(self.exchange_with(None, &mut request, timeout, true).await)
    }

    /// Writes `before`, then `input` framed (none: just wait for the next end), and reads the
    /// answer; with `stop_at_cap`, output past the limit ends the exchange.
    async fn exchange_with(
        &mut self,
        input: Option<&str>,
        before: &mut String,
        timeout: Duration,
        stop_at_cap: bool,
    ) -> Result<Answer, Broken> {
        self.next_id += 1;
        let id = self.next_id;
        let token = format!("__skillet_{}_{id}__", self.nonce);
        let started = Instant::now();
        if let Some(input) = input {
            before.push_str(&self.framing.request(input, id, &token));
        }
        let wrote = match &mut self.stdin {
            Some(stdin) => stdin.write_all(before.as_bytes()).await.is_ok(),
            None => false,
        };
        let deadline = tokio::time::Instant::from_std(started + timeout);
        loop {
            let (end, eof) = {
                let s = self.out.lock();
                (self.framing.find_end(&s.bytes, id, &token), s.eof)
            };
            if end.is_none() && (eof || !wrote) {
                return Err(Broken::Exited(self.leftover(started)));
            }
            if let Some(end) = end {
                let err_end = if self.framing.marks_stderr() {
                    let s = self.err.lock();
                    match self.framing.find_stderr_end(&s.bytes, &token) {
                        Some(found) => Some(found),
                        // The process is ending: take what stderr has.
                        None if s.eof => Some((s.bytes.len(), s.bytes.len())),
                        None => None,
                    }
                } else {
                    let len = self.err.lock().bytes.len();
                    Some((len, len))
                };
                if let Some((err_at, err_consumed)) = err_end {
                    if stop_at_cap && (end.output > self.cap || err_at > self.cap) {
                        return Err(Broken::OutputLimit(self.leftover(started).capped(self.cap)));
                    }
                    let (out, out_cut) = self.out.take(end.output, end.consumed);
                    let (err, err_cut) = self.err.take(err_at, err_consumed);
                    let status = match end.status {
                        None if self.framing.status_from_stderr() => {
                            Some(i32::from(!err.is_empty()))
                        }
                        status => status,
                    };
                    let mut answer = Answer {
                        stdout: String::from_utf8_lossy(&out).into_owned(),
                        stderr: String::from_utf8_lossy(&err).into_owned(),
                        status,
                        truncated: out_cut || err_cut,
                        duration: started.elapsed(),
                    };
                    if let Some(jsonl) = end.answer {
                        // Lines before the response were logging, not the answer.
                        answer.stderr.push_str(&answer.stdout);
                        answer.stdout = jsonl.output;
                        if let Some(e) = jsonl.error {
                            answer.stderr.push_str(&e);
                        }
                    }
                    return Ok(answer);
                }
            }
            // Checked once the answer is not complete: one that ended within the limit is
            // answered, whatever a process it left behind writes after it.
            if stop_at_cap && self.past_cap() {
                return Err(Broken::OutputLimit(self.leftover(started).capped(self.cap)));
            }
            tokio::select! {
                () = self.out.changed.notified() => {}
                () = self.err.changed.notified() => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Broken::TimedOut(self.leftover(started)));
                }
            }
        }
    }

    /// Whether either stream has dropped output for running past the limit (see `read_into`;
    /// output past the limit but not yet dropped is found once its end mark is).
    fn past_cap(&self) -> bool {
        self.out.lock().truncated || self.err.lock().truncated
    }

    /// Everything buffered, as a partial answer.
    fn leftover(&self, started: Instant) -> Answer {
        let take = |buf: &StreamBuf| {
            let mut s = buf.lock();
            let bytes = std::mem::take(&mut s.bytes);
            (String::from_utf8_lossy(&bytes).into_owned(), s.truncated)
        };
        let (stdout, a) = take(&self.out);
        let (stderr, b) = take(&self.err);
        Answer {
            stdout,
            stderr,
            status: None,
            truncated: a || b,
            duration: started.elapsed(),
        }
    }

    /// How the process ended, if it has.
    pub fn try_exit(&mut self) -> Option<Exit> {
        self.confined.try_exit()
    }

    /// Waits briefly for a process whose output ended to be reaped, and says how it ended.
    pub async fn exit_status(&mut self) -> Option<Exit> {
        tokio::time::timeout(Duration::from_secs(2), self.confined.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Kills the interpreter and everything it started, and cleans up. Returns how it ended
    /// if it had ended by itself.
    pub async fn finish(mut self) -> Option<Exit> {
        let exited = self.confined.try_exit();
        drop(self.stdin.take());
        self.confined.finish().await;
        exited
    }

    /// Like [`Interpreter::finish`], but keeps the scratch directory and returns its path.
    pub async fn finish_keeping_files(mut self) -> Option<std::path::PathBuf> {
        drop(self.stdin.take());
        self.confined.keep_scratch();
        self.confined.finish().await
    }
}

/// Why an interpreter did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The process could not be started.
    #[error(transparent)]
    Spawn(SpawnError),
    /// It started but never became ready.
    #[error("the interpreter {}{}", if *.timed_out { "did not become ready in time".to_owned() } else { format!("exited while starting ({})", exit.map(|e| format!("status {}", e.shell_code())).unwrap_or_else(|| "status unknown".into())) }, if stderr.trim().is_empty() { String::new() } else { format!(":\n{}", stderr.trim_end()) })]
    NoHandshake {
        /// Whether it ran out of time (rather than exiting).
        timed_out: bool,
        /// How it ended, if known.
        exit: Option<Exit>,
        /// What it printed on stderr.
        stderr: String,
    },
}
