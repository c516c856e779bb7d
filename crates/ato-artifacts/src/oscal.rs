//! OSCAL 1.1.3 JSON from scan results: Assessment Results and a Plan of Action and Milestones.
//!
//! - Assessment Results: one `result` for the scan, with the scanner as a component and the
//!   target as an inventory item; an `observation` per evaluated rule (its XCCDF result, severity
//!   and identifiers as props); a `risk` per failed rule, with the rule's fix as the recommended
//!   remediation and the policy's deadline; a `finding` per NIST SP 800-53 control with its
//!   status, linked to the observations and risks of its rules.
//! - POA&M: the observations and risks of the failed rules and a `poam-item` for each, linked
//!   to both.
//!
//! XCCDF has nine results and an OSCAL finding two states, so a control is `satisfied` when
//! its decided rules passed and `not-satisfied` otherwise; the reason is `pass`, `fail` or
//! `other` (not checked, not applicable) and ato's own status is kept in a prop. The raw XCCDF
//! result stays in each observation. UUIDs are version 4. Arrays are never empty and strings
//! never blank, as the NIST schemas require.

use std::collections::{BTreeMap, HashMap};

use ato_content::xccdf::Rule;
use ato_xccdf::XccdfResult;
use serde_json::{json, Map, Value};

use crate::controls::{control_report, map_rule, ControlStatus, RuleControls, NO_CONTROL};
use crate::poam::{Category, Level, Policy, Risk};
use crate::results::{RuleOutcome, ScanResults};

/// The OSCAL version written.
pub const OSCAL_VERSION: &str = "1.1.3";

/// The namespace of ato's own props.
pub const NS: &str = "urn:ato:oscal";

const TOOL: &str = "ato";
const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What one scan holds for OSCAL: every evaluated rule with its mapping, in results order.
struct Scan<'a> {
    results: &'a ScanResults,
    rules: Vec<Evaluated<'a>>,
    scanner: String,
    target: String,
    start: String,
}

struct Evaluated<'a> {
    outcome: &'a RuleOutcome,
    rule: &'a Rule,
    controls: RuleControls,
    observation: String,
    risk: Option<String>,
}

impl<'a> Scan<'a> {
    fn new(results: &'a ScanResults) -> Scan<'a> {
        let all = results.benchmark.rules();
        let by_id: HashMap<&str, &'a Rule> = all.iter().map(|r| (r.base.id.as_str(), *r)).collect();
        let rules = results
            .test_result
            .rule_results
            .iter()
            .filter(|rr| rr.result != XccdfResult::NotSelected)
            .filter_map(|rr| {
                let rule = *by_id.get(rr.rule_id.as_str())?;
                Some(Evaluated {
                    outcome: rr,
                    rule,
                    controls: map_rule(rule, &rr.idents),
                    observation: uuid(),
                    risk: (rr.result == XccdfResult::Fail).then(uuid),
                })
            })
            .collect();
        Scan {
            results,
            rules,
            scanner: uuid(),
            target: uuid(),
            start: timestamp(&results.test_result.start_time),
        }
    }

    fn failed(&self) -> impl Iterator<Item = &Evaluated<'a>> {
        self.rules.iter().filter(|r| r.risk.is_some())
    }

    fn target_name(&self) -> String {
        line(&self.results.test_result.target, "the scanned target")
    }

    fn local_definitions(&self) -> Value {
        let tr = &self.results.test_result;
        let mut item = json!({
            "uuid": self.target,
            "description": format!("The system scanned: {}.", self.target_name()),
        });
        let mut props = Vec::new();
        if !tr.target.trim().is_empty() {
            props.push(prop("host-name", &tr.target));
        }
        for a in tr.target_addresses.iter().filter(|a| !a.trim().is_empty()) {
            props.push(prop("ip-address", a));
        }
        if !props.is_empty() {
            item["props"] = Value::Array(props);
        }
        json!({
            "components": [{
                "uuid": self.scanner,
                "type": "software",
                "title": format!("{TOOL} {TOOL_VERSION}"),
                "description": "The SCAP scanner that evaluated the rules.",
                "props": [prop("version", TOOL_VERSION)],
                "status": {"state": "operational"},
            }],
            "inventory-items": [item],
        })
    }

