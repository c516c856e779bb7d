//! Results with several rule-results for one rule, as a `multi-check` rule gives one per OVAL
//! definition: every artifact counts the rule once, failed when any of its results failed.

use std::path::Path;

use ato_artifacts::build::{checklist, status_of, AssetInput, DETAILS_END};
use ato_artifacts::checklist::status_counts;
use ato_artifacts::controls::control_report;
use ato_artifacts::poam::{poam, PoamOptions};
use ato_artifacts::results::ScanResults;
use ato_artifacts::Status;
use ato_xccdf::XccdfResult;

const STIG_HREF: &str = "https://public.cyber.mil/stigs/downloads/?_dl_facet_stigs=unix-linux";

fn rule(name: &str, stig: &str, cci: &str) -> String {
    format!(
        r#"<Rule id="xccdf_org.test_rule_{name}" severity="medium">
    <title>Rule {name}</title>
    <reference href="{STIG_HREF}">{stig}</reference>
    <reference href="https://public.cyber.mil/stigs/cci/">{cci}</reference>
  </Rule>
"#
    )
}

fn rule_result(name: &str, result: &str, definition: &str) -> String {
    format!(
        r#"<rule-result idref="xccdf_org.test_rule_{name}" role="full" time="2026-01-01T00:00:00+00:00" severity="medium" weight="1.000000">
      <result>{result}</result>
      <check system="http://oval.mitre.org/XMLSchema/oval-definitions-5" multi-check="true">
        <check-content-ref name="{definition}" href="test-oval.xml"/>
      </check>
    </rule-result>
"#
    )
}

/// Rule `multi` with three results, one failed; rule `single` with one result, passed.
fn results() -> ScanResults {
    let text = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.test_benchmark_t" resolved="1">
  <status>draft</status>
  <title>Test benchmark</title>
  <version>1.0</version>
  {}{}
  <TestResult id="xccdf_org.open-scap_testresult_t" start-time="2026-01-01T00:00:00+00:00" end-time="2026-01-01T00:00:01+00:00" test-system="cpe:/a:redhat:openscap:1.3.7">
    <benchmark href="ds.xml" id="xccdf_org.test_benchmark_t"/>
    <target>web01</target>
    {}{}{}{}
  </TestResult>
</Benchmark>
"#,
        rule("multi", "TEST-00-000001", "CCI-000366"),
        rule("single", "TEST-00-000002", "CCI-000172"),
        rule_result("multi", "fail", "oval:t:def:2"),
        rule_result("multi", "pass", "oval:t:def:10"),
        rule_result("multi", "pass", "oval:t:def:1"),
        rule_result("single", "pass", "oval:t:def:1"),
    );
    ScanResults::parse(&text, Path::new("results.xml")).unwrap()
}

#[test]
fn several_rule_results_of_one_rule_merge_into_a_failed_outcome() {
    let r = results();
    let outcomes = &r.test_result.rule_results;
    assert_eq!(outcomes.len(), 2);
    let multi = &outcomes[0];
    assert_eq!(multi.rule_id, "xccdf_org.test_rule_multi");
    assert_eq!(multi.result, XccdfResult::Fail);
    let instances: Vec<(&str, XccdfResult)> = multi
        .instances
        .iter()
        .map(|i| (i.check.as_ref().unwrap().name.as_deref().unwrap(), i.result))
        .collect();
    assert_eq!(
        instances,
        [
            ("oval:t:def:2", XccdfResult::Fail),
            ("oval:t:def:10", XccdfResult::Pass),
            ("oval:t:def:1", XccdfResult::Pass)
        ]
    );
    assert!(outcomes[1].instances.is_empty());
    assert_eq!(status_of(multi.result), Status::Open);
}

#[test]
fn checklist_poam_and_controls_count_a_multi_check_rule_once() {
    let r = results();

    let ckl = checklist(&r, None, &AssetInput::default());
    let counts = status_counts(&ckl);
    let count = |s: Status| counts.iter().find(|(x, _)| *x == s).map_or(0, |(_, n)| *n);
    assert_eq!(count(Status::Open), 1, "{counts:?}");
    assert_eq!(count(Status::NotAFinding), 1, "{counts:?}");
    let details: Vec<String> = ckl
        .stigs
        .iter()
        .flat_map(|s| &s.vulns)
        .map(|v| v.finding_details.clone())
        .filter(|d| d.contains("xccdf_org.test_rule_multi"))
        .collect();
    assert_eq!(details.len(), 1);
    let d = &details[0];
    assert!(
        d.contains("Rule xccdf_org.test_rule_multi (Rule multi): fail"),
        "{d}"
    );
    for line in [
        "OVAL definition oval:t:def:2 in test-oval.xml: fail",
        "OVAL definition oval:t:def:10 in test-oval.xml: pass",
        "OVAL definition oval:t:def:1 in test-oval.xml: pass",
    ] {
        assert!(d.contains(line), "{line} missing from:\n{d}");
    }
    assert!(d.trim_end().ends_with(DETAILS_END), "{d}");

    let p = poam(&r, &PoamOptions::default()).unwrap();
    let rules: Vec<&str> = p
        .items
        .iter()
        .flat_map(|i| i.rules.iter().map(String::as_str))
        .collect();
    assert_eq!(rules, ["xccdf_org.test_rule_multi"]);

    let controls = control_report(&r);
    let fails: usize = controls.controls.iter().map(|c| c.fail).sum();
    let passes: usize = controls.controls.iter().map(|c| c.pass).sum();
    assert_eq!((fails, passes), (1, 1));
}
