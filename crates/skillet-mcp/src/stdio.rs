//! MCP over standard input and output: one JSON-RPC message per line.
//!
//! rmcp's own line transport drops a line that is not JSON without a word and has no say
//! over where a line ends, so this transport reads the lines itself: each is screened
//! ([`crate::jsonrpc::screen`]), a bad one answered at once, and a line longer than the limit
//! is skipped up to its newline without being held in memory, answered with an error, and
//! serving goes on with the next line.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{Mutex, mpsc};

use crate::jsonrpc::{
    INVALID_REQUEST, Rejection, Screened, is_initialize, opens_lifecycle, repeated_initialize,
    screen,
};
use crate::lines::{Line, LineReader};
use crate::server::SkillServer;

/// The longest line read from a stdio client unless `--max-line-bytes` says otherwise: 4 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// How the stdio transport reads.
#[derive(Debug, Clone, Copy)]
pub struct StdioOptions {
    /// A line longer than this (not counting its line end) is refused with -32600 and skipped.
    pub max_line_bytes: usize,
}

impl Default for StdioOptions {
    fn default() -> Self {
        StdioOptions {
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// Messages read but not yet taken by rmcp; the reader waits when this many are queued.
const QUEUE: usize = 32;

type Writer = Arc<Mutex<Box<dyn AsyncWrite + Send + Unpin>>>;

/// The rmcp transport over a reader and a writer of lines.
pub(crate) struct LineTransport {
    incoming: mpsc::Receiver<ClientJsonRpcMessage>,
    out: Writer,
    reader: tokio::task::JoinHandle<()>,
}

impl LineTransport {
    /// Starts reading `read` in a task; answers and refusals are written to `write`, one per line.
    pub(crate) fn new(
        read: impl AsyncRead + Send + Unpin + 'static,
        write: impl AsyncWrite + Send + Unpin + 'static,
        options: StdioOptions,
    ) -> LineTransport {
        let out: Writer = Arc::new(Mutex::new(Box::new(write)));
        let (tx, incoming) = mpsc::channel(QUEUE);
        let reader = tokio::spawn(read_lines(read, tx, out.clone(), options.max_line_bytes));
        LineTransport {
            incoming,
            out,
            reader,
        }
    }
}

impl Drop for LineTransport {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Writes one whole line; the lock keeps answers from the reader and from rmcp apart.
async fn write_line(out: &Writer, mut line: Vec<u8>) -> std::io::Result<()> {
    line.push(b'\n');
    let mut out = out.lock().await;
    out.write_all(&line).await?;
    out.flush().await
}

impl Transport<RoleServer> for LineTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move {
            let line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            write_line(&out, line).await
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        Ok(())
    }
}

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The client never completed the opening of the connection.
    #[error("the MCP connection did not start: {0}")]
    Start(Box<rmcp::service::ServerInitializeError>),
    /// The connection failed while running.
    #[error("the MCP connection failed: {0}")]
    Run(#[from] tokio::task::JoinError),
}

/// How often the sessions of a stdio server are checked for expiry and death.
const SESSION_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Serves `server` on this process's standard input and output until the client hangs up,
/// reloading when skill files change. The server owns its sessions here: they are checked for
/// expiry while it runs and ended when it returns.
pub async fn serve_stdio(server: SkillServer, options: StdioOptions) -> Result<(), TransportError> {
    if let Err(e) = crate::watch_skills(server.clone()) {
        eprintln!("skillet mcp: {e}; skill changes need a restart");
    }
    let sessions = server.shared.options.sessions.clone();
    let ticking = {
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SESSION_TICK);
            loop {
                tick.tick().await;
                sessions.tick().await;
            }
        })
    };
    let transport = LineTransport::new(tokio::io::stdin(), tokio::io::stdout(), options);
    let served = async {
        let running = rmcp::ServiceExt::serve(server, transport)
            .await
            .map_err(|e| TransportError::Start(Box::new(e)))?;
        running.waiting().await?;
        Ok(())
    }
    .await;
    ticking.abort();
    sessions.shutdown().await;
    served
}

/// Reads lines until end of input, passing good messages on and answering bad ones.
async fn read_lines(
    read: impl AsyncRead + Unpin,
    tx: mpsc::Sender<ClientJsonRpcMessage>,
    out: Writer,
    max: usize,
) {
    let mut lines = LineReader::new(read, max);
    let mut lifecycle = Lifecycle::default();
    while let Ok(Some(line)) = lines.next().await {
        let handled = match line {
            Line::Complete(line) => handle(&line, &mut lifecycle, &tx, &out).await,
            Line::TooLong => {
                let refusal = Rejection::new(
                    Value::Null,
                    INVALID_REQUEST,
                    format!(
                        "invalid request: the line is longer than {max} bytes and was skipped; send smaller messages or raise `skillet mcp --max-line-bytes`"
                    ),
                );
                write_line(&out, refusal.to_bytes()).await.map_err(|_| ())
            }
        };
        if handled.is_err() {
            return;
        }
    }
}

