//! Checklists against the real files in `shared/data/ckl/`: every CKL written validates
//! against the STIG Viewer 2 schema, every CKLB has the key set and value types of the STIG
//! Viewer 3 samples, the samples survive a read and write unchanged, and a merge keeps every
//! field a reviewer wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

use ato_artifacts::build::{self, AssetInput};
use ato_artifacts::checklist::status_counts;
use ato_artifacts::results::ScanResults;
use ato_artifacts::stig::DisaStig;
use ato_artifacts::{ckl, cklb, controls, merge, read_checklist, Checklist, Status};
use serde_json::Value;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn sample(name: &str) -> PathBuf {
    shared().join("data/ckl").join(name)
}

fn mini_results() -> ScanResults {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini-results.xml");
    ScanResults::load(&path).unwrap()
}

fn mini_stig() -> DisaStig {
    DisaStig::load(&shared().join("data/stig/rhel-7-v3r8-mini-sample-xxcdf.xml")).unwrap()
}

const CKL_SAMPLES: [&str; 5] = [
    "small_ckl_overrides.ckl",
    "Asset_a-VPN_TRUNCATED-V2R5.ckl",
    "Asset_a-multi-stig.ckl",
    "CA1294WK16078_Chrome_V2R8_20231211-125631.ckl",
    "all-possible-results.ckl",
];

const CKLB_SAMPLES: [&str; 4] = [
    "CA1294WK16078_Chrome_V2R8_20231211-125633Trimmed.cklb",
    "Asset_a-VPN_TRUNCATED-V2R5.cklb",
    "Asset_a-multi-stig.cklb",
    "all-possible-results.cklb",
];

/// Whether a tool the test needs may be missing: only outside CI.
fn tool_missing(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is needed in CI and is missing"
        );
        eprintln!("skipped: `{tool}` is not installed");
    }
    !found
}

