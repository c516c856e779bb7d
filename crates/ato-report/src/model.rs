//! What a report says about a scan, built once and written as JSON or HTML.
//!
//! The shape is the JSON results format, documented field by field in `docs/json-results.md`;
//! change both together and raise [`SCHEMA_VERSION`] when a field changes meaning or goes away.

use std::collections::{BTreeMap, HashMap, HashSet};

use ato_content::oval::{Criteria, Criterion, DefinitionClass, Entity, Operator, OvalDefinitions};
use ato_content::xccdf::{Reference, Rule};
use ato_oval::OvalResult;
use ato_xccdf::eval::{OvalRun, OVAL_SYSTEM};
use ato_xccdf::{RuleResult, XccdfResult};
use serde::Serialize;

use crate::ReportInput;

/// Version of the JSON results shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Items listed per failing test; `items_total` tells how many there were.
pub const MAX_ITEMS_PER_TEST: usize = 20;

/// Severities in the order reports list them.
pub const SEVERITIES: [&str; 5] = ["high", "medium", "low", "info", "unknown"];

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub benchmark: BenchmarkInfo,
    pub profile: ProfileInfo,
    pub target: TargetInfo,
    pub start_time: String,
    pub end_time: String,
    pub score: Score,
    pub counts: BTreeMap<&'static str, usize>,
    pub counts_by_severity: BTreeMap<&'static str, BTreeMap<&'static str, usize>>,
    pub rules: Vec<RuleEntry>,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct BenchmarkInfo {
    pub id: String,
    pub version: String,
    pub title: String,
}

