//! Plans of Action and Milestones from scan results, in the column layout of eMASS's RMF POA&M
//! import template: one item per open finding (a failed rule) or per control.
//!
//! The workbook keeps the template's layout: the classification banner on row 1, the header
//! block on rows 2 to 6, the column headers on row 7 (with the template's stray duplicate in
//! column A and its odd spaces) and the items from row 8. Every column eMASS requires of an
//! `Ongoing` item is filled: status, scheduled completion date, Office/Org, vulnerability
//! description, source identifying the vulnerability, resources and a first milestone.
//!
//! Severity follows the DISA category of the rule (high, medium, low: CAT I, II, III, which are
//! High, Moderate and Low). The risk columns follow NIST SP 800-30 Rev. 1, whose five-level
//! scale the template uses:
//!
//! - Relevance of threat is not in a scan: it comes from the policy (default `Moderate`), and it
//!   stands for the likelihood that a threat event is initiated.
//! - Likelihood is the overall likelihood of 800-30's Table G-5, from that initiation likelihood
//!   and the likelihood of adverse impact, which the finding's severity gives.
//! - Impact is the category's: the DISA category definitions are statements of impact (CAT I
//!   "directly and immediately results in loss").
//! - Residual risk level is 800-30's Table I-2, from likelihood and impact. A scan knows of no
//!   mitigation, so it is the risk as found.
//!
//! These values are the starting point of a risk analysis, not its result. With the default
//! relevance they are the values the MITRE SAF CLI's `ckl2POAM` writes. The scheduled completion
//! date is the scan date plus the days the policy gives the category.
//!
//! The Security Control Number is the control that the finding's CCI maps to in DISA's CCI list,
//! which is how eMASS ties a STIG finding to a control; a rule without a mapped CCI takes the
//! content's first NIST SP 800-53 reference. eMASS's newer "Devices Affected" column is not in
//! the template: asked for, it is written after the last column, so that columns A to V keep
//! their places.

use std::collections::BTreeMap;
use std::sync::Arc;

use ato_content::xccdf::Rule;
use ato_xccdf::XccdfResult;
use jiff::civil::Date;
use jiff::ToSpan;
use rust_xlsxwriter::{DataValidation, ExcelDateTime, Format, FormatAlign, Workbook, XlsxError};

use crate::controls::{controls_of_cci, map_rule, RuleControls};
use crate::error::ArtifactError;
use crate::results::ScanResults;
use crate::stig::{DisaRule, DisaStig};

/// The header of the optional column W, as eMASS names it.
pub const DEVICES_AFFECTED: &str = "Devices Affected";

/// The column headers of row 7, columns A to V, exactly as the template spells them.
pub const HEADERS: [&str; 22] = [
    "Control Vulnerability Description",
    "POA&M Item ID",
    "Control Vulnerability Description",
    "Security Control Number (NC/NA controls only)",
    "Office/Org",
    "Security Checks",
    "Resources Required",
    "Scheduled Completion Date",
    "Milestone with Completion Dates",
    "Milestone Changes",
    "Source Identifying Vulnerability ",
    "Status",
    "Comments",
    " Raw Severity",
    "Mitigations",
    "Severity",
    "Relevance of Threat",
    "Likelihood",
    "Impact",
    "Impact Description",
    "Residual Risk Level",
    "Recommendations",
];

/// The template's column widths, A to V.
const WIDTHS: [f64; 22] = [
    17.2, 14.5, 34.5, 18.5, 18.5, 18.5, 15.5, 25.5, 15.2, 16.0, 21.5, 24.7, 25.2, 17.2, 16.2, 19.0,
    19.0, 19.0, 19.0, 27.5, 19.0, 30.5,
];

/// The classification banner of row 1.
pub const BANNER: &str = "***** UNCLASSIFIED//FOR OFFICIAL USE ONLY *****";

/// The row (0-based) of the column headers; items start on the next one.
pub const HEADER_ROW: u32 = 6;

/// eMASS's limit on the description, comments, mitigations and recommendation texts.
const TEXT_LIMIT: usize = 2000;

/// eMASS's limit on Resources Required.
const RESOURCES_LIMIT: usize = 250;

/// The columns eMASS requires of an `Ongoing` item, by header (row 7, 0-based column).
pub const REQUIRED_FOR_ONGOING: [usize; 7] = [2, 4, 6, 7, 8, 10, 11];

