//! Progress on standard error, for people at a terminal: bars while captures are read and
//! committed, a spinner while a large feed input is written.

use firewatch_pipeline::capture::CaptureProgress;
use firewatch_pipeline::feeds::CommitProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Feed inputs with at least this many events get a spinner while they are written.
const SPINNER_MIN_EVENTS: usize = 20_000;

/// Bars on standard error while captures are read and committed, on a terminal only.
pub struct Bars {
    show: bool,
    bar: Option<ProgressBar>,
}

impl Bars {
    /// Bars if `show` and standard error is a terminal.
    pub fn new(show: bool) -> Self {
        Bars {
            show: show && std::io::stderr().is_terminal(),
            bar: None,
        }
    }
}

impl CaptureProgress for Bars {
    fn reading(&mut self, name: &str) {
        if self.show {
            self.bar = Some(progress_bar(name));
        }
    }
    fn frames(&mut self, frames: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(frames);
        }
    }
    fn read(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
    fn committing(&mut self, sources: usize) {
        if self.show {
            self.bar = Some(commit_spinner(sources));
        }
    }
    fn committed(&mut self) {
        self.read();
    }
}

fn progress_bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{spinner} {msg} {human_pos} packets, {rate} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.2} M packets/s", state.per_sec() / 1e6);
                },
            );
    bar.set_style(style);
    bar.set_message(name.to_string());
    bar
}

/// A spinner for the store commit, which takes a while on large captures.
fn commit_spinner(sources: usize) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("writing {sources} sources to the store…"));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// A spinner on standard error while a large input is written (a terminal, not --json).
#[derive(Default)]
pub struct Spinner(Option<indicatif::ProgressBar>);

impl CommitProgress for Spinner {
    fn started(&mut self, name: &str, events: usize) {
        if events >= SPINNER_MIN_EVENTS {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(format!("{name}: writing {events} events…"));
            bar.enable_steady_tick(Duration::from_millis(120));
            self.0 = Some(bar);
        }
    }
    fn finished(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
