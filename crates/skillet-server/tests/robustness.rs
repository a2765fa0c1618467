//! No panic on any input (issue 18): the daemon's socket protocol frames, decoded as the daemon and its client decode them, run on stable over the committed seeds
//! (`fuzz/corpus/<target>/`) and a bounded number of mutations of them. The same bodies are
//! cargo-fuzz targets (`fuzz/`); see docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated
//! cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/server_protocol.rs"]
mod server_protocol;

#[test]
fn daemon_protocol_frames_never_panic() {
    seeded::check("server_protocol", 6000, server_protocol::run);
}

#[path = "../../../fuzz/bodies/server_socket.rs"]
mod server_socket;

#[test]
fn the_daemon_answers_after_every_hostile_frame() {
    seeded::check("server_socket", 500, server_socket::run);
}
