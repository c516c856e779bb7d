//! `ato poam` and `ato oscal` on a real scan: the Ubuntu 20.04 STIG scan of the reference
//! target when `ATO_REFERENCE_TARGET` is set, else the built-in baseline over a small tree.
//! The POA&M workbook is read back with calamine, the OSCAL documents are validated against
//! NIST's 1.1.3 schemas (and by compliance-trestle when `ATO_TRESTLE` names it), and every
//! count matches the summary the scan printed.

mod common;
#[path = "common/reference.rs"]
mod reference;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use common::*;
use reference::ProcMount;
use serde_json::Value;

/// The scan's summary table: result -> total.
fn summary_totals(stdout: &str) -> BTreeMap<String, usize> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("result "))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.parse().ok()?))
        })
        .collect()
}

/// Scans and returns the results file and the summary's totals.
fn scan(dir: &Path) -> (PathBuf, BTreeMap<String, usize>) {
    let results = dir.join("results.xml");
    let out = if let Some(target) = reference::reference_target() {
        let _proc = ProcMount::new(&target);
        run(ato()
            .args(["scan", "--no-progress", "--profile", "stig", "--root"])
            .arg(&target)
            .arg("--results")
            .arg(&results)
            .arg(target.join("root/content/ssg-ubuntu2004-ds.xml")))
    } else {
        let root = dir.join("root");
        write(
            &root,
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n",
        );
        write(&root, "etc/ssh/sshd_config", "PermitRootLogin yes\n");
        write(&root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
        let ds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("baseline/ato-baseline-ds.xml");
        run(ato()
            .args([
                "scan",
                "--no-progress",
                "--profile",
                "xccdf_org.ato_profile_baseline",
            ])
            .arg("--root")
            .arg(&root)
            .arg("--results")
            .arg(&results)
            .arg(ds))
    };
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "ato scan: {}",
        stderr(&out)
    );
    let totals = summary_totals(&stdout(&out));
    assert!(!totals.is_empty(), "no summary in: {}", stdout(&out));
    (results, totals)
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = reference::shared()
        .join("data/oscal/schema-1.1.3")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .take(20)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// Columns of an Ongoing item that must be filled (0-based, A = 0): description, Office/Org,
/// checks, resources, scheduled date, milestone, source, status, comments (CCIs), raw
/// severity, severity, relevance, likelihood, impact, impact description, residual risk,
/// recommendations.
const FILLED: [u32; 17] = [2, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21];

#[test]
fn poam_and_oscal_of_a_scan_match_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (results, mut totals) = scan(dir.path());
    let failed = totals.get("fail").copied().unwrap_or(0);
    // The summary ends with a line of all rules.
    let all = totals.remove("rules");
    let evaluated: usize = totals.values().sum();
    assert_eq!(all, Some(evaluated));
    eprintln!("scan summary: {totals:?}");
    assert!(failed > 0, "the scan should fail some rules: {totals:?}");

    // The eMASS workbook: one row per open finding, required columns filled.
    let xlsx = dir.path().join("poam.xlsx");
    let out = run(ato()
        .args(["poam", "--results"])
        .arg(&results)
        .arg("--output")
        .arg(&xlsx));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(std::fs::read(&xlsx).unwrap())).unwrap();
    let range = wb.worksheet_range("POA&M").unwrap();
    let cell = |r: u32, c: u32| match range.get_value((r, c)) {
        None | Some(Data::Empty) => String::new(),
        Some(v) => v.to_string(),
    };
    assert_eq!(cell(6, 11), "Status");
    let (end, _) = range.end().unwrap();
    assert_eq!((end - 6) as usize, failed, "rows after the header row 7");
    for r in 7..=end {
        for c in FILLED {
            assert!(
                !cell(r, c).trim().is_empty(),
                "row {} column {c} empty",
                r + 1
            );
        }
        assert_eq!(cell(r, 11), "Ongoing");
    }

    // CSV per control covers the same failed rules.
    let out = run(ato()
        .args(["poam", "--per", "control", "--results"])
        .arg(&results));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("({failed} open findings)")),
        "{}",
        stderr(&out)
    );

    // OSCAL.
    let ar_path = dir.path().join("ar.json");
    let out = run(ato()
        .args(["oscal", "assessment-results", "--results"])
        .arg(&results)
        .arg("--output")
        .arg(&ar_path));
    assert!(out.status.success(), "{}", stderr(&out));
    let ar = json_of(&ar_path);
    assert_valid(
        &schema("oscal_assessment-results_schema.json"),
        &ar,
        "assessment results",
    );
    let result = &ar["assessment-results"]["results"][0];
    assert_eq!(len(&result["observations"]), evaluated);
    assert_eq!(len(&result["risks"]), failed);
    assert!(len(&result["findings"]) > 0);

    let poam_path = dir.path().join("poam.json");
    let out = run(ato()
        .args(["oscal", "poam", "--results"])
        .arg(&results)
        .arg("--output")
        .arg(&poam_path));
    assert!(out.status.success(), "{}", stderr(&out));
    let poam = json_of(&poam_path);
    assert_valid(&schema("oscal_poam_schema.json"), &poam, "POA&M");
    let p = &poam["plan-of-action-and-milestones"];
    assert_eq!(len(&p["poam-items"]), failed);
    assert_eq!(len(&p["risks"]), failed);

    trestle_validates(dir.path(), &ar_path, &poam_path);
}

/// compliance-trestle's `trestle validate` accepts both documents: `ATO_TRESTLE` names the
/// binary; required in CI. Trestle reads a model only inside a workspace (`trestle init`), at
/// `<model dir>/<name>/<model>.json`.
fn trestle_validates(dir: &Path, ar: &Path, poam: &Path) {
    let Some(trestle) = std::env::var_os("ATO_TRESTLE").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "compliance-trestle is needed in CI: set ATO_TRESTLE to the trestle binary"
        );
        eprintln!("skipped trestle: set ATO_TRESTLE to the trestle binary");
        return;
    };
    let ws = dir.join("trestle");
    std::fs::create_dir_all(&ws).unwrap();
    let init = Command::new(&trestle)
        .arg("init")
        .current_dir(&ws)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "trestle init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    for (from, to) in [
        (ar, "assessment-results/scan/assessment-results.json"),
        (
            poam,
            "plan-of-action-and-milestones/scan/plan-of-action-and-milestones.json",
        ),
    ] {
        let path = ws.join(to);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::copy(from, &path).unwrap();
        let out = Command::new(&trestle)
            .arg("validate")
            .arg("-f")
            .arg(&path)
            .current_dir(&ws)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "trestle validate {to}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn oscal_poam_of_a_scan_without_failures_is_an_error() {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ato-artifacts/tests/data/mini-results.xml");
    let text = std::fs::read_to_string(&results).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let passing = write(
        dir.path(),
        "r.xml",
        &text.replace("<result>fail</result>", "<result>pass</result>"),
    );
    let out = run(ato().args(["oscal", "poam", "--results"]).arg(&passing));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no rule failed"), "{}", stderr(&out));
}
