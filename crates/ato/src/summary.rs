//! The summary a scan prints: counts by result and severity, then the rules that failed.
//!
//! The counts are of rule results, as the XCCDF results hold them: a `multi-check` rule counts
//! once per OVAL definition, and its failed definitions are listed each with its id. The
//! `rules` line counts rules; a `results` line follows it when the two differ.

use std::collections::HashMap;
use std::fmt::Write as _;

use ato_content::xccdf::{Benchmark, Severity};
use ato_xccdf::{ScanResult, XccdfResult};

/// Renders the summary table as plain text.
pub fn render(
    benchmark: &Benchmark,
    profile: Option<&str>,
    results: &ScanResult,
    score: f64,
) -> String {
    let titles: HashMap<&str, &str> = benchmark
        .rules()
        .into_iter()
        .map(|r| (r.base.id.as_str(), r.base.title.as_str()))
        .collect();
    let severities = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Benchmark  {} ({})",
        benchmark.title.trim(),
        benchmark.version
    );
    if let Some(p) = profile {
        let _ = writeln!(out, "Profile    {p}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<15}{:>7}{:>7}{:>8}{:>6}{:>7}",
        "result", "total", "high", "medium", "low", "other"
    );
    for r in XccdfResult::ALL {
        if r == XccdfResult::NotSelected {
            continue;
        }
        let rules: Vec<_> = results.rules.iter().filter(|x| x.result == r).collect();
        if rules.is_empty() {
            continue;
        }
        let by = |s: Severity| rules.iter().filter(|x| x.severity == s).count();
        let other = rules.len() - by(Severity::High) - by(Severity::Medium) - by(Severity::Low);
        let _ = writeln!(
            out,
            "{:<15}{:>7}{:>7}{:>8}{:>6}{:>7}",
            r.as_str(),
            rules.len(),
            by(Severity::High),
            by(Severity::Medium),
            by(Severity::Low),
            other
        );
    }
    let evaluated = results
        .rules
        .iter()
        .filter(|x| x.result != XccdfResult::NotSelected)
        .count();
    let evaluated_rules = results
        .rule_outcomes()
        .iter()
        .filter(|(_, r)| *r != XccdfResult::NotSelected)
        .count();
    let _ = writeln!(out, "{:<15}{:>7}", "rules", evaluated_rules);
    if evaluated != evaluated_rules {
        let _ = writeln!(
            out,
            "{:<15}{:>7}  (multi-check rules give one per OVAL definition)",
            "results", evaluated
        );
    }
    let _ = writeln!(out, "{:<15}{:>7.2}", "score", score);

    let failed: Vec<_> = results
        .rules
        .iter()
        .filter(|x| {
            matches!(
                x.result,
                XccdfResult::Fail | XccdfResult::Error | XccdfResult::Unknown
            )
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Rules that did not pass:");
        for s in severities {
            for r in failed.iter().filter(|x| x.severity == s) {
                let short = r
                    .rule_id
                    .rsplit_once("_rule_")
                    .map(|(_, s)| s)
                    .unwrap_or(&r.rule_id);
                let title = titles.get(r.rule_id.as_str()).copied().unwrap_or("");
                let definition = r
                    .check
                    .as_ref()
                    .filter(|c| c.multi_check)
                    .and_then(|c| c.name.as_deref())
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<7} {:<8} {:<48} {}{definition}",
                    r.result.as_str(),
                    s.as_str(),
                    short,
                    title.trim()
                );
            }
        }
    }
    out
}
