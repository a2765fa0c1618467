//! Serving skills over the Model Context Protocol.
//!
//! This crate turns the skills a workspace can see into MCP tools, prompts and (for Agent
//! Skills `SKILL.md` folders) skills-extension entries, and carries out calls through the same
//! engine as `skillet run`: same sandbox, limits, retries, circuit breakers and history. The
//! engine records every call (a run with its MCP request id, a session call as a turn of its
//! session); this crate writes no history of its own. It uses the official Rust SDK, rmcp, for the
//! protocol and both transports.
//!
//! It owns the mapping ([`Catalog`], [`input_schema`]), the server ([`SkillServer`]), hot
//! reload ([`watch_skills`]) and the transports ([`serve_stdio`], [`http_service`]). It must
//! not run processes itself (`skillet-engine`), find skills (`skillet-registry`) or own the
//! daemon's socket and lifetime (`skillet-server`).
//!
//! Skills an agent must not see are never listed: broken ones, disabled ones, and a workspace's
//! own until the user trusts it (`skillet trust`).

mod agent_skills;
mod arguments;
mod auth;
mod call;
mod catalog;
mod http;
mod http_observe;
mod http_sessions;
mod jsonrpc;
pub mod lines;
mod outcome;
mod prompts;
mod server;
mod stdio;
mod watch;

pub use auth::{MIN_TOKEN_LEN, TokenError, generate_token, write_token_file};
pub use catalog::{CLOSE_SUFFIX, Catalog, INPUT_ARG, SESSION_ARG, ToolTarget, input_schema};
pub use http::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT, ExtraRoutes, HttpAuth, HttpOptions,
    HttpSetupError, MCP_PATH, http_service, http_service_with,
};
pub use server::{Changes, DEFAULT_MAX_CONCURRENT_CALLS, McpOptions, SkillServer};
pub use stdio::{DEFAULT_MAX_LINE_BYTES, StdioOptions, TransportError, serve_stdio};
pub use watch::{WatchError, watch_skills};
