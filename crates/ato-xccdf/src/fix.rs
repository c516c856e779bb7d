//! Remediation scripts from the fixes the content carries (XCCDF 1.2 section 6.4.4.4).
//!
//! A rule's `fix` of the requested system (`urn:xccdf:fix:script:sh` for bash,
//! `urn:xccdf:fix:script:ansible` for Ansible) is taken as written, with each `sub` replaced by
//! the value the profile (and tailoring) gives its Value, or the Value's default, or the text
//! of the `plain-text` it names. Rules come in benchmark order: the profile's selected rules,
//! or the rules that failed in a scan's results, optionally narrowed to named rules.
//!
//! A bash script runs every rule's fix in a subshell of its own, so that one failing fix stops
//! nothing else, and ends with the list of fixes that failed. An Ansible playbook is one play
//! for `hosts: all` whose `vars` hold the Values that the content's tasks promote to variables
//! (`- name: XCCDF Value NAME # promote to variable`), followed by every rule's tasks. Rules
//! without a fix of the type are listed at the end, for manual work; so are fixes of systems
//! ato does not know.
//!
//! ```
//! use std::collections::HashSet;
//! use std::path::Path;
//! use ato_xccdf::fix::{self, FixRequest, FixType, Header};
//!
//! let xml = r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b">
//!   <title>B</title><version>1</version>
//!   <Value id="xccdf_t_value_n"><value>7</value></Value>
//!   <Rule id="xccdf_t_rule_r"><title>R</title>
//!     <fix system="urn:xccdf:fix:script:sh">n=<sub idref="xccdf_t_value_n" use="legacy"/></fix>
//!   </Rule>
//! </Benchmark>"#;
//! let doc = roxmltree::Document::parse(xml).unwrap();
//! let bench = ato_content::xccdf::parse_benchmark(doc.root_element(), xml, Path::new("b")).unwrap();
//! let policy = ato_xccdf::resolve(&bench, None).unwrap();
//! let only = HashSet::from(["xccdf_t_rule_r".to_string()]);
//! let req = FixRequest {
//!     benchmark: &bench,
//!     policy: &policy,
//!     profile: None,
//!     fix_type: FixType::Bash,
//!     only_rules: &only,
//!     failures: None,
//! };
//! let plan = fix::plan(&req);
//! let script = fix::bash_script(&req, &plan, &Header { generated: "today", generator: "ato" });
//! assert!(script.contains("\nn=7\n"));
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use ato_content::xccdf::{Benchmark, Fix, FixPart, Profile, Rule};

use crate::error::XccdfError;
use crate::profile::Policy;

const NS_XCCDF_12: &str = "http://checklists.nist.gov/xccdf/1.2";
const NS_XCCDF_11: &str = "http://checklists.nist.gov/xccdf/1.1";

/// The fix systems ato knows. A fix of one of them that is not the requested type is skipped
/// quietly; a fix of any other system is listed, so that nothing the content offers is lost.
pub const KNOWN_SYSTEMS: &[&str] = &[
    "urn:xccdf:fix:script:sh",
    "urn:xccdf:fix:script:ansible",
    "urn:xccdf:fix:script:puppet",
    "urn:xccdf:fix:script:kubernetes",
    "urn:xccdf:fix:script:ignition",
    "urn:xccdf:fix:script:kickstart",
    "urn:xccdf:fix:script:bootc",
    "urn:redhat:anaconda:pre",
    "urn:redhat:osbuild:blueprint",
];

/// The kind of script to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixType {
    Bash,
    Ansible,
}

impl FixType {
    /// The `fix/@system` this type takes.
    pub fn system(self) -> &'static str {
        match self {
            FixType::Bash => "urn:xccdf:fix:script:sh",
            FixType::Ansible => "urn:xccdf:fix:script:ansible",
        }
    }

    /// The name users give it (`--fix-type`).
    pub fn name(self) -> &'static str {
        match self {
            FixType::Bash => "bash",
            FixType::Ansible => "ansible",
        }
    }

    /// The type in a sentence: "a bash fix", "an Ansible fix".
    pub fn a_fix(self) -> &'static str {
        match self {
            FixType::Bash => "a bash fix",
            FixType::Ansible => "an Ansible fix",
        }
    }
}

/// The failed rules of a scan, read from its XCCDF results.
#[derive(Debug, Clone, Default)]
pub struct ScanFailures {
    /// `TestResult/@id`.
    pub test_result_id: String,
    /// `TestResult/profile/@idref`, the profile that was scanned.
    pub profile: Option<String>,
    /// Ids of the rules whose result is `fail`.
    pub failed: HashSet<String>,
}