/// What an item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Per {
    /// One item per failed rule.
    #[default]
    Finding,
    /// One item per NIST SP 800-53 control with a failed rule.
    Control,
}

/// What an organization decides and a scan cannot know: days from the scan to the scheduled
/// completion, by DISA category, and the relevance of threat the risk columns start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub cat1_days: u32,
    pub cat2_days: u32,
    pub cat3_days: u32,
    /// Relevance of Threat: the likelihood that a threat event is initiated.
    pub relevance_of_threat: Level,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            cat1_days: 30,
            cat2_days: 90,
            cat3_days: 180,
            relevance_of_threat: Level::Moderate,
        }
    }
}

impl Policy {
    pub fn days(&self, cat: Category) -> u32 {
        match cat {
            Category::I => self.cat1_days,
            Category::II => self.cat2_days,
            Category::III => self.cat3_days,
        }
    }
}

/// What a POA&M is made with besides the results.
#[derive(Debug, Clone)]
pub struct PoamOptions {
    pub per: Per,
    pub policy: Policy,
    /// The date the scheduled completion dates count from; default: the scan's start.
    pub scan_date: Option<Date>,
    /// Office/Org: "Organization, First Last, Phone, Email"; at least the organization.
    pub office_org: String,
    /// Resources Required.
    pub resources: String,
    /// Write the "Devices Affected" column with this text; an empty text names the scanned
    /// target. `None`: no such column.
    pub devices_affected: Option<String>,
    /// The DISA STIG the content implements: its rule ids (`SV-…_rule`) become the Security
    /// Checks, matched by STIG id, and it is named in the source.
    pub stig: Option<Arc<DisaStig>>,
}

impl Default for PoamOptions {
    fn default() -> PoamOptions {
        PoamOptions {
            per: Per::Finding,
            policy: Policy::default(),
            scan_date: None,
            office_org: "System Owner".to_string(),
            resources: "System administrator time to apply and verify the fix; no funding needed"
                .to_string(),
            devices_affected: None,
            stig: None,
        }
    }
}

/// The five-level scale of eMASS's severity and risk columns (NIST SP 800-30 Rev. 1,
/// Appendices G to I).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    VeryLow,
    Low,
    Moderate,
    High,
    VeryHigh,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::VeryLow,
        Level::Low,
        Level::Moderate,
        Level::High,
        Level::VeryHigh,
    ];

    /// The value as the template writes it: `Very Low` to `Very High`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::VeryLow => "Very Low",
            Level::Low => "Low",
            Level::Moderate => "Moderate",
            Level::High => "High",
            Level::VeryHigh => "Very High",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    /// `Very Low`, `very-low`, `VERY_LOW` and `verylow` are all `Level::VeryLow`.
    fn from_str(s: &str) -> Result<Level, String> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().replace(' ', "").to_ascii_lowercase() == key)
            .ok_or_else(|| {
                format!("`{s}` is not a risk level: use Very Low, Low, Moderate, High or Very High")
            })
    }
}

use Level::{High as H, Low as L, Moderate as M, VeryHigh as VH, VeryLow as VL};

/// SP 800-30 Rev. 1 Table G-5, overall likelihood: rows are the likelihood that a threat event
/// is initiated (Very Low to Very High), columns the likelihood that it results in adverse
/// impact.
const OVERALL_LIKELIHOOD: [[Level; 5]; 5] = [
    [VL, VL, L, L, L],
    [VL, L, L, L, M],
    [L, L, M, M, H],
    [L, M, M, H, VH],
    [L, M, H, VH, VH],
];

/// SP 800-30 Rev. 1 Table I-2, level of risk: rows are the likelihood, columns the impact.
const RISK_LEVEL: [[Level; 5]; 5] = [
    [VL, VL, VL, L, L],
    [VL, L, L, L, M],
    [VL, L, M, M, H],
    [VL, L, M, H, VH],
    [VL, L, M, H, VH],
];

/// The risk columns of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Risk {
    pub severity: Level,
    pub relevance_of_threat: Level,
    pub likelihood: Level,
    pub impact: Level,
    pub residual: Level,
}

