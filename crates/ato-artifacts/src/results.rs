//! XCCDF 1.2 results as `ato scan --results` and `oscap xccdf eval --results` write them: the
//! benchmark with a `TestResult` in it. ARF reports work too: their benchmark and TestResult
//! are found wherever they are in the document.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ato_content::xccdf::{parse_benchmark, Benchmark};
use ato_content::{parse_document, read_bounded};
use ato_xccdf::XccdfResult;
use roxmltree::Node;

use crate::error::ArtifactError;

const NS_XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";

/// A results file: the benchmark, the plain text of its rules, and the last TestResult.
#[derive(Debug, Clone)]
pub struct ScanResults {
    pub path: PathBuf,
    pub benchmark: Benchmark,
    /// Plain text of each rule's description, check content and fix text, by rule id.
    pub texts: HashMap<String, RuleText>,
    pub test_result: TestResult,
    /// The effective value of every Value under the TestResult's profile, by id.
    pub values: HashMap<String, String>,
}

/// A rule's texts as plain text (markup dropped, `sub` references replaced by values).
#[derive(Debug, Clone, Default)]
pub struct RuleText {
    pub description: String,
    pub rationale: String,
    pub check_content: String,
    pub fix_text: String,
}

/// A `TestResult`.
#[derive(Debug, Clone, Default)]
pub struct TestResult {
    pub id: String,
    pub start_time: String,
    pub end_time: String,
    pub test_system: String,
    pub profile: Option<String>,
    pub target: String,
    pub target_addresses: Vec<String>,
    /// `target-facts`: fact name and value.
    pub facts: Vec<(String, String)>,
    /// One per rule, in the file's order. Several `rule-result` elements of one rule (a
    /// `multi-check` rule has one per OVAL definition) are merged into one; see
    /// [`RuleOutcome::instances`].
    pub rule_results: Vec<RuleOutcome>,
}