/// Reads the last `TestResult` of an XCCDF results document (or of an ARF report that holds
/// one). `path` names the file in errors.
pub fn scan_failures(text: &str, path: &Path) -> Result<ScanFailures, XccdfError> {
    let err = |message: String| XccdfError::Results {
        path: path.to_path_buf(),
        message,
    };
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| err(format!("not well-formed XML: {e}")))?;
    let is_xccdf = |n: &roxmltree::Node<'_, '_>, name: &str| {
        n.is_element()
            && n.tag_name().name() == name
            && matches!(n.tag_name().namespace(), Some(NS_XCCDF_12 | NS_XCCDF_11))
    };
    let test_result = doc
        .descendants()
        .rfind(|n| is_xccdf(n, "TestResult"))
        .ok_or_else(|| err("it has no XCCDF TestResult".to_string()))?;

    let mut out = ScanFailures {
        test_result_id: test_result.attribute("id").unwrap_or("").to_string(),
        ..ScanFailures::default()
    };
    for c in test_result.children() {
        if is_xccdf(&c, "profile") {
            out.profile = c.attribute("idref").map(str::to_string);
        } else if is_xccdf(&c, "rule-result") {
            let result = c
                .children()
                .find(|r| is_xccdf(r, "result"))
                .and_then(|r| r.text())
                .unwrap_or("")
                .trim();
            if result == "fail" {
                let idref = c
                    .attribute("idref")
                    .ok_or_else(|| err("a rule-result has no `idref`".to_string()))?;
                out.failed.insert(idref.to_string());
            }
        }
    }
    Ok(out)
}

/// What to generate a script for.
#[derive(Debug, Clone, Copy)]
pub struct FixRequest<'a> {
    pub benchmark: &'a Benchmark,
    /// The resolved profile: its selection and its Values.
    pub policy: &'a Policy,
    /// The profile itself, for the script's header.
    pub profile: Option<&'a Profile>,
    pub fix_type: FixType,
    /// Only these rules (full ids), whether the profile selects them or not; every rule in
    /// scope when empty.
    pub only_rules: &'a HashSet<String>,
    /// With a scan's failures, only the rules that failed are in scope; without, the rules the
    /// profile selects.
    pub failures: Option<&'a ScanFailures>,
}

/// Facts for the script's header.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// When the script was generated, as the user should read it.
    pub generated: &'a str,
    /// The tool and its version.
    pub generator: &'a str,
}

/// The rules in scope, each with the fix that will be used.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub fix_type: FixType,
    /// In benchmark order.
    pub rules: Vec<PlannedRule<'a>>,
    /// Anomalies of the content met while substituting (a `sub` naming nothing).
    pub warnings: Vec<String>,
}

/// One rule of a [`Plan`].
#[derive(Debug, Clone)]
pub struct PlannedRule<'a> {
    pub rule: &'a Rule,
    /// The rule's first fix of the requested system.
    pub fix: Option<&'a Fix>,
    /// The fix's body with its `sub` references replaced (for Ansible, without the tasks that
    /// promote Values to variables).
    pub body: Option<String>,
    /// For Ansible, the play variables the fix's tasks promote, as YAML values.
    pub variables: Vec<(String, String)>,
    /// Systems of the rule's other fixes that ato does not know.
    pub unknown_systems: Vec<String>,
}

impl Plan<'_> {
    /// The rules that have a fix of the requested type.
    pub fn fixed(&self) -> impl Iterator<Item = &PlannedRule<'_>> {
        self.rules.iter().filter(|r| r.fix.is_some())
    }

    /// The rules left for manual work: no fix of the requested type.
    pub fn manual(&self) -> impl Iterator<Item = &PlannedRule<'_>> {
        self.rules.iter().filter(|r| r.fix.is_none())
    }
}

