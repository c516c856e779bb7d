//! XCCDF 1.2 results: the benchmark with a `TestResult` appended, as `oscap xccdf eval
//! --results` writes it, and the default score (NIST IR 7275 rev 4, table 40).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use ato_content::xccdf::{Benchmark, Item, Role};
use ato_content::Content;

use crate::error::XccdfError;
use crate::eval::{RuleResult, ScanResult, XccdfResult};
use crate::pending;
use crate::profile::Policy;

/// Facts about the scanned system for the TestResult.
#[derive(Debug, Clone, Default)]
pub struct TargetFacts {
    pub host_name: String,
    /// `Some(root)` for an offline root.
    pub root: Option<String>,
    pub user: String,
    pub privileged: bool,
}

/// Times of the scan, already formatted as `xsd:dateTime`.
#[derive(Debug, Clone, Default)]
pub struct ScanTimes {
    pub start: String,
    pub end: String,
}

/// A rule's result, role and weight, as the score counts it.
type Scored = (XccdfResult, Role, f64);

/// The default scoring model's score of the benchmark.
///
/// A rule with several results (`multi-check`) counts once, with the result
/// [`XccdfResult::combined`] gives: failed if any instance failed. OpenSCAP 1.3.7 scores such a
/// rule by its first rule-result alone, so the two scores differ when that one passed and
/// another did not.
pub fn default_score(benchmark: &Benchmark, results: &ScanResult) -> f64 {
    let by_id: HashMap<&str, Scored> = results
        .by_rule()
        .into_iter()
        .filter_map(|(id, rs)| {
            let first = rs.first()?;
            let result = XccdfResult::combined(rs.iter().map(|r| r.result))?;
            Some((id, (result, first.role, first.weight)))
        })
        .collect();
    // (score, weight of this node as a child, counted)
    fn node(items: &[Item], by_id: &HashMap<&str, Scored>) -> Option<f64> {
        let mut sum = 0.0;
        let mut accumulator = 0.0;
        let mut count = 0;
        for item in items {
            let (score, weight) = match item {
                Item::Rule(r) => {
                    let Some(&(result, role, weight)) = by_id.get(r.base.id.as_str()) else {
                        continue;
                    };
                    if role == Role::Unscored {
                        continue;
                    }
                    let s = match result {
                        XccdfResult::NotSelected
                        | XccdfResult::NotApplicable
                        | XccdfResult::Informational
                        | XccdfResult::NotChecked => continue,
                        XccdfResult::Pass | XccdfResult::Fixed => 100.0,
                        _ => 0.0,
                    };
                    (s, weight)
                }
                Item::Group(g) => match node(&g.children, by_id) {
                    Some(s) => (s, g.base.weight),
                    None => continue,
                },
                Item::Value(_) => continue,
            };
            sum += score * weight;
            accumulator += weight;
            count += 1;
        }
        if count == 0 {
            None
        } else if accumulator > 0.0 {
            Some(sum / accumulator)
        } else {
            Some(0.0)
        }
    }
    node(&benchmark.items, &by_id).unwrap_or(0.0)
}

/// Escapes text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped rather than written invalid.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The `TestResult` element, in the XCCDF 1.2 namespace (declared on it).
pub fn test_result_xml(
    content: &Content,
    policy: &Policy,
    results: &ScanResult,
    facts: &TargetFacts,
    times: &ScanTimes,
    score: f64,
) -> String {
    let mut x = String::with_capacity(64 * results.rules.len() + 4096);
    let profile_suffix = policy
        .profile_id
        .as_deref()
        .map(|p| p.trim_start_matches("xccdf_").replace(['/', ' '], "_"))
        .unwrap_or_else(|| "default".to_string());
    let _ = writeln!(
        x,
        "<TestResult xmlns=\"http://checklists.nist.gov/xccdf/1.2\" id=\"xccdf_org.ato_testresult_{}\" start-time=\"{}\" end-time=\"{}\" version=\"{}\" test-system=\"cpe:/a:ato:ato:{}\">",
        escape(&profile_suffix),
        escape(&times.start),
        escape(&times.end),
        escape(&content.benchmark.version),
        env!("CARGO_PKG_VERSION"),
    );
    let _ = writeln!(
        x,
        "    <benchmark href=\"{}\" id=\"{}\"/>",
        escape(&content.path.display().to_string()),
        escape(&content.benchmark.id)
    );
    let _ = writeln!(x, "    <title>ato scan result</title>");
    let _ = writeln!(
        x,
        "    <identity authenticated=\"false\" privileged=\"{}\">{}</identity>",
        facts.privileged,
        escape(&facts.user)
    );
    if let Some(p) = &policy.profile_id {
        let _ = writeln!(x, "    <profile idref=\"{}\"/>", escape(p));
    }
    let _ = writeln!(x, "    <target>{}</target>", escape(&facts.host_name));
    let _ = writeln!(x, "    <target-facts>");
    let fact = |x: &mut String, name: &str, value: &str| {
        let _ = writeln!(
            x,
            "      <fact name=\"{name}\" type=\"string\">{}</fact>",
            escape(value)
        );
    };
    fact(&mut x, "urn:xccdf:fact:scanner:name", "ato");
    fact(
        &mut x,
        "urn:xccdf:fact:scanner:version",
        env!("CARGO_PKG_VERSION"),
    );
    fact(
        &mut x,
        "urn:xccdf:fact:asset:identifier:host_name",
        &facts.host_name,
    );
    if let Some(root) = &facts.root {
        fact(&mut x, "urn:xccdf:fact:ato:offline-root", root);
    }
    let _ = writeln!(x, "    </target-facts>");
    for p in &results.platforms {
        let _ = writeln!(x, "    <platform idref=\"{}\"/>", escape(p));
    }
    for id in &policy.changed_values {
        if let Some(v) = policy.values.get(id) {
            let _ = writeln!(
                x,
                "    <set-value idref=\"{}\">{}</set-value>",
                escape(id),
                escape(v)
            );
        }
    }
    for r in &results.rules {
        write_rule_result(&mut x, r, &times.end);
    }
    let _ = writeln!(
        x,
        "    <score system=\"urn:xccdf:scoring:default\" maximum=\"100.000000\">{score:.6}</score>"
    );
    x.push_str("  </TestResult>\n");
    x
}

