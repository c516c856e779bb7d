//! Reports of real scans: the built-in baseline over a small tree the test builds, and (ignored
//! by default) the Ubuntu 20.04 STIG over the reference target tree.

use std::collections::HashSet;
use std::path::Path;

use ato_content::{Content, LoadOptions};
use ato_report::{html_report, json_results, ReportInput};
use ato_target::Target;
use ato_xccdf::results::{default_score, ScanTimes, TargetFacts};
use ato_xccdf::{Policy, ScanRequest, ScanResult};

const BASELINE: &str = include_str!("../../ato/baseline/ato-baseline-ds.xml");
const ROOT_LOGIN_RULE: &str = "xccdf_org.ato_rule_sshd_disable_root_login";

struct Scanned {
    content: Content,
    policy: Policy,
    scan: ScanResult,
    facts: TargetFacts,
    times: ScanTimes,
    score: f64,
}

impl Scanned {
    fn input(&self) -> ReportInput<'_> {
        ReportInput {
            content: &self.content,
            policy: &self.policy,
            scan: &self.scan,
            facts: &self.facts,
            times: &self.times,
            score: self.score,
        }
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn scan(source: &str, name: &str, root: &Path, profile: Option<&str>) -> Scanned {
    let content = Content::from_str(source, Path::new(name), &LoadOptions::default()).unwrap();
    let bench = &content.benchmark;
    let profile = profile.map(|p| ato_xccdf::find_profile(bench, p).unwrap());
    let policy = ato_xccdf::resolve(bench, profile).unwrap();
    let target = Target::offline(root).unwrap();
    let scan = ato_xccdf::scan(&ScanRequest {
        content: &content,
        policy: &policy,
        target: &target,
        only_rules: HashSet::new(),
        skip_rules: HashSet::new(),
        progress: None,
    });
    let score = default_score(&content.benchmark, &scan);
    Scanned {
        facts: TargetFacts {
            host_name: "testhost".into(),
            root: Some(root.display().to_string()),
            user: "tester".into(),
            privileged: false,
        },
        times: ScanTimes {
            start: "2026-01-02T03:04:05+00:00".into(),
            end: "2026-01-02T03:04:09+00:00".into(),
        },
        content,
        policy,
        scan,
        score,
    }
}

/// The baseline with a hostile description on the root-login rule.
fn hostile_baseline() -> String {
    let x = r#"xmlns="http://www.w3.org/1999/xhtml""#;
    let hostile = format!(
        "<description><script {x}>alert(1)</script><p {x} onclick=\"alert(2)\">Click</p>\
         <a {x} href=\"javascript:alert(3)\">link</a><img {x} src=\"https://example.org/x.png\"/>\
         <style {x}>body{{background:url(https://example.org/y)}}</style>\
         <iframe {x} src=\"https://example.org/\"></iframe>Set PermitRootLogin to no"
    );
    let s = BASELINE.replacen("<description>Set PermitRootLogin to no", &hostile, 1);
    assert_ne!(s, BASELINE, "the baseline's root-login description moved");
    s
}

fn small_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "/etc/ssh/sshd_config",
        "PermitRootLogin yes\nPasswordAuthentication no\nPermitEmptyPasswords no\n",
    );
    write(root, "/usr/sbin/sshd", "");
    write(
        root,
        "/etc/login.defs",
        "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\n",
    );
    write(
        root,
        "/etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n",
    );
    write(root, "/etc/hostname", "testhost\n");
    dir
}

fn baseline_scan(tree: &Path) -> Scanned {
    scan(&hostile_baseline(), "baseline.xml", tree, Some("baseline"))
}

/// The value of every `attr="..."` on elements named `tag`.
fn attr_values<'a>(html: &'a str, tag: &str, attr: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let open = format!("<{tag}");
    for (i, _) in html.match_indices(&open) {
        let end = html[i..].find('>').map_or(html.len(), |e| i + e);
        let element = &html[i..end];
        let key = format!("{attr}=\"");
        if let Some(p) = element.find(&key) {
            let v = &element[p + key.len()..];
            out.push(&v[..v.find('"').unwrap_or(v.len())]);
        }
    }
    out
}

