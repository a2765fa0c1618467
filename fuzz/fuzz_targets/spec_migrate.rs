#![no_main]
//! cargo-fuzz target; the body is shared with the stable test (see bodies/spec_migrate.rs).

#[path = "../bodies/spec_migrate.rs"]
mod body;
#[path = "../bodies/input.rs"]
#[allow(dead_code)]
mod input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
