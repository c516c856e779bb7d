//! Helpers for the CLI tests: small data streams written by the tests, trees to scan, and
//! running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One rule of a test data stream: its short name and the OVAL definition, tests, objects and
/// states that check it (the definition's id must be `oval:t:def:NAME`).
pub struct TestRule<'a> {
    pub name: &'a str,
    pub severity: &'a str,
    pub definition: &'a str,
    pub tests: &'a str,
    pub objects: &'a str,
    pub states: &'a str,
}

/// A SCAP 1.3 source data stream with one benchmark, one profile `test` selecting every rule,
/// and one OVAL component.
pub fn data_stream(rules: &[TestRule<'_>]) -> String {
    let mut xccdf_rules = String::new();
    let mut defs = String::new();
    let mut tests = String::new();
    let mut objects = String::new();
    let mut states = String::new();
    let mut selects = String::new();
    for r in rules {
        selects.push_str(&format!(
            "<xccdf:select idref=\"xccdf_org.test_rule_{}\" selected=\"true\"/>\n",
            r.name
        ));
        xccdf_rules.push_str(&format!(
            r#"<xccdf:Rule id="xccdf_org.test_rule_{n}" selected="false" severity="{s}">
  <xccdf:title>Rule {n}</xccdf:title>
  <xccdf:check system="http://oval.mitre.org/XMLSchema/oval-definitions-5">
    <xccdf:check-content-ref href="test-oval.xml" name="oval:t:def:{n}"/>
  </xccdf:check>
</xccdf:Rule>
"#,
            n = r.name,
            s = r.severity
        ));
        defs.push_str(r.definition);
        tests.push_str(r.tests);
        objects.push_str(r.objects);
        states.push_str(r.states);
    }
    wrap_data_stream(&selects, &xccdf_rules, &defs, &tests, &objects, &states)
}

/// The data stream around a benchmark's profile selections and rules and an OVAL document's
/// definitions, tests, objects and states (each element on a line of its own: OpenSCAP skips
/// an element that follows its sibling's end tag with nothing between them).
pub fn wrap_data_stream(
    selects: &str,
    xccdf_rules: &str,
    defs: &str,
    tests: &str,
    objects: &str,
    states: &str,
) -> String {
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
{selects}      </xccdf:Profile>
{xccdf_rules}    </xccdf:Benchmark>
  </ds:component>
  <ds:component id="scap_org.test_comp_oval" timestamp="2026-01-01T00:00:00">
    <oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:ind="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent" xmlns:unix="http://oval.mitre.org/XMLSchema/oval-definitions-5#unix" xmlns:linux="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux">
      <generator><oval:schema_version>5.11.2</oval:schema_version><oval:timestamp>2026-01-01T00:00:00</oval:timestamp></generator>
      <definitions>
{defs}      </definitions>
      <tests>
{tests}      </tests>
      <objects>
{objects}      </objects>
{states_section}    </oval_definitions>
  </ds:component>
</ds:data-stream-collection>
"##,
        states_section = if states.is_empty() {
            String::new()
        } else {
            format!("      <states>\n{states}      </states>\n")
        }
    )
}

/// A definition with one criterion on test `oval:t:tst:NAME`.
pub fn one_test_definition(name: &str) -> String {
    format!(
        r#"<definition class="compliance" id="oval:t:def:{name}" version="1">
  <metadata><title>{name}</title><description>{name}</description></metadata>
  <criteria><criterion test_ref="oval:t:tst:{name}"/></criteria>
</definition>"#
    )
}

