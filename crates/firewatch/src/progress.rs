//! Progress on standard error, for people at a terminal: bars while captures are read and
//! committed, and while a large feed input is read and committed (records/s).

use firewatch_pipeline::capture::CaptureProgress;
use firewatch_pipeline::feeds::CommitProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Feed inputs get a bar once this many of their records are read.
const SPINNER_MIN_RECORDS: u64 = 20_000;

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

/// A bar on standard error while a large feed input is read, parsed and committed (a
/// terminal, not --json): records so far and records/s. Inputs of fewer than
/// [`SPINNER_MIN_RECORDS`] records show none.
#[derive(Default)]
pub struct Spinner {
    name: String,
    bar: Option<ProgressBar>,
}

impl CommitProgress for Spinner {
    fn started(&mut self, name: &str) {
        self.name = name.to_owned();
    }
    fn advanced(&mut self, records: u64) {
        if self.bar.is_none() && records >= SPINNER_MIN_RECORDS {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {msg}: {human_pos} records, {rate} [{elapsed}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} records/s", state.per_sec());
                },
            );
            bar.set_style(style);
            bar.set_message(self.name.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(records);
        }
    }
    fn finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
