//! A model's streamed answer (server-sent events) read by the real providers (`connect` and
//! `chat`) from a real HTTP server on 127.0.0.1. The first byte picks the wire format (even:
//! OpenAI chat completions, odd: Anthropic Messages) and the status (mostly 200; else a 4xx or
//! 5xx whose body is the error), the second the size of the chunks the body is cut into (so an
//! event or a UTF-8 character is split between reads), the rest is the body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use skillet_llm::{ChatRequest, LlmError, Message, ProviderConfig, ProviderKind, connect};

/// What the server answers next: status, chunk size, body.
static ANSWER: Mutex<(u16, usize, Vec<u8>)> = Mutex::new((200, 1, Vec::new()));

fn server() -> SocketAddr {
    static SERVER: OnceLock<SocketAddr> = OnceLock::new();
    *SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = answer(stream);
            }
        });
        addr
    })
}

/// Reads one request (head and body) and writes the current answer, chunked, then closes.
fn answer(mut stream: std::net::TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (status, chunk, payload) = ANSWER.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let kind = if status == 200 {
        "text/event-stream"
    } else {
        "application/json"
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    )?;
    for piece in payload.chunks(chunk.max(1)) {
        write!(stream, "{:x}\r\n", piece.len())?;
        stream.write_all(piece)?;
        stream.write_all(b"\r\n")?;
        stream.flush()?;
    }
    stream.write_all(b"0\r\n\r\n")?;
    stream.flush()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

pub fn run(data: &[u8]) {
    let (first, rest) = crate::input::choice(data, u8::MAX);
    let (chunk, body) = crate::input::choice(rest, u8::MAX);
    let kind = if first % 2 == 0 {
        ProviderKind::OpenAi
    } else {
        ProviderKind::Anthropic
    };
    let status = match first / 2 % 16 {
        1 => 400,
        2 => 429,
        3 => 503,
        _ => 200,
    };
    *ANSWER.lock().unwrap_or_else(|e| e.into_inner()) =
        (status, usize::from(chunk) + 1, body.to_vec());
    let mut config =
        ProviderConfig::new(kind, "fuzz-model").with_base_url(format!("http://{}/v1", server()));
    config.timeout = Duration::from_secs(10);
    let provider = connect(&config).expect("a provider");
    let request = ChatRequest {
        system: Some("Answer briefly.".into()),
        messages: vec![Message::user("Hello")],
    };
    let mut streamed = String::new();
    let result = runtime().block_on(provider.chat(&request, &mut |piece| streamed.push_str(piece)));
    match result {
        Ok(reply) => assert_eq!(reply.text, streamed, "the reply is what was streamed"),
        Err(e) => {
            // The server always answers: anything but the answer's own failure means this
            // harness no longer reaches the decoder.
            assert!(
                matches!(e, LlmError::Status { .. } | LlmError::Stream { .. }),
                "the local server was not reached: {e}"
            );
            let _ = (e.to_string(), e.is_retryable());
            assert_eq!(
                e.streamed(),
                streamed.chars().count(),
                "the error counts what was streamed: {e}"
            );
        }
    }
}
