//! The end of stdin as a stop signal for commands that run until interrupted (`dev`,
//! `logs --follow`), as esbuild's `--watch` does: an editor, agent or script that started one
//! and went away does not leave it running.

use std::io::{IsTerminal, Read};

/// Calls `stop` when stdin ends, unless stdin is a terminal (a person stops with Ctrl-C).
pub fn when_input_ends(stop: impl FnOnce() + Send + 'static) {
    if std::io::stdin().is_terminal() {
        return;
    }
    // Detached: a blocking read cannot be interrupted, and the process exits without it.
    let _ = std::thread::Builder::new()
        .name("skillet-stdin-end".into())
        .spawn(move || {
            let mut sink = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            stop();
        });
}