fn write_rule_result(x: &mut String, r: &RuleResult, time: &str) {
    let _ = writeln!(
        x,
        "    <rule-result idref=\"{}\" role=\"{}\" time=\"{}\" severity=\"{}\" weight=\"{:.6}\">",
        escape(&r.rule_id),
        r.role.as_str(),
        escape(time),
        r.severity.as_str(),
        r.weight
    );
    let _ = writeln!(x, "      <result>{}</result>", r.result.as_str());
    for id in &r.idents {
        let _ = writeln!(
            x,
            "      <ident system=\"{}\">{}</ident>",
            escape(&id.system),
            escape(&id.value)
        );
    }
    for m in &r.messages {
        let _ = writeln!(
            x,
            "      <message severity=\"info\">{}</message>",
            escape(m)
        );
    }
    if let Some(c) = &r.check {
        let _ = writeln!(
            x,
            "      <check system=\"{}\"{}{}>",
            escape(&c.system),
            if c.multi_check {
                " multi-check=\"true\""
            } else {
                ""
            },
            if c.negate { " negate=\"true\"" } else { "" }
        );
        for (value_id, export) in &c.exports {
            let _ = writeln!(
                x,
                "        <check-export value-id=\"{}\" export-name=\"{}\"/>",
                escape(value_id),
                escape(export)
            );
        }
        match &c.name {
            Some(n) => {
                let _ = writeln!(
                    x,
                    "        <check-content-ref name=\"{}\" href=\"{}\"/>",
                    escape(n),
                    escape(&c.href)
                );
            }
            None => {
                let _ = writeln!(
                    x,
                    "        <check-content-ref href=\"{}\"/>",
                    escape(&c.href)
                );
            }
        }
        let _ = writeln!(x, "      </check>");
    }
    x.push_str("    </rule-result>\n");
}

/// The whole results document: the benchmark with the TestResult before its end tag.
pub fn results_document(content: &Content, test_result: &str) -> String {
    let bench = &content.benchmark_xml;
    let close = bench.rfind("</").unwrap_or(bench.len());
    let mut doc = String::with_capacity(bench.len() + test_result.len() + 64);
    doc.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    doc.push_str(&bench[..close]);
    doc.push_str("  ");
    doc.push_str(test_result);
    doc.push_str(&bench[close..]);
    doc.push('\n');
    doc
}

/// Checks before a scan that `path` can be written by [`write_atomically`]: `-`, or a regular
/// file or nothing, in a directory that exists.
pub fn check_writable(path: &Path) -> Result<(), XccdfError> {
    let err = |message: &str| XccdfError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(message.to_string()),
    };
    if path.as_os_str() == "-" {
        return Ok(());
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(err(
                "it exists and is not a regular file; refusing to replace it",
            ));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(err("its directory does not exist"));
    }
    Ok(())
}

/// Writes `data` to `path` atomically: a temporary file beside it, synced, then renamed.
///
/// `-` writes to standard output. A path that exists and is not a regular file (a device such
/// as `/dev/null`, a FIFO, a symlink) is refused: renaming over it would replace it for the
/// whole host.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), XccdfError> {
    let err = |source| XccdfError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        return match out.write_all(data).and_then(|()| out.flush()) {
            // The reader stopped (`| head`): what it read is all it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.map_err(err),
        };
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(err(std::io::Error::other(
                "it exists and is not a regular file (a device, FIFO, directory or symlink); \
                 refusing to replace it",
            )));
        }
        _ => {}
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the directory `{}` does not exist", dir.display()),
        )));
    }
    let mut tmp = pending::create_in(dir).map_err(|e| {
        // The temporary file's random name would only puzzle: name the directory instead.
        err(std::io::Error::new(
            e.kind(),
            format!("cannot create a file in `{}`: {}", dir.display(), e.kind()),
        ))
    })?;
    let file = tmp.as_file_mut().map_err(err)?;
    file.write_all(data).map_err(err)?;
    file.sync_all().map_err(err)?;
    pause_for_tests(path);
    tmp.persist(path).map_err(err)?;
    Ok(())
}

/// A test hook: when `ATO_TEST_PAUSE_AFTER_TEMP` is the file name of the output being written,
/// waits 60 seconds between writing its temporary file and renaming it, so that a test can
/// interrupt ato while the temporary file exists (`crates/ato/tests/interrupt.rs`). It only
/// delays; nothing else changes.
fn pause_for_tests(path: &Path) {
    let Some(name) = std::env::var_os("ATO_TEST_PAUSE_AFTER_TEMP") else {
        return;
    };
    if path.file_name() == Some(name.as_os_str()) {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