    fn observation(&self, e: &Evaluated<'_>) -> Value {
        let rr = e.outcome;
        let mut props = vec![
            prop_ns("xccdf-rule-id", &rr.rule_id),
            prop_ns("xccdf-result", rr.result.as_str()),
            prop_ns("severity", &text(&rr.severity, "unknown")),
        ];
        props.extend(e.controls.stig_ids.iter().map(|s| prop_ns("stig-id", s)));
        props.extend(e.controls.ccis.iter().map(|c| prop_ns("cci", c)));
        let mut description = format!(
            "Rule `{}` evaluated by {TOOL}: {}.",
            rr.rule_id,
            rr.result.as_str()
        );
        for m in rr.messages.iter().filter(|m| !m.trim().is_empty()) {
            description.push_str("\n\n");
            description.push_str(m.trim());
        }
        json!({
            "uuid": e.observation,
            "title": line(&e.rule.base.title, &rr.rule_id),
            "description": description,
            "props": props,
            "methods": ["TEST"],
            "types": [if rr.result == XccdfResult::Fail { "finding" } else { "control-objective" }],
            "origins": [self.origin()],
            "subjects": [{"subject-uuid": self.target, "type": "inventory-item"}],
            "collected": if rr.time.trim().is_empty() { self.start.clone() } else { timestamp(&rr.time) },
        })
    }

    fn origin(&self) -> Value {
        json!({"actors": [{"type": "tool", "actor-uuid": self.scanner}]})
    }

    fn risk(&self, e: &Evaluated<'_>, policy: &Policy) -> Value {
        let rr = e.outcome;
        let risk_uuid = e.risk.clone().unwrap_or_else(uuid);
        let texts = self.results.texts.get(&rr.rule_id);
        let category = Category::of_severity(&rr.severity);
        let risk = Risk::of(category, policy.relevance_of_threat);
        let statement = texts
            .map(|t| {
                if t.rationale.trim().is_empty() {
                    t.description.clone()
                } else {
                    t.rationale.clone()
                }
            })
            .unwrap_or_default();
        let fix = texts.map(|t| t.fix_text.clone()).unwrap_or_default();
        let title = line(&e.rule.base.title, &rr.rule_id);
        let mut props = vec![prop_ns("cat", &format!("CAT {}", category.raw()))];
        props.extend(
            e.controls
                .nist
                .iter()
                .map(|c| prop_ns("impacted-control-id", &control_token(c))),
        );
        json!({
            "uuid": risk_uuid,
            "title": title,
            "description": format!("The rule `{}` failed on {}.", rr.rule_id, self.target_name()),
            "statement": text(&statement, "The system does not meet the rule's requirement."),
            "props": props,
            "status": "open",
            "origins": [self.origin()],
            "characterizations": [{
                "origin": self.origin(),
                "facets": [
                    {"name": "likelihood", "system": "http://csrc.nist.gov/ns/oscal", "value": facet(risk.likelihood)},
                    {"name": "impact", "system": "http://csrc.nist.gov/ns/oscal", "value": facet(risk.impact)},
                ],
            }],
            "deadline": deadline(&self.start, policy, category),
            "remediations": [{
                "uuid": uuid(),
                "lifecycle": "recommendation",
                "title": "Recommended fix",
                "description": text(&fix, "Apply the rule's remediation and scan again."),
            }],
            "related-observations": [{"observation-uuid": e.observation}],
        })
    }

