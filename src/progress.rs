//! Progress for long work (cloning module libraries, model turns, speck phases), on stderr only:
//! a live status line when stderr is a terminal, `::group::` folds in GitHub Actions, plain lines
//! otherwise, nothing at all with `-q`. Never stdout, so results stay pipeable.

use std::io::IsTerminal as _;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown, decided once per process by [`init`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-q`: nothing.
    Quiet,
    /// A live status line on the terminal.
    Terminal,
    /// GitHub Actions: phases are `::group::` folds, status updates are log lines.
    Actions,
    /// Anything else (a pipe, a file, a library caller): status updates are log lines.
    Lines,
}

static MODE: OnceLock<Mode> = OnceLock::new();
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Pick the mode for this process from `-q`, `GITHUB_ACTIONS` and whether stderr is a terminal.
/// Later calls change nothing.
pub fn init(quiet: bool) {
    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true");
    let _ = MODE.set(choose(quiet, in_actions, std::io::stderr().is_terminal()));
}

/// The mode for the given facts (Actions wins over a terminal: the runner's log is no TTY).
pub fn choose(quiet: bool, in_actions: bool, stderr_is_terminal: bool) -> Mode {
    if quiet {
        Mode::Quiet
    } else if in_actions {
        Mode::Actions
    } else if stderr_is_terminal {
        Mode::Terminal
    } else {
        Mode::Lines
    }
}

/// The mode in force ([`Mode::Lines`] when [`init`] was never called, as in tests).
pub fn mode() -> Mode {
    MODE.get().copied().unwrap_or(Mode::Lines)
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn with_bar(action: impl FnOnce(&mut Option<ProgressBar>)) {
    if let Ok(mut bar) = BAR.lock() {
        action(&mut bar);
    }
}

/// A passing status (e.g. "monty suggest-fix turn 3: read_file (1234 tokens, $0.0123)"): the
/// live line on a terminal, a log line otherwise.
pub fn status(line: &str) {
    let line = crate::redact::redact(line);
    match mode() {
        Mode::Quiet => {}
        Mode::Terminal => with_bar(|bar| {
            bar.get_or_insert_with(spinner)
                .set_message(line.into_owned())
        }),
        Mode::Actions | Mode::Lines => eprintln!("{line}"),
    }
}

/// A line that stays (e.g. the run's totals): clears the live line first on a terminal.
pub fn finish(line: &str) {
    let line = crate::redact::redact(line);
    match mode() {
        Mode::Quiet => {}
        Mode::Terminal => {
            with_bar(|bar| {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
            });
            eprintln!("{line}");
        }
        Mode::Actions | Mode::Lines => eprintln!("{line}"),
    }
}

/// A long phase, shown until the returned guard is dropped: a spinner with `title` on a terminal,
/// a `::group::title` … `::endgroup::` fold in Actions, nothing otherwise.
#[must_use = "the phase ends when the guard is dropped"]
pub fn phase(title: &str) -> Phase {
    let mode = mode();
    match mode {
        Mode::Terminal => with_bar(|bar| {
            bar.get_or_insert_with(spinner)
                .set_message(title.to_owned())
        }),
        Mode::Actions => eprintln!("::group::{}", escape(&crate::redact::redact(title))),
        Mode::Quiet | Mode::Lines => {}
    }
    Phase { mode }
}

/// A workflow command's message, escaped per the runner's rules (as `github::actions` does; this
/// module sits below `github` and cannot use it).
fn escape(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Ends its phase when dropped.
#[derive(Debug)]
pub struct Phase {
    mode: Mode,
}

impl Drop for Phase {
    fn drop(&mut self) {
        match self.mode {
            Mode::Terminal => with_bar(|bar| {
                if let Some(bar) = bar.take() {
                    bar.finish_and_clear();
                }
            }),
            Mode::Actions => eprintln!("::endgroup::"),
            Mode::Quiet | Mode::Lines => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_wins_then_actions_then_the_terminal() {
        assert_eq!(choose(true, true, true), Mode::Quiet);
        assert_eq!(choose(false, true, true), Mode::Actions);
        assert_eq!(choose(false, false, true), Mode::Terminal);
        assert_eq!(choose(false, false, false), Mode::Lines);
    }

    #[test]
    fn outside_a_terminal_phases_draw_nothing() {
        // Tests never call `init`: the mode is `Lines`, and a phase is a no-op guard.
        assert_eq!(mode(), Mode::Lines);
        let phase = phase("cloning");
        assert_eq!(phase.mode, Mode::Lines);
        drop(phase);
        assert!(BAR.lock().map(|bar| bar.is_none()).unwrap_or(false));
    }
}
