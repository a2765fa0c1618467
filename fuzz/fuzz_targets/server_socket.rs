#![no_main]
//! cargo-fuzz target; the body is shared with the stable test (see bodies/server_socket.rs).

#[path = "../bodies/server_socket.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
