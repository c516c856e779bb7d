//! Benchmark evaluation: applicability through CPE platforms, check selection and dispatch to
//! OVAL, result mapping, and the rule results of one TestResult.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ato_content::cpe::{LogicalTest, PlatformTerm};
use ato_content::oval::{DefinitionClass, OvalDefinitions};
use ato_content::xccdf::{
    Check, ComplexCheck, ComplexCheckChild, Ident, Item, Role, Rule, Severity,
};
use ato_content::{CheckComponent, Content};
use ato_oval::pcre::RegexCache;
use ato_oval::probes::SharedCache;
use ato_oval::{Evaluator, OvalResult};
use ato_target::Target;
use rayon::prelude::*;

use crate::profile::Policy;

pub const OVAL_SYSTEM: &str = "http://oval.mitre.org/XMLSchema/oval-definitions-5";
pub const OCIL_SYSTEM: &str = "http://scap.nist.gov/schema/ocil/2";

/// XCCDF 1.2 rule results (section 6.6.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XccdfResult {
    Pass,
    Fail,
    Error,
    Unknown,
    NotApplicable,
    NotChecked,
    NotSelected,
    Informational,
    Fixed,
}

impl XccdfResult {
    pub fn as_str(self) -> &'static str {
        match self {
            XccdfResult::Pass => "pass",
            XccdfResult::Fail => "fail",
            XccdfResult::Error => "error",
            XccdfResult::Unknown => "unknown",
            XccdfResult::NotApplicable => "notapplicable",
            XccdfResult::NotChecked => "notchecked",
            XccdfResult::NotSelected => "notselected",
            XccdfResult::Informational => "informational",
            XccdfResult::Fixed => "fixed",
        }
    }

    pub fn parse(s: &str) -> Option<XccdfResult> {
        Some(match s {
            "pass" => XccdfResult::Pass,
            "fail" => XccdfResult::Fail,
            "error" => XccdfResult::Error,
            "unknown" => XccdfResult::Unknown,
            "notapplicable" => XccdfResult::NotApplicable,
            "notchecked" => XccdfResult::NotChecked,
            "notselected" => XccdfResult::NotSelected,
            "informational" => XccdfResult::Informational,
            "fixed" => XccdfResult::Fixed,
            _ => return None,
        })
    }

    /// All results in the order summaries list them.
    pub const ALL: [XccdfResult; 9] = [
        XccdfResult::Pass,
        XccdfResult::Fail,
        XccdfResult::Error,
        XccdfResult::Unknown,
        XccdfResult::NotApplicable,
        XccdfResult::NotChecked,
        XccdfResult::NotSelected,
        XccdfResult::Informational,
        XccdfResult::Fixed,
    ];

    /// The result of a rule that has several rule-results, one per OVAL definition of a
    /// `multi-check` check: failed if any instance failed, otherwise the least favourable of
    /// the others by XCCDF's AND (unknown, error, notchecked, then pass), and only where every
    /// instance is out of scope (informational, notapplicable, notselected) that. `None` for
    /// no instances.
    pub fn combined(results: impl IntoIterator<Item = XccdfResult>) -> Option<XccdfResult> {
        let rank = |r: XccdfResult| match r {
            XccdfResult::Fail => 0,
            XccdfResult::Unknown => 1,
            XccdfResult::Error => 2,
            XccdfResult::NotChecked => 3,
            XccdfResult::Pass => 4,
            XccdfResult::Fixed => 5,
            XccdfResult::Informational => 6,
            XccdfResult::NotApplicable => 7,
            XccdfResult::NotSelected => 8,
        };
        results.into_iter().min_by_key(|r| rank(*r))
    }

    fn negate(self, negate: bool) -> XccdfResult {
        match (negate, self) {
            (true, XccdfResult::Pass) => XccdfResult::Fail,
            (true, XccdfResult::Fail) => XccdfResult::Pass,
            (_, r) => r,
        }
    }
}

/// The check a rule result came from, as written into the results.
#[derive(Debug, Clone, Default)]
pub struct CheckRef {
    pub system: String,
    pub href: String,
    /// The definition evaluated; for a `multi-check` check, the one this result reports on.
    pub name: Option<String>,
    pub exports: Vec<(String, String)>,
    /// The check's `multi-check` attribute was `true`.
    pub multi_check: bool,
    /// The check's `negate` attribute was `true`.
    pub negate: bool,
}

/// One rule's result: one `rule-result` of the TestResult.
///
/// A rule whose check has `multi-check="true"` and names no definition has one of these per
/// definition of its OVAL document, with the same `rule_id`, next to each other, each naming
/// its definition in `check`.
#[derive(Debug, Clone)]
pub struct RuleResult {
    pub rule_id: String,
    pub result: XccdfResult,
    pub severity: Severity,
    pub role: Role,
    pub weight: f64,
    pub idents: Vec<Ident>,
    pub check: Option<CheckRef>,
    /// Why the result is what it is, where that is not a plain pass or fail (an object that
    /// could not be collected, a check system ato does not run).
    pub messages: Vec<String>,
}

