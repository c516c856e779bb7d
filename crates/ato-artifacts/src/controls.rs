//! Control mapping: each rule's STIG ids, SRGs, CCIs and NIST SP 800-53 controls, and the
//! results of a scan rolled up per control.
//!
//! The rule's references are sorted by framework with the grouping the reports use
//! ([`ato_report::model::group_references`]). NIST controls come from the content's own 800-53
//! references when it has them; a rule that gives only CCIs is mapped through the built-in DISA
//! CCI list ([`crate::cci`]), revision 5 first and revision 4 for a CCI without a revision 5
//! reference.

use std::collections::{BTreeMap, BTreeSet};

use ato_content::xccdf::Rule;
use ato_report::model::group_references;
use ato_xccdf::XccdfResult;
use serde_json::{json, Value};

use crate::cci;
use crate::results::ScanResults;

/// Where a rule's NIST controls came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NistSource {
    /// The content's own 800-53 references.
    Content,
    /// The rule's CCIs, through the DISA CCI list.
    CciList,
    None,
}

impl NistSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NistSource::Content => "content",
            NistSource::CciList => "cci-list",
            NistSource::None => "none",
        }
    }
}

/// The identifiers one rule maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleControls {
    pub rule_id: String,
    /// STIG ids (`UBTU-20-010000`, `RHEL-08-010000`).
    pub stig_ids: Vec<String>,
    /// DISA rule ids (`SV-230221r858734_rule`) where the content gives them.
    pub disa_rule_ids: Vec<String>,
    pub srgs: Vec<String>,
    pub ccis: Vec<String>,
    /// Control ids (`AC-2(1)`), sorted.
    pub nist: Vec<String>,
    pub nist_source: NistSource,
}

/// Maps one rule; `idents` are extra CCIs from a rule-result's `ident` elements.
pub fn map_rule(rule: &Rule, idents: &[(String, String)]) -> RuleControls {
    let refs = group_references(&rule.references);
    let (disa_rule_ids, stig_ids): (Vec<String>, Vec<String>) =
        refs.stig.into_iter().partition(|s| s.starts_with("SV-"));
    let mut ccis: BTreeSet<String> = refs.cci.into_iter().collect();
    let ident_ccis = rule
        .idents
        .iter()
        .map(|i| (i.system.as_str(), i.value.as_str()))
        .chain(idents.iter().map(|(s, v)| (s.as_str(), v.as_str())));
    for (system, value) in ident_ccis {
        if system.contains("/cci") || value.trim().starts_with("CCI-") {
            ccis.insert(value.trim().to_string());
        }
    }
    let content_nist: BTreeSet<String> = refs
        .nist_800_53
        .iter()
        .filter_map(|n| cci::control_id(n))
        .collect();
    let (nist, nist_source) = if !content_nist.is_empty() {
        (content_nist, NistSource::Content)
    } else {
        let via: BTreeSet<String> = ccis.iter().flat_map(|c| controls_of_cci(c)).collect();
        let source = if via.is_empty() {
            NistSource::None
        } else {
            NistSource::CciList
        };
        (via, source)
    };
    RuleControls {
        rule_id: rule.base.id.clone(),
        stig_ids,
        disa_rule_ids,
        srgs: refs.srg,
        ccis: ccis.into_iter().collect(),
        nist: nist.into_iter().collect(),
        nist_source,
    }
}

/// The control ids a CCI maps to: its revision 5 references, else its revision 4 ones.
pub fn controls_of_cci(cci_id: &str) -> Vec<String> {
    let Some(e) = cci::lookup(cci_id) else {
        return Vec::new();
    };
    let refs = if e.rev5.is_empty() { &e.rev4 } else { &e.rev5 };
    let mut out: Vec<String> = refs.iter().filter_map(|r| cci::control_id(r)).collect();
    out.sort();
    out.dedup();
    out
}

/// How a control fared in a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControlStatus {
    /// Some of its rules failed and none passed.
    Failed,
    /// Some rules passed and others failed or were not decided.
    Partial,
    /// Every decided rule passed and none is undecided.
    Passed,
    /// No rule was decided (manual checks, errors).
    NotChecked,
    /// Every rule was not applicable to the target.
    NotApplicable,
}

impl ControlStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlStatus::Failed => "failed",
            ControlStatus::Partial => "partial",
            ControlStatus::Passed => "passed",
            ControlStatus::NotChecked => "not checked",
            ControlStatus::NotApplicable => "not applicable",
        }
    }
}

