//! What both wire formats share: sending a request, turning a failed status into an
//! [`LlmError`], and reading server-sent events until the answer is complete.

use std::error::Error as _;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::StreamExt;

use crate::{LlmError, Reply, TextSink};

/// The most of an error body read: enough for any provider's message, not a whole HTML page.
const ERROR_BODY_LIMIT: usize = 4096;

/// Where a request goes and how long it may stay silent, for error messages.
pub(crate) struct Endpoint<'a> {
    pub url: &'a str,
    pub timeout: Duration,
    /// What the configuration holds that must not reach a message (see
    /// [`ProviderConfig::secrets`](crate::ProviderConfig)): servers echo requests in errors.
    pub secrets: &'a [String],
}

impl Endpoint<'_> {
    /// `text` (a server's words) with every secret of the configuration replaced.
    fn scrub(&self, text: String) -> String {
        self.secrets.iter().fold(text, |text, secret| {
            if text.contains(secret.as_str()) {
                text.replace(secret.as_str(), "[redacted]")
            } else {
                text
            }
        })
    }
}

/// A provider's stream said something its format does not allow.
pub(crate) struct Fault {
    pub reason: String,
    /// The provider itself reported a passing failure (Anthropic's `overloaded_error`).
    pub transient: bool,
}

impl Fault {
    pub fn new(reason: impl Into<String>) -> Fault {
        Fault {
            reason: reason.into(),
            transient: false,
        }
    }
}

/// One wire format's reading of its events.
pub(crate) trait Decoder {
    /// Named in errors.
    const FORMAT: &'static str;

    /// Reads one event: the text it adds to the answer, and whether the answer is complete.
    fn event(&mut self, event: &Event) -> Result<(Option<String>, bool), Fault>;

    /// The stream ended before [`Decoder::event`] said the answer was complete: the answer if
    /// the format allows that, or why not.
    fn ended(&self) -> Result<(), Fault>;

    /// The finished answer.
    fn into_reply(self, text: String) -> Reply;
}

/// Sends `request` and returns the response when its status is a success.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    endpoint: &Endpoint<'_>,
) -> Result<reqwest::Response, LlmError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(endpoint, &e, 0))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = read_capped(response).await;
    let message = error_message(&body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no reason given")
            .into()
    });
    Err(LlmError::Status {
        url: endpoint.url.to_owned(),
        status: status.as_u16(),
        message: endpoint.scrub(message),
        retry_after,
    })
}

/// A chunk of the body: as it came, or the start of the body rebuilt without its byte order mark.
enum Chunk<B> {
    Kept(B),
    Head(Vec<u8>),
}

impl<B: AsRef<[u8]>> AsRef<[u8]> for Chunk<B> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Chunk::Kept(b) => b.as_ref(),
            Chunk::Head(v) => v,
        }
    }
}

/// The body without its leading UTF-8 byte order marks. The event-stream parser strips one by
/// slicing one byte off a three-byte character: a panic (eventsource-stream 0.2.3, found by
/// the fuzzing). Every leading mark goes, since the parser panics on whichever comes first
/// (the specification would make a second one part of the first line's field name, a field
/// nobody reads). A mark may arrive split across chunks, so the first bytes wait until they
/// are known not to be one.
fn without_leading_bom<B, E>(
    body: impl futures_util::Stream<Item = Result<B, E>>,
) -> impl futures_util::Stream<Item = Result<Chunk<B>, E>>
where
    B: AsRef<[u8]>,
{
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut head: Option<Vec<u8>> = Some(Vec::new());
    body.filter_map(move |item| {
        let out = match (item, head.as_mut()) {
            (Err(e), _) => Some(Err(e)),
            (Ok(chunk), None) => Some(Ok(Chunk::Kept(chunk))),
            (Ok(chunk), Some(start)) => {
                start.extend_from_slice(chunk.as_ref());
                let mut rest: &[u8] = start;
                while let Some(after) = rest.strip_prefix(BOM) {
                    rest = after;
                }
                if rest.len() < BOM.len() && BOM.starts_with(rest) {
                    None
                } else {
                    let rest = rest.to_vec();
                    head = None;
                    Some(Ok(Chunk::Head(rest)))
                }
            }
        };
        std::future::ready(out)
    })
}

