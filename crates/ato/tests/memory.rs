//! Peak memory stays proportional to the input: a large data stream, and large files that a
//! `textfilecontent54` rule reads. OpenSCAP 1.3.7 needs about 18 times the size of a data stream
//! before it probes anything (`../shared/reference/openscap.md`, section 5.1).
//!
//! The peak RSS of the `ato` process is taken from GNU time (`/usr/bin/time -f %M`, Debian's
//! `time` package). Without it these tests are skipped with a message, unless `CI` is set: CI must
//! measure.

mod common;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Output};

use common::*;

const GNU_TIME: &str = "/usr/bin/time";
const MB: u64 = 1_000_000;

#[test]
fn a_50_mb_data_stream_peaks_under_8_times_its_size() {
    let Some(time) = gnu_time() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut conf = String::new();
    for k in 0..PATTERNS {
        conf.push_str(&format!("key{k} = value{k}\n"));
    }
    write(&root, "etc/app.conf", &conf);
    let ds = padded_data_stream(12_000);
    let size = ds.len() as u64;
    assert!(size >= 50 * MB, "the data stream has only {size} bytes");
    let ds = write(dir.path(), "big-ds.xml", &ds);
    drop(conf);

    let results = dir.path().join("results.xml");
    let (out, peak) = peak_rss(
        time,
        Command::new(env!("CARGO_BIN_EXE_ato"))
            .args(["scan", "--quiet", "--profile", "test", "--root"])
            .arg(&root)
            .arg("--results")
            .arg(&results)
            .arg(&ds),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let by_rule = results_by_rule(&results);
    assert_eq!(by_rule.len(), 12_000);
    assert!(by_rule.iter().all(|(_, r)| r == "pass"));

    report("50 MB data stream", size, peak);
    let bound = 8 * size + 50 * MB;
    assert!(
        peak < bound,
        "peak RSS {peak} bytes for a {size}-byte data stream (bound {bound})"
    );
}

#[test]
fn a_file_of_a_million_lines_peaks_under_3_times_its_size() {
    let Some(time) = gnu_time() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let size = write_lines(&root.join("etc/big.conf"), 1_000_000, 500_000);

    let (out, peak, result) = scan_line_rule(time, dir.path(), &root, "/etc/big.conf");
    assert_eq!(result, "pass", "{}", stderr(&out));
    report("file of a million lines", size, peak);
    let bound = 3 * size + 50 * MB;
    assert!(
        peak < bound,
        "peak RSS {peak} bytes for a {size}-byte file (bound {bound})"
    );
}

#[test]
fn a_200_mb_file_peaks_under_3_times_its_size() {
    let Some(time) = gnu_time() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    // About 27 bytes a line.
    let size = write_lines(&root.join("etc/huge.conf"), 7_800_000, 7_000_000);
    assert!(size >= 200 * MB, "the file has only {size} bytes");

    let (out, peak, result) = scan_line_rule(time, dir.path(), &root, "/etc/huge.conf");
    assert_eq!(result, "pass", "{}", stderr(&out));
    report("200 MB file", size, peak);
    let bound = 3 * size + 50 * MB;
    assert!(
        peak < bound,
        "peak RSS {peak} bytes for a {size}-byte file (bound {bound})"
    );
}

/// Regression: when a multiline match ends at the end of a file that ends in a newline,
/// `Regex::captures_at` re-checks it with the backtracking engine; that re-check once started
/// at the search offset instead of at the match, and on a large file hit the backtracking
/// limit, so the rule came out `error` where OpenSCAP says `true`.
#[test]
fn a_match_on_the_last_line_of_a_large_file_is_not_a_backtracking_error() {
    let Some(time) = gnu_time() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write_lines(&root.join("etc/big.conf"), 1_000_000, usize::MAX);

    let (out, _, result) = scan_line_rule(time, dir.path(), &root, "/etc/big.conf");
    assert_eq!(result, "pass", "{}", stderr(&out));
}

#[test]
fn a_file_over_the_read_limit_is_an_error_and_is_never_read() {
    let Some(time) = gnu_time() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    // Sparse: 300 MiB long, above the 256 MiB a textfilecontent54 object reads, and no disk used.
    File::create(root.join("etc/sparse.conf"))
        .unwrap()
        .set_len(300 << 20)
        .unwrap();

    let (out, peak, result) = scan_line_rule(time, dir.path(), &root, "/etc/sparse.conf");
    assert!(result.starts_with("error"), "{result}; {}", stderr(&out));
    report("300 MiB file over the limit", 300 << 20, peak);
    assert!(peak < 50 * MB, "peak RSS {peak} bytes: the file was read");
}

/// Distinct patterns in the padded data stream (SSG's have about a thousand).
const PATTERNS: usize = 1_000;

/// A data stream of `rules` rules, each with a textfilecontent54 check on `/etc/app.conf` that
/// passes and a description of about 3 KB in XHTML, as SSG's rules have.
fn padded_data_stream(rules: usize) -> String {
    let mut parts = Vec::with_capacity(rules);
    for i in 0..rules {
        let name = format!("r{i}");
        let k = i % PATTERNS;
        let (def, test, object) =
            file_line_rule(&name, "/etc/app.conf", &format!(r"^key{k}\s*=\s*(\S+)$"));
        parts.push((name, def, test, object));
    }
    let test_rules: Vec<TestRule<'_>> = parts
        .iter()
        .map(|(name, def, test, object)| TestRule {
            name,
            severity: "medium",
            definition: def,
            tests: test,
            objects: object,
            states: "",
        })
        .collect();
    let paragraph = "<xhtml:p>The <xhtml:code>key</xhtml:code> setting must be present in \
        <xhtml:code>/etc/app.conf</xhtml:code> so that the service starts with a known value; \
        an absent key falls back to a compiled-in default that a reviewer cannot see.</xhtml:p>";
    let description = format!(
        "</xccdf:title>\n  <xccdf:description xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">{}\
         </xccdf:description>\n  <xccdf:check ",
        paragraph.repeat(13)
    );
    data_stream(&test_rules).replace("</xccdf:title>\n  <xccdf:check ", &description)
}

/// Writes `lines` short `key = value` lines with `PermitRootLogin no` among them, at line
/// `needle`; returns the size.
fn write_lines(path: &Path, lines: usize, needle: usize) -> u64 {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    for i in 0..lines {
        if i == needle {
            writeln!(w, "PermitRootLogin no").unwrap();
        }
        writeln!(w, "key{i} = value{i}").unwrap();
    }
    if needle >= lines {
        writeln!(w, "PermitRootLogin no").unwrap();
    }
    w.into_inner().unwrap().sync_all().ok();
    std::fs::metadata(path).unwrap().len()
}

/// Scans `root` with one rule: `file` has the line `PermitRootLogin no`. Returns the output,
/// the peak RSS and the rule's result.
fn scan_line_rule(time: &str, dir: &Path, root: &Path, file: &str) -> (Output, u64, String) {
    let (def, test, object) = file_line_rule("root_login", file, r"^\s*PermitRootLogin\s+no\s*$");
    let ds = data_stream(&[TestRule {
        name: "root_login",
        severity: "high",
        definition: &def,
        tests: &test,
        objects: &object,
        states: "",
    }]);
    let ds = write(dir, "ds.xml", &ds);
    let results = dir.join("results.xml");
    let (out, peak) = peak_rss(
        time,
        Command::new(env!("CARGO_BIN_EXE_ato"))
            .args(["scan", "--quiet", "--profile", "test", "--root"])
            .arg(root)
            .arg("--results")
            .arg(&results)
            .arg(&ds),
    );
    let result = results_by_rule(&results)
        .into_iter()
        .map(|(_, r)| r)
        .next()
        .unwrap_or_else(|| panic!("no rule result; stderr: {}", stderr(&out)));
    // The messages say why a rule did not pass.
    let result = match messages_of(&results, "root_login").join("; ") {
        m if m.is_empty() => result,
        m => format!("{result}: {m}"),
    };
    (out, peak, result)
}

/// GNU time, or `None` (with a message) when it is missing and `CI` is not set.
fn gnu_time() -> Option<&'static str> {
    if Path::new(GNU_TIME).is_file() {
        return Some(GNU_TIME);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "`{GNU_TIME}` is missing, so peak memory cannot be measured\n\
         hint: apt-get install time"
    );
    eprintln!(
        "skipped: `{GNU_TIME}` is missing (Debian package `time`), so peak memory is not measured"
    );
    None
}

/// Runs `cmd` under GNU time; returns its output and its peak RSS in bytes.
fn peak_rss(time: &str, cmd: &mut Command) -> (Output, u64) {
    const TAG: &str = "ato-test-peak-rss-kb=";
    let mut timed = Command::new(time);
    timed
        .arg("-f")
        .arg(format!("{TAG}%M"))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let out = run(&mut timed);
    let err = stderr(&out);
    let kb: u64 = err
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(TAG))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from `{time}`; stderr: {err}"));
    (out, kb * 1024)
}

#[allow(clippy::cast_precision_loss)]
fn report(what: &str, size: u64, peak: u64) {
    let ratio = peak as f64 / size.max(1) as f64;
    eprintln!(
        "{what}: input {:.1} MB, peak RSS {:.1} MB ({ratio:.2}x)",
        size as f64 / 1e6,
        peak as f64 / 1e6
    );
}