impl Risk {
    /// The risk of a finding of `category` under a threat of the given relevance.
    pub fn of(category: Category, relevance_of_threat: Level) -> Risk {
        let severity = category.level();
        let likelihood = OVERALL_LIKELIHOOD[relevance_of_threat.index()][severity.index()];
        let impact = category.level();
        Risk {
            severity,
            relevance_of_threat,
            likelihood,
            impact,
            residual: RISK_LEVEL[likelihood.index()][impact.index()],
        }
    }
}

/// A DISA severity category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    I,
    II,
    III,
}

impl Category {
    /// The category of an XCCDF severity: high is CAT I, medium and unknown CAT II, low and
    /// info CAT III.
    pub fn of_severity(severity: &str) -> Category {
        match severity.trim().to_ascii_lowercase().as_str() {
            "high" => Category::I,
            "low" | "info" => Category::III,
            _ => Category::II,
        }
    }

    /// The Raw Severity value: `I`, `II` or `III`.
    pub fn raw(self) -> &'static str {
        match self {
            Category::I => "I",
            Category::II => "II",
            Category::III => "III",
        }
    }

    /// The category on the five-level scale: High, Moderate, Low.
    pub fn level(self) -> Level {
        match self {
            Category::I => Level::High,
            Category::II => Level::Moderate,
            Category::III => Level::Low,
        }
    }

    fn impact_description(self) -> &'static str {
        match self {
            Category::I => {
                "CAT I: exploiting it directly and immediately results in loss of \
                 confidentiality, availability or integrity."
            }
            Category::II => {
                "CAT II: exploiting it has a potential to result in loss of confidentiality, \
                 availability or integrity."
            }
            Category::III => {
                "CAT III: it degrades measures that protect against loss of confidentiality, \
                 availability or integrity."
            }
        }
    }
}

/// One POA&M item; the fields are the template's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoamItem {
    pub description: String,
    /// Control acronym (`CM-6`); empty for a system-level item.
    pub control: String,
    pub ccis: Vec<String>,
    pub office_org: String,
    /// STIG rule ids, STIG ids or XCCDF rule ids, `; `-separated in the sheet.
    pub security_checks: Vec<String>,
    pub resources: String,
    pub scheduled_completion: Date,
    /// Milestones, each with its date after the text; the first is on the item's row.
    pub milestones: Vec<String>,
    pub source: String,
    pub status: &'static str,
    pub comments: String,
    pub category: Category,
    pub risk: Risk,
    pub mitigations: String,
    pub impact_description: String,
    pub recommendations: String,
    /// The XCCDF rules of the item.
    pub rules: Vec<String>,
}

/// A POA&M: its items and the header block's values.
#[derive(Debug, Clone)]
pub struct Poam {
    pub items: Vec<PoamItem>,
    pub date_exported: Date,
    pub exported_by: String,
    pub system_name: String,
    /// The "Devices Affected" value of every item, when the column is written.
    pub devices_affected: Option<String>,
}

/// A failed rule with what an item needs of it.
struct Open<'a> {
    rule: &'a Rule,
    controls: RuleControls,
    /// The DISA STIG's rules with the rule's STIG ids.
    stig_rules: Vec<&'a DisaRule>,
    category: Category,
    fix_text: String,
    description: String,
}

/// Builds the POA&M of a scan: an item per failed rule (or per control with failed rules),
/// in the order of the results (of the controls).
///
/// Fails when a scheduled completion date would fall after 9999-12-31, and when the DISA STIG
/// given shares no STIG id with the benchmark (it is not the STIG the content implements).
pub fn poam(results: &ScanResults, options: &PoamOptions) -> Result<Poam, ArtifactError> {
    let scan_date = options
        .scan_date
        .or_else(|| date_of(&results.test_result.start_time))
        .unwrap_or_else(|| {
            jiff::Timestamp::now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
        });
    let p = &options.policy;
    let longest = p.cat1_days.max(p.cat2_days).max(p.cat3_days);
    if scan_date.checked_add(i64::from(longest).days()).is_err() {
        return Err(ArtifactError::Poam(format!(
            "{longest} days after the scan date {scan_date} is past the last date a POA&M can \
             hold, 9999-12-31"
        )));
    }
    if let Some(stig) = options.stig.as_deref() {
        check_stig_matches(results, stig)?;
    }
    let open = open_findings(results, options.stig.as_deref());
    let source = source(results, scan_date, options.stig.as_deref());
    let items = match options.per {
        Per::Finding => open
            .iter()
            .map(|o| finding_item(o, options, scan_date, &source))
            .collect(),
        Per::Control => control_items(&open, options, scan_date, &source),
    };
    let target = &results.test_result.target;
    Ok(Poam {
        items,
        date_exported: scan_date,
        exported_by: format!("ato {}", env!("CARGO_PKG_VERSION")),
        system_name: target.clone(),
        devices_affected: options.devices_affected.as_ref().map(|d| {
            if d.trim().is_empty() {
                non_empty(target, "the scanned target").to_string()
            } else {
                d.clone()
            }
        }),
    })
}