#[test]
fn html_report_has_every_section_and_the_failing_items() {
    let tree = small_tree();
    let s = baseline_scan(tree.path());
    let root_login = s
        .scan
        .rules
        .iter()
        .find(|r| r.rule_id == ROOT_LOGIN_RULE)
        .unwrap();
    assert_eq!(root_login.result, ato_xccdf::XccdfResult::Fail);

    let html = html_report(&s.input());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    // Header.
    assert!(html.contains(&s.content.benchmark.version));
    assert!(html.contains("xccdf_org.ato_profile_baseline"));
    assert!(html.contains("testhost"));
    assert!(html.contains("2026-01-02T03:04:05+00:00"));
    assert!(html.contains(&format!("{:.2}", s.score)));
    // Counts, table and its controls.
    assert!(html.contains("id=\"summary\""));
    assert!(html.contains("class=\"matrix\""));
    assert!(html.contains("id=\"rule-table\""));
    assert!(html.contains("id=\"q\" type=\"search\""));
    assert!(html.contains("data-r=\"fail\""));
    // The failing rule's details: references by framework and the collected line.
    assert!(html.contains("id=\"findings\""));
    assert!(html.contains("Do not allow root to log in over SSH"));
    assert!(html.contains("RHEL-08-010550"));
    assert!(html.contains("CCI-000770"));
    assert!(html.contains("IA-2(5)"));
    assert!(html.contains("SRG-OS-000109-GPOS-00056"));
    assert!(html.contains("Evidence"));
    assert!(html.contains("class=\"items\""));
    assert!(
        html.contains("PermitRootLogin yes"),
        "the collected sshd_config line is shown"
    );
    // A printable page.
    assert!(html.contains("@media print"));
}

#[test]
fn html_report_loads_nothing_and_neutralises_hostile_markup() {
    let tree = small_tree();
    let s = baseline_scan(tree.path());
    let html = html_report(&s.input());
    let lower = html.to_ascii_lowercase();

    for (tag, attr) in [
        ("link", "href"),
        ("script", "src"),
        ("img", "src"),
        ("iframe", "src"),
        ("source", "src"),
        ("object", "data"),
        ("embed", "src"),
    ] {
        for v in attr_values(&lower, tag, attr) {
            assert!(
                !v.starts_with("http://") && !v.starts_with("https://") && !v.starts_with("//"),
                "<{tag} {attr}=\"{v}\">"
            );
        }
    }
    for needle in [
        "<script src",
        "<link",
        "@import",
        "url(",
        "<img",
        "<iframe",
        "<style>body",
        "alert(1)",
        "onclick",
        "javascript:",
        "onerror",
    ] {
        assert!(!lower.contains(needle), "`{needle}` is in the report");
    }
    // The page has exactly its own style and script.
    assert_eq!(lower.matches("<script").count(), 1);
    assert_eq!(lower.matches("<style").count(), 1);
    // Text of the hostile description that is harmless stays.
    assert!(html.contains("<p>Click</p>"));
    assert!(html.contains("<a>link</a>"));
}

#[test]
fn json_results_have_the_documented_keys() {
    let tree = small_tree();
    let s = baseline_scan(tree.path());
    let j = json_results(&s.input());

    for key in [
        "schema_version",
        "tool",
        "benchmark",
        "profile",
        "target",
        "start_time",
        "end_time",
        "score",
        "counts",
        "counts_by_severity",
        "rules",
    ] {
        assert!(j.get(key).is_some(), "top-level `{key}`");
    }
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["tool"]["name"], "ato");
    assert!(j["tool"]["version"].is_string());
    for key in ["id", "version", "title"] {
        assert!(j["benchmark"][key].is_string(), "benchmark.{key}");
    }
    assert_eq!(j["profile"]["id"], "xccdf_org.ato_profile_baseline");
    assert_eq!(j["target"]["host_name"], "testhost");
    assert_eq!(j["start_time"], "2026-01-02T03:04:05+00:00");
    assert!(j["score"]["value"].is_number());
    for r in ato_xccdf::XccdfResult::ALL {
        assert!(j["counts"][r.as_str()].is_u64(), "counts.{}", r.as_str());
    }
    assert!(j["counts_by_severity"]["high"]["fail"].is_u64());

    let rules = j["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "rules are sorted by id");
    for r in rules {
        for key in [
            "id",
            "title",
            "severity",
            "result",
            "role",
            "weight",
            "idents",
            "references",
            "messages",
            "check",
            "failing_tests",
        ] {
            assert!(r.get(key).is_some(), "rule `{}` has `{key}`", r["id"]);
        }
        for key in ["stig", "srg", "cci", "nist_800_53", "other"] {
            assert!(r["references"][key].is_array(), "references.{key}");
        }
        let finding = matches!(r["result"].as_str(), Some("fail" | "error" | "unknown"));
        if !finding {
            assert_eq!(r["failing_tests"].as_array().unwrap().len(), 0);
        }
    }

    let rule = rules.iter().find(|r| r["id"] == ROOT_LOGIN_RULE).unwrap();
    assert_eq!(rule["result"], "fail");
    assert_eq!(rule["severity"], "medium");
    assert_eq!(rule["references"]["stig"][0], "RHEL-08-010550");
    assert!(rule["references"]["cci"]
        .as_array()
        .unwrap()
        .contains(&"CCI-000770".into()));
    assert_eq!(
        rule["check"]["system"],
        "http://oval.mitre.org/XMLSchema/oval-definitions-5"
    );
    assert_eq!(rule["check"]["definition"], "oval:org.ato:def:1");
    assert!(rule["check"]["href"].is_string());
    let tests = rule["failing_tests"].as_array().unwrap();
    assert!(!tests.is_empty());
    for key in [
        "id",
        "comment",
        "kind",
        "result",
        "negated",
        "check",
        "check_existence",
        "message",
        "object",
        "states",
        "items_total",
        "items",
    ] {
        assert!(tests[0].get(key).is_some(), "failing test has `{key}`");
    }
    let values: Vec<&str> = tests
        .iter()
        .flat_map(|t| t["items"].as_array().unwrap())
        .flat_map(|i| i["fields"].as_array().unwrap())
        .filter_map(|f| f["value"].as_str())
        .collect();
    assert!(
        values.iter().any(|v| v.contains("PermitRootLogin yes")),
        "{values:?}"
    );

    // Same scan, same bytes.
    assert_eq!(
        ato_report::json_results_string(&s.input()),
        ato_report::json_results_string(&baseline_scan(tree.path()).input()).replace(
            &tree.path().display().to_string(),
            &s.facts.root.clone().unwrap()
        )
    );
}