/// Where a connection is in its lifecycle, as far as what it was sent shows.
#[derive(Debug, Default)]
struct Lifecycle {
    /// An `initialize` was passed on: another is refused.
    initialized: bool,
    /// A message that starts the lifecycle was passed on (see [`opens_lifecycle`]). Before,
    /// notifications and responses are dropped: rmcp would end the connection on one, and
    /// JSON-RPC answers neither.
    started: bool,
}

/// Handles one complete line. An error means the connection is over.
async fn handle(
    line: &[u8],
    lifecycle: &mut Lifecycle,
    tx: &mpsc::Sender<ClientJsonRpcMessage>,
    out: &Writer,
) -> Result<(), ()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match screen(line) {
        Screened::Message(message) => {
            if lifecycle.initialized
                && let Some(refusal) = repeated_initialize(&message)
            {
                return write_line(out, refusal.to_bytes()).await.map_err(|_| ());
            }
            if !lifecycle.started && !matches!(*message, ClientJsonRpcMessage::Request(_)) {
                return Ok(());
            }
            lifecycle.initialized |= is_initialize(&message);
            lifecycle.started |= opens_lifecycle(&message);
            tx.send(*message).await.map_err(|_| ())
        }
        Screened::Reject(refusal) => write_line(out, refusal.to_bytes()).await.map_err(|_| ()),
        Screened::Drop => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    /// Feeds `input` through the reader; the messages passed on and the lines answered.
    async fn run(input: Vec<u8>, max: usize) -> (Vec<ClientJsonRpcMessage>, Vec<Value>) {
        let (mut answers_read, answers_write) = tokio::io::duplex(1 << 20);
        let mut transport = LineTransport::new(
            std::io::Cursor::new(input),
            answers_write,
            StdioOptions {
                max_line_bytes: max,
            },
        );
        let mut messages = Vec::new();
        while let Some(m) = transport.receive().await {
            messages.push(m);
        }
        drop(transport);
        let mut text = String::new();
        answers_read.read_to_string(&mut text).await.unwrap();
        let answers = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (messages, answers)
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#;

    #[tokio::test]
    async fn garbage_is_answered_and_the_next_line_still_served() {
        let mut input = Vec::new();
        input.extend_from_slice(b"garbage\n\xff\xfe\n[1]\n\n  \r\n");
        input.extend_from_slice(PING.as_bytes());
        input.extend_from_slice(b"\r\n");
        let (messages, answers) = run(input, 1024).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        let codes: Vec<i64> = answers
            .iter()
            .map(|a| a["error"]["code"].as_i64().unwrap())
            .collect();
        assert_eq!(codes, [-32700, -32700, -32600]);
        assert!(answers.iter().all(|a| a["id"].is_null()));
    }

    #[tokio::test]
    async fn an_over_long_line_is_skipped_to_its_end_and_answered_once() {
        for max in [10, 4096, 100_000] {
            let mut input = vec![b'x'; 300_000];
            input.push(b'\n');
            input.extend_from_slice(PING.as_bytes());
            input.push(b'\n');
            // A long line without a newline at the end of input.
            input.extend(std::iter::repeat_n(b'[', 200_000));
            let (messages, answers) = run(input, max.max(PING.len())).await;
            assert_eq!(messages.len(), 1, "max {max}");
            assert_eq!(answers.len(), 2, "max {max}: {answers:?}");
            assert_eq!(answers[0]["error"]["code"], -32600);
            assert!(
                answers[0]["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("--max-line-bytes")
            );
        }
    }

    #[tokio::test]
    async fn only_the_first_initialize_is_passed_on() {
        let init = |id: u32, version: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
            )
        };
        let input = format!(
            "{}\n{}\n{PING}\n{}\n",
            init(1, "2025-06-18"),
            init(2, "2026-07-28"),
            init(3, "2025-06-18")
        );
        let (messages, answers) = run(input.into_bytes(), 1024).await;
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(is_initialize(&messages[0]));
        assert!(!is_initialize(&messages[1]));
        let refused: Vec<(i64, i64)> = answers
            .iter()
            .map(|a| {
                (
                    a["id"].as_i64().unwrap(),
                    a["error"]["code"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(refused, [(2, -32600), (3, -32600)], "{answers:?}");
    }

    #[tokio::test]
    async fn notifications_and_responses_before_the_lifecycle_starts_are_dropped() {
        let input = format!(
            "{}\n{}\n{}\n{PING}\n{}\n",
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":0,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        );
        let (messages, answers) = run(input.into_bytes(), 1024).await;
        assert!(answers.is_empty(), "{answers:?}");
        assert_eq!(messages.len(), 2, "only the requests: {messages:?}");
        let after = format!(
            "{}\n{}\n",
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        );
        let (messages, _) = run(after.into_bytes(), 1024).await;
        assert_eq!(
            messages.len(),
            2,
            "after initialize, notifications pass: {messages:?}"
        );
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_is_read() {
        let (messages, answers) = run(format!("{PING}\r\n").into_bytes(), PING.len()).await;
        assert_eq!((messages.len(), answers.len()), (1, 0), "{answers:?}");
        let (messages, answers) = run(format!("{PING}\n").into_bytes(), PING.len() - 1).await;
        assert_eq!((messages.len(), answers.len()), (0, 1));
    }
}
