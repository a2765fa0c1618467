//! Executions as OpenTelemetry traces, exported over OTLP/HTTP (protobuf) to a collector.
//!
//! This crate owns the mapping from what the history keeps of an execution to OTLP spans, and
//! the export itself (`opentelemetry-otlp`'s HTTP exporter). One trace per call: the trace id is
//! the call's correlation id (a UUID is 128 bits, as a trace id is), so every attempt and
//! fallback of a call lands in one trace; each attempt is a span named `skillet.execution`, and
//! each phase it went through (`resolve`, `sandbox_setup`, `process`, …, as `skillet trace`
//! shows them) a child span, timed as recorded.
//!
//! It must not read the store or run anything: the daemon hands it the executions to export
//! (see `skillet-server`'s telemetry watcher). It is built only with the `otlp` cargo feature
//! of the crates that use it.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use skillet_store::ExecutionRecord;

/// The path OTLP/HTTP collectors take traces at.
const TRACES_PATH: &str = "/v1/traces";

/// How long one export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why traces could not be set up or sent.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The endpoint is not a plain `http://host:port` address (with an optional path).
    #[error("[telemetry] otlp_endpoint is not an OTLP/HTTP address skillet can use: {0}")]
    Endpoint(String),
    /// The exporter could not be built.
    #[error("cannot set up the OTLP exporter: {0}")]
    Setup(String),
    /// The collector did not take the spans.
    #[error("the OTLP collector at {endpoint} did not take the spans: {reason}")]
    Send {
        /// Where they went.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
}

/// An exporter of executions to one collector.
#[derive(Debug)]
pub struct TraceExport {
    exporter: opentelemetry_otlp::SpanExporter,
    endpoint: String,
}

impl TraceExport {
    /// An exporter to `endpoint` (`http://host:4318`, or the full `…/v1/traces` URL), with
    /// spans of the service `service_name`.
    pub fn new(endpoint: &str, service_name: &str) -> Result<TraceExport, ExportError> {
        let endpoint = traces_url(endpoint)?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| ExportError::Setup(e.to_string()))?;
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name(service_name.to_owned())
                .build(),
        );
        Ok(TraceExport { exporter, endpoint })
    }

    /// Where the spans go.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends the spans of `executions` in one request.
    pub async fn export(&self, executions: &[ExecutionRecord]) -> Result<(), ExportError> {
        let batch: Vec<SpanData> = executions.iter().flat_map(spans_of).collect();
        if batch.is_empty() {
            return Ok(());
        }
        self.exporter
            .export(batch)
            .await
            .map_err(|e| ExportError::Send {
                endpoint: self.endpoint.clone(),
                reason: e.to_string(),
            })
    }
}

/// `endpoint` as the URL traces are posted to. Only `http://host[:port][/path]`: the URL is
/// written in the daemon's log, so it may hold no credentials (userinfo, a query), and there is
/// no TLS stack here (an `https://` collector is reached through a local collector or proxy).
fn traces_url(endpoint: &str) -> Result<String, ExportError> {
    let refuse = |why: &str| Err(ExportError::Endpoint(why.to_owned()));
    let trimmed = endpoint.trim().trim_end_matches('/');
    if trimmed.starts_with("https://") {
        return refuse(
            "https is not supported (skillet carries no TLS stack for this); send to a collector on this machine or network over http, e.g. http://127.0.0.1:4318",
        );
    }
    let Some(rest) = trimmed.strip_prefix("http://") else {
        return refuse("write http://host:4318 (traces go to /v1/traces)");
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || rest.contains(char::is_whitespace) {
        return refuse("write http://host:4318 (traces go to /v1/traces)");
    }
    if authority.contains('@') || rest.contains(['?', '#']) {
        return refuse(
            "it may not hold a user, password, query or fragment (the address is written in the daemon's log); put credentials on a collector on this machine",
        );
    }
    if let Some((_, port)) = authority.rsplit_once(':')
        && !port.ends_with(']')
        && port.parse::<u16>().is_err()
    {
        return refuse("its port is not a number from 0 to 65535");
    }
    Ok(if trimmed.ends_with(TRACES_PATH) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}{TRACES_PATH}")
    })
}