/// The Ubuntu 20.04 STIG over the reference target tree; writes /tmp/ato-report.html and
/// /tmp/ato-results.json. Run with `cargo test --release -p ato-report -- --ignored`.
#[test]
#[ignore = "needs /var/tmp/ato-target and a release build"]
fn stig_report_of_the_reference_tree() {
    let root = Path::new("/var/tmp/ato-target");
    let ds = root.join("root/content/ssg-ubuntu2004-ds.xml");
    let source = std::fs::read_to_string(&ds).unwrap();
    let started = std::time::Instant::now();
    let s = scan(
        &source,
        &ds.display().to_string(),
        root,
        Some("xccdf_org.ssgproject.content_profile_stig"),
    );
    let scanned = started.elapsed();
    let html = html_report(&s.input());
    let json = ato_report::json_results_string(&s.input());
    std::fs::write("/tmp/ato-report.html", &html).unwrap();
    std::fs::write("/tmp/ato-results.json", &json).unwrap();
    eprintln!(
        "scan {scanned:?}, report {} bytes, json {} bytes, {} failing",
        html.len(),
        json.len(),
        s.scan.count(ato_xccdf::XccdfResult::Fail)
    );
    assert!(html.len() < 2_700_000);
}

/// The baseline with the root-login rule's check made `multi-check` over the whole OVAL
/// document: one entry per definition in the JSON, one row per definition in the page.
#[test]
fn a_multi_check_rule_has_an_entry_per_definition() {
    let source = BASELINE.replacen(
        "<check system=\"http://oval.mitre.org/XMLSchema/oval-definitions-5\">\n            \
         <check-content-ref href=\"ato-baseline-oval.xml\" name=\"oval:org.ato:def:1\"/>",
        "<check system=\"http://oval.mitre.org/XMLSchema/oval-definitions-5\" multi-check=\"true\">\n            \
         <check-content-ref href=\"ato-baseline-oval.xml\"/>",
        1,
    );
    assert_ne!(
        source, BASELINE,
        "the root-login rule's check was not found"
    );
    let tree = small_tree();
    let s = scan(&source, "baseline.xml", tree.path(), Some("baseline"));
    let definitions = s.content.checks.values().find_map(|c| match c {
        ato_content::CheckComponent::Oval(defs) => Some(defs.definitions.len()),
        _ => None,
    });
    let definitions = definitions.expect("the baseline has an OVAL document");

    let json = json_results(&s.input());
    let entries: Vec<&serde_json::Value> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == ROOT_LOGIN_RULE)
        .collect();
    assert_eq!(entries.len(), definitions);
    assert!(entries.iter().all(|e| e["check"]["multi_check"] == true));
    let mut names: Vec<&str> = entries
        .iter()
        .map(|e| e["check"]["definition"].as_str().unwrap())
        .collect();
    names.dedup();
    assert_eq!(names.len(), definitions, "{names:?}");
    let counted: u64 = json["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, s.scan.rules.len());

    let html = html_report(&s.input());
    let rows = html.matches("<tr data-r=").count();
    let listed = json["rules"].as_array().unwrap().len();
    assert_eq!(rows, listed);
    assert!(html.contains("(oval:org.ato:def:1)"));
}