    fn result(&self, policy: &Policy) -> Value {
        let report = control_report(self.results);
        let by_rule: BTreeMap<&str, &Evaluated<'_>> = self
            .rules
            .iter()
            .map(|e| (e.outcome.rule_id.as_str(), e))
            .collect();
        let mut findings = Vec::new();
        let mut control_ids = Vec::new();
        for c in report.controls.iter().filter(|c| c.control != NO_CONTROL) {
            let id = control_token(&c.control);
            let status = c.status();
            let (state, reason) = match status {
                ControlStatus::Passed => ("satisfied", "pass"),
                ControlStatus::Failed | ControlStatus::Partial => ("not-satisfied", "fail"),
                ControlStatus::NotApplicable => ("satisfied", "other"),
                ControlStatus::NotChecked => ("not-satisfied", "other"),
            };
            let rules: Vec<&&Evaluated<'_>> = c
                .rules
                .iter()
                .filter_map(|r| by_rule.get(r.as_str()))
                .collect();
            let mut finding = json!({
                "uuid": uuid(),
                "title": format!("Control {}", c.control),
                "description": format!(
                    "{} rule{} mapped to {}: {} passed, {} failed, {} not applicable, {} not decided.",
                    c.total(),
                    if c.total() == 1 { "" } else { "s" },
                    c.control,
                    c.pass,
                    c.fail,
                    c.not_applicable,
                    c.other
                ),
                "props": [prop_ns("control-status", status.as_str())],
                "origins": [self.origin()],
                "target": {
                    "type": "statement-id",
                    "target-id": format!("{id}_smt"),
                    "status": {"state": state, "reason": reason},
                },
            });
            if !rules.is_empty() {
                finding["related-observations"] = rules
                    .iter()
                    .map(|e| json!({"observation-uuid": e.observation}))
                    .collect();
            }
            let risks: Vec<Value> = rules
                .iter()
                .filter_map(|e| e.risk.as_ref())
                .map(|r| json!({"risk-uuid": r}))
                .collect();
            if !risks.is_empty() {
                finding["related-risks"] = Value::Array(risks);
            }
            findings.push(finding);
            control_ids.push(json!({"control-id": id}));
        }
        let selection = if control_ids.is_empty() {
            json!({"include-all": {}})
        } else {
            json!({"include-controls": control_ids})
        };
        let b = &self.results.benchmark;
        let mut result = json!({
            "uuid": uuid(),
            "title": format!("SCAP scan of {}", self.target_name()),
            "description": format!(
                "{} {} evaluated {} with {} {}{}.",
                TOOL,
                TOOL_VERSION,
                self.target_name(),
                text(b.title.trim(), "an XCCDF benchmark"),
                b.version.trim(),
                self.results
                    .test_result
                    .profile
                    .as_deref()
                    .map(|p| format!(", profile `{p}`"))
                    .unwrap_or_default()
            ),
            "start": self.start,
            "local-definitions": self.local_definitions(),
            "reviewed-controls": {
                "description": "The NIST SP 800-53 controls the evaluated rules map to.",
                "control-selections": [selection],
            },
        });
        let end = &self.results.test_result.end_time;
        if !end.trim().is_empty() {
            result["end"] = Value::String(timestamp(end));
        }
        if !self.rules.is_empty() {
            result["observations"] = self.rules.iter().map(|e| self.observation(e)).collect();
        }
        let risks: Vec<Value> = self.failed().map(|e| self.risk(e, policy)).collect();
        if !risks.is_empty() {
            result["risks"] = Value::Array(risks);
        }
        if !findings.is_empty() {
            result["findings"] = Value::Array(findings);
        }
        result
    }

    /// The results file as a back-matter resource; `import-ap` points at it, for a scan has
    /// no assessment plan.
    fn back_matter(&self, resource: &str) -> Value {
        let name = self
            .results
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "results.xml".to_string());
        json!({
            "resources": [{
                "uuid": resource,
                "title": "XCCDF results of the scan",
                "description": format!("The XCCDF results file `{name}` that this document was made from."),
                "rlinks": [{"href": name, "media-type": "application/xml"}],
            }],
        })
    }
}

/// The Assessment Results document of a scan.
pub fn assessment_results(results: &ScanResults, policy: &Policy) -> Value {
    let scan = Scan::new(results);
    let resource = uuid();
    json!({
        "assessment-results": {
            "uuid": uuid(),
            "metadata": metadata(&format!("Assessment results: SCAP scan of {}", scan.target_name())),
            "import-ap": {"href": format!("#{resource}")},
            "results": [scan.result(policy)],
            "back-matter": scan.back_matter(&resource),
        }
    })
}