/// Reads `response` as server-sent events through `decoder`, streaming text into `on_text`.
pub(crate) async fn read<D: Decoder>(
    response: reqwest::Response,
    endpoint: &Endpoint<'_>,
    mut decoder: D,
    on_text: TextSink<'_>,
) -> Result<Reply, LlmError> {
    let mut events = without_leading_bom(response.bytes_stream()).eventsource();
    let mut text = String::new();
    let mut streamed = 0;
    let broken = |fault: Fault, streamed: usize| LlmError::Stream {
        url: endpoint.url.to_owned(),
        format: D::FORMAT,
        reason: endpoint.scrub(fault.reason),
        streamed,
        transient: fault.transient,
    };
    while let Some(item) = events.next().await {
        let event = match item {
            Ok(event) => event,
            Err(EventStreamError::Transport(e)) => {
                return Err(transport_error(endpoint, &e, streamed));
            }
            Err(e) => return Err(broken(Fault::new(e.to_string()), streamed)),
        };
        let (piece, done) = decoder.event(&event).map_err(|f| broken(f, streamed))?;
        if let Some(piece) = piece.filter(|p| !p.is_empty()) {
            on_text(&piece);
            streamed += piece.chars().count();
            text.push_str(&piece);
        }
        if done {
            return Ok(decoder.into_reply(text));
        }
    }
    match decoder.ended() {
        Ok(()) => Ok(decoder.into_reply(text)),
        Err(fault) => Err(broken(fault, streamed)),
    }
}

/// A transport failure: a timeout when the server went silent, otherwise a connection error
/// with the underlying cause (reqwest's own message only says "error sending request").
fn transport_error(endpoint: &Endpoint<'_>, e: &reqwest::Error, streamed: usize) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout {
            url: endpoint.url.to_owned(),
            after: endpoint.timeout,
            streamed,
        };
    }
    // reqwest's message names the URL, which the error already does.
    let mut reason = match e.url() {
        Some(url) => e.to_string().replace(&format!(" for url ({url})"), ""),
        None => e.to_string(),
    };
    let mut source = e.source();
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    LlmError::Connect {
        url: endpoint.url.to_owned(),
        reason: endpoint.scrub(reason),
    }
}

async fn read_capped(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    String::from_utf8_lossy(&body).into_owned()
}

/// The message in an error body: `{"error": {"message": …}}` (OpenAI, Anthropic, vLLM),
/// `{"error": "…"}` (Ollama), or the start of whatever else came back.
pub(crate) fn error_message(body: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let error = json.get("error").unwrap_or(&json);
        if let Some(message) = error.get("message").and_then(|m| m.as_str()) {
            return Some(message.to_owned());
        }
        if let Some(message) = error.as_str() {
            return Some(message.to_owned());
        }
    }
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let mut start: String = body.chars().take(300).collect();
    if start.len() < body.len() {
        start.push('…');
    }
    Some(start)
}

/// The start of an event's data, for an error message.
pub(crate) fn preview(data: &str) -> String {
    let mut start: String = data.chars().take(120).collect();
    if start.len() < data.len() {
        start.push('…');
    }
    start
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn error_messages_are_found_in_each_providers_shape() {
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit reached","type":"requests"}}"#)
                .as_deref(),
            Some("Rate limit reached")
        );
        assert_eq!(
            error_message(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )
            .as_deref(),
            Some("Overloaded")
        );
        assert_eq!(
            error_message(r#"{"error":"model \"x\" not found"}"#).as_deref(),
            Some("model \"x\" not found")
        );
        assert_eq!(
            error_message("<html>Bad Gateway</html>").as_deref(),
            Some("<html>Bad Gateway</html>")
        );
        assert_eq!(error_message("  "), None);
    }
}

#[cfg(test)]
mod bom_tests {
    use super::*;

    async fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let body = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::convert::Infallible>(c.to_vec())),
        );
        let mut out = Vec::new();
        let mut stream = std::pin::pin!(without_leading_bom(body));
        while let Some(Ok(chunk)) = stream.next().await {
            out.extend_from_slice(chunk.as_ref());
        }
        out
    }

    #[tokio::test]
    async fn a_leading_mark_goes_however_it_is_cut_and_nothing_else_does() {
        let data: &[u8] = b"data: x\n\n";
        assert_eq!(through(&[b"\xEF\xBB\xBFdata: x\n\n"]).await, data);
        assert_eq!(
            through(&[b"\xEF", b"", b"\xBB", b"\xBFdata: x", b"\n\n"]).await,
            data
        );
        assert_eq!(through(&[data]).await, data);
        assert_eq!(through(&[b"da", b"ta: x\n\n"]).await, data);
        assert_eq!(
            through(&[b"\xEF\xBB\xBF\xEF", b"\xBB\xBFdata: x\n\n"]).await,
            data
        );
        // Only leading marks go; one later is the body's.
        assert_eq!(through(&[b"d\xEF\xBB\xBF"]).await, b"d\xEF\xBB\xBF");
        assert_eq!(through(&[b"\xEF\xBB", b"x"]).await, b"\xEF\xBBx");
    }
}
