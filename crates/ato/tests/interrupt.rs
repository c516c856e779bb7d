//! Interrupting ato: on SIGINT, SIGTERM or SIGHUP while an output is being written, the
//! temporary file beside it is removed, outputs already in place stay, stderr says which were
//! complete, and the exit status is 128 + the signal number.
//!
//! Writing an output takes milliseconds, too short to hit from a test, so the test hook
//! `ATO_TEST_PAUSE_AFTER_TEMP=NAME` makes ato wait 60 seconds between writing the temporary file
//! of the output named NAME and renaming it. Each wait here is bounded, and a child still running
//! at the end of a test is killed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use common::*;

const TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn ctrl_c_while_writing_removes_the_temporary_file_and_keeps_complete_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (root, ds) = small_scan(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let results = out.join("results.xml");
    let report = out.join("report.html");

    // The results are written before the report: once they are in place, the temporary file is
    // the report's.
    let mut cmd = ato();
    cmd.args(["scan", "--quiet", "--profile", "test", "--root"])
        .arg(&root)
        .arg("--results")
        .arg(&results)
        .arg("--report")
        .arg(&report)
        .arg(&ds);
    if ignored_here(2) {
        // Inherited by ato, which then leaves SIGINT ignored too.
        eprintln!("skipped: this test process ignores SIGINT");
        return;
    }
    let mut child = Running::start(cmd, "report.html");
    child.wait_for(|| results.exists() && !temporary_files(&out).is_empty());
    child.signal(Signal::INT);
    let (status, err) = child.finish();

    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains(&format!(
            "ato: interrupted by SIGINT; complete: `{}`; no other output file was written",
            results.display()
        )),
        "{err}"
    );
    assert!(
        temporary_files(&out).is_empty(),
        "{:?}",
        temporary_files(&out)
    );
    assert_eq!(results_by_rule(&results).len(), 1);
    assert!(!report.exists());
}

#[test]
fn sigterm_and_sighup_exit_128_plus_the_signal_and_keep_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let (root, ds) = small_scan(dir.path());
    let cases = [
        (Signal::TERM, "SIGTERM", 143, "scan"),
        (Signal::HUP, "SIGHUP", 129, "baseline"),
    ];
    for (signal, name, code, subcommand) in cases {
        if ignored_here(code - 128) {
            eprintln!("skipped {name}: this test process ignores it");
            continue;
        }
        let out = dir.path().join(subcommand);
        std::fs::create_dir(&out).unwrap();
        let target = out.join("out.xml");
        std::fs::write(&target, "an earlier run").unwrap();

        let mut cmd = ato();
        if subcommand == "scan" {
            cmd.args(["scan", "--quiet", "--profile", "test", "--root"])
                .arg(&root)
                .arg("--results")
                .arg(&target)
                .arg(&ds);
        } else {
            cmd.args(["baseline", "--export"]).arg(&target);
        }
        let mut child = Running::start(cmd, "out.xml");
        child.wait_for(|| !temporary_files(&out).is_empty());
        child.signal(signal);
        let (status, err) = child.finish();

        assert_eq!(status.code(), Some(code), "{subcommand}: {err}");
        assert!(
            err.contains(&format!(
                "ato: interrupted by {name}; no output file was written"
            )),
            "{subcommand}: {err}"
        );
        assert!(temporary_files(&out).is_empty(), "{subcommand}");
        // An existing output is replaced whole or not at all.
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "an earlier run");
    }
}

#[test]
fn a_signal_ignored_at_start_stays_ignored() {
    if ignored_here(15) {
        eprintln!("skipped: this test process ignores SIGTERM");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.xml");
    // `nohup` starts ato with SIGHUP ignored.
    let mut cmd = Command::new("nohup");
    cmd.arg(env!("CARGO_BIN_EXE_ato"))
        .args(["baseline", "--export"])
        .arg(&target);
    let mut child = Running::start(cmd, "out.xml");
    child.wait_for(|| !temporary_files(dir.path()).is_empty());
    child.signal(Signal::HUP);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.0.try_wait().unwrap().is_none(), "SIGHUP ended ato");

    child.signal(Signal::TERM);
    let (status, err) = child.finish();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(temporary_files(dir.path()).is_empty());
}

/// A tree and a data stream whose one rule passes.
fn small_scan(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("root");
    write(&root, "etc/app.conf", "key = value\n");
    let (def, test, object) = file_line_rule("key", "/etc/app.conf", "^key");
    let ds = data_stream(&[TestRule {
        name: "key",
        severity: "low",
        definition: &def,
        tests: &test,
        objects: &object,
        states: "",
    }]);
    let ds = write(dir, "ds.xml", &ds);
    (root, ds)
}

/// The temporary files in `dir` (`write_atomically` names them `.tmp…`).
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp"))
        })
        .collect()
}

/// Whether this process ignores signal `n` (bit N-1 of `SigIgn` in `/proc/self/status`).
fn ignored_here(n: i32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (n - 1)) != 0)
}

/// An ato process, killed if the test ends while it runs.
struct Running(Child);

impl Running {
    /// Starts `cmd` with the test hook pausing before the output named `pause_on` is renamed.
    fn start(mut cmd: Command, pause_on: &str) -> Self {
        let child = cmd
            .env("ATO_TEST_PAUSE_AFTER_TEMP", pause_on)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ato binary starts");
        Running(child)
    }

    /// Polls `ready` until it holds; panics (and the child is killed) after [`TIMEOUT`] or if
    /// ato exits first.
    fn wait_for(&mut self, ready: impl Fn() -> bool) {
        let start = Instant::now();
        while !ready() {
            if let Some(status) = self.0.try_wait().unwrap() {
                panic!("ato exited with {status} before the temporary file appeared");
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "no temporary file after {TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: Signal) {
        kill_process(Pid::from_child(&self.0), signal).expect("the signal is sent");
    }

    /// Waits at most [`TIMEOUT`] for ato to exit; its status and stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "ato still runs {TIMEOUT:?} after the signal"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut err).unwrap();
        }
        (status, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