/// Everything a scan found.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// Rule results in benchmark order; a `multi-check` rule has several (see [`RuleResult`]).
    pub rules: Vec<RuleResult>,
    /// Benchmark-level platforms and whether the target is one of them.
    pub platforms: Vec<String>,
    pub benchmark_applicable: bool,
    /// What each OVAL document's evaluation computed, for OVAL results, ARF and reports.
    pub oval: Vec<OvalRun>,
    /// The same for the CPE dictionary's OVAL documents.
    pub cpe_oval: Vec<OvalRun>,
}

/// The definitions, tests, objects and variables one OVAL document's evaluation computed,
/// each sorted by id.
#[derive(Debug, Clone)]
pub struct OvalRun {
    /// The `href` the benchmark or dictionary names the document by.
    pub href: String,
    pub document: Arc<OvalDefinitions>,
    pub definitions: Vec<(String, OvalResult)>,
    pub tests: Vec<(String, Arc<ato_oval::TestOutcome>)>,
    pub objects: Vec<(String, Arc<ato_oval::Collected>)>,
    pub variables: Vec<(String, Arc<ato_oval::variables::Values>)>,
}

impl OvalRun {
    fn from_evaluator(href: &str, defs: &Arc<OvalDefinitions>, e: &Evaluator<'_>) -> OvalRun {
        let owned = |k: &str| k.to_string();
        OvalRun {
            href: href.to_string(),
            document: Arc::clone(defs),
            definitions: e
                .evaluated_definitions()
                .into_iter()
                .map(|(k, r)| (owned(k), r))
                .collect(),
            tests: e
                .evaluated_tests()
                .into_iter()
                .map(|(k, t)| (owned(k), t))
                .collect(),
            objects: e
                .collected_objects()
                .into_iter()
                .map(|(k, o)| (owned(k), o))
                .collect(),
            variables: e
                .evaluated_variables()
                .into_iter()
                .map(|(k, v)| (owned(k), v))
                .collect(),
        }
    }

    /// The outcome of a test, if it was evaluated.
    pub fn test(&self, id: &str) -> Option<&Arc<ato_oval::TestOutcome>> {
        let i = self
            .tests
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()?;
        Some(&self.tests[i].1)
    }

    /// A collected object, if it was collected.
    pub fn object(&self, id: &str) -> Option<&Arc<ato_oval::Collected>> {
        let i = self
            .objects
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()?;
        Some(&self.objects[i].1)
    }

    /// The result of a definition, if it was evaluated.
    pub fn definition(&self, id: &str) -> Option<OvalResult> {
        let i = self
            .definitions
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()?;
        Some(self.definitions[i].1)
    }
}

impl ScanResult {
    /// How many rule results are `r` (a `multi-check` rule counts once per definition).
    pub fn count(&self, r: XccdfResult) -> usize {
        self.rules.iter().filter(|x| x.result == r).count()
    }

    /// The results grouped by rule: each rule's id and its results, in benchmark order.
    pub fn by_rule(&self) -> Vec<(&str, &[RuleResult])> {
        self.rules
            .chunk_by(|a, b| a.rule_id == b.rule_id)
            .map(|chunk| (chunk[0].rule_id.as_str(), chunk))
            .collect()
    }

    /// Each rule's result, [`XccdfResult::combined`] over its instances.
    pub fn rule_outcomes(&self) -> Vec<(&str, XccdfResult)> {
        self.by_rule()
            .into_iter()
            .filter_map(|(id, rs)| Some((id, XccdfResult::combined(rs.iter().map(|r| r.result))?)))
            .collect()
    }
}

/// What to scan.
pub struct ScanRequest<'a> {
    pub content: &'a Content,
    pub policy: &'a Policy,
    pub target: &'a Target,
    /// Only these rules (`--rule`); all selected rules when empty.
    pub only_rules: HashSet<String>,
    pub skip_rules: HashSet<String>,
    /// Called as rules finish: (done, total).
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// A rule to evaluate with the platforms of its ancestor groups.
struct Planned<'c> {
    rule: &'c Rule,
    platforms: Vec<&'c str>,
}