/// The POA&M document of a scan: an item per failed rule. `None` when no rule failed, for
/// OSCAL requires at least one item.
pub fn poam(results: &ScanResults, policy: &Policy) -> Option<Value> {
    let scan = Scan::new(results);
    let failed: Vec<&Evaluated<'_>> = scan.failed().collect();
    if failed.is_empty() {
        return None;
    }
    let items: Vec<Value> = failed
        .iter()
        .map(|e| {
            let title = line(&e.rule.base.title, &e.outcome.rule_id);
            let mut props = vec![prop_ns("xccdf-rule-id", &e.outcome.rule_id)];
            props.extend(e.controls.stig_ids.iter().map(|s| prop_ns("stig-id", s)));
            json!({
                "uuid": uuid(),
                "title": title,
                "description": format!(
                    "Remediate the failed rule `{}` on {}.",
                    e.outcome.rule_id,
                    scan.target_name()
                ),
                "props": props,
                "origins": [scan.origin()],
                "related-observations": [{"observation-uuid": e.observation}],
                "related-risks": [{"risk-uuid": e.risk}],
            })
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("uuid".into(), Value::String(uuid()));
    doc.insert(
        "metadata".into(),
        metadata(&format!("POA&M: SCAP scan of {}", scan.target_name())),
    );
    if !results.test_result.target.trim().is_empty() {
        doc.insert(
            "system-id".into(),
            json!({"id": results.test_result.target.trim()}),
        );
    }
    doc.insert("local-definitions".into(), scan.local_definitions());
    doc.insert(
        "observations".into(),
        failed.iter().map(|e| scan.observation(e)).collect(),
    );
    doc.insert(
        "risks".into(),
        failed.iter().map(|e| scan.risk(e, policy)).collect(),
    );
    doc.insert("poam-items".into(), Value::Array(items));
    Some(json!({ "plan-of-action-and-milestones": doc }))
}

fn metadata(title: &str) -> Value {
    json!({
        "title": title,
        "last-modified": now(),
        "version": TOOL_VERSION,
        "oscal-version": OSCAL_VERSION,
        "props": [prop_ns("tool-name", TOOL), prop_ns("tool-version", TOOL_VERSION)],
    })
}

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "value": one_line(value)})
}

fn prop_ns(name: &str, value: &str) -> Value {
    json!({"name": name, "ns": NS, "value": one_line(value)})
}

/// A string OSCAL accepts: not blank, no space at its ends.
fn text(s: &str, default: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        default.to_string()
    } else {
        t.to_string()
    }
}

/// A title (markup-line): one line, single spaces, not blank.
fn line(s: &str, default: &str) -> String {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        default.to_string()
    } else {
        v
    }
}

/// A prop value: one line, single spaces (the schema's pattern admits no line break).
fn one_line(s: &str) -> String {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() {
        "unknown".to_string()
    } else {
        v
    }
}

/// The OSCAL id of a control: `AC-6(2)` is `ac-6.2`.
pub fn control_token(control: &str) -> String {
    control
        .trim()
        .to_ascii_lowercase()
        .replace('(', ".")
        .replace([')', ' '], "")
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// An XCCDF time as an OSCAL date-time with a time zone; a time without one is taken as UTC,
/// and one that cannot be read is replaced by the current time.
fn timestamp(s: &str) -> String {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    now()
}

/// A risk level as an OSCAL facet value: `very-low` to `very-high`.
fn facet(level: Level) -> String {
    level.as_str().to_ascii_lowercase().replace(' ', "-")
}

/// The start plus the policy's days for the category.
fn deadline(start: &str, policy: &Policy, category: Category) -> String {
    let days = policy.days(category);
    start
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| {
            t.checked_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
                .ok()
        })
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| start.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_tokens() {
        assert_eq!(control_token("AC-6(2)"), "ac-6.2");
        assert_eq!(control_token("CM-6"), "cm-6");
    }

    #[test]
    fn timestamps_get_a_time_zone() {
        assert_eq!(timestamp("2026-12-03T16:21:18"), "2026-12-03T16:21:18Z");
        assert_eq!(
            timestamp("2026-12-03T17:21:18+01:00"),
            "2026-12-03T16:21:18Z"
        );
        let d = deadline("2026-12-03T16:21:18Z", &Policy::default(), Category::I);
        assert_eq!(d, "2027-01-02T16:21:18Z");
    }

    #[test]
    fn titles_with_line_breaks_stay_on_one_line() {
        assert_eq!(
            line("Verify the files in\n  \"/lib\"", "x"),
            "Verify the files in \"/lib\""
        );
        assert_eq!(line(" ", "default"), "default");
    }

    #[test]
    fn uuids_are_version_4() {
        assert_eq!(&uuid()[14..15], "4");
    }
}
