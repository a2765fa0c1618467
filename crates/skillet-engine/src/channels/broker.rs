//! The per-run broker: a thread serving the engine's end of the run's socket pair. It answers
//! one request at a time, so what a run can make it hold is one request line and one answer;
//! everything kept is in the store, under its bounds. It ends when the run's end closes or
//! when the [`Broker`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use skillet_sandbox::InheritedFd;
use skillet_store::{ChannelKey, ChannelMessage, ChannelSend, Store};

use super::protocol::{Answer, MAX_LINE, MAX_READ, MAX_WAIT_MS, Request};
use super::{ChannelError, Reach, channel_limits, refusal};

/// How often a wait looks for new messages (they may come from another process).
const POLL: Duration = Duration::from_millis(50);

/// A running broker; dropping it ends it.
#[derive(Debug)]
pub struct Broker {
    ours: UnixStream,
    closed: Arc<AtomicBool>,
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
        // Wakes the thread out of a blocking read.
        let _ = self.ours.shutdown(std::net::Shutdown::Both);
    }
}

impl Broker {
    /// Starts serving `reach` on a new socket pair; returns the broker and the run's end.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        reach: Reach,
    ) -> std::io::Result<(Broker, InheritedFd)> {
        let (ours, theirs) = UnixStream::pair()?;
        let closed = Arc::new(AtomicBool::new(false));
        let serving = ours.try_clone()?;
        let flag = closed.clone();
        std::thread::Builder::new()
            .name("skillet-channels".into())
            .spawn(move || serve(serving, &*store, &reach, &flag))?;
        Ok((
            Broker { ours, closed },
            InheritedFd::from(OwnedFd::from(theirs)),
        ))
    }
}

fn serve(stream: UnixStream, store: &dyn Store, reach: &Reach, closed: &AtomicBool) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    serve_lines(stream, &mut writer, store, reach, closed);
    // Whatever ended the serving, the run sees the connection end rather than wait on it.
    let _ = writer.shutdown(std::net::Shutdown::Both);
}

fn serve_lines(
    stream: UnixStream,
    writer: &mut UnixStream,
    store: &dyn Store,
    reach: &Reach,
    closed: &AtomicBool,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte past the longest line tells a line that is too long from one that fits.
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if closed.load(Ordering::Acquire) {
            return;
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE {
            let _ = answer(
                writer,
                &Answer::refused(format!(
                    "a request line is longer than {MAX_LINE} bytes; the connection is closed"
                )),
            );
            return;
        }
        let reply = match serde_json::from_slice::<Request>(&line) {
            Ok(request) => handle(store, reach, closed, request),
            Err(e) => Answer::refused(format!(
                "not a request ({e}); send one JSON object per line, e.g. \
                 {{\"op\": \"send\", \"channel\": \"news\", \"body\": \"hello\"}}"
            )),
        };
        if answer(writer, &reply).is_err() {
            return;
        }
    }
}

fn answer(writer: &mut UnixStream, reply: &Answer) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    writer.write_all(&bytes)
}

fn handle(store: &dyn Store, reach: &Reach, closed: &AtomicBool, request: Request) -> Answer {
    let done = match request {
        Request::Send { channel, body } => send(store, reach, &channel, &body),
        Request::Read {
            channel,
            since,
            limit,
        } => reach.key(&channel, false).and_then(|key| {
            let limit = limit.unwrap_or(MAX_READ).clamp(1, MAX_READ);
            messages(store, &key, since, limit)
        }),
        Request::Wait {
            channel,
            since,
            timeout_ms,
        } => reach.key(&channel, false).and_then(|key| {
            let wait = Duration::from_millis(timeout_ms.unwrap_or(MAX_WAIT_MS).min(MAX_WAIT_MS));
            let until = Instant::now() + wait;
            loop {
                let got = messages(store, &key, since, MAX_READ)?;
                let waiting =
                    matches!(&got, Answer::Messages { messages, .. } if messages.is_empty());
                if !waiting || Instant::now() >= until || closed.load(Ordering::Acquire) {
                    break Ok(got);
                }
                std::thread::sleep(POLL);
            }
        }),
    };
    done.unwrap_or_else(|e| Answer::refused(e.to_string()))
}