impl TestResult {
    /// The value of the first fact named `name`.
    pub fn fact(&self, name: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A rule's outcome: its `rule-result`, or the merge of its several ones.
#[derive(Debug, Clone)]
pub struct RuleOutcome {
    pub rule_id: String,
    /// The result; for several rule-results, [`XccdfResult::combined`]: failed if any failed.
    pub result: XccdfResult,
    pub severity: String,
    pub time: String,
    /// The messages of every rule-result, each once.
    pub messages: Vec<String>,
    pub idents: Vec<(String, String)>,
    /// The check of the first rule-result.
    pub check: Option<CheckInfo>,
    /// Each rule-result's own result and check, in the file's order, where the rule has more
    /// than one; empty otherwise.
    pub instances: Vec<Instance>,
}

/// One of several `rule-result` elements of a rule.
#[derive(Debug, Clone)]
pub struct Instance {
    pub result: XccdfResult,
    pub check: Option<CheckInfo>,
}

/// The `check` of a rule-result: its system, content reference and exported values.
#[derive(Debug, Clone, Default)]
pub struct CheckInfo {
    pub system: String,
    pub href: String,
    pub name: Option<String>,
    /// `check-export`: Value id and export name.
    pub exports: Vec<(String, String)>,
}

impl ScanResults {
    /// Reads the results file at `path`.
    pub fn load(path: &Path) -> Result<ScanResults, ArtifactError> {
        let source = read_bounded(path)?;
        ScanResults::parse(&source, path)
    }

    /// Reads results from their text; `path` names them in errors.
    pub fn parse(source: &str, path: &Path) -> Result<ScanResults, ArtifactError> {
        let doc = parse_document(source, path)?;
        let format = |message: &str| ArtifactError::Format {
            path: path.to_path_buf(),
            message: message.to_string(),
        };
        let bench_node = doc
            .descendants()
            .find(|n| n.has_tag_name((NS_XCCDF, "Benchmark")))
            .ok_or_else(|| format("it has no XCCDF 1.2 Benchmark"))?;
        let tr_node = doc
            .descendants()
            .rfind(|n| n.has_tag_name((NS_XCCDF, "TestResult")))
            .ok_or_else(|| format("it has no XCCDF 1.2 TestResult: is it a results file?"))?;
        let benchmark = parse_benchmark(bench_node, source, path)?;
        let test_result = parse_test_result(tr_node);
        let profile = test_result
            .profile
            .as_deref()
            .and_then(|id| benchmark.profile(id));
        let mut values: HashMap<String, String> = match ato_xccdf::resolve(&benchmark, profile) {
            Ok(policy) => policy.values,
            Err(e) => {
                tracing::warn!("cannot resolve the results' profile: {e}");
                HashMap::new()
            }
        };
        for sv in tr_node
            .children()
            .filter(|n| n.has_tag_name((NS_XCCDF, "set-value")))
        {
            if let Some(id) = sv.attribute("idref") {
                values.insert(id.to_string(), sv.text().unwrap_or("").to_string());
            }
        }
        let texts = bench_node
            .descendants()
            .filter(|n| n.has_tag_name((NS_XCCDF, "Rule")))
            .filter_map(|r| Some((r.attribute("id")?.to_string(), rule_text(r, &values))))
            .collect();
        Ok(ScanResults {
            path: path.to_path_buf(),
            benchmark,
            texts,
            test_result,
            values,
        })
    }
}

fn parse_test_result(node: Node<'_, '_>) -> TestResult {
    let mut tr = TestResult {
        id: node.attribute("id").unwrap_or("").to_string(),
        start_time: node.attribute("start-time").unwrap_or("").to_string(),
        end_time: node.attribute("end-time").unwrap_or("").to_string(),
        test_system: node.attribute("test-system").unwrap_or("").to_string(),
        ..TestResult::default()
    };
    for c in node
        .children()
        .filter(|n| n.tag_name().namespace() == Some(NS_XCCDF))
    {
        match c.tag_name().name() {
            "profile" => tr.profile = c.attribute("idref").map(str::to_string),
            "target" => tr.target = plain(c),
            "target-address" => tr.target_addresses.push(plain(c)),
            "target-facts" => {
                for f in c.children().filter(Node::is_element) {
                    if let Some(name) = f.attribute("name") {
                        tr.facts.push((name.to_string(), plain(f)));
                    }
                }
            }
            "rule-result" => tr.rule_results.extend(parse_rule_result(c)),
            _ => {}
        }
    }
    tr.rule_results = merge_instances(std::mem::take(&mut tr.rule_results));
    tr
}

/// Merges the rule-results that share an `idref` into the first of them, so that every reader
/// of the results sees one outcome per rule and counts it once.
fn merge_instances(outcomes: Vec<RuleOutcome>) -> Vec<RuleOutcome> {
    let mut merged: Vec<RuleOutcome> = Vec::with_capacity(outcomes.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for o in outcomes {
        let Some(&i) = index.get(&o.rule_id) else {
            index.insert(o.rule_id.clone(), merged.len());
            merged.push(o);
            continue;
        };
        let m = &mut merged[i];
        if m.instances.is_empty() {
            m.instances.push(Instance {
                result: m.result,
                check: m.check.clone(),
            });
        }
        m.instances.push(Instance {
            result: o.result,
            check: o.check,
        });
        m.result = XccdfResult::combined(m.instances.iter().map(|x| x.result)).unwrap_or(m.result);
        for msg in o.messages {
            if !m.messages.contains(&msg) {
                m.messages.push(msg);
            }
        }
    }
    if merged.iter().any(|m| !m.instances.is_empty()) {
        tracing::debug!("rule-results of one rule merged: multi-check results");
    }
    merged
}

fn parse_rule_result(node: Node<'_, '_>) -> Option<RuleOutcome> {
    let rule_id = node.attribute("idref")?.to_string();
    let mut out = RuleOutcome {
        rule_id,
        result: XccdfResult::Unknown,
        severity: node.attribute("severity").unwrap_or("unknown").to_string(),
        time: node.attribute("time").unwrap_or("").to_string(),
        messages: Vec::new(),
        idents: Vec::new(),
        check: None,
        instances: Vec::new(),
    };
    for c in node
        .children()
        .filter(|n| n.tag_name().namespace() == Some(NS_XCCDF))
    {
        match c.tag_name().name() {
            "result" => {
                let r = plain(c);
                out.result = XccdfResult::parse(&r).unwrap_or_else(|| {
                    tracing::warn!("rule `{}`: unknown result `{r}`", out.rule_id);
                    XccdfResult::Unknown
                });
            }
            "message" => out.messages.push(plain(c)),
            "ident" => out
                .idents
                .push((c.attribute("system").unwrap_or("").to_string(), plain(c))),
            "check" => {
                let mut check = CheckInfo {
                    system: c.attribute("system").unwrap_or("").to_string(),
                    ..CheckInfo::default()
                };
                for cc in c.children().filter(Node::is_element) {
                    match cc.tag_name().name() {
                        "check-content-ref" => {
                            check.href = cc.attribute("href").unwrap_or("").to_string();
                            check.name = cc.attribute("name").map(str::to_string);
                        }
                        "check-export" => check.exports.push((
                            cc.attribute("value-id").unwrap_or("").to_string(),
                            cc.attribute("export-name").unwrap_or("").to_string(),
                        )),
                        _ => {}
                    }
                }
                // The first check is the one that was evaluated.
                out.check.get_or_insert(check);
            }
            _ => {}
        }
    }
    Some(out)
}

fn rule_text(rule: Node<'_, '_>, values: &HashMap<String, String>) -> RuleText {
    let mut t = RuleText::default();
    for c in rule
        .children()
        .filter(|n| n.tag_name().namespace() == Some(NS_XCCDF))
    {
        match c.tag_name().name() {
            "description" if t.description.is_empty() => t.description = text_of(c, values),
            "rationale" if t.rationale.is_empty() => t.rationale = text_of(c, values),
            "fixtext" if t.fix_text.is_empty() => t.fix_text = text_of(c, values),
            "check" if t.check_content.is_empty() => {
                if let Some(cc) = c
                    .children()
                    .find(|n| n.has_tag_name((NS_XCCDF, "check-content")))
                {
                    t.check_content = text_of(cc, values);
                }
            }
            _ => {}
        }
    }
    t
}

/// The text under `node` with markup dropped, `sub` elements replaced by their Value, `br` as
/// a line break, and runs of blank lines and trailing spaces tidied.
pub fn text_of(node: Node<'_, '_>, values: &HashMap<String, String>) -> String {
    let mut out = String::new();
    collect_text(node, values, &mut out);
    let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
    let mut tidy = String::with_capacity(out.len());
    let mut blank = 0;
    for l in lines {
        if l.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !tidy.is_empty() {
            tidy.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        tidy.push_str(l);
    }
    tidy
}

fn collect_text(node: Node<'_, '_>, values: &HashMap<String, String>, out: &mut String) {
    for c in node.children() {
        if c.is_text() {
            out.push_str(c.text().unwrap_or(""));
        } else if c.is_element() {
            match c.tag_name().name() {
                "sub" => {
                    let v = c.attribute("idref").and_then(|id| values.get(id));
                    out.push_str(v.map(String::as_str).unwrap_or(""));
                }
                "br" => out.push('\n'),
                "p" | "li" | "pre" | "div" => {
                    out.push('\n');
                    collect_text(c, values, out);
                    out.push('\n');
                }
                _ => collect_text(c, values, out),
            }
        }
    }
}

fn plain(node: Node<'_, '_>) -> String {
    node.text().unwrap_or("").trim().to_string()
}