/// Picks the rules in scope and their fixes, and substitutes the Values into the fix bodies.
pub fn plan<'a>(req: &FixRequest<'a>) -> Plan<'a> {
    let system = req.fix_type.system();
    let mut warnings = Vec::new();
    let mut rules = Vec::new();
    for rule in req.benchmark.rules() {
        if !in_scope(req, &rule.base.id) {
            continue;
        }
        let fix = rule.fixes.iter().find(|f| f.system == system);
        if fix.is_none() {
            tracing::debug!(rule = %rule.base.id, system, "no fix of this system; manual work");
        }
        let (body, variables) = match (fix, req.fix_type) {
            (None, _) => (None, Vec::new()),
            (Some(f), FixType::Bash) => (
                Some(substitute(req, rule, &f.parts, &mut warnings)),
                Vec::new(),
            ),
            (Some(f), FixType::Ansible) => {
                let (text, values) = marked(req, rule, &f.parts, &mut warnings);
                let (kept, variables) = promote_variables(&text, &values);
                (Some(unmark(&kept, &values)), variables)
            }
        };
        let mut unknown_systems: Vec<String> = Vec::new();
        for f in &rule.fixes {
            if !KNOWN_SYSTEMS.contains(&f.system.as_str()) && !unknown_systems.contains(&f.system) {
                unknown_systems.push(f.system.clone());
            }
        }
        rules.push(PlannedRule {
            rule,
            fix,
            body,
            variables,
            unknown_systems,
        });
    }
    let mut plan = Plan {
        fix_type: req.fix_type,
        rules,
        warnings,
    };
    let (_, conflicts) = play_variables(&plan);
    plan.warnings.extend(conflicts);
    plan
}

/// The play variables of every fix, the first of each name, and a warning for each later
/// fix that gives a name another value.
fn play_variables(plan: &Plan<'_>) -> (Vec<(String, String)>, Vec<String>) {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut conflicts = Vec::new();
    for planned in &plan.rules {
        for (name, value) in &planned.variables {
            match vars.iter().find(|(n, _)| n == name) {
                Some((_, v)) if v != value => conflicts.push(format!(
                    "the fix of `{}` gives the play variable `{name}` the value {value}; an \
                     earlier fix gave it {v}, which is kept",
                    planned.rule.base.id
                )),
                Some(_) => {}
                None => vars.push((name.clone(), value.clone())),
            }
        }
    }
    (vars, conflicts)
}

fn in_scope(req: &FixRequest<'_>, id: &str) -> bool {
    let named = req.only_rules.is_empty() || req.only_rules.contains(id);
    let wanted = match req.failures {
        Some(f) => f.failed.contains(id),
        None => !req.only_rules.is_empty() || req.policy.is_selected(id),
    };
    named && wanted
}

/// The text of a fix with every `sub` replaced: a Value by the value the policy gives it (the
/// profile's or tailoring's refinement, else the Value's default), a `plain-text` by its text.
/// A `sub` naming neither is replaced by nothing, with a warning.
fn substitute(
    req: &FixRequest<'_>,
    rule: &Rule,
    parts: &[FixPart],
    warnings: &mut Vec<String>,
) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            FixPart::Text(t) => out.push_str(t),
            FixPart::Sub { idref, .. } => out.push_str(sub_value(req, rule, idref, warnings)),
        }
    }
    out
}

fn sub_value<'a>(
    req: &FixRequest<'a>,
    rule: &Rule,
    idref: &str,
    warnings: &mut Vec<String>,
) -> &'a str {
    if let Some(v) = req.policy.values.get(idref) {
        return v;
    }
    if let Some(t) = req.benchmark.plain_texts.get(idref) {
        return t;
    }
    warnings.push(format!(
        "the fix of `{}` refers to `{idref}`, which is neither a Value nor a plain-text of the \
         benchmark; it was replaced by nothing",
        rule.base.id
    ));
    ""
}

const RULER: &str =
    "###############################################################################";

