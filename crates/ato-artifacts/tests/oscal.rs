//! OSCAL Assessment Results and POA&M of a scan against NIST's OSCAL 1.1.3 JSON schemas
//! (`shared/data/oscal/schema-1.1.3/`, offline), with counts that match the scan's results.

use std::path::PathBuf;

use ato_artifacts::controls::{control_report, NO_CONTROL};
use ato_artifacts::oscal;
use ato_artifacts::poam::Policy;
use ato_artifacts::results::ScanResults;
use ato_xccdf::XccdfResult;
use serde_json::Value;

fn mini_results() -> ScanResults {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini-results.xml");
    ScanResults::load(&path).unwrap()
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/oscal/schema-1.1.3")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

fn count(results: &ScanResults, f: impl Fn(XccdfResult) -> bool) -> usize {
    results
        .test_result
        .rule_results
        .iter()
        .filter(|r| f(r.result))
        .count()
}

fn array_len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[test]
fn assessment_results_validate_and_count_the_scan() {
    let results = mini_results();
    let doc = oscal::assessment_results(&results, &Policy::default());
    assert_valid(&schema("oscal_assessment-results_schema.json"), &doc);
    let ar = &doc["assessment-results"];
    assert_eq!(ar["metadata"]["oscal-version"], oscal::OSCAL_VERSION);
    let result = &ar["results"][0];
    assert_eq!(
        array_len(&result["observations"]),
        count(&results, |r| r != XccdfResult::NotSelected)
    );
    assert_eq!(
        array_len(&result["risks"]),
        count(&results, |r| r == XccdfResult::Fail)
    );
    let controls = control_report(&results)
        .controls
        .iter()
        .filter(|c| c.control != NO_CONTROL)
        .count();
    assert_eq!(array_len(&result["findings"]), controls);
    assert!(controls > 0);
    let text = doc.to_string();
    assert!(text.contains("\"tool-name\""));
}

#[test]
fn poam_validates_and_links_its_items() {
    let results = mini_results();
    let doc = oscal::poam(&results, &Policy::default()).unwrap();
    assert_valid(&schema("oscal_poam_schema.json"), &doc);
    let p = &doc["plan-of-action-and-milestones"];
    let failed = count(&results, |r| r == XccdfResult::Fail);
    assert_eq!(array_len(&p["poam-items"]), failed);
    assert_eq!(array_len(&p["risks"]), failed);
    let risk_ids: Vec<&Value> = p["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["uuid"])
        .collect();
    for item in p["poam-items"].as_array().unwrap() {
        assert!(risk_ids.contains(&&item["related-risks"][0]["risk-uuid"]));
        assert_eq!(item["uuid"].as_str().unwrap().as_bytes()[14], b'4');
    }
}

/// `trestle validate` (compliance-trestle, `ATO_TRESTLE` names the binary) accepts both
/// documents. Skipped when `ATO_TRESTLE` is unset, except in CI.
#[test]
fn trestle_validates_both_documents() {
    let Some(trestle) = std::env::var_os("ATO_TRESTLE").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "compliance-trestle is needed in CI: set ATO_TRESTLE to the trestle binary"
        );
        eprintln!("skipped: set ATO_TRESTLE to the trestle binary");
        return;
    };
    let results = mini_results();
    let docs = [
        (
            "assessment-results/scan/assessment-results.json",
            oscal::assessment_results(&results, &Policy::default()),
        ),
        (
            "plan-of-action-and-milestones/scan/plan-of-action-and-milestones.json",
            oscal::poam(&results, &Policy::default()).unwrap(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(PathBuf, String)> = docs
        .iter()
        .map(|(name, doc)| {
            (
                PathBuf::from(name),
                serde_json::to_string_pretty(doc).unwrap(),
            )
        })
        .collect();
    trestle_validate(&trestle, dir.path(), &files);
}

/// Runs `trestle validate -f` on each file inside a fresh trestle workspace in `dir`. Trestle
/// reads a model only at its place in the workspace: `<model dir>/<name>/<model>.json`.
pub fn trestle_validate(
    trestle: &std::path::Path,
    dir: &std::path::Path,
    files: &[(PathBuf, String)],
) {
    let init = std::process::Command::new(trestle)
        .arg("init")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "trestle init: {}{}",
        String::from_utf8_lossy(&init.stdout),
        String::from_utf8_lossy(&init.stderr)
    );
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(trestle)
            .arg("validate")
            .arg("-f")
            .arg(&path)
            .current_dir(dir)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "trestle validate {}: {said}",
            name.display()
        );
        assert!(
            said.contains("VALID"),
            "trestle validate {}: {said}",
            name.display()
        );
    }
}