/// The spans of one execution: the attempt, then one per phase, its children.
pub fn spans_of(e: &ExecutionRecord) -> Vec<SpanData> {
    let trace_id = TraceId::from_bytes(id_bytes(&e.correlation_id));
    let span_id = span_id(&e.id, 0);
    let parent = e.parent_id.as_deref().map_or(SpanId::INVALID, span_id_of);
    let start = at_ms(e.started_at_ms);
    let end = at_ms(e.finished_at_ms.max(e.started_at_ms));
    let scope = InstrumentationScope::builder("skillet")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut attributes = vec![
        KeyValue::new("skillet.skill", e.skill.clone()),
        KeyValue::new("skillet.execution_id", e.id.clone()),
        KeyValue::new("skillet.status", e.status.clone()),
        KeyValue::new("skillet.attempt", e.attempt),
        KeyValue::new("skillet.cached", e.cached),
    ];
    let optional = [
        ("skillet.exit_code", e.exit_code),
        ("skillet.peak_memory_kb", e.peak_memory_kb),
        ("skillet.cpu_time_ms", e.cpu_time_ms),
        ("skillet.peak_processes", e.peak_processes),
        ("skillet.bytes_written", e.bytes_written),
        ("skillet.queue_wait_ms", e.queue_wait_ms),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| Some(KeyValue::new(key, value?))),
    );
    if let Some(limit) = &e.limit_hit {
        attributes.push(KeyValue::new("skillet.limit_hit", limit.clone()));
    }
    if let Some(origin) = e.origin.as_deref().filter(|o| !o.is_empty()) {
        attributes.push(KeyValue::new("skillet.origin", origin.to_owned()));
    }
    let status = if e.status == "ok" {
        Status::Ok
    } else {
        Status::error(e.error.clone().unwrap_or_else(|| e.status.clone()))
    };
    let span = |span_id: SpanId,
                parent: SpanId,
                name: Cow<'static, str>,
                start,
                end,
                attributes,
                status| {
        SpanData {
            span_context: SpanContext::new(
                trace_id,
                span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name,
            start_time: start,
            end_time: end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: scope.clone(),
        }
    };
    let mut spans = vec![span(
        span_id,
        parent,
        "skillet.execution".into(),
        start,
        end,
        attributes,
        status,
    )];
    // The wait in the daemon's queue came before the call's own timeline: a span of its own,
    // ending where the call starts.
    if let Some(wait) = e.queue_wait_ms.filter(|w| *w > 0) {
        spans.push(span(
            self::span_id(&e.id, usize::MAX),
            span_id,
            "queue".into(),
            start - Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
            start,
            vec![KeyValue::new("skillet.execution_id", e.id.clone())],
            Status::Unset,
        ));
    }
    for (n, phase) in e.spans.iter().enumerate() {
        let from = start + Duration::from_micros(phase.start_us);
        spans.push(span(
            self::span_id(&e.id, n + 1),
            span_id,
            phase.phase.clone().into(),
            from,
            from + Duration::from_micros(phase.duration_us),
            vec![KeyValue::new("skillet.execution_id", e.id.clone())],
            Status::Unset,
        ));
    }
    spans
}

fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A UUID's 16 bytes (its hex digits, dashes left out); anything else is hashed to 16 bytes
/// (FNV-1a, twice), so every id makes a valid, stable trace id.
fn id_bytes(id: &str) -> [u8; 16] {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        let mut bytes = [0u8; 16];
        let parsed = (0..16).all(|i| {
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map(|b| bytes[i] = b)
                .is_ok()
        });
        if parsed && bytes != [0; 16] {
            return bytes;
        }
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&fnv(id, 0).to_be_bytes());
    out[8..].copy_from_slice(&fnv(id, 1).to_be_bytes());
    out
}

/// Span `n` of execution `id`: its attempt span is 0, its phases 1, 2, …
fn span_id(id: &str, n: usize) -> SpanId {
    let bytes = fnv(id, (n as u64).wrapping_add(2)).to_be_bytes();
    SpanId::from_bytes(if bytes == [0; 8] { [1; 8] } else { bytes })
}

/// The attempt span of execution `id`.
fn span_id_of(id: &str) -> SpanId {
    span_id(id, 0)
}

fn fnv(text: &str, seed: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use skillet_store::SpanRecord;

    use super::*;

    #[test]
    fn an_execution_is_a_span_with_its_phases_as_children() {
        let mut e = ExecutionRecord::new("0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a", "count", "failed");
        e.started_at_ms = 1_000;
        e.finished_at_ms = 1_050;
        e.exit_code = Some(3);
        e.queue_wait_ms = Some(30);
        e.spans = vec![SpanRecord {
            phase: "process".into(),
            start_us: 2_000,
            duration_us: 40_000,
        }];
        let spans = spans_of(&e);
        assert_eq!(spans.len(), 3);
        let (root, queue, phase) = (&spans[0], &spans[1], &spans[2]);
        assert_eq!(queue.name, "queue");
        assert_eq!(queue.end_time, root.start_time);
        assert_eq!(
            root.start_time.duration_since(queue.start_time).unwrap(),
            Duration::from_millis(30)
        );
        assert_eq!(
            root.span_context.trace_id().to_string(),
            "0190f3a27c417d2e9a3b5f6e7d8c9b0a"
        );
        assert_eq!(phase.parent_span_id, root.span_context.span_id());
        assert_eq!(phase.span_context.trace_id(), root.span_context.trace_id());
        assert_eq!(
            phase.start_time.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_micros(1_002_000)
        );
        assert!(matches!(root.status, Status::Error { .. }));
        assert!(
            root.attributes
                .contains(&KeyValue::new("skillet.exit_code", 3_i64))
        );
    }

    #[test]
    fn endpoints_are_checked_and_completed() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://c.example/v1/traces/").unwrap(),
            "http://c.example/v1/traces"
        );
        assert_eq!(
            traces_url("http://[::1]:4318").unwrap(),
            "http://[::1]:4318/v1/traces"
        );
        for bad in [
            "127.0.0.1:4318",
            "ftp://x",
            "http://",
            "http://a b",
            "https://c.example",
            "http://user:pass@c.example",
            "http://c.example/?token=x",
            "http://c.example#frag",
            "http://c.example:99999",
        ] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
        // Ids that are not UUIDs still make valid trace ids.
        assert_ne!(id_bytes("not-a-uuid"), [0; 16]);
    }
}