/// A bash script that applies every fix of the plan.
pub fn bash_script(req: &FixRequest<'_>, plan: &Plan<'_>, header: &Header<'_>) -> String {
    let total = plan.fixed().count();
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str(&header_comment(req, plan, header));
    s.push_str(
        "#\n\
         # Each fix is the content's own script with the profile's values filled in. Review it\n\
         # before running it as root. Every rule's fix runs in a subshell of its own: a fix that\n\
         # fails stops none of the others. At the end the script names the fixes that failed\n\
         # and exits with status 1 if any did.\n\n",
    );
    let _ = writeln!(s, "ato_total={total}");
    s.push_str(
        "ato_failed=()\n\n\
         ato_begin() {\n    printf 'ato: [%s/%s] %s\\n' \"$1\" \"$ato_total\" \"$2\" >&2\n}\n\n\
         ato_end() {\n    if [ \"$1\" -ne 0 ]; then\n        ato_failed+=(\"$2\")\n        \
         printf 'ato: the fix of %s failed (exit status %s)\\n' \"$2\" \"$1\" >&2\n    fi\n}\n",
    );

    for (n, planned) in plan.fixed().enumerate() {
        let id = &planned.rule.base.id;
        let body = planned.body.as_deref().unwrap_or("");
        let _ = write!(
            s,
            "\n{RULER}\n# [{}/{total}] {}\n# {}\n{}{RULER}\nato_begin {} {}\n(\n{body}",
            n + 1,
            one_line(id),
            one_line(&planned.rule.base.title),
            unknown_note(planned, "# "),
            n + 1,
            shell_quote(id),
        );
        if !body.ends_with('\n') {
            s.push('\n');
        }
        let _ = writeln!(s, ")\nato_end $? {}", shell_quote(id));
    }

    let manual: Vec<&PlannedRule<'_>> = plan.manual().collect();
    if !manual.is_empty() {
        let _ = write!(
            s,
            "\n{RULER}\n# {} rules have no bash fix and need manual work:\n",
            manual.len()
        );
        for m in &manual {
            let _ = writeln!(s, "#   {}", manual_line(m));
        }
        let _ = writeln!(s, "{RULER}");
    }

    let _ = write!(
        s,
        "\nif [ \"${{#ato_failed[@]}}\" -gt 0 ]; then\n    \
         printf 'ato: %s of %s fixes failed:\\n' \"${{#ato_failed[@]}}\" \"$ato_total\" >&2\n    \
         printf '  %s\\n' \"${{ato_failed[@]}}\" >&2\n    exit 1\nfi\n\
         printf 'ato: %s fixes applied' \"$ato_total\" >&2\n"
    );
    if manual.is_empty() {
        s.push_str("printf '\\n' >&2\n");
    } else {
        let _ = writeln!(
            s,
            "printf '; %s rules need manual work (listed at the end of this script)\\n' {} >&2",
            manual.len()
        );
    }
    s
}

/// An Ansible playbook that applies every fix of the plan.
pub fn ansible_playbook(req: &FixRequest<'_>, plan: &Plan<'_>, header: &Header<'_>) -> String {
    let mut s = String::from("---\n");
    s.push_str(&header_comment(req, plan, header));
    s.push_str(
        "#\n\
         # Each rule's tasks are the content's own, with the profile's values in `vars`.\n\
         # Review them, then run for instance:\n\
         #   ansible-playbook -i \"localhost,\" -c local -b PLAYBOOK\n\n",
    );

    let (vars, _) = play_variables(plan);
    let mut tasks = String::new();
    let total = plan.fixed().count();
    for (n, planned) in plan.fixed().enumerate() {
        let _ = write!(
            tasks,
            "\n    # [{}/{total}] {}\n    # {}\n{}",
            n + 1,
            one_line(&planned.rule.base.id),
            one_line(&planned.rule.base.title),
            unknown_note(planned, "    # "),
        );
        for line in planned.body.as_deref().unwrap_or("").lines() {
            // Blank lines stay blank; every other line, inside a block scalar too, moves in by
            // the same four columns, which keeps its meaning.
            if line.is_empty() {
                tasks.push('\n');
            } else {
                let _ = writeln!(tasks, "    {line}");
            }
        }
    }

    let name = match req.profile {
        Some(p) => format!("Remediation: {}", one_line(p.title.trim())),
        None => format!("Remediation: {}", one_line(req.benchmark.title.trim())),
    };
    let _ = writeln!(s, "- name: {}\n  hosts: all", yaml_quote(&name));
    if vars.is_empty() {
        s.push_str("  vars: {}\n");
    } else {
        s.push_str("  vars:\n");
        for (name, value) in &vars {
            let _ = writeln!(s, "    {name}: {value}");
        }
    }
    if total == 0 {
        s.push_str("  tasks: []\n");
    } else {
        s.push_str("  tasks:");
        s.push_str(&tasks);
    }

    let manual: Vec<&PlannedRule<'_>> = plan.manual().collect();
    if !manual.is_empty() {
        let _ = writeln!(
            s,
            "\n# {} rules have no Ansible fix and need manual work:",
            manual.len()
        );
        for m in &manual {
            let _ = writeln!(s, "#   {}", manual_line(m));
        }
    }
    s
}