/// Runs the scan.
pub fn scan(req: &ScanRequest<'_>) -> ScanResult {
    let content = req.content;
    let bench = &content.benchmark;
    let regexes = RegexCache::new();
    let shared = SharedCache::new();

    let mut planned = Vec::new();
    plan(&bench.items, &mut Vec::new(), &mut planned);
    let selected = |r: &Rule| {
        req.policy.is_selected(&r.base.id)
            && (req.only_rules.is_empty() || req.only_rules.contains(&r.base.id))
            && !req.skip_rules.contains(&r.base.id)
    };

    // External variables of each OVAL document, from the check-exports of selected rules.
    let mut externals: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    for p in planned.iter().filter(|p| selected(p.rule)) {
        for check in all_checks(p.rule) {
            for (href, _) in &check.content_refs {
                let vars = externals.entry(href.clone()).or_default();
                for (value_id, export) in &check.exports {
                    let v = req.policy.values.get(value_id).cloned().unwrap_or_default();
                    vars.entry(export.clone()).or_insert_with(|| vec![v]);
                }
            }
        }
    }
    let mut evaluators: HashMap<&str, Evaluator<'_>> = HashMap::new();
    for (href, comp) in &content.checks {
        if let CheckComponent::Oval(defs) = comp {
            let ext = externals.remove(href).unwrap_or_default();
            evaluators.insert(
                href,
                Evaluator::new(defs, req.target, &regexes, &shared, ext),
            );
        }
    }
    let cpe = CpeEvaluator::new(content, req.target, &regexes, &shared);

    let benchmark_applicable =
        bench.platforms.is_empty() || bench.platforms.iter().any(|p| cpe.applies(p));

    let total = planned.iter().filter(|p| selected(p.rule)).count();
    let done = AtomicUsize::new(0);
    let rules: Vec<Vec<RuleResult>> = planned
        .par_iter()
        .map(|p| {
            let is_selected = selected(p.rule);
            let r = evaluate_rule(req, p, is_selected, benchmark_applicable, &cpe, &evaluators);
            if is_selected {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(progress) = req.progress {
                    progress(n, total);
                }
            }
            r
        })
        .collect();
    let rules: Vec<RuleResult> = rules.into_iter().flatten().collect();

    let runs = |checks: &HashMap<String, CheckComponent>, evals: &HashMap<&str, Evaluator<'_>>| {
        let mut runs: Vec<OvalRun> = Vec::new();
        for (href, comp) in checks {
            if let (CheckComponent::Oval(defs), Some(e)) = (comp, evals.get(href.as_str())) {
                runs.push(OvalRun::from_evaluator(href, defs, e));
            }
        }
        runs.sort_by(|a, b| a.href.cmp(&b.href));
        runs
    };
    let oval = runs(&content.checks, &evaluators);
    let cpe_oval = runs(&content.cpe_checks, &cpe.evaluators);
    ScanResult {
        rules,
        platforms: bench.platforms.clone(),
        benchmark_applicable,
        oval,
        cpe_oval,
    }
}

fn plan<'c>(items: &'c [Item], platforms: &mut Vec<&'c str>, out: &mut Vec<Planned<'c>>) {
    for item in items {
        match item {
            Item::Group(g) => {
                // A group's platforms narrow all it holds: every level must apply.
                let mark = platforms.len();
                if !g.base.platforms.is_empty() {
                    platforms.push(GROUP_MARK);
                    platforms.extend(g.base.platforms.iter().map(String::as_str));
                }
                plan(&g.children, platforms, out);
                platforms.truncate(mark);
            }
            Item::Rule(r) => {
                let mut own = platforms.clone();
                if !r.base.platforms.is_empty() {
                    own.push(GROUP_MARK);
                    own.extend(r.base.platforms.iter().map(String::as_str));
                }
                out.push(Planned {
                    rule: r,
                    platforms: own,
                });
            }
            Item::Value(_) => {}
        }
    }
}

/// Separates the platform lists of nested items in [`Planned::platforms`].
const GROUP_MARK: &str = "\u{0}";

fn all_checks(rule: &Rule) -> Vec<&Check> {
    fn complex<'a>(c: &'a ComplexCheck, out: &mut Vec<&'a Check>) {
        for child in &c.children {
            match child {
                ComplexCheckChild::Check(ch) => out.push(ch),
                ComplexCheckChild::Complex(cc) => complex(cc, out),
            }
        }
    }
    let mut out: Vec<&Check> = rule.checks.iter().collect();
    if let Some(cc) = &rule.complex_check {
        complex(cc, &mut out);
    }
    out
}

fn evaluate_rule(
    req: &ScanRequest<'_>,
    p: &Planned<'_>,
    is_selected: bool,
    benchmark_applicable: bool,
    cpe: &CpeEvaluator<'_>,
    evaluators: &HashMap<&str, Evaluator<'_>>,
) -> Vec<RuleResult> {
    let rule = p.rule;
    let refine = req.policy.refine_rules.get(&rule.base.id);
    let mut rr = RuleResult {
        rule_id: rule.base.id.clone(),
        result: XccdfResult::NotSelected,
        severity: refine.and_then(|r| r.severity).unwrap_or(rule.severity),
        role: refine.and_then(|r| r.role).unwrap_or(rule.role),
        weight: refine.and_then(|r| r.weight).unwrap_or(rule.base.weight),
        idents: rule.idents.clone(),
        check: None,
        messages: Vec::new(),
    };
    if !is_selected {
        return vec![rr];
    }
    if !benchmark_applicable || !platforms_apply(&p.platforms, cpe) {
        rr.result = XccdfResult::NotApplicable;
        return vec![rr];
    }
    if !requirements_met(rule, req.policy) {
        rr.result = XccdfResult::NotSelected;
        rr.messages
            .push("a rule it requires is not selected, or one it conflicts with is".into());
        return vec![rr];
    }
    if rr.role == Role::Unchecked {
        rr.result = XccdfResult::Informational;
        return vec![rr];
    }
    let selector = refine.and_then(|r| r.selector.as_deref()).unwrap_or("");
    let outcomes = match &rule.complex_check {
        Some(cc) if rule.checks.is_empty() => {
            let (r, m) = complex_result(cc, req, evaluators);
            vec![(r, None, m)]
        }
        _ => rule_checks_result(&rule.checks, selector, req, evaluators),
    };
    outcomes
        .into_iter()
        .map(|(result, check, messages)| RuleResult {
            result,
            check,
            messages,
            ..rr.clone()
        })
        .collect()
}