/// One control's rules and their results.
#[derive(Debug, Clone, Default)]
pub struct ControlRollup {
    pub control: String,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    /// Not decided: notchecked, error, unknown, informational.
    pub other: usize,
    pub ccis: BTreeSet<String>,
    pub rules: BTreeSet<String>,
}

impl ControlRollup {
    pub fn status(&self) -> ControlStatus {
        match (self.pass, self.fail, self.other) {
            (0, f, _) if f > 0 => ControlStatus::Failed,
            (p, f, o) if p > 0 && (f > 0 || o > 0) => ControlStatus::Partial,
            (p, _, _) if p > 0 => ControlStatus::Passed,
            (_, _, o) if o > 0 => ControlStatus::NotChecked,
            _ => ControlStatus::NotApplicable,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.not_applicable + self.other
    }
}

/// The control mapping of a scan: every evaluated rule's identifiers and the per-control
/// rollup, controls sorted by family and number. Rules with no NIST control are rolled up
/// under `(none)`.
#[derive(Debug, Clone)]
pub struct ControlReport {
    pub rules: Vec<(RuleControls, XccdfResult)>,
    pub controls: Vec<ControlRollup>,
}

/// The control name rules without any NIST control are rolled up under.
pub const NO_CONTROL: &str = "(none)";

/// Builds the control report of a results file. Rules not selected are left out.
pub fn control_report(results: &ScanResults) -> ControlReport {
    let rules = results.benchmark.rules();
    let by_id: BTreeMap<&str, &Rule> = rules.iter().map(|r| (r.base.id.as_str(), *r)).collect();
    let mut mapped = Vec::new();
    let mut controls: BTreeMap<String, ControlRollup> = BTreeMap::new();
    for rr in &results.test_result.rule_results {
        if rr.result == XccdfResult::NotSelected {
            continue;
        }
        let Some(rule) = by_id.get(rr.rule_id.as_str()) else {
            tracing::warn!(
                "rule-result for `{}`, which the benchmark lacks",
                rr.rule_id
            );
            continue;
        };
        let rc = map_rule(rule, &rr.idents);
        let names = if rc.nist.is_empty() {
            vec![NO_CONTROL.to_string()]
        } else {
            rc.nist.clone()
        };
        for name in names {
            let c = controls
                .entry(name.clone())
                .or_insert_with(|| ControlRollup {
                    control: name,
                    ..ControlRollup::default()
                });
            match rr.result {
                XccdfResult::Pass | XccdfResult::Fixed => c.pass += 1,
                XccdfResult::Fail => c.fail += 1,
                XccdfResult::NotApplicable => c.not_applicable += 1,
                _ => c.other += 1,
            }
            c.rules.insert(rc.rule_id.clone());
            c.ccis.extend(rc.ccis.iter().cloned());
        }
        mapped.push((rc, rr.result));
    }
    let mut controls: Vec<ControlRollup> = controls.into_values().collect();
    controls.sort_by_key(|c| control_sort_key(&c.control));
    ControlReport {
        rules: mapped,
        controls,
    }
}

/// Sorts `AC-2` before `AC-10` and `AC-2(3)` after `AC-2`.
fn control_sort_key(id: &str) -> (String, u32, u32) {
    let family = id.get(..2).unwrap_or(id).to_string();
    let num = |s: &str| -> u32 {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    let number = id.get(3..).map(num).unwrap_or(0);
    let enh = id.find('(').map(|i| num(&id[i + 1..])).unwrap_or(0);
    (family, number, enh)
}

impl ControlReport {
    /// A fixed-width table for people.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<12} {:<15} {:>5} {:>5} {:>5} {:>5} {:>5}  CCIs\n",
            "control", "status", "rules", "pass", "fail", "n/a", "other"
        );
        for c in &self.controls {
            out.push_str(&format!(
                "{:<12} {:<15} {:>5} {:>5} {:>5} {:>5} {:>5}  {}\n",
                c.control,
                c.status().as_str(),
                c.rules.len(),
                c.pass,
                c.fail,
                c.not_applicable,
                c.other,
                c.ccis.iter().cloned().collect::<Vec<_>>().join(" ")
            ));
        }
        let count = |s: ControlStatus| self.controls.iter().filter(|c| c.status() == s).count();
        out.push_str(&format!(
            "\n{} controls: {} passed, {} failed, {} partial, {} not checked, {} not applicable\n",
            self.controls.len(),
            count(ControlStatus::Passed),
            count(ControlStatus::Failed),
            count(ControlStatus::Partial),
            count(ControlStatus::NotChecked),
            count(ControlStatus::NotApplicable),
        ));
        out
    }