/// The lines shared by both script types: benchmark, profile, scope, date and counts.
fn header_comment(req: &FixRequest<'_>, plan: &Plan<'_>, header: &Header<'_>) -> String {
    let b = req.benchmark;
    let kind = match plan.fix_type {
        FixType::Bash => "Bash remediation script",
        FixType::Ansible => "Ansible remediation playbook",
    };
    let mut s = String::new();
    let _ = writeln!(s, "# {kind} for {}", one_line(b.title.trim()));
    s.push_str("#\n");
    let _ = writeln!(s, "# Benchmark:  {}", one_line(&b.id));
    let _ = writeln!(s, "# Version:    {}", one_line(b.version.trim()));
    match req.profile {
        Some(p) => {
            let _ = writeln!(s, "# Profile:    {}", one_line(&p.id));
            let _ = writeln!(s, "#             {}", one_line(p.title.trim()));
        }
        None => s.push_str("# Profile:    none (the benchmark's own selection)\n"),
    }
    let scope = match req.failures {
        Some(f) => format!(
            "the rules that failed in TestResult {}",
            one_line(&f.test_result_id)
        ),
        None if !req.only_rules.is_empty() => "the rules named on the command line".to_string(),
        None => "every rule the profile selects".to_string(),
    };
    let _ = writeln!(s, "# Scope:      {scope}");
    let _ = writeln!(
        s,
        "# Generated:  {} by {}",
        one_line(header.generated),
        one_line(header.generator)
    );
    let fixed = plan.fixed().count();
    let manual = plan.manual().count();
    let _ = writeln!(
        s,
        "# Rules:      {fixed} fixed here, {manual} without {} (listed at the end)",
        plan.fix_type.a_fix()
    );
    s
}

/// A comment line naming the rule's fixes of systems ato does not know, or nothing.
fn unknown_note(planned: &PlannedRule<'_>, prefix: &str) -> String {
    if planned.unknown_systems.is_empty() {
        return String::new();
    }
    format!(
        "{prefix}The rule also has a fix for {}, which ato does not know.\n",
        one_line(&planned.unknown_systems.join(", "))
    )
}

/// A rule for the manual-work list: id, title, and fixes of systems ato does not know.
fn manual_line(m: &PlannedRule<'_>) -> String {
    let mut line = format!(
        "{}  {}",
        one_line(&m.rule.base.id),
        one_line(m.rule.base.title.trim())
    );
    if !m.unknown_systems.is_empty() {
        let _ = write!(
            line,
            "  (it has a fix for {}, which ato does not know)",
            one_line(&m.unknown_systems.join(", "))
        );
    }
    line
}