#[derive(Debug, Serialize)]
pub struct ProfileInfo {
    pub id: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TargetInfo {
    pub host_name: String,
    pub root: Option<String>,
    pub user: String,
    pub privileged: bool,
}

#[derive(Debug, Serialize)]
pub struct Score {
    pub system: &'static str,
    pub value: f64,
    pub maximum: f64,
}

#[derive(Debug, Serialize)]
pub struct RuleEntry {
    pub id: String,
    pub title: String,
    pub severity: &'static str,
    pub result: &'static str,
    pub role: &'static str,
    pub weight: f64,
    pub idents: Vec<IdentEntry>,
    pub references: References,
    pub messages: Vec<String>,
    pub check: Option<CheckEntry>,
    pub failing_tests: Vec<FailingTest>,
}

#[derive(Debug, Serialize)]
pub struct IdentEntry {
    pub system: String,
    pub value: String,
}

/// A rule's references and idents by the framework they name.
#[derive(Debug, Default, Serialize)]
pub struct References {
    pub stig: Vec<String>,
    pub srg: Vec<String>,
    pub cci: Vec<String>,
    pub nist_800_53: Vec<String>,
    pub other: Vec<OtherReference>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OtherReference {
    pub href: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct CheckEntry {
    pub system: String,
    pub href: String,
    pub definition: Option<String>,
    /// The check is `multi-check`: the rule has one entry per definition, this one reporting
    /// on `definition`.
    pub multi_check: bool,
    /// The definition's OVAL result, when it was evaluated.
    pub definition_result: Option<&'static str>,
}

/// An OVAL test that, with the negations above it, pulled the rule's definition away from
/// passing.
#[derive(Debug, Serialize)]
pub struct FailingTest {
    pub id: String,
    pub comment: String,
    pub kind: String,
    pub result: &'static str,
    /// Whether an odd number of negations lies between the test and the rule.
    pub negated: bool,
    pub check: &'static str,
    pub check_existence: &'static str,
    pub message: Option<String>,
    pub object: Option<ObjectEntry>,
    pub states: Vec<StateEntry>,
    pub items_total: usize,
    pub items: Vec<ItemEntry>,
}

#[derive(Debug, Serialize)]
pub struct ObjectEntry {
    pub id: String,
    pub comment: String,
    pub flag: Option<&'static str>,
    pub messages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct StateEntry {
    pub id: String,
    pub comment: String,
    pub operator: &'static str,
    pub entities: Vec<ExpectedEntity>,
}

/// One entity of a state: what an item's field was compared with.
#[derive(Debug, Serialize)]
pub struct ExpectedEntity {
    pub name: String,
    pub operation: &'static str,
    pub datatype: &'static str,
    pub value: String,
    pub var_ref: Option<String>,
    /// The variable's values when `var_ref` is set and the variable was evaluated.
    pub var_values: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ItemEntry {
    pub kind: &'static str,
    pub status: &'static str,
    /// The item's result against the test's states (`not evaluated` without states).
    pub result: &'static str,
    pub fields: Vec<FieldEntry>,
}

#[derive(Debug, Serialize)]
pub struct FieldEntry {
    pub name: String,
    pub datatype: &'static str,
    pub status: &'static str,
    pub value: String,
}

/// Whether a result needs a look: the rule did not pass and is not out of scope.
pub fn is_finding(r: XccdfResult) -> bool {
    matches!(
        r,
        XccdfResult::Fail | XccdfResult::Error | XccdfResult::Unknown
    )
}

/// Builds the report of `input`. Rules not selected are left out (they count in
/// `counts.notselected`) unless a message says why they were not (a requirement not met); the
/// others are sorted by id. A `multi-check` rule has an entry per OVAL definition, in the
/// order of its results, and counts once per definition.
pub fn build(input: &ReportInput<'_>) -> Report {
    let bench = &input.content.benchmark;
    let rules_by_id: HashMap<&str, &Rule> = bench
        .rules()
        .into_iter()
        .map(|r| (r.base.id.as_str(), r))
        .collect();

    let mut counts: BTreeMap<&'static str, usize> =
        XccdfResult::ALL.iter().map(|r| (r.as_str(), 0)).collect();
    let mut by_severity: BTreeMap<&'static str, BTreeMap<&'static str, usize>> = SEVERITIES
        .iter()
        .map(|s| {
            (
                *s,
                XccdfResult::ALL.iter().map(|r| (r.as_str(), 0)).collect(),
            )
        })
        .collect();
    for rr in &input.scan.rules {
        *counts.entry(rr.result.as_str()).or_default() += 1;
        if rr.result != XccdfResult::NotSelected {
            let sev = by_severity.entry(rr.severity.as_str()).or_default();
            *sev.entry(rr.result.as_str()).or_default() += 1;
        }
    }

    let mut rules: Vec<RuleEntry> = input
        .scan
        .rules
        .iter()
        .filter(|rr| rr.result != XccdfResult::NotSelected || !rr.messages.is_empty())
        .map(|rr| rule_entry(input, rr, rules_by_id.get(rr.rule_id.as_str()).copied()))
        .collect();
    // Stable: the entries of a multi-check rule keep the order of its results.
    rules.sort_by(|a, b| a.id.cmp(&b.id));

    let profile_title = input
        .policy
        .profile_id
        .as_deref()
        .and_then(|id| bench.profile(id))
        .map(|p| one_line(&p.title));
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "ato",
            version: env!("CARGO_PKG_VERSION"),
        },
        benchmark: BenchmarkInfo {
            id: bench.id.clone(),
            version: bench.version.clone(),
            title: one_line(&bench.title),
        },
        profile: ProfileInfo {
            id: input.policy.profile_id.clone(),
            title: profile_title,
        },
        target: TargetInfo {
            host_name: input.facts.host_name.clone(),
            root: input.facts.root.clone(),
            user: input.facts.user.clone(),
            privileged: input.facts.privileged,
        },
        start_time: input.times.start.clone(),
        end_time: input.times.end.clone(),
        score: Score {
            system: "urn:xccdf:scoring:default",
            value: (input.score * 100.0).round() / 100.0,
            maximum: 100.0,
        },
        counts,
        counts_by_severity: by_severity,
        rules,
    }
}

fn rule_entry(input: &ReportInput<'_>, rr: &RuleResult, rule: Option<&Rule>) -> RuleEntry {
    let title = rule.map(|r| one_line(&r.base.title)).unwrap_or_default();
    let mut references = rule
        .map(|r| group_references(&r.references))
        .unwrap_or_default();
    for ident in &rr.idents {
        if ident.system.contains("cyber.mil/cci") || ident.value.starts_with("CCI-") {
            references.cci.push(ident.value.trim().to_string());
        }
    }
    references.cci.sort();
    references.cci.dedup();

    let check = rr.check.as_ref().map(|c| {
        let run = find_run(input, &c.href);
        CheckEntry {
            system: c.system.clone(),
            href: c.href.clone(),
            definition: c.name.clone(),
            multi_check: c.multi_check,
            definition_result: c
                .name
                .as_deref()
                .zip(run)
                .and_then(|(id, run)| run.definition(id))
                .map(OvalResult::as_str),
        }
    });
    let failing_tests = match &rr.check {
        Some(c) if is_finding(rr.result) && c.system == OVAL_SYSTEM => {
            match (find_run(input, &c.href), c.name.as_deref()) {
                (Some(run), Some(def)) => failing_tests(run, def),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    RuleEntry {
        id: rr.rule_id.clone(),
        title,
        severity: rr.severity.as_str(),
        result: rr.result.as_str(),
        role: rr.role.as_str(),
        weight: rr.weight,
        idents: rr
            .idents
            .iter()
            .map(|i| IdentEntry {
                system: i.system.clone(),
                value: i.value.trim().to_string(),
            })
            .collect(),
        references,
        messages: rr.messages.clone(),
        check,
        failing_tests,
    }
}

fn find_run<'a>(input: &'a ReportInput<'_>, href: &str) -> Option<&'a OvalRun> {
    input.scan.oval.iter().find(|r| r.href == href)
}

/// Sorts references into STIG rule ids, SRG ids, CCIs, NIST SP 800-53 controls and the rest,
/// by their text first (the ids have fixed forms) and their `href` second, as SSG and DISA
/// content write them.
pub fn group_references(refs: &[Reference]) -> References {
    let mut out = References::default();
    for r in refs {
        let text = r.text.trim().to_string();
        let href = r.href.to_ascii_lowercase();
        if text.is_empty() {
            continue;
        }
        if text.starts_with("CCI-") {
            out.cci.push(text);
        } else if text.starts_with("SRG-") {
            out.srg.push(text);
        } else if href.contains("800-53") || href.contains("800/53") {
            out.nist_800_53.push(text);
        } else if href.contains("cyber.mil/stigs") && !href.contains("/cci") {
            out.stig.push(text);
        } else {
            out.other.push(OtherReference {
                href: r.href.trim().to_string(),
                text,
            });
        }
    }
    for list in [
        &mut out.stig,
        &mut out.srg,
        &mut out.cci,
        &mut out.nist_800_53,
    ] {
        list.sort();
        list.dedup();
    }
    out.other.sort();
    out.other.dedup();
    out
}

/// The tests under definition `def_id` whose result, after every negation between them and
/// the rule, is not true: the ones that made the rule fail or stay undecided (and every test
/// under a `one` or `xor`). In criteria order, each test once.
pub fn failing_tests(run: &OvalRun, def_id: &str) -> Vec<FailingTest> {
    let defs = &run.document;
    let Some(def) = defs.definition(def_id) else {
        return Vec::new();
    };
    // A true vulnerability or patch definition is the failing one.
    let reversed = matches!(
        def.class,
        DefinitionClass::Vulnerability | DefinitionClass::Patch
    );
    let mut walk = Walk {
        run,
        defs,
        seen_defs: HashSet::from([def_id.to_string()]),
        seen_tests: HashSet::new(),
        out: Vec::new(),
    };
    if let Some(c) = &def.criteria {
        walk.criteria(c, reversed ^ c.negate, false);
    }
    walk.out
}

struct Walk<'a> {
    run: &'a OvalRun,
    defs: &'a OvalDefinitions,
    seen_defs: HashSet<String>,
    seen_tests: HashSet<String>,
    out: Vec<FailingTest>,
}

impl Walk<'_> {
    /// Walks `c`; `flipped` is the parity of the negations above it. Under `one` and `xor`
    /// no single result is to blame (two true children fail an `xor`), so there `every`
    /// takes each test whatever its result.
    fn criteria(&mut self, c: &Criteria, flipped: bool, every: bool) {
        let every = every || matches!(c.operator, Operator::One | Operator::Xor);
        for child in &c.children {
            match child {
                Criterion::Criteria(inner) => self.criteria(inner, flipped ^ inner.negate, every),
                Criterion::Test { test_ref, negate } => {
                    let Some(outcome) = self.run.test(test_ref) else {
                        continue;
                    };
                    let flipped = flipped ^ negate;
                    let effective = outcome.result.negate(flipped);
                    let blamed = every
                        || matches!(
                            effective,
                            OvalResult::False | OvalResult::Error | OvalResult::Unknown
                        );
                    if blamed && self.seen_tests.insert(test_ref.clone()) {
                        let t = self.test(test_ref, outcome, flipped);
                        self.out.push(t);
                    }
                }
                Criterion::ExtendDefinition {
                    definition_ref,
                    negate,
                } => {
                    if !self.seen_defs.insert(definition_ref.clone()) {
                        continue;
                    }
                    let defs = self.defs;
                    if let Some(c) = defs
                        .definition(definition_ref)
                        .and_then(|d| d.criteria.as_ref())
                    {
                        self.criteria(c, flipped ^ negate ^ c.negate, every);
                    }
                }
            }
        }
    }

    fn test(&self, id: &str, outcome: &ato_oval::TestOutcome, flipped: bool) -> FailingTest {
        let test = self.defs.tests.get(id);
        let object = test.and_then(|t| t.object_ref.as_deref()).map(|oid| {
            let collected = self.run.object(oid);
            ObjectEntry {
                id: oid.to_string(),
                comment: self
                    .defs
                    .objects
                    .get(oid)
                    .map(|o| one_line(&o.comment))
                    .unwrap_or_default(),
                flag: collected.map(|c| c.flag.as_str()),
                messages: collected.map(|c| c.messages.clone()).unwrap_or_default(),
            }
        });
        let states = test
            .map(|t| {
                t.state_refs
                    .iter()
                    .filter_map(|sid| self.defs.states.get(sid))
                    .map(|s| StateEntry {
                        id: s.id.clone(),
                        comment: one_line(&s.comment),
                        operator: s.operator.as_str(),
                        entities: s.entities.iter().map(|e| self.expected(e)).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();

        // The items that decided the result come first: those on the failing side.
        let mut items: Vec<&(std::sync::Arc<ato_oval::Item>, OvalResult)> =
            outcome.items.iter().collect();
        let rank = |r: OvalResult| match r.negate(flipped) {
            OvalResult::Error => 0,
            OvalResult::False => 1,
            OvalResult::Unknown => 2,
            OvalResult::NotEvaluated => 3,
            _ => 4,
        };
        items.sort_by_key(|(_, r)| rank(*r));
        FailingTest {
            id: id.to_string(),
            comment: test.map(|t| one_line(&t.comment)).unwrap_or_default(),
            kind: test.map(|t| t.kind.to_string()).unwrap_or_default(),
            result: outcome.result.as_str(),
            negated: flipped,
            check: test.map_or("", |t| t.check.as_str()),
            check_existence: test.map_or("", |t| t.check_existence.as_str()),
            message: outcome.message.clone(),
            object,
            states,
            items_total: outcome.items.len(),
            items: items
                .into_iter()
                .take(MAX_ITEMS_PER_TEST)
                .map(|(item, r)| ItemEntry {
                    kind: item.kind,
                    status: item.status.as_str(),
                    result: r.as_str(),
                    fields: item
                        .fields
                        .iter()
                        .map(|f| FieldEntry {
                            name: f.name.to_string(),
                            datatype: f.datatype.as_str(),
                            status: f.status.as_str(),
                            value: f.value.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn expected(&self, e: &Entity) -> ExpectedEntity {
        let var_values = e
            .var_ref
            .as_deref()
            .and_then(|v| {
                let vars = &self.run.variables;
                let i = vars.binary_search_by(|(k, _)| k.as_str().cmp(v)).ok()?;
                Some(vars[i].1.values.clone())
            })
            .unwrap_or_default();
        ExpectedEntity {
            name: e.name.clone(),
            operation: e.operation.as_str(),
            datatype: e.datatype.as_str(),
            value: e.value.clone(),
            var_ref: e.var_ref.clone(),
            var_values,
        }
    }
}

/// Collapses the whitespace of a title or comment written over several lines.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(href: &str, text: &str) -> Reference {
        Reference {
            href: href.into(),
            text: text.into(),
        }
    }

    #[test]
    fn references_are_grouped_by_framework() {
        let refs = [
            r(
                "https://public.cyber.mil/stigs/downloads/?_dl_facet_stigs=x",
                "UBTU-20-010450",
            ),
            r(
                "https://public.cyber.mil/stigs/srg-stig-tools/",
                "SRG-OS-000109-GPOS-00056",
            ),
            r("https://public.cyber.mil/stigs/cci/", "CCI-000770"),
            r(
                "http://nvlpubs.nist.gov/nistpubs/SpecialPublications/NIST.SP.800-53r4.pdf",
                "CM-6(a)",
            ),
            r(
                "https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final",
                "AC-6(2)",
            ),
            r("https://www.cisecurity.org/controls/", "5.1"),
            r("", "SRG-OS-000120-VMM-000600"),
            r("https://public.cyber.mil/stigs/cci/", "CCI-000770"),
        ];
        let g = group_references(&refs);
        assert_eq!(g.stig, ["UBTU-20-010450"]);
        assert_eq!(
            g.srg,
            ["SRG-OS-000109-GPOS-00056", "SRG-OS-000120-VMM-000600"]
        );
        assert_eq!(g.cci, ["CCI-000770"]);
        assert_eq!(g.nist_800_53, ["AC-6(2)", "CM-6(a)"]);
        assert_eq!(g.other.len(), 1);
        assert_eq!(g.other[0].text, "5.1");
    }
}
