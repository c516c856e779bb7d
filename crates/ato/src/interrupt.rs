//! Termination signals. On SIGINT (Ctrl-C), SIGTERM or SIGHUP, ato removes the temporary files
//! of the outputs it was writing, says on stderr which outputs were complete, and exits with
//! 128 + the signal number (130 for Ctrl-C), as shells expect. Outputs already renamed into place
//! are complete and stay. A second signal while cleaning up exits at once.
//!
//! The signal handlers themselves only set a flag and wake a dedicated thread (signal-hook's
//! iterator), or, on the second signal, call `_exit`; the cleanup runs on that thread. A signal
//! that was ignored when ato started (`nohup` ignores SIGHUP) stays ignored.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::os::raw::c_int;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use ato_xccdf::pending::{self, Interrupted};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;
use signal_hook::iterator::Signals;

/// The signals handled, with their names for the message.
const SIGNALS: [(c_int, &str); 3] = [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")];

/// Installs the handlers and starts the thread that cleans up.
pub fn install() -> Result<()> {
    let ignored = ignored_signals();
    let handled: Vec<c_int> = SIGNALS
        .iter()
        .map(|&(s, _)| s)
        .filter(|s| !ignored.contains(s))
        .collect();
    let cleaning = Arc::new(AtomicBool::new(false));
    for &signal in &handled {
        // Registered before the flag is set, so that it runs first: nothing on the first signal,
        // an immediate exit on the next.
        flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&cleaning))
            .context("cannot install a signal handler")?;
        flag::register(signal, Arc::clone(&cleaning)).context("cannot install a signal handler")?;
    }
    let mut signals = Signals::new(&handled).context("cannot install a signal handler")?;
    std::thread::Builder::new()
        .name("signals".to_string())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                on_signal(signal);
            }
        })
        .context("cannot start the signal-handling thread")?;
    Ok(())
}

/// Removes the temporary files, reports, and exits.
fn on_signal(signal: c_int) -> ! {
    let outcome = pending::interrupt();
    let name = SIGNALS
        .iter()
        .find(|&&(s, _)| s == signal)
        .map_or("a signal", |&(_, n)| n);
    let mut text = String::new();
    if std::io::stderr().is_terminal() {
        // Start on a clean line, over a progress bar or the terminal's `^C`.
        text.push_str("\r\x1b[2K");
    }
    text.push_str(&message(name, &outcome));
    let mut err = std::io::stderr().lock();
    // Nothing to do if stderr is gone: exit all the same.
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    std::process::exit(128 + signal)
}

/// What an interruption did, one line, then one line per temporary file left behind.
fn message(signal: &str, outcome: &Interrupted) -> String {
    let mut text = format!("ato: interrupted by {signal}; ");
    if outcome.complete.is_empty() {
        text.push_str("no output file was written\n");
    } else {
        let names: Vec<String> = outcome
            .complete
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        let _ = writeln!(
            text,
            "complete: {}; no other output file was written",
            names.join(", ")
        );
    }
    for (path, cause) in &outcome.not_removed {
        let _ = writeln!(
            text,
            "ato: warning: cannot remove the temporary file `{}`: {cause}",
            path.display()
        );
    }
    text
}

/// The signals this process ignores, from the `SigIgn` mask of `/proc/self/status` (bit N-1 for
/// signal N). None when it cannot be read.
fn ignored_signals() -> Vec<c_int> {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| ignored_in_status(&s))
        .unwrap_or_default()
}

fn ignored_in_status(status: &str) -> Vec<c_int> {
    let Some(mask) = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
    else {
        return Vec::new();
    };
    (1..=64).filter(|n| mask & (1u64 << (n - 1)) != 0).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn nothing_complete_says_no_output_was_written() {
        let text = message("SIGINT", &Interrupted::default());
        assert_eq!(
            text,
            "ato: interrupted by SIGINT; no output file was written\n"
        );
    }

    #[test]
    fn complete_outputs_are_named() {
        let outcome = Interrupted {
            complete: vec![PathBuf::from("out.xml"), PathBuf::from("r/report.html")],
            ..Interrupted::default()
        };
        assert_eq!(
            message("SIGTERM", &outcome),
            "ato: interrupted by SIGTERM; complete: `out.xml`, `r/report.html`; no other \
             output file was written\n"
        );
    }

    #[test]
    fn a_temporary_file_left_behind_is_a_warning() {
        let outcome = Interrupted {
            not_removed: vec![(
                PathBuf::from(".tmpAbC"),
                std::io::Error::other("permission denied"),
            )],
            ..Interrupted::default()
        };
        let text = message("SIGHUP", &outcome);
        assert!(text.ends_with(
            "ato: warning: cannot remove the temporary file `.tmpAbC`: permission denied\n"
        ));
    }

    #[test]
    fn ignored_signals_come_from_the_sigign_mask() {
        // SIGHUP (1) and SIGPIPE (13) ignored, as under `nohup`.
        let status = "Name:\tato\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\n";
        assert_eq!(ignored_in_status(status), [1, 13]);
        assert!(ignored_in_status("Name:\tato\n").is_empty());
        assert!(ignored_in_status("SigIgn:\tzz\n").is_empty());
    }
}