    /// CSV (RFC 4180) with a header row; lists inside a field are space-separated.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "control,status,rules,pass,fail,notapplicable,other,ccis,stig_ids,rule_ids\r\n",
        );
        for c in &self.controls {
            let stig_ids: BTreeSet<&str> = self
                .rules
                .iter()
                .filter(|(r, _)| c.rules.contains(&r.rule_id))
                .flat_map(|(r, _)| r.stig_ids.iter().map(String::as_str))
                .collect();
            let fields = [
                c.control.clone(),
                c.status().as_str().to_string(),
                c.rules.len().to_string(),
                c.pass.to_string(),
                c.fail.to_string(),
                c.not_applicable.to_string(),
                c.other.to_string(),
                join(c.ccis.iter().map(String::as_str)),
                join(stig_ids.into_iter()),
                join(c.rules.iter().map(String::as_str)),
            ];
            let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&row.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// JSON: the CCI list version, the controls and each rule's mapping.
    pub fn json(&self) -> Value {
        let controls: Vec<Value> = self
            .controls
            .iter()
            .map(|c| {
                json!({
                    "control": c.control,
                    "status": c.status().as_str(),
                    "pass": c.pass,
                    "fail": c.fail,
                    "notapplicable": c.not_applicable,
                    "other": c.other,
                    "ccis": c.ccis,
                    "rules": c.rules,
                })
            })
            .collect();
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(r, result)| {
                json!({
                    "rule_id": r.rule_id,
                    "result": result.as_str(),
                    "stig_ids": r.stig_ids,
                    "disa_rule_ids": r.disa_rule_ids,
                    "srgs": r.srgs,
                    "ccis": r.ccis,
                    "nist_800_53": r.nist,
                    "nist_source": r.nist_source.as_str(),
                })
            })
            .collect();
        json!({
            "cci_list_version": cci::list_version(),
            "controls": controls,
            "rules": rules,
        })
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(" ")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ato_content::xccdf::Reference;

    fn rule(refs: &[(&str, &str)]) -> Rule {
        let mut r = Rule::default();
        r.base.id = "xccdf_t_rule_r".into();
        r.references = refs
            .iter()
            .map(|(h, t)| Reference {
                href: (*h).into(),
                text: (*t).into(),
            })
            .collect();
        r
    }

    #[test]
    fn cci_only_rules_map_through_the_cci_list() {
        let r = rule(&[
            ("https://public.cyber.mil/stigs/cci/", "CCI-000366"),
            (
                "https://public.cyber.mil/stigs/downloads/?_dl_facet_stigs=unix-linux",
                "UBTU-20-010000",
            ),
        ]);
        let m = map_rule(&r, &[]);
        assert_eq!(m.stig_ids, ["UBTU-20-010000"]);
        assert_eq!(m.nist, ["CM-6"]);
        assert_eq!(m.nist_source, NistSource::CciList);
    }

    #[test]
    fn content_800_53_references_come_first() {
        let r = rule(&[
            ("https://public.cyber.mil/stigs/cci/", "CCI-000366"),
            (
                "http://nvlpubs.nist.gov/nistpubs/SpecialPublications/NIST.SP.800-53r4.pdf",
                "AC-6(2)",
            ),
        ]);
        let m = map_rule(&r, &[]);
        assert_eq!(m.nist, ["AC-6(2)"]);
        assert_eq!(m.nist_source, NistSource::Content);
    }

    #[test]
    fn rollup_statuses() {
        let c = |pass, fail, not_applicable, other| ControlRollup {
            pass,
            fail,
            not_applicable,
            other,
            ..ControlRollup::default()
        };
        assert_eq!(c(2, 0, 1, 0).status(), ControlStatus::Passed);
        assert_eq!(c(0, 1, 0, 1).status(), ControlStatus::Failed);
        assert_eq!(c(1, 1, 0, 0).status(), ControlStatus::Partial);
        assert_eq!(c(1, 0, 0, 1).status(), ControlStatus::Partial);
        assert_eq!(c(0, 0, 0, 1).status(), ControlStatus::NotChecked);
        assert_eq!(c(0, 0, 2, 0).status(), ControlStatus::NotApplicable);
        assert!(control_sort_key("AC-2") < control_sort_key("AC-10"));
        assert!(control_sort_key("AC-2") < control_sort_key("AC-2(3)"));
    }
}