/// Every group level (separated by marks) must have one platform that applies.
fn platforms_apply(platforms: &[&str], cpe: &CpeEvaluator<'_>) -> bool {
    platforms
        .split(|p| *p == GROUP_MARK)
        .filter(|level| !level.is_empty())
        .all(|level| level.iter().any(|p| cpe.applies(p)))
}

fn requirements_met(rule: &Rule, policy: &Policy) -> bool {
    rule.base.requires.iter().all(|any| {
        any.is_empty()
            || any
                .iter()
                .any(|id| policy.selected.contains(id) || !is_rule_id(id))
    }) && rule
        .base
        .conflicts
        .iter()
        .all(|id| !policy.selected.contains(id))
}

/// `requires` may name groups; only rules are tracked in the selection.
fn is_rule_id(id: &str) -> bool {
    id.contains("_rule_")
}

type Outcome = (XccdfResult, Option<CheckRef>, Vec<String>);

/// The outcomes of a rule's own check: one, or one per definition where the check is
/// `multi-check` (NIST IR 7275 rev 4, the `check` element: a check that is the child of a
/// complex check is never multi-check, so [`complex_result`] goes through [`checks_result`]).
fn rule_checks_result(
    checks: &[Check],
    selector: &str,
    req: &ScanRequest<'_>,
    evaluators: &HashMap<&str, Evaluator<'_>>,
) -> Vec<Outcome> {
    if let Some(outcomes) = candidates(checks, selector)
        .into_iter()
        .find(|c| c.system == OVAL_SYSTEM)
        .and_then(|c| multi_check(c, evaluators))
    {
        return outcomes;
    }
    vec![checks_result(checks, selector, req, evaluators)]
}

/// The checks of the selector, else those without one.
fn candidates<'a>(checks: &'a [Check], selector: &str) -> Vec<&'a Check> {
    let mut candidates: Vec<&Check> = checks.iter().filter(|c| c.selector == selector).collect();
    if candidates.is_empty() {
        candidates = checks.iter().filter(|c| c.selector.is_empty()).collect();
    }
    candidates
}

/// A `multi-check` check's outcomes, one per definition of the OVAL document its first
/// content reference without a name resolves to; `None` when it is not multi-check or names
/// its definition (the check is then evaluated once).
///
/// Every definition of the document counts, whatever its class, each mapped by its class and
/// negated as the check says. They come in descending order of their ids, compared byte by
/// byte, the order in which OpenSCAP 1.3.7 writes them, so that both results read alike. A
/// document without definitions gives one `unknown` result that says so.
fn multi_check(check: &Check, evaluators: &HashMap<&str, Evaluator<'_>>) -> Option<Vec<Outcome>> {
    if !check.multi_check {
        return None;
    }
    // The first reference that names a definition, or names none but resolves, decides, as
    // content references are alternatives tried in order.
    let href = check
        .content_refs
        .iter()
        .find_map(|(href, name)| match name {
            Some(id) => evaluators
                .get(href.as_str())
                .filter(|e| e.definitions().definition(id).is_some())
                .map(|_| None),
            None => evaluators.contains_key(href.as_str()).then_some(Some(href)),
        })??;
    let eval = evaluators.get(href.as_str())?;
    let defs = eval.definitions();
    let check_ref = |name: Option<String>| CheckRef {
        system: check.system.clone(),
        href: href.clone(),
        name,
        exports: check.exports.clone(),
        multi_check: true,
        negate: check.negate,
    };
    if defs.definitions.is_empty() {
        return Some(vec![(
            XccdfResult::Unknown,
            Some(check_ref(None)),
            vec![format!(
                "the check is multi-check but `{href}` has no OVAL definition to report on"
            )],
        )]);
    }
    let mut ordered: Vec<_> = defs.definitions.iter().collect();
    ordered.sort_by(|a, b| b.id.as_bytes().cmp(a.id.as_bytes()));
    tracing::debug!(
        "multi-check: {} results, one per definition of `{href}`",
        ordered.len()
    );
    Some(
        ordered
            .into_iter()
            .map(|d| {
                let r = map_oval(eval.definition(&d.id), d.class);
                let messages = failure_messages(r, eval, defs, &d.id);
                (
                    r.negate(check.negate),
                    Some(check_ref(Some(d.id.clone()))),
                    messages,
                )
            })
            .collect(),
    )
}