/// A dry listing of the plan: one line per rule with whether it has a fix.
pub fn listing(plan: &Plan<'_>) -> String {
    let mut s = format!(
        "{} rules, {} with {}\n",
        plan.rules.len(),
        plan.fixed().count(),
        plan.fix_type.a_fix()
    );
    let width = plan
        .rules
        .iter()
        .map(|r| r.rule.base.id.len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(s, "fix  {:<width$}  title", "rule");
    for r in &plan.rules {
        let has = if r.fix.is_some() { "yes" } else { "no " };
        let _ = write!(
            s,
            "{has}  {:<width$}  {}",
            one_line(&r.rule.base.id),
            one_line(r.rule.base.title.trim())
        );
        if !r.unknown_systems.is_empty() {
            let _ = write!(
                s,
                "  (fix for {}, which ato does not know)",
                one_line(&r.unknown_systems.join(", "))
            );
        }
        s.push('\n');
    }
    s
}

/// Marks around the index of a substituted value in [`marked`] text; characters of Unicode's
/// private use area, which no fix has reason to contain.
const MARK_OPEN: char = '\u{E000}';
const MARK_CLOSE: char = '\u{E001}';

/// The fix text with each `sub` as a mark, and the values the marks stand for. When the text
/// itself holds a mark character, the values are put in directly (nothing is promoted then).
fn marked(
    req: &FixRequest<'_>,
    rule: &Rule,
    parts: &[FixPart],
    warnings: &mut Vec<String>,
) -> (String, Vec<String>) {
    let clash = parts.iter().any(|p| match p {
        FixPart::Text(t) => t.contains([MARK_OPEN, MARK_CLOSE]),
        FixPart::Sub { .. } => false,
    });
    if clash {
        return (substitute(req, rule, parts, warnings), Vec::new());
    }
    let mut text = String::new();
    let mut values = Vec::new();
    for part in parts {
        match part {
            FixPart::Text(t) => text.push_str(t),
            FixPart::Sub { idref, .. } => {
                let _ = write!(text, "{MARK_OPEN}{}{MARK_CLOSE}", values.len());
                values.push(sub_value(req, rule, idref, warnings).to_string());
            }
        }
    }
    (text, values)
}

/// The text with every mark replaced by its value.
fn unmark(text: &str, values: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(MARK_OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + MARK_OPEN.len_utf8()..];
        let value = after.find(MARK_CLOSE).and_then(|close| {
            let v = after[..close]
                .parse::<usize>()
                .ok()
                .and_then(|i| values.get(i))?;
            Some((v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + MARK_CLOSE.len_utf8()..];
            }
            None => {
                out.push(MARK_OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits the tasks that promote a Value to a play variable (`- name: XCCDF Value NAME #
/// promote to variable`, a `set_fact` of NAME) from the others. Returns the remaining text and
/// the variables, each as its YAML value: a value that is exactly one `sub` becomes a quoted
/// string of that value, anything else stays as the content wrote it.
fn promote_variables(text: &str, values: &[String]) -> (String, Vec<(String, String)>) {
    let mut kept = String::new();
    let mut vars = Vec::new();
    for task in tasks(text) {
        match promoted(task, values) {
            Some(var) => vars.push(var),
            None => kept.push_str(task),
        }
    }
    (kept, vars)
}

/// The text split before every line that starts a top-level list item (`- ` at column 0).
fn tasks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if at > start && (line.starts_with("- ") || line.trim_end() == "-") {
            out.push(&text[start..at]);
            start = at;
        }
        at += line.len();
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn promoted(task: &str, values: &[String]) -> Option<(String, String)> {
    let first = task.lines().next()?.trim_end();
    let name = first
        .strip_prefix("- name: XCCDF Value ")?
        .strip_suffix("# promote to variable")?
        .trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let raw = task
        .lines()
        .skip(1)
        .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))?
        .trim();
    let exact = raw.strip_prefix("!!str").map_or(raw, str::trim_start);
    let value = match single_mark(exact).and_then(|i| values.get(i)) {
        Some(v) => yaml_quote(v),
        None => unmark(raw, values),
    };
    Some((name.to_string(), value))
}

/// The index of the mark when `text` is exactly one mark.
fn single_mark(text: &str) -> Option<usize> {
    text.strip_prefix(MARK_OPEN)?
        .strip_suffix(MARK_CLOSE)?
        .parse()
        .ok()
}

/// A YAML double-quoted scalar holding exactly `s`.
fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as one shell word in single quotes.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `s` on one line, for a comment: line breaks and other control characters become spaces, so
/// that text from the content cannot end a comment and become code.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: &str = r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b">
  <title>Bench</title>
  <version>2.0</version>
  <plain-text id="xccdf_t_plain-text_motd">hello</plain-text>
  <Profile id="xccdf_t_profile_p">
    <title>P</title>
    <select idref="xccdf_t_rule_a" selected="true"/>
    <select idref="xccdf_t_rule_b" selected="true"/>
    <select idref="xccdf_t_rule_c" selected="true"/>
    <refine-value idref="xccdf_t_value_len" selector="strict"/>
  </Profile>
  <Value id="xccdf_t_value_len" type="number"><value>8</value><value selector="strict">15</value></Value>
  <Value id="xccdf_t_value_tmout" type="number"><value>600</value><value selector="short">300</value></Value>
  <Rule id="xccdf_t_rule_a" selected="false">
    <title>Rule A</title>
    <fix system="urn:xccdf:fix:script:sh">len=<sub idref="xccdf_t_value_len" use="legacy"/>
tmout=<sub idref="xccdf_t_value_tmout" use="legacy"/>
motd='<sub idref="xccdf_t_plain-text_motd"/>'</fix>
    <fix system="urn:xccdf:fix:script:ansible">- name: XCCDF Value xccdf_len # promote to variable
  set_fact:
    xccdf_len: !!str <sub idref="xccdf_t_value_len" use="legacy"/>
  tags:
    - always

- name: Set the length
  lineinfile:
    path: /etc/len
    line: "len={{ xccdf_len }}"
</fix>
  </Rule>
  <Rule id="xccdf_t_rule_b" selected="false">
    <title>Rule B
with a line break</title>
    <fix system="urn:example:fix:magic">abracadabra</fix>
    <fix system="urn:xccdf:fix:script:puppet">include b</fix>
  </Rule>
  <Rule id="xccdf_t_rule_c" selected="false">
    <title>Rule C</title>
    <fix system="urn:xccdf:fix:script:sh">echo c</fix>
    <fix system="urn:example:fix:magic">abracadabra</fix>
  </Rule>
  <Rule id="xccdf_t_rule_d" selected="false">
    <title>Rule D</title>
    <fix system="urn:xccdf:fix:script:sh">echo d</fix>
  </Rule>
</Benchmark>"#;

    fn bench() -> Benchmark {
        let doc = roxmltree::Document::parse(BENCH).unwrap();
        ato_content::xccdf::parse_benchmark(doc.root_element(), BENCH, Path::new("t")).unwrap()
    }

    const HEADER: Header<'static> = Header {
        generated: "2026-01-01",
        generator: "ato test",
    };

    fn request<'a>(
        b: &'a Benchmark,
        policy: &'a Policy,
        fix_type: FixType,
        only: &'a HashSet<String>,
    ) -> FixRequest<'a> {
        FixRequest {
            benchmark: b,
            policy,
            profile: b.profile("xccdf_t_profile_p"),
            fix_type,
            only_rules: only,
            failures: None,
        }
    }

    #[test]
    fn values_the_profile_does_not_set_take_their_default() {
        let b = bench();
        let policy = crate::resolve(&b, b.profile("xccdf_t_profile_p")).unwrap();
        let only = HashSet::new();
        let req = request(&b, &policy, FixType::Bash, &only);
        let plan = plan(&req);
        let a = &plan.rules[0];
        assert_eq!(a.rule.base.id, "xccdf_t_rule_a");
        // len is refined to `strict`; tmout is not, so its default applies; motd is plain-text.
        assert_eq!(
            a.body.as_deref(),
            Some("len=15\ntmout=600\nmotd='hello'"),
            "{:?}",
            plan.warnings
        );
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn an_unknown_fix_system_is_listed_not_dropped() {
        let b = bench();
        let policy = crate::resolve(&b, b.profile("xccdf_t_profile_p")).unwrap();
        let only = HashSet::new();
        let req = request(&b, &policy, FixType::Bash, &only);
        let plan = plan(&req);
        let ids: Vec<&str> = plan.rules.iter().map(|r| r.rule.base.id.as_str()).collect();
        assert_eq!(ids, ["xccdf_t_rule_a", "xccdf_t_rule_b", "xccdf_t_rule_c"]);
        // Puppet is known and skipped; the magic system is not known.
        assert_eq!(plan.rules[1].unknown_systems, ["urn:example:fix:magic"]);
        assert!(plan.rules[1].fix.is_none());
        assert_eq!(plan.rules[2].unknown_systems, ["urn:example:fix:magic"]);

        let script = bash_script(&req, &plan, &HEADER);
        assert!(
            script.contains(
                "#   xccdf_t_rule_b  Rule B with a line break  (it has a fix for \
                 urn:example:fix:magic, which ato does not know)"
            ),
            "{script}"
        );
        assert!(script.contains(
            "# The rule also has a fix for urn:example:fix:magic, which ato does not know."
        ));
        let list = listing(&plan);
        assert!(list.starts_with("3 rules, 2 with a bash fix\n"), "{list}");
        assert!(list.contains(
            "no   xccdf_t_rule_b  Rule B with a line break  (fix for urn:example:fix:magic"
        ));
    }

    #[test]
    fn the_bash_script_isolates_rules_and_reports_failures() {
        let b = bench();
        let policy = crate::resolve(&b, b.profile("xccdf_t_profile_p")).unwrap();
        let only = HashSet::new();
        let req = request(&b, &policy, FixType::Bash, &only);
        let script = bash_script(&req, &plan(&req), &HEADER);
        assert!(script.starts_with("#!/usr/bin/env bash\n"));
        for line in [
            "# Benchmark:  xccdf_t_benchmark_b",
            "# Version:    2.0",
            "# Profile:    xccdf_t_profile_p",
            "# Generated:  2026-01-01 by ato test",
            "# Rules:      2 fixed here, 1 without a bash fix (listed at the end)",
            "ato_total=2",
            "# [2/2] xccdf_t_rule_c",
            "ato_begin 2 'xccdf_t_rule_c'\n(\necho c\n)\nato_end $? 'xccdf_t_rule_c'\n",
        ] {
            assert!(script.contains(line), "no {line:?} in\n{script}");
        }
        // The title's line break stays inside the comment.
        assert!(!script.contains("\nwith a line break"), "{script}");
    }

    #[test]
    fn ansible_promotes_values_to_play_vars() {
        let b = bench();
        let policy = crate::resolve(&b, b.profile("xccdf_t_profile_p")).unwrap();
        let only = HashSet::new();
        let req = request(&b, &policy, FixType::Ansible, &only);
        let plan = plan(&req);
        assert_eq!(
            plan.rules[0].variables,
            [("xccdf_len".to_string(), "\"15\"".to_string())]
        );
        let book = ansible_playbook(&req, &plan, &HEADER);
        assert!(book.starts_with("---\n"), "{book}");
        assert!(book.contains("- name: \"Remediation: P\"\n  hosts: all\n  vars:\n    xccdf_len: \"15\"\n  tasks:\n"), "{book}");
        assert!(
            book.contains("\n    - name: Set the length\n      lineinfile:\n"),
            "{book}"
        );
        assert!(!book.contains("promote to variable"), "{book}");
        assert!(
            book.contains("#   xccdf_t_rule_b  Rule B with a line break"),
            "{book}"
        );
    }

    #[test]
    fn named_rules_and_failed_rules_narrow_the_scope() {
        let b = bench();
        let policy = crate::resolve(&b, b.profile("xccdf_t_profile_p")).unwrap();
        // A named rule is fixed even when the profile does not select it.
        let only = HashSet::from(["xccdf_t_rule_d".to_string()]);
        let req = request(&b, &policy, FixType::Bash, &only);
        let ids: Vec<String> = plan(&req)
            .rules
            .iter()
            .map(|r| r.rule.base.id.clone())
            .collect();
        assert_eq!(ids, ["xccdf_t_rule_d"]);

        let results = r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">
  <TestResult id="xccdf_t_testresult_1">
    <profile idref="xccdf_t_profile_p"/>
    <rule-result idref="xccdf_t_rule_a"><result>pass</result></rule-result>
    <rule-result idref="xccdf_t_rule_c"><result>fail</result></rule-result>
    <rule-result idref="xccdf_t_rule_b"><result> fail </result></rule-result>
  </TestResult>
</Benchmark>"#;
        let failures = scan_failures(results, Path::new("r.xml")).unwrap();
        assert_eq!(failures.profile.as_deref(), Some("xccdf_t_profile_p"));
        assert_eq!(failures.test_result_id, "xccdf_t_testresult_1");
        let none = HashSet::new();
        let req = FixRequest {
            failures: Some(&failures),
            ..request(&b, &policy, FixType::Bash, &none)
        };
        let ids: Vec<String> = plan(&req)
            .rules
            .iter()
            .map(|r| r.rule.base.id.clone())
            .collect();
        assert_eq!(ids, ["xccdf_t_rule_b", "xccdf_t_rule_c"], "benchmark order");
    }

    #[test]
    fn results_without_a_test_result_are_an_error_naming_the_file() {
        let e = scan_failures("<a/>", Path::new("r.xml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`r.xml`") && e.contains("TestResult"), "{e}");
        let e = scan_failures("<a", Path::new("r.xml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not well-formed"), "{e}");
    }

    #[test]
    fn a_multi_check_rule_with_one_failed_definition_is_fixed_once() {
        let rr = |result: &str, def: &str| {
            format!(
                r#"<rule-result idref="xccdf_t_rule_m"><result>{result}</result><check system="s" multi-check="true"><check-content-ref href="o.xml" name="{def}"/></check></rule-result>"#
            )
        };
        let xml = format!(
            r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b"><TestResult id="t">{}{}{}<rule-result idref="xccdf_t_rule_p"><result>pass</result></rule-result></TestResult></Benchmark>"#,
            rr("pass", "oval:t:def:3"),
            rr("fail", "oval:t:def:2"),
            rr("fail", "oval:t:def:1"),
        );
        let f = scan_failures(&xml, Path::new("r.xml")).unwrap();
        assert_eq!(f.failed, HashSet::from(["xccdf_t_rule_m".to_string()]));
    }

    #[test]
    fn a_sub_naming_nothing_is_replaced_by_nothing_with_a_warning() {
        let xml = r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b">
  <Rule id="xccdf_t_rule_x"><fix system="urn:xccdf:fix:script:sh">v=<sub idref="nope"/>.</fix></Rule>
</Benchmark>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let b =
            ato_content::xccdf::parse_benchmark(doc.root_element(), xml, Path::new("t")).unwrap();
        let policy = crate::resolve(&b, None).unwrap();
        let only = HashSet::from(["xccdf_t_rule_x".to_string()]);
        let req = request(&b, &policy, FixType::Bash, &only);
        let plan = plan(&req);
        assert_eq!(plan.rules[0].body.as_deref(), Some("v=."));
        assert!(plan.warnings[0].contains("`nope`"), "{:?}", plan.warnings);
    }

    #[test]
    fn quoting_keeps_content_text_inert() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(one_line(" a\n\nb\r\tc "), "a b c");
        assert_eq!(yaml_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(
            unmark(
                "x\u{E000}1\u{E001}y\u{E000}9\u{E001}",
                &["a".into(), "b".into()]
            ),
            "xby\u{E000}9\u{E001}"
        );
    }

    #[test]
    fn tasks_split_at_top_level_items() {
        let t = "# c\n- name: a\n  x: 1\n- name: b\n  - nested\n";
        assert_eq!(
            tasks(t),
            ["# c\n", "- name: a\n  x: 1\n", "- name: b\n  - nested\n"]
        );
    }
}