/// A STIG that shares no STIG id with the benchmark's rules is the wrong STIG.
fn check_stig_matches(results: &ScanResults, stig: &DisaStig) -> Result<(), ArtifactError> {
    let ids: std::collections::HashSet<&str> =
        stig.rules.iter().map(|d| d.stig_id.as_str()).collect();
    // Only the references are needed, not the whole control mapping of every rule.
    let shared = results.benchmark.rules().into_iter().any(|r| {
        ato_report::model::group_references(&r.references)
            .stig
            .iter()
            .any(|s| ids.contains(s.as_str()))
    });
    if shared {
        return Ok(());
    }
    Err(ArtifactError::Poam(format!(
        "the DISA STIG `{}` ({} {}) has none of the STIG ids of the benchmark `{}`'s rules: \
         give the STIG that this content implements",
        stig.filename,
        stig.title.trim(),
        stig.version.trim(),
        results.benchmark.title.trim()
    )))
}

fn open_findings<'a>(results: &'a ScanResults, stig: Option<&'a DisaStig>) -> Vec<Open<'a>> {
    let rules = results.benchmark.rules();
    let by_id: BTreeMap<&str, &Rule> = rules.iter().map(|r| (r.base.id.as_str(), *r)).collect();
    results
        .test_result
        .rule_results
        .iter()
        .filter(|rr| rr.result == XccdfResult::Fail)
        .filter_map(|rr| {
            let rule = *by_id.get(rr.rule_id.as_str())?;
            let text = results.texts.get(&rr.rule_id);
            let controls = map_rule(rule, &rr.idents);
            let stig_rules = stig.map_or_else(Vec::new, |s| {
                s.rules
                    .iter()
                    .filter(|d| controls.stig_ids.contains(&d.stig_id))
                    .collect()
            });
            Some(Open {
                rule,
                fix_text: fix_text(&stig_rules, text.map_or("", |t| t.fix_text.as_str())),
                stig_rules,
                controls,
                category: Category::of_severity(&rr.severity),
                description: text.map(|t| t.description.clone()).unwrap_or_default(),
            })
        })
        .collect()
}

