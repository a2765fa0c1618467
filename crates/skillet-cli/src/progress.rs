//! Progress bars for fetches and unpacking, drawn on stderr only when it is a terminal: in a
//! pipe or a log, nothing is drawn.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use skillet_pkg::source::Progress;

/// One bar at a time (a fetch, then its unpacking), or nothing when stderr is not a terminal.
pub struct Bars {
    terminal: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new() -> Bars {
        Bars {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    /// Removes the bar in progress, if any, before something else is printed.
    pub fn clear(&self) {
        if let Some(bar) = self.slot().take() {
            bar.finish_and_clear();
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic while drawing leaves a bar, not a broken state: keep going.
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Bars {
    fn start(&self, what: &str, total: Option<u64>) {
        if !self.terminal {
            return;
        }
        self.clear();
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                ),
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                    .with_style(
                        ProgressStyle::with_template("{spinner} {msg} {bytes}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }
        };
        bar.set_message(crate::output::field(what).into_owned());
        *self.slot() = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.slot().as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        self.clear();
    }
}