fn checks_result(
    checks: &[Check],
    selector: &str,
    req: &ScanRequest<'_>,
    evaluators: &HashMap<&str, Evaluator<'_>>,
) -> Outcome {
    let candidates = candidates(checks, selector);
    if candidates.is_empty() {
        return (
            XccdfResult::NotChecked,
            None,
            vec!["the rule has no check".into()],
        );
    }
    let mut messages = Vec::new();
    for check in &candidates {
        if check.system != OVAL_SYSTEM {
            continue;
        }
        let remote: Vec<&str> = check
            .content_refs
            .iter()
            .filter_map(|(h, _)| match req.content.checks.get(h) {
                Some(CheckComponent::Remote(url)) => Some(url.as_str()),
                _ => None,
            })
            .collect();
        if !remote.is_empty() {
            messages.push(format!(
                "the check's content is not in the data stream but at {}; ato makes no network \
                 connection, so it was not run",
                remote.join(", ")
            ));
            continue;
        }
        match oval_check(check, req, evaluators) {
            Some(outcome) => return outcome,
            None => messages.push(format!(
                "no OVAL content found for {}",
                check
                    .content_refs
                    .iter()
                    .map(|(h, n)| format!("`{h}`#{}", n.as_deref().unwrap_or("*")))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    if messages.is_empty() {
        let systems: Vec<&str> = candidates.iter().map(|c| c.system.as_str()).collect();
        messages.push(format!(
            "no check of a system ato evaluates ({})",
            systems.join(", ")
        ));
    }
    (XccdfResult::NotChecked, None, messages)
}

/// Evaluates one OVAL check: the first content reference that resolves wins.
fn oval_check(
    check: &Check,
    req: &ScanRequest<'_>,
    evaluators: &HashMap<&str, Evaluator<'_>>,
) -> Option<Outcome> {
    let _ = req;
    for (href, name) in &check.content_refs {
        let Some(eval) = evaluators.get(href.as_str()) else {
            continue;
        };
        let defs = eval.definitions();
        let check_ref = CheckRef {
            system: check.system.clone(),
            href: href.clone(),
            name: name.clone(),
            exports: check.exports.clone(),
            multi_check: check.multi_check,
            negate: check.negate,
        };
        let (result, messages) = match name {
            Some(id) => {
                let Some(def) = defs.definition(id) else {
                    continue;
                };
                let r = map_oval(eval.definition(id), def.class);
                (r, failure_messages(r, eval, defs, id))
            }
            None if defs.definitions.is_empty() => (
                XccdfResult::Error,
                vec![format!("`{href}` has no OVAL definition to evaluate")],
            ),
            None => {
                // Without a name every definition counts, combined by AND.
                let mut worst = XccdfResult::Pass;
                for d in &defs.definitions {
                    let r = map_oval(eval.definition(&d.id), d.class);
                    worst = and(worst, r);
                }
                (worst, Vec::new())
            }
        };
        return Some((result.negate(check.negate), Some(check_ref), messages));
    }
    None
}

/// Messages of the tests behind an error or unknown result, so that the cause is in the
/// results and not only in a log.
fn failure_messages(
    r: XccdfResult,
    eval: &Evaluator<'_>,
    defs: &OvalDefinitions,
    def_id: &str,
) -> Vec<String> {
    if !matches!(r, XccdfResult::Error | XccdfResult::Unknown) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    collect_test_messages(eval, defs, def_id, &mut seen, &mut out);
    out
}

fn collect_test_messages(
    eval: &Evaluator<'_>,
    defs: &OvalDefinitions,
    def_id: &str,
    seen: &mut HashSet<String>,
    out: &mut Vec<String>,
) {
    use ato_content::oval::{Criteria, Criterion};
    if !seen.insert(def_id.to_string()) || out.len() >= 5 {
        return;
    }
    fn walk(
        c: &Criteria,
        eval: &Evaluator<'_>,
        defs: &OvalDefinitions,
        seen: &mut HashSet<String>,
        out: &mut Vec<String>,
    ) {
        for child in &c.children {
            match child {
                Criterion::Criteria(inner) => walk(inner, eval, defs, seen, out),
                Criterion::Test { test_ref, .. } => {
                    let t = eval.test(test_ref);
                    if matches!(t.result, OvalResult::Error | OvalResult::Unknown) {
                        let why = t.message.clone().unwrap_or_else(|| "no message".into());
                        let line = format!("test `{test_ref}` is {}: {why}", t.result.as_str());
                        if !out.contains(&line) && out.len() < 5 {
                            out.push(line);
                        }
                    }
                }
                Criterion::ExtendDefinition { definition_ref, .. } => {
                    collect_test_messages(eval, defs, definition_ref, seen, out)
                }
            }
        }
    }
    if let Some(c) = defs.definition(def_id).and_then(|d| d.criteria.as_ref()) {
        walk(c, eval, defs, seen, out);
    }
}

/// OVAL definition result to XCCDF rule result (SP 800-126 rev 3, table 6).
pub fn map_oval(r: OvalResult, class: DefinitionClass) -> XccdfResult {
    let reversed = matches!(
        class,
        DefinitionClass::Patch | DefinitionClass::Vulnerability
    );
    match r {
        OvalResult::True if reversed => XccdfResult::Fail,
        OvalResult::True => XccdfResult::Pass,
        OvalResult::False if reversed => XccdfResult::Pass,
        OvalResult::False => XccdfResult::Fail,
        OvalResult::Unknown => XccdfResult::Unknown,
        OvalResult::Error => XccdfResult::Error,
        OvalResult::NotEvaluated => XccdfResult::NotChecked,
        OvalResult::NotApplicable => XccdfResult::NotApplicable,
    }
}

/// XCCDF's AND for complex checks: fail, unknown, error, notchecked, then pass.
fn and(a: XccdfResult, b: XccdfResult) -> XccdfResult {
    let rank = |r: XccdfResult| match r {
        XccdfResult::Fail => 0,
        XccdfResult::Unknown => 1,
        XccdfResult::Error => 2,
        XccdfResult::NotChecked => 3,
        XccdfResult::Pass => 4,
        _ => 5,
    };
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

/// XCCDF's OR: pass, unknown, error, notchecked, then fail.
fn or(a: XccdfResult, b: XccdfResult) -> XccdfResult {
    let rank = |r: XccdfResult| match r {
        XccdfResult::Pass => 0,
        XccdfResult::Unknown => 1,
        XccdfResult::Error => 2,
        XccdfResult::NotChecked => 3,
        XccdfResult::Fail => 4,
        _ => 5,
    };
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

fn complex_result(
    cc: &ComplexCheck,
    req: &ScanRequest<'_>,
    evaluators: &HashMap<&str, Evaluator<'_>>,
) -> (XccdfResult, Vec<String>) {
    let mut acc: Option<XccdfResult> = None;
    let mut messages = Vec::new();
    for child in &cc.children {
        let (r, m) = match child {
            ComplexCheckChild::Check(c) => {
                let (r, _, m) =
                    checks_result(std::slice::from_ref(c), &c.selector, req, evaluators);
                (r, m)
            }
            ComplexCheckChild::Complex(inner) => complex_result(inner, req, evaluators),
        };
        messages.extend(m);
        acc = Some(match acc {
            None => r,
            Some(a) if cc.operator_and => and(a, r),
            Some(a) => or(a, r),
        });
    }
    (
        acc.unwrap_or(XccdfResult::Unknown).negate(cc.negate),
        messages,
    )
}

/// Decides CPE names and `#id` platforms through the dictionary's OVAL checks, once each.
pub struct CpeEvaluator<'a> {
    content: &'a Content,
    evaluators: HashMap<&'a str, Evaluator<'a>>,
    decided: Mutex<HashMap<String, bool>>,
}

impl<'a> CpeEvaluator<'a> {
    pub fn new(
        content: &'a Content,
        target: &'a Target,
        regexes: &'a RegexCache,
        shared: &'a SharedCache,
    ) -> CpeEvaluator<'a> {
        let mut evaluators = HashMap::new();
        for (href, comp) in &content.cpe_checks {
            if let CheckComponent::Oval(defs) = comp {
                let defs: &'a Arc<OvalDefinitions> = defs;
                evaluators.insert(
                    href.as_str(),
                    Evaluator::new(defs, target, regexes, shared, HashMap::new()),
                );
            }
        }
        CpeEvaluator {
            content,
            evaluators,
            decided: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a platform (`cpe:/...` name or `#id`) applies to the target.
    pub fn applies(&self, platform: &str) -> bool {
        if let Some(&known) = self.lock().get(platform) {
            return known;
        }
        let r = match platform.strip_prefix('#') {
            Some(id) => match self.content.benchmark.cpe_platforms.get(id) {
                Some(p) => self.logical(&p.test),
                None => {
                    tracing::warn!("platform `#{id}` is not defined in the benchmark");
                    false
                }
            },
            None => self.name(platform),
        };
        self.lock().insert(platform.to_string(), r);
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.decided.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn logical(&self, t: &LogicalTest) -> bool {
        let mut results = t.children.iter().map(|c| match c {
            PlatformTerm::Test(inner) => self.logical(inner),
            PlatformTerm::FactRef(name) => self.name(name),
            PlatformTerm::CheckFactRef(_, href, id) => self.check(href, id),
        });
        let r = if t.operator_and {
            results.all(|x| x)
        } else {
            results.any(|x| x)
        };
        r != t.negate
    }

    fn name(&self, name: &str) -> bool {
        let Some(item) = self
            .content
            .cpe_dictionary
            .as_ref()
            .and_then(|d| d.item(name))
        else {
            tracing::debug!("CPE `{name}` is not in the dictionary: not applicable");
            return false;
        };
        item.checks
            .iter()
            .filter(|(system, _, _)| system == OVAL_SYSTEM)
            .any(|(_, href, id)| self.check(href, id))
    }

    fn check(&self, href: &str, id: &str) -> bool {
        match self.evaluators.get(href) {
            Some(e) => e.definition(id) == OvalResult::True,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ato_content::LoadOptions;

    use super::*;
    use crate::results::{self, ScanTimes, TargetFacts};

    const NS: &str = "http://checklists.nist.gov/xccdf/1.2";

    /// Definitions `oval:t:def:10`, `:1` and `:2`, in that document order; each checks that
    /// the file of its number under `/files` holds a line `ok`.
    fn oval_definitions() -> String {
        let mut defs = String::new();
        let mut tests = String::new();
        let mut objects = String::new();
        for n in ["10", "1", "2"] {
            defs.push_str(&format!(
                r#"<definition class="compliance" id="oval:t:def:{n}" version="1">
  <metadata><title>def {n}</title><description>d</description></metadata>
  <criteria><criterion test_ref="oval:t:tst:{n}"/></criteria>
</definition>
"#
            ));
            tests.push_str(&format!(
                r#"<ind:textfilecontent54_test check="all" check_existence="at_least_one_exists" comment="c" id="oval:t:tst:{n}" version="1"><ind:object object_ref="oval:t:obj:{n}"/></ind:textfilecontent54_test>
"#
            ));
            objects.push_str(&format!(
                r#"<ind:textfilecontent54_object id="oval:t:obj:{n}" version="1"><ind:filepath>/files/{n}</ind:filepath><ind:pattern operation="pattern match">^ok$</ind:pattern><ind:instance datatype="int" operation="greater than or equal">1</ind:instance></ind:textfilecontent54_object>
"#
            ));
        }
        format!(
            "<definitions>{defs}</definitions><tests>{tests}</tests><objects>{objects}</objects>"
        )
    }

    /// A data stream whose profile `test` selects one rule with the check attributes `check`
    /// and the content reference attributes `reference`, over [`oval_definitions`] (or over
    /// an OVAL document without definitions when `empty`).
    fn data_stream(check: &str, reference: &str, empty: bool) -> String {
        let oval = if empty {
            String::new()
        } else {
            oval_definitions()
        };
        format!(
            r##"<?xml version="1.0" encoding="UTF-8"?>
<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:cat="urn:oasis:names:tc:entity:xmlns:xml:catalog" id="scap_org.test_collection_t" schematron-version="1.3">
  <ds:data-stream id="scap_org.test_datastream_t" scap-version="1.3" use-case="OTHER">
    <ds:checklists>
      <ds:component-ref id="scap_org.test_cref_xccdf" xlink:href="#scap_org.test_comp_xccdf">
        <cat:catalog><cat:uri name="test-oval.xml" uri="#scap_org.test_cref_oval"/></cat:catalog>
      </ds:component-ref>
    </ds:checklists>
    <ds:checks>
      <ds:component-ref id="scap_org.test_cref_oval" xlink:href="#scap_org.test_comp_oval"/>
    </ds:checks>
  </ds:data-stream>
  <ds:component id="scap_org.test_comp_xccdf" timestamp="2026-01-01T00:00:00">
    <xccdf:Benchmark xmlns:xccdf="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.test_benchmark_t" resolved="1" xml:lang="en-US">
      <xccdf:status>draft</xccdf:status>
      <xccdf:title>Test benchmark</xccdf:title>
      <xccdf:version>1.0</xccdf:version>
      <xccdf:Profile id="xccdf_org.test_profile_test">
        <xccdf:title>Test profile</xccdf:title>
        <xccdf:select idref="xccdf_org.test_rule_multi" selected="true"/>
      </xccdf:Profile>
      <xccdf:Rule id="xccdf_org.test_rule_multi" selected="false" severity="medium">
        <xccdf:title>Rule multi</xccdf:title>
        <xccdf:check system="http://oval.mitre.org/XMLSchema/oval-definitions-5" {check}>
          <xccdf:check-content-ref href="test-oval.xml" {reference}/>
        </xccdf:check>
      </xccdf:Rule>
    </xccdf:Benchmark>
  </ds:component>
  <ds:component id="scap_org.test_comp_oval" timestamp="2026-01-01T00:00:00">
    <oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent">
      <generator><oval:schema_version>5.11.2</oval:schema_version><oval:timestamp>2026-01-01T00:00:00</oval:timestamp></generator>
      {oval}
    </oval_definitions>
  </ds:component>
</ds:data-stream-collection>
"##
        )
    }

    /// What a scan of a tree in which definition 2 fails (its file lacks `ok`) gave: the
    /// results document and the default score.
    fn scan_of(ds: &str) -> (ScanResult, String, f64) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("files")).unwrap();
        for (n, text) in [("1", "ok\n"), ("2", "no\n"), ("10", "ok\n")] {
            std::fs::write(root.path().join("files").join(n), text).unwrap();
        }
        let content = Content::from_str(ds, Path::new("ds.xml"), &LoadOptions::default())
            .expect("the test data stream loads");
        let target = Target::offline(root.path()).unwrap();
        let bench = &content.benchmark;
        let profile = crate::find_profile(bench, "test").unwrap();
        let policy = crate::resolve(bench, Some(profile)).unwrap();
        let request = ScanRequest {
            content: &content,
            policy: &policy,
            target: &target,
            only_rules: HashSet::new(),
            skip_rules: HashSet::new(),
            progress: None,
        };
        let outcome = scan(&request);
        let score = results::default_score(bench, &outcome);
        let tr = results::test_result_xml(
            &content,
            &policy,
            &outcome,
            &TargetFacts::default(),
            &ScanTimes::default(),
            score,
        );
        let doc = results::results_document(&content, &tr);
        (outcome, doc, score)
    }

    /// Each rule-result of the results document: (idref, result, the content reference's
    /// name, the check's multi-check attribute).
    fn rule_results(doc: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
        let doc = roxmltree::Document::parse(doc).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name((NS, "rule-result")))
            .map(|rr| {
                let child = |name: &str| rr.children().find(|c| c.has_tag_name((NS, name)));
                let check = child("check");
                let name = check
                    .and_then(|c| {
                        c.children()
                            .find(|r| r.has_tag_name((NS, "check-content-ref")))
                    })
                    .and_then(|r| r.attribute("name"))
                    .map(str::to_string);
                (
                    rr.attribute("idref").unwrap_or_default().to_string(),
                    child("result")
                        .and_then(|r| r.text())
                        .unwrap_or_default()
                        .to_string(),
                    name,
                    check
                        .and_then(|c| c.attribute("multi-check"))
                        .map(str::to_string),
                )
            })
            .collect()
    }

    fn named(results: &[(String, String, Option<String>, Option<String>)]) -> Vec<(&str, &str)> {
        results
            .iter()
            .map(|(_, r, n, _)| (n.as_deref().unwrap_or("-"), r.as_str()))
            .collect()
    }

    #[test]
    fn multi_check_gives_a_rule_result_per_definition() {
        let (outcome, doc, _) = scan_of(&data_stream(r#"multi-check="true""#, "", false));
        let rrs = rule_results(&doc);

        assert_eq!(rrs.len(), 3, "{doc}");
        assert!(rrs.iter().all(|r| r.0 == "xccdf_org.test_rule_multi"));
        assert!(rrs.iter().all(|r| r.3.as_deref() == Some("true")));
        // Descending ids, byte by byte, as OpenSCAP 1.3.7 orders them.
        assert_eq!(
            named(&rrs),
            [
                ("oval:t:def:2", "fail"),
                ("oval:t:def:10", "pass"),
                ("oval:t:def:1", "pass")
            ]
        );
        assert_eq!(outcome.count(XccdfResult::Fail), 1);
        assert_eq!(
            outcome.rule_outcomes(),
            [("xccdf_org.test_rule_multi", XccdfResult::Fail)]
        );
    }

    #[test]
    fn multi_check_with_a_name_gives_one_result() {
        let ds = data_stream(r#"multi-check="true""#, r#"name="oval:t:def:10""#, false);
        let rrs = rule_results(&scan_of(&ds).1);
        assert_eq!(named(&rrs), [("oval:t:def:10", "pass")]);
    }

    #[test]
    fn without_multi_check_all_definitions_give_one_result() {
        for check in ["", r#"multi-check="false""#] {
            let rrs = rule_results(&scan_of(&data_stream(check, "", false)).1);
            assert_eq!(named(&rrs), [("-", "fail")], "check attributes `{check}`");
            assert_eq!(rrs[0].3, None);
        }
    }

    #[test]
    fn multi_check_negates_each_definition() {
        let ds = data_stream(r#"multi-check="true" negate="true""#, "", false);
        let (_, doc, score) = scan_of(&ds);
        assert_eq!(
            named(&rule_results(&doc)),
            [
                ("oval:t:def:2", "pass"),
                ("oval:t:def:10", "fail"),
                ("oval:t:def:1", "fail")
            ]
        );
        assert!(doc.contains(r#"multi-check="true" negate="true""#), "{doc}");
        // The rule counts once, as failed, though its first result passed.
        assert_eq!(score, 0.0);
    }

    #[test]
    fn multi_check_over_a_document_without_definitions_is_unknown() {
        let (outcome, doc, _) = scan_of(&data_stream(r#"multi-check="true""#, "", true));
        assert_eq!(named(&rule_results(&doc)), [("-", "unknown")]);
        assert!(
            outcome.rules[0].messages[0].contains("no OVAL definition"),
            "{:?}",
            outcome.rules[0].messages
        );
    }

    #[test]
    fn combined_fails_when_any_instance_failed() {
        use XccdfResult::*;
        assert_eq!(XccdfResult::combined([Pass, Fail, Pass]), Some(Fail));
        assert_eq!(XccdfResult::combined([Pass, Error, Unknown]), Some(Unknown));
        assert_eq!(XccdfResult::combined([NotApplicable, Pass]), Some(Pass));
        assert_eq!(
            XccdfResult::combined([NotApplicable, NotSelected]),
            Some(NotApplicable)
        );
        assert_eq!(XccdfResult::combined([]), None);
    }
}