/// A rule whose check is: the file at `path` (in the target) has a line matching `pattern`.
pub fn file_line_rule(name: &str, path: &str, pattern: &str) -> (String, String, String) {
    let def = one_test_definition(name);
    let test = format!(
        r#"<ind:textfilecontent54_test check="all" check_existence="at_least_one_exists" comment="c" id="oval:t:tst:{name}" version="1"><ind:object object_ref="oval:t:obj:{name}"/></ind:textfilecontent54_test>"#
    );
    let object = format!(
        r#"<ind:textfilecontent54_object id="oval:t:obj:{name}" version="1"><ind:filepath>{path}</ind:filepath><ind:pattern operation="pattern match">{pattern}</ind:pattern><ind:instance datatype="int" operation="greater than or equal">1</ind:instance></ind:textfilecontent54_object>"#
    );
    (def, test, object)
}

/// The MITRE SAF CLI: `ATO_SAF`, else `saf` on the PATH. `None` (the caller skips) only
/// outside CI: CI installs it.
pub fn saf_cli() -> Option<PathBuf> {
    let found = std::env::var_os("ATO_SAF").map(PathBuf::from).or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("saf"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the SAF CLI is needed in CI: set ATO_SAF or put `saf` on the PATH"
        );
        eprintln!("skipped: no SAF CLI (set ATO_SAF or put `saf` on the PATH)");
    }
    found
}

/// Runs `ato scan --profile test --root ROOT --results RESULTS DS` (profile `test` of
/// [`data_stream`]).
pub fn scan_test_profile(root: &Path, ds: &Path, results: &Path) -> Output {
    run(ato()
        .args(["scan", "--profile", "test", "--root"])
        .arg(root)
        .arg("--results")
        .arg(results)
        .arg(ds))
}

/// Runs `ato <command...> --results RESULTS --output OUTPUT`, which must succeed, and returns
/// its output.
pub fn write_artifact(command: &[&str], results: &Path, output: &Path) -> Output {
    let out = run(ato()
        .args(command)
        .arg("--results")
        .arg(results)
        .arg("--output")
        .arg(output));
    assert!(
        out.status.success(),
        "ato {}: {}",
        command.join(" "),
        stderr(&out)
    );
    out
}

pub fn ato() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ato"))
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the ato binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to `dir/name` and returns its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Each rule-result of an XCCDF results file: short rule name, result, the check's
/// content-reference name and its multi-check attribute.
pub fn rule_results_with_names(path: &Path) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let ns = "http://checklists.nist.gov/xccdf/1.2";
    doc.descendants()
        .filter(|n| n.has_tag_name((ns, "rule-result")))
        .map(|rr| {
            let id = rr.attribute("idref").unwrap_or_default();
            let short = id.rsplit_once("_rule_").map_or(id, |(_, s)| s);
            let child = |name: &str| rr.children().find(|c| c.has_tag_name((ns, name)));
            let check = child("check");
            let reference = check.and_then(|c| {
                c.children()
                    .find(|r| r.has_tag_name((ns, "check-content-ref")))
            });
            (
                short.to_string(),
                child("result")
                    .and_then(|r| r.text())
                    .unwrap_or_default()
                    .to_string(),
                reference
                    .and_then(|r| r.attribute("name"))
                    .unwrap_or("-")
                    .to_string(),
                check
                    .and_then(|c| c.attribute("multi-check"))
                    .unwrap_or("-")
                    .to_string(),
            )
        })
        .collect()
}

/// The result of each rule in an XCCDF results file, by short rule name.
pub fn results_by_rule(path: &Path) -> Vec<(String, String)> {
    rule_results_with_names(path)
        .into_iter()
        .map(|(rule, result, _, _)| (rule, result))
        .collect()
}

/// The messages of a rule's result.
pub fn messages_of(path: &Path, rule: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let ns = "http://checklists.nist.gov/xccdf/1.2";
    doc.descendants()
        .filter(|n| n.has_tag_name((ns, "rule-result")))
        .filter(|n| {
            n.attribute("idref")
                .is_some_and(|i| i.ends_with(&format!("_rule_{rule}")))
        })
        .flat_map(|rr| {
            rr.children()
                .filter(|c| c.has_tag_name((ns, "message")))
                .map(|c| c.text().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}