/// The fix text of a finding: the DISA STIG's for its STIG ids, else the rule's own.
fn fix_text(stig_rules: &[&DisaRule], own: &str) -> String {
    let mut texts: Vec<&str> = stig_rules
        .iter()
        .map(|d| d.fix_text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    texts.dedup();
    if texts.is_empty() {
        own.trim().to_string()
    } else {
        texts.join("\n\n")
    }
}

/// What to do when there is no fix text: SSG rules put the steps in the description.
fn no_fix_text(rule_id: &str) -> String {
    format!(
        "Make the change the description gives (`ato fix --rule {rule_id}` writes the content's \
         remediation script for it), then scan again to confirm the rule passes."
    )
}

/// The date of an XCCDF timestamp (`2026-12-03T16:21:18+00:00`).
fn date_of(timestamp: &str) -> Option<Date> {
    timestamp.get(..10)?.parse().ok()
}

fn source(results: &ScanResults, date: Date, stig: Option<&DisaStig>) -> String {
    let b = &results.benchmark;
    let profile = results
        .test_result
        .profile
        .as_deref()
        .map(|p| format!(", profile {p}"))
        .unwrap_or_default();
    let against = stig
        .map(|s| format!(", for {}", s.stig_ref().trim()))
        .unwrap_or_default();
    format!(
        "SCAP scan by {} of {}: {} {}{profile}{against}, {}",
        scanner(results),
        non_empty(&results.test_result.target, "the target"),
        b.title.trim(),
        b.version.trim(),
        us_date(date)
    )
}

/// The scanner named by the TestResult's `test-system` (`cpe:/a:ato:ato:0.1.0`).
fn scanner(results: &ScanResults) -> String {
    let cpe = results.test_result.test_system.trim();
    let parts: Vec<&str> = cpe.split(':').collect();
    match parts.as_slice() {
        ["cpe", "/a", _, product, version, ..] => format!("{product} {version}"),
        ["cpe", "/a", _, product] => (*product).to_string(),
        _ if !cpe.is_empty() => cpe.to_string(),
        _ => "an XCCDF scanner".to_string(),
    }
}

fn finding_item(o: &Open<'_>, options: &PoamOptions, scan_date: Date, source: &str) -> PoamItem {
    let scheduled = due(scan_date, options.policy.days(o.category));
    let title = o.rule.base.title.trim();
    let mut description = format!("Rule title: {title}");
    if !o.description.is_empty() {
        description.push_str("\n\n");
        description.push_str(&o.description);
    }
    PoamItem {
        description: limit(&description, TEXT_LIMIT),
        control: item_control(o),
        ccis: o.controls.ccis.clone(),
        office_org: options.office_org.clone(),
        security_checks: security_checks(o),
        resources: limit(&options.resources, RESOURCES_LIMIT),
        scheduled_completion: scheduled,
        milestones: vec![milestone(scheduled)],
        source: limit(source, TEXT_LIMIT),
        status: "Ongoing",
        comments: limit(&comments_of(&[o]), TEXT_LIMIT),
        category: o.category,
        risk: Risk::of(o.category, options.policy.relevance_of_threat),
        mitigations: String::new(),
        impact_description: o.category.impact_description().to_string(),
        recommendations: limit(
            &if o.fix_text.is_empty() {
                no_fix_text(&o.controls.rule_id)
            } else {
                o.fix_text.clone()
            },
            TEXT_LIMIT,
        ),
        rules: vec![o.controls.rule_id.clone()],
    }
}

fn control_items(
    open: &[Open<'_>],
    options: &PoamOptions,
    scan_date: Date,
    source: &str,
) -> Vec<PoamItem> {
    let mut by_control: BTreeMap<(u8, String), Vec<&Open<'_>>> = BTreeMap::new();
    for o in open {
        // A rule with no control makes a system-level item, listed last.
        let control = item_control(o);
        let key = (u8::from(control.is_empty()), control);
        by_control.entry(key).or_default().push(o);
    }
    by_control
        .into_iter()
        .map(|((_, control), rules)| {
            let category = rules
                .iter()
                .map(|o| o.category)
                .min()
                .unwrap_or(Category::II);
            let scheduled = due(scan_date, options.policy.days(category));
            let titles: Vec<String> = rules
                .iter()
                .map(|o| format!("- {}", o.rule.base.title.trim()))
                .collect();
            let description = format!(
                "{} failed rule{}:\n{}",
                rules.len(),
                if rules.len() == 1 { "" } else { "s" },
                titles.join("\n")
            );
            let fixes: Vec<String> = rules
                .iter()
                .map(|o| {
                    let fix = if o.fix_text.is_empty() {
                        no_fix_text(&o.controls.rule_id)
                    } else {
                        o.fix_text.clone()
                    };
                    format!("{}: {fix}", o.rule.base.title.trim())
                })
                .collect();
            let mut ccis: Vec<String> = rules
                .iter()
                .flat_map(|o| o.controls.ccis.iter().cloned())
                .collect();
            ccis.sort();
            ccis.dedup();
            PoamItem {
                description: limit(&description, TEXT_LIMIT),
                control,
                ccis,
                office_org: options.office_org.clone(),
                security_checks: rules.iter().flat_map(|o| security_checks(o)).collect(),
                resources: limit(&options.resources, RESOURCES_LIMIT),
                scheduled_completion: scheduled,
                milestones: vec![milestone(scheduled)],
                source: limit(source, TEXT_LIMIT),
                status: "Ongoing",
                comments: limit(&comments_of(&rules), TEXT_LIMIT),
                category,
                risk: Risk::of(category, options.policy.relevance_of_threat),
                mitigations: String::new(),
                impact_description: category.impact_description().to_string(),
                recommendations: limit(&fixes.join("\n\n"), TEXT_LIMIT),
                rules: rules.iter().map(|o| o.controls.rule_id.clone()).collect(),
            }
        })
        .collect()
}

/// The control of an item: the one the rule's first CCI maps to in DISA's list (the STIG's
/// CCIs for the rule when the content gives none), else the content's first NIST SP 800-53
/// reference; empty for a system-level item.
fn item_control(o: &Open<'_>) -> String {
    let c = &o.controls;
    let stig_ccis = o.stig_rules.iter().flat_map(|d| d.ccis.iter());
    let ccis: Vec<&String> = if c.ccis.is_empty() {
        stig_ccis.collect()
    } else {
        c.ccis.iter().collect()
    };
    ccis.into_iter()
        .find_map(|cci| controls_of_cci(cci).into_iter().next())
        .or_else(|| c.nist.first().cloned())
        .unwrap_or_default()
}

/// The checks eMASS knows: the DISA STIG's rule ids, else the content's DISA rule ids, else
/// STIG ids, else the XCCDF rule id.
fn security_checks(o: &Open<'_>) -> Vec<String> {
    let c = &o.controls;
    if !o.stig_rules.is_empty() {
        o.stig_rules.iter().map(|d| d.rule_id.clone()).collect()
    } else if !c.disa_rule_ids.is_empty() {
        c.disa_rule_ids.clone()
    } else if !c.stig_ids.is_empty() {
        c.stig_ids.clone()
    } else {
        vec![c.rule_id.clone()]
    }
}

/// The identifiers the template has no column for: CCIs, every mapped control, the rules.
fn comments_of(open: &[&Open<'_>]) -> String {
    let mut ccis: Vec<&str> = Vec::new();
    let mut nist: Vec<&str> = Vec::new();
    let mut rules: Vec<&str> = Vec::new();
    let mut stig: Vec<String> = Vec::new();
    for o in open {
        ccis.extend(o.controls.ccis.iter().map(String::as_str));
        nist.extend(o.controls.nist.iter().map(String::as_str));
        rules.push(&o.controls.rule_id);
        stig.extend(
            o.stig_rules
                .iter()
                .map(|d| format!("{} ({})", d.stig_id, d.vuln_num)),
        );
    }
    stig.sort();
    stig.dedup();
    for v in [&mut ccis, &mut nist] {
        v.sort_unstable();
        v.dedup();
    }
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let stig = if stig.is_empty() {
        String::new()
    } else {
        format!(" STIG: {}.", stig.join(", "))
    };
    format!(
        "CCI: {}. NIST SP 800-53: {}.{stig} XCCDF rule: {}.",
        list(&ccis),
        list(&nist),
        rules.join(", ")
    )
}

fn milestone(date: Date) -> String {
    format!(
        "Apply the recommended fix, scan again and confirm the rule passes {}",
        us_date(date)
    )
}

fn due(from: Date, days: u32) -> Date {
    from.checked_add(i64::from(days).days()).unwrap_or(from)
}

/// `MM/DD/YYYY`, as the template writes dates.
pub fn us_date(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.month(), d.day(), d.year())
}

fn non_empty<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.trim().is_empty() {
        default
    } else {
        s
    }
}

/// `s` cut to `max` characters, the cut marked with an ellipsis.
fn limit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

impl PoamItem {
    /// The item's cells on its first row, columns A to V, dates as `MM/DD/YYYY`.
    pub fn cells(&self) -> [String; 22] {
        let r = &self.risk;
        [
            String::new(),
            String::new(),
            self.description.clone(),
            self.control.clone(),
            self.office_org.clone(),
            self.security_checks.join("; "),
            self.resources.clone(),
            us_date(self.scheduled_completion),
            self.milestones.first().cloned().unwrap_or_default(),
            String::new(),
            self.source.clone(),
            self.status.to_string(),
            self.comments.clone(),
            self.category.raw().to_string(),
            self.mitigations.clone(),
            r.severity.to_string(),
            r.relevance_of_threat.to_string(),
            r.likelihood.to_string(),
            r.impact.to_string(),
            self.impact_description.clone(),
            r.residual.to_string(),
            self.recommendations.clone(),
        ]
    }
}

impl Poam {
    /// The headers of row 7: the template's, then "Devices Affected" when it is written.
    pub fn headers(&self) -> Vec<&'static str> {
        let mut h = HEADERS.to_vec();
        if self.devices_affected.is_some() {
            h.push(DEVICES_AFFECTED);
        }
        h
    }

    /// An item's cells on its first row, with "Devices Affected" when it is written.
    pub fn row(&self, item: &PoamItem) -> Vec<String> {
        let mut cells = item.cells().to_vec();
        if let Some(d) = &self.devices_affected {
            cells.push(d.clone());
        }
        cells
    }

    /// The workbook: sheet `POA&M` in the template's layout.
    pub fn xlsx(&self) -> Result<Vec<u8>, ArtifactError> {
        self.build_xlsx().map_err(ArtifactError::Xlsx)
    }

    fn build_xlsx(&self) -> Result<Vec<u8>, XlsxError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("POA&M")?;
        let banner = Format::new().set_bold().set_align(FormatAlign::Center);
        let label = Format::new().set_bold();
        let header = Format::new().set_bold().set_text_wrap();
        let wrap = Format::new().set_text_wrap();
        let date = Format::new().set_num_format("mm/dd/yyyy");
        for (col, w) in (0u16..).zip(WIDTHS) {
            ws.set_column_width(col, w)?;
        }
        if self.devices_affected.is_some() {
            ws.set_column_width(22, 25.0)?;
        }

        ws.merge_range(0, 0, 0, 21, BANNER, &banner)?;
        let block: [(u32, u16, u16, u32, &str); 10] = [
            (1, 0, 2, 1, "Date Exported:"),
            (2, 0, 2, 2, "Exported By:"),
            (3, 0, 2, 3, "DoD Component:"),
            (4, 0, 2, 4, "System / Project Name:"),
            (5, 0, 2, 5, "DoD IT Registration No:"),
            (1, 9, 9, 2, "System Type:"),
            (1, 12, 12, 2, "OMB Project ID:"),
            (3, 9, 9, 3, "POC Name:"),
            (4, 9, 9, 4, "POC Phone:"),
            (5, 9, 9, 5, "POC E-Mail:"),
        ];
        for (row, first, last, last_row, text) in block {
            if first == last && last_row == row {
                ws.write_string_with_format(row, first, text, &label)?;
            } else {
                ws.merge_range(row, first, last_row, last, text, &label)?;
            }
        }
        ws.write_string_with_format(4, 12, "Security Costs:", &label)?;
        ws.merge_range(1, 3, 1, 8, &us_date(self.date_exported), &Format::new())?;
        ws.merge_range(2, 3, 2, 8, &self.exported_by, &Format::new())?;
        ws.merge_range(3, 3, 3, 8, "", &Format::new())?;
        ws.merge_range(4, 3, 4, 8, &self.system_name, &Format::new())?;
        ws.merge_range(5, 3, 5, 8, "", &Format::new())?;

        for (col, h) in (0u16..).zip(self.headers()) {
            ws.write_string_with_format(HEADER_ROW, col, h, &header)?;
        }
        ws.set_freeze_panes(HEADER_ROW + 1, 0)?;

        let mut row = HEADER_ROW + 1;
        for item in &self.items {
            for (col, cell) in (0u16..).zip(self.row(item)) {
                if col == 7 {
                    let d = item.scheduled_completion;
                    let when = ExcelDateTime::from_ymd(
                        u16::try_from(d.year()).unwrap_or(1900),
                        u8::try_from(d.month()).unwrap_or(1),
                        u8::try_from(d.day()).unwrap_or(1),
                    )?;
                    ws.write_datetime_with_format(row, col, &when, &date)?;
                } else if !cell.is_empty() {
                    ws.write_string_with_format(row, col, cell, &wrap)?;
                }
            }
            for m in item.milestones.iter().skip(1) {
                row += 1;
                ws.write_string_with_format(row, 8, m, &wrap)?;
            }
            row += 1;
        }

        let last = (HEADER_ROW + 1)
            .max(row.saturating_sub(1))
            .max(HEADER_ROW + 500);
        let status = DataValidation::new().allow_list_strings(&[
            "Completed",
            "Ongoing",
            "Not Applicable",
            "Archived",
            "Risk Accepted",
        ])?;
        ws.add_data_validation(HEADER_ROW + 1, 11, last, 11, &status)?;
        let raw = DataValidation::new().allow_list_strings(&["I", "II", "III"])?;
        ws.add_data_validation(HEADER_ROW + 1, 13, last, 13, &raw)?;
        let levels = ["Very Low", "Low", "Moderate", "High", "Very High"];
        for col in [15u16, 16, 17, 18, 20] {
            let v = DataValidation::new().allow_list_strings(&levels)?;
            ws.add_data_validation(HEADER_ROW + 1, col, last, col, &v)?;
        }
        wb.save_to_buffer()
    }

    /// The headers of a CSV: the sheet's, trimmed, with column A's stray copy of column C's
    /// left out, so that every column has its own name.
    pub fn csv_headers(&self) -> Vec<&'static str> {
        let mut h: Vec<&'static str> = self.headers().into_iter().map(str::trim).collect();
        h[0] = "";
        h
    }

    /// CSV (RFC 4180): [`Poam::csv_headers`], then one line per item row.
    pub fn csv(&self) -> Result<Vec<u8>, ArtifactError> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let headers = self.csv_headers();
        w.write_record(&headers).map_err(ArtifactError::Csv)?;
        for item in &self.items {
            w.write_record(self.row(item)).map_err(ArtifactError::Csv)?;
            for m in item.milestones.iter().skip(1) {
                let mut cells = vec![""; headers.len()];
                cells[8] = m;
                w.write_record(cells).map_err(ArtifactError::Csv)?;
            }
        }
        w.into_inner()
            .map_err(|e| ArtifactError::Csv(csv::Error::from(e.into_error())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_from_severities() {
        assert_eq!(Category::of_severity("high"), Category::I);
        assert_eq!(Category::of_severity("medium"), Category::II);
        assert_eq!(Category::of_severity("unknown"), Category::II);
        assert_eq!(Category::of_severity("low"), Category::III);
        assert_eq!(Category::I.raw(), "I");
        assert_eq!(Category::III.level(), Level::Low);
    }

    #[test]
    fn risk_follows_sp_800_30() {
        // With a threat of moderate relevance: CAT I is a moderate likelihood of high impact,
        // a moderate risk; CAT III is low throughout.
        let r = Risk::of(Category::I, Level::Moderate);
        assert_eq!(
            (r.severity, r.likelihood, r.impact, r.residual),
            (Level::High, Level::Moderate, Level::High, Level::Moderate)
        );
        let r = Risk::of(Category::II, Level::Moderate);
        assert_eq!(
            (r.likelihood, r.residual),
            (Level::Moderate, Level::Moderate)
        );
        let r = Risk::of(Category::III, Level::Moderate);
        assert_eq!((r.likelihood, r.residual), (Level::Low, Level::Low));
        // A very relevant threat raises both.
        let r = Risk::of(Category::I, Level::VeryHigh);
        assert_eq!((r.likelihood, r.residual), (Level::VeryHigh, Level::High));
        // Both tables never fall as either input rises.
        for table in [OVERALL_LIKELIHOOD, RISK_LEVEL] {
            for row in &table {
                assert!(row.windows(2).all(|w| w[0] <= w[1]));
            }
            for col in 0..5 {
                assert!(table.windows(2).all(|w| w[0][col] <= w[1][col]));
            }
        }
    }

    #[test]
    fn levels_parse_in_any_spelling() {
        for s in ["Very Low", "very-low", "VERY_LOW", "verylow"] {
            assert_eq!(s.parse::<Level>(), Ok(Level::VeryLow));
        }
        assert_eq!("moderate".parse::<Level>(), Ok(Level::Moderate));
        assert!("medium".parse::<Level>().unwrap_err().contains("`medium`"));
        assert_eq!(Level::VeryHigh.to_string(), "Very High");
    }

    #[test]
    fn due_dates_follow_the_policy() {
        let from: Date = "2026-12-03".parse().unwrap();
        let p = Policy::default();
        assert_eq!(due(from, p.days(Category::I)).to_string(), "2027-01-02");
        assert_eq!(us_date(from), "12/03/2026");
        assert_eq!(date_of("2026-12-03T16:21:18+00:00"), Some(from));
    }

    #[test]
    fn long_texts_are_cut_to_the_emass_limit() {
        let s = "x".repeat(3000);
        assert_eq!(limit(&s, TEXT_LIMIT).chars().count(), TEXT_LIMIT);
        assert_eq!(limit("short", TEXT_LIMIT), "short");
    }
}