fn send(
    store: &dyn Store,
    reach: &Reach,
    channel: &str,
    body: &str,
) -> Result<Answer, ChannelError> {
    let key: ChannelKey = reach.key(channel, true)?;
    let sent = store.send_message(&key, reach.sender(), body, &channel_limits())?;
    match (&sent, refusal(&sent, &key.name)) {
        (ChannelSend::Sent(seq), _) => Ok(Answer::Sent {
            ok: true,
            seq: *seq,
        }),
        (_, why) => Err(ChannelError::Refused(why.unwrap_or_default())),
    }
}

fn messages(
    store: &dyn Store,
    key: &ChannelKey,
    since: i64,
    limit: usize,
) -> Result<Answer, ChannelError> {
    let messages: Vec<ChannelMessage> =
        store.read_messages(key, since, limit, channel_limits().ttl_ms)?;
    Ok(Answer::Messages { ok: true, messages })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::AsFd;

    use skillet_store::SqliteStore;

    use super::*;

    fn started(dir: &tempfile::TempDir) -> (Broker, UnixStream) {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("skillet.db")).unwrap());
        let reach = Reach {
            workspace: "/w".into(),
            name: "me".into(),
            owner: "workspace:me".into(),
            readable: Vec::new(),
        };
        let (broker, theirs) = Broker::start(store, reach).unwrap();
        let stream = UnixStream::from(theirs.as_fd().try_clone_to_owned().unwrap());
        (broker, stream)
    }

    fn ask(stream: &mut UnixStream, line: &[u8]) -> serde_json::Value {
        stream.write_all(line).unwrap();
        let mut answer = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut answer)
            .unwrap();
        serde_json::from_str(&answer).unwrap()
    }

    #[test]
    fn garbage_is_refused_and_the_broker_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (_broker, mut s) = started(&dir);
        for bad in [
            &b"not json\n"[..],
            b"{\"op\": \"delete\", \"channel\": \"x\"}\n",
            b"{\"op\": \"send\", \"channel\": \"x\", \"body\": \"b\", \"as\": \"user\"}\n",
            b"{\"op\": \"send\", \"channel\": \"x\"}\n",
            b"\xff\xfe\n",
        ] {
            assert_eq!(ask(&mut s, bad)["ok"], false, "{bad:?}");
        }
        let sent = ask(
            &mut s,
            b"{\"op\": \"send\", \"channel\": \"x\", \"body\": \"b\"}\n",
        );
        assert_eq!(sent["seq"], 1, "{sent}");
        let read = ask(&mut s, b"{\"op\": \"read\", \"channel\": \"x\"}\n");
        // The sender is the skill, whatever the request says.
        assert_eq!(read["messages"][0]["sender"], "workspace:me", "{read}");
    }

    #[test]
    fn a_line_past_the_limit_closes_the_connection() {
        let dir = tempfile::tempdir().unwrap();
        let (_broker, mut s) = started(&dir);
        let long = vec![b'x'; MAX_LINE + 10];
        let answer = ask(&mut s, &long);
        assert!(
            answer["error"].as_str().unwrap().contains("longer than"),
            "{answer}"
        );
        let mut rest = Vec::new();
        // Closed: the read ends (the unread bytes may reset it instead).
        let _ = std::io::Read::read_to_end(&mut s, &mut rest);
        assert!(rest.is_empty());
    }

    #[test]
    fn dropping_the_broker_ends_a_wait() {
        let dir = tempfile::tempdir().unwrap();
        let (broker, mut s) = started(&dir);
        s.write_all(b"{\"op\": \"wait\", \"channel\": \"x\", \"timeout_ms\": 30000}\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let began = Instant::now();
        drop(broker);
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut rest);
        assert!(began.elapsed() < Duration::from_secs(5));
    }
}