/// Validates CKL text against the checklist schema with xmllint.
fn assert_valid_ckl(text: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.ckl");
    std::fs::write(&file, text).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(sample("U_Checklist_Schema_V2.xsd"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: the CKL does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every CKL this crate writes, with a name.
fn written_ckls() -> Vec<(String, String)> {
    let results = mini_results();
    let stig = mini_stig();
    let asset = AssetInput {
        marking: Some("CUI".into()),
        role: Some("Member Server".into()),
        ..AssetInput::default()
    };
    let plain = build::checklist(&results, None, &asset);
    let disa = build::checklist(&results, Some(&stig), &asset);
    let mut out = vec![
        ("from the scan".to_string(), ckl::write(&plain)),
        ("with the DISA STIG".to_string(), ckl::write(&disa)),
        (
            "merged".to_string(),
            ckl::write(&merge::merge(&reviewed(&disa), &disa)),
        ),
    ];
    for name in CKL_SAMPLES.iter().chain(CKLB_SAMPLES.iter()) {
        let (c, _) = read_checklist(&sample(name)).unwrap();
        out.push((format!("{name} as CKL"), ckl::write(&c)));
    }
    out
}

#[test]
fn every_ckl_written_validates_against_the_schema() {
    if tool_missing("xmllint") {
        return;
    }
    for (what, text) in written_ckls() {
        assert_valid_ckl(&text, &what);
    }
}

/// The leaves of an XML document: element path and text, in document order.
fn leaves(text: &str) -> Vec<(String, String)> {
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).unwrap();
    let mut out = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        if n.children().any(|c| c.is_element()) {
            continue;
        }
        let path: Vec<&str> = n
            .ancestors()
            .filter(|a| a.is_element())
            .map(|a| a.tag_name().name())
            .collect();
        let path = path.into_iter().rev().collect::<Vec<_>>().join("/");
        let text: String = n.children().filter_map(|c| c.text()).collect();
        out.push((path, text));
    }
    out
}

#[test]
fn sample_ckl_files_read_and_written_back_lose_no_field() {
    for name in CKL_SAMPLES {
        let text = std::fs::read_to_string(sample(name)).unwrap();
        let c = ckl::read(&text, Path::new(name)).unwrap();
        let written = ckl::write(&c);
        assert_eq!(ckl::read(&written, Path::new(name)).unwrap(), c, "{name}");
        if name == "all-possible-results.ckl" {
            // Not well-formed (stray `</VULN>`): compared through the model above, and every
            // STIG_DATA of the file is there.
            let count = text.matches("<STIG_DATA>").count();
            let read: usize = c
                .stigs
                .iter()
                .flat_map(|s| &s.vulns)
                .map(|v| v.data.len())
                .sum();
            assert_eq!(read, count);
            continue;
        }
        assert_eq!(leaves(&written), leaves(&text), "{name}");
        let comments = |t: &str| t.matches("<!--").count();
        assert_eq!(comments(&written), comments(&text), "{name}: comments");
    }
}

#[test]
fn sample_cklb_files_read_and_written_back_lose_no_field() {
    for name in CKLB_SAMPLES {
        let text = std::fs::read_to_string(sample(name)).unwrap();
        let c = cklb::read(&text, Path::new(name)).unwrap();
        let orig: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
        assert_eq!(cklb::to_value(&c), orig, "{name}");
    }
}

#[test]
fn ckl_and_cklb_twins_read_the_same() {
    let (a, _) = read_checklist(&sample("Asset_a-VPN_TRUNCATED-V2R5.ckl")).unwrap();
    let (b, _) = read_checklist(&sample("Asset_a-VPN_TRUNCATED-V2R5.cklb")).unwrap();
    let key = |c: &Checklist| -> Vec<(String, Status)> {
        c.stigs
            .iter()
            .flat_map(|s| &s.vulns)
            .map(|v| (v.vuln_num().to_string(), v.status))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    assert_eq!(a.asset.host_name, b.asset.host_name);
    let (m, _) = read_checklist(&sample("Asset_a-multi-stig.cklb")).unwrap();
    assert_eq!(m.stigs.len(), 3);
    assert_eq!(m.stigs[0].vulns.len(), 10);
}

/// The type of a JSON value, for comparing shapes.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares `ours` with the shape of `reference` key by key, recursively; lists are compared
/// element by element with the reference's first element. Returns the differences.
fn shape_diff(ours: &Value, reference: &Value, path: &str, out: &mut Vec<String>) {
    if kind(ours) != kind(reference) {
        out.push(format!(
            "{path}: {} where the sample has {}",
            kind(ours),
            kind(reference)
        ));
        return;
    }
    match (ours, reference) {
        (Value::Object(a), Value::Object(b)) => {
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the sample"));
            }
            for (k, v) in a {
                if let Some(r) = b.get(k) {
                    shape_diff(v, r, &format!("{path}.{k}"), out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let Some(r) = b.first() {
                for (i, v) in a.iter().enumerate() {
                    shape_diff(v, r, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The STIG Viewer 3 shape: the Evaluate-STIG sample (the full rule key set, all strings)
/// without Evaluate-STIG's own extension keys, with `stigs[].version` as a string as STIG
/// Viewer 3.5 writes it (the sample lacks it; the VPN sample has it), and
/// `target_data.classification` for the marking.
fn reference_shape() -> Value {
    let text = std::fs::read_to_string(sample(CKLB_SAMPLES[0])).unwrap();
    let mut r: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap();
    r.as_object_mut().unwrap().remove("evaluate-stig");
    r["target_data"]["classification"] = Value::String("CUI".into());
    let stig = r["stigs"][0].as_object_mut().unwrap();
    stig.remove("evaluate-stig");
    let vpn = std::fs::read_to_string(sample(CKLB_SAMPLES[1])).unwrap();
    let vpn: Value = serde_json::from_str(&vpn).unwrap();
    assert!(vpn["stigs"][0]["version"].is_string());
    stig.insert("version".into(), vpn["stigs"][0]["version"].clone());
    r
}

#[test]
fn every_cklb_written_has_the_key_set_and_types_of_stig_viewer_3() {
    let reference = reference_shape();
    let results = mini_results();
    let asset = AssetInput {
        marking: Some("CUI".into()),
        ..AssetInput::default()
    };
    let plain = build::checklist(&results, None, &asset);
    let disa = build::checklist(&results, Some(&mini_stig()), &asset);
    let (from_ckl, _) = read_checklist(&sample("small_ckl_overrides.ckl")).unwrap();
    let mut from_ckl = from_ckl;
    from_ckl.asset.marking = Some("CUI".into());
    for (what, c) in [
        ("from the scan", plain),
        ("with the DISA STIG", disa.clone()),
        ("merged", merge::merge(&reviewed(&disa), &disa)),
        ("from a STIG Viewer 2 CKL", from_ckl),
    ] {
        let ours: Value = serde_json::from_str(&cklb::write(&c)).unwrap();
        let mut diff = Vec::new();
        shape_diff(&ours, &reference, "$", &mut diff);
        // Overrides hold an object per overridden field; the sample has none.
        diff.retain(|d| !d.contains(".overrides.severity"));
        assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
    }
}

#[test]
fn statuses_follow_the_results_and_details_say_what_was_found() {
    let c = build::checklist(&mini_results(), None, &AssetInput::default());
    let vulns = &c.stigs[0].vulns;
    let by = |id: &str| vulns.iter().find(|v| v.vuln_num() == id).unwrap();
    // rule_a passes and rule_b fails: one VULN for their STIG id, Open.
    assert_eq!(by("RHEL-07-010010").status, Status::Open);
    assert_eq!(by("RHEL-07-010339").status, Status::NotApplicable);
    let manual = by("RHEL-07-010040");
    assert_eq!(manual.status, Status::NotReviewed);
    assert!(manual
        .attr("Check_Content")
        .unwrap()
        .contains("Ask the administrator"));
    assert_eq!(by("xccdf_org.test_rule_e").status, Status::NotAFinding);
    let open = by("RHEL-07-010010");
    assert!(open.finding_details.contains("no line matched"));
    assert!(open.finding_details.contains("tmout = 600"));
    assert_eq!(open.attr("Severity"), Some("high"));
    let ccis: Vec<&str> = open.attrs("CCI_REF").collect();
    assert_eq!(ccis, ["CCI-000172", "CCI-000366"]);
    assert_eq!(c.asset.host_name.as_deref(), Some("host1"));
    assert_eq!(c.asset.host_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(c.asset.host_mac.as_deref(), Some("52:54:00:12:34:56"));
    assert_eq!(c.asset.host_fqdn.as_deref(), Some("host1.example.mil"));
}

#[test]
fn a_disa_stig_fills_ids_titles_and_check_texts() {
    let c = build::checklist(&mini_results(), Some(&mini_stig()), &AssetInput::default());
    let s = &c.stigs[0];
    assert_eq!(s.info("stigid"), Some("RHEL_7_STIG"));
    assert_eq!(s.vulns.len(), 4);
    let v = s.vulns.iter().find(|v| v.vuln_num() == "V-204392").unwrap();
    assert_eq!(v.stig_id(), "RHEL-07-010010");
    assert!(v.attr("Rule_ID").unwrap().starts_with("SV-204392"));
    assert!(!v.attr("Check_Content").unwrap().is_empty());
    assert_eq!(v.status, Status::Open);
    // RHEL-07-030871 is in the STIG and in no scanned rule.
    let unscanned = s
        .vulns
        .iter()
        .find(|v| v.stig_id() == "RHEL-07-030871")
        .unwrap();
    assert_eq!(unscanned.status, Status::NotReviewed);
    assert!(!unscanned.attr("Check_Content").unwrap().is_empty());
}

/// `c` as a reviewer leaves it: a comment and a severity override on every VULN, a status
/// and finding details on the ones the scan left Not_Reviewed, and a note of their own in the
/// details of the others.
fn reviewed(c: &Checklist) -> Checklist {
    let mut r = c.clone();
    for (i, v) in r.stigs.iter_mut().flat_map(|s| &mut s.vulns).enumerate() {
        v.review_comments = format!("reviewer comment {i}");
        v.severity_override = "low".into();
        v.severity_justification = format!("justification {i}");
        if v.status == Status::NotReviewed {
            v.status = Status::NotAFinding;
            v.finding_details = format!("checked by hand {i}");
        } else {
            v.finding_details = format!("reviewer note {i}\n\n{}", v.finding_details);
        }
    }
    r.asset.target_comment = Some("in rack 4".into());
    r
}

#[test]
fn a_merge_keeps_every_reviewer_written_field() {
    let results = mini_results();
    let first = build::checklist(&results, Some(&mini_stig()), &AssetInput::default());
    let old = reviewed(&first);
    // The next scan: the failing rule now passes.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini-results.xml"),
    )
    .unwrap()
    .replace("<result>fail</result>", "<result>pass</result>");
    let rescan = ScanResults::parse(&text, Path::new("rescan.xml")).unwrap();
    let new = build::checklist(&rescan, Some(&mini_stig()), &AssetInput::default());
    for (format, merged) in [
        ("model", merge::merge(&old, &new)),
        (
            "CKL",
            ckl::read(&ckl::write(&merge::merge(&old, &new)), Path::new("m.ckl")).unwrap(),
        ),
        (
            "CKLB",
            cklb::read(&cklb::write(&merge::merge(&old, &new)), Path::new("m.cklb")).unwrap(),
        ),
    ] {
        assert_eq!(merged.asset.target_comment.as_deref(), Some("in rack 4"));
        let olds = old.stigs[0].vulns.iter();
        let news = new.stigs[0].vulns.iter();
        for ((o, n), m) in olds.zip(news).zip(&merged.stigs[0].vulns) {
            assert_eq!(m.review_comments, o.review_comments, "{format}");
            assert_eq!(m.severity_override, o.severity_override, "{format}");
            assert_eq!(
                m.severity_justification, o.severity_justification,
                "{format}"
            );
            if n.status == Status::NotReviewed {
                assert_eq!(m.status, o.status, "{format}: a manual status stays");
                assert_eq!(m.finding_details, o.finding_details, "{format}");
            } else {
                assert_eq!(m.status, n.status, "{format}: the new scan decides");
                assert!(m.finding_details.starts_with("reviewer note"), "{format}");
                assert!(m.finding_details.contains(&n.finding_details), "{format}");
                assert_eq!(m.finding_details.matches("--- ato scan result").count(), 1);
            }
        }
    }
    let v = |c: &Checklist| {
        c.stigs[0]
            .vulns
            .iter()
            .find(|v| v.vuln_num() == "V-204392")
            .cloned()
    };
    assert_eq!(
        v(&merge::merge(&old, &new)).unwrap().status,
        Status::NotAFinding
    );
}

#[test]
fn a_merge_into_a_multi_stig_checklist_keeps_the_other_stigs() {
    let (old, _) = read_checklist(&sample("Asset_a-multi-stig.ckl")).unwrap();
    let new = build::checklist(&mini_results(), Some(&mini_stig()), &AssetInput::default());
    let merged = merge::merge(&old, &new);
    assert_eq!(merged.stigs.len(), 4);
    assert_eq!(&merged.stigs[..3], &old.stigs[..]);
}

#[test]
fn controls_roll_up_per_nist_control() {
    let report = controls::control_report(&mini_results());
    let c = |id: &str| report.controls.iter().find(|c| c.control == id).unwrap();
    // CCI-000366 -> CM-6 (rule_a, pass); CCI-000172 -> AU-12 (rule_b, fail).
    assert_eq!(c("CM-6").status(), controls::ControlStatus::Passed);
    assert_eq!(c("AU-12").status(), controls::ControlStatus::Failed);
    assert_eq!(
        c("AC-6(2)").status(),
        controls::ControlStatus::NotApplicable
    );
    assert_eq!(c(controls::NO_CONTROL).pass, 1);
    let csv = report.csv();
    assert!(csv.starts_with("control,status,"));
    assert!(csv.contains("CM-6,passed,1,1,0,0,0,CCI-000366,RHEL-07-010010,xccdf_org.test_rule_a"));
    let json = report.json();
    assert_eq!(json["cci_list_version"], "2025-01-23");
    let counts = status_counts(&build::checklist(
        &mini_results(),
        None,
        &AssetInput::default(),
    ));
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<usize>(), 4);
}
