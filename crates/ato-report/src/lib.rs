//! Reports of a scan: a self-contained HTML page for people and JSON results for programs.
//!
//! Both are built from the same [`ReportInput`]: the content, the resolved profile, the scan's
//! result with its OVAL evaluations, and the facts and times the XCCDF results carry. For each
//! rule that failed or stayed undecided, both show the evidence: the OVAL tests of the rule's
//! definition that were not satisfied, the state they expected and the items collected, with
//! each item's result against that state.
//!
//! ```no_run
//! # fn run(input: &ato_report::ReportInput<'_>) -> std::io::Result<()> {
//! std::fs::write("report.html", ato_report::html_report(input))?;
//! std::fs::write("results.json", ato_report::json_results_string(input))?;
//! # Ok(()) }
//! ```
//!
//! The JSON shape is documented in `docs/json-results.md`.

mod html;
pub mod model;
pub mod sanitize;

use ato_content::Content;
use ato_xccdf::results::{ScanTimes, TargetFacts};
use ato_xccdf::{Policy, ScanResult};

pub use model::{MAX_ITEMS_PER_TEST, SCHEMA_VERSION};

/// What a report is made from; the same values the XCCDF results writer takes.
#[derive(Clone, Copy)]
pub struct ReportInput<'a> {
    pub content: &'a Content,
    pub policy: &'a Policy,
    pub scan: &'a ScanResult,
    pub facts: &'a TargetFacts,
    pub times: &'a ScanTimes,
    /// The default score, from [`ato_xccdf::results::default_score`].
    pub score: f64,
}

/// The HTML report: one HTML5 page with its styles and script inline, that loads nothing.
pub fn html_report(input: &ReportInput<'_>) -> String {
    html::render(input)
}

/// The JSON results (`docs/json-results.md`). Object keys come out sorted and rules are sorted
/// by id, so the same scan gives the same bytes.
pub fn json_results(input: &ReportInput<'_>) -> serde_json::Value {
    let report = model::build(input);
    // The model holds only strings, numbers, booleans, lists and string-keyed maps, which
    // always serialize; a non-finite number becomes `null`.
    serde_json::to_value(&report).unwrap_or(serde_json::Value::Null)
}

/// [`json_results`] as pretty-printed text with a final newline, ready to write to a file or
/// stdout.
pub fn json_results_string(input: &ReportInput<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&json_results(input)).unwrap_or_default();
    s.push('\n');
    s
}
