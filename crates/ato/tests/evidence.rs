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
    write_artifact(&["poam"], &results, &xlsx);
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
    write_artifact(&["oscal", "assessment-results"], &results, &ar_path);
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
    write_artifact(&["oscal", "poam"], &results, &poam_path);
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

/// The first sheet of an xlsx or xlsm workbook as rows of strings, from row 1.
fn first_sheet(path: &Path) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(std::fs::read(path).unwrap()))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let (end_row, end_col) = range.end().unwrap_or((0, 0));
    (0..=end_row)
        .map(|r| {
            (0..=end_col)
                .map(|c| match range.get_value((r, c)) {
                    None | Some(Data::Empty) => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect()
}

/// The items of a POA&M sheet: the rows from 8 on with a description (column C).
fn poam_items(rows: &[Vec<String>]) -> Vec<&Vec<String>> {
    rows.iter()
        .skip(7)
        .filter(|r| r.get(2).is_some_and(|c| !c.trim().is_empty()))
        .collect()
}

/// The control of a DISA index as eMASS takes it: `IA-5(1) (a)` and `AU-3a` are `IA-5(1)` and
/// `AU-3`.
fn base_control(index: &str) -> String {
    let re = regex::Regex::new(r"^[A-Z]{2}-\d+(\s*\(\d+\))?").unwrap();
    re.find(index.trim())
        .map(|m| m.as_str().replace(' ', ""))
        .unwrap_or_default()
}

/// Our POA&M of the Ubuntu 20.04 STIG scan against MITRE SAF CLI's `convert ckl2POAM` on our
/// checklist of the same scan: the same STIG vulnerabilities, and in each the same control,
/// raw severity, severity, relevance of threat, likelihood, impact and residual risk.
///
/// What differs by design:
/// - ato writes an item per failed rule, SAF one per checklist vulnerability; where several
///   SSG rules check one STIG id, ato has several items with that Security Check, and SAF's
///   values must be those of one of them.
/// - SAF also writes items with status `Not Applicable`; eMASS takes no manual POA&M item on a
///   not-applicable requirement, so ato writes none.
/// - SAF takes the control from the vulnerability's first CCI, ato from the failed rule's own
///   first CCI; where the failed rule does not carry SAF's CCI the controls are not compared.
#[test]
fn poam_rows_agree_with_saf_ckl2poam() {
    if reference::reference_target().is_none() {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    }
    let Some(saf) = saf_cli() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (results, totals) = scan(dir.path());
    let ckl = dir.path().join("ubuntu2004.ckl");
    write_artifact(&["checklist"], &results, &ckl);
    let ours_path = dir.path().join("poam.xlsx");
    write_artifact(&["poam"], &results, &ours_path);

    let saf_dir = dir.path().join("saf");
    let convert = Command::new(&saf)
        .current_dir(dir.path())
        .args([
            "convert",
            "ckl2POAM",
            "-O",
            "System Owner",
            "-d",
            "target",
            "-i",
        ])
        .arg(&ckl)
        .arg("-o")
        .arg(&saf_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        convert.status.success(),
        "saf convert ckl2POAM: {}",
        String::from_utf8_lossy(&convert.stderr)
    );
    let saf_file = std::fs::read_dir(&saf_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "xlsm" || e == "xlsx"))
        .expect("a workbook from saf convert ckl2POAM");

    // The checklist: Rule_ID -> (STIG id, first CCI, status).
    let text = std::fs::read_to_string(&ckl).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let mut vulns: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for v in doc.descendants().filter(|n| n.has_tag_name("VULN")) {
        let mut data: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for sd in v.children().filter(|n| n.has_tag_name("STIG_DATA")) {
            let field = |name: &str| {
                sd.children()
                    .find(|n| n.has_tag_name(name))
                    .and_then(|n| n.text())
                    .unwrap_or("")
            };
            data.entry(field("VULN_ATTRIBUTE"))
                .or_default()
                .push(field("ATTRIBUTE_DATA"));
        }
        let first = |k: &str| data.get(k).and_then(|v| v.first()).copied().unwrap_or("");
        let status = v
            .children()
            .find(|n| n.has_tag_name("STATUS"))
            .and_then(|n| n.text())
            .unwrap_or("");
        vulns.insert(
            first("Rule_ID").to_string(),
            (
                first("Rule_Ver").to_string(),
                first("CCI_REF").to_string(),
                status.to_string(),
            ),
        );
    }
    let open_vulns = vulns.values().filter(|v| v.2 == "Open").count();
    let na_vulns = vulns.values().filter(|v| v.2 == "Not_Applicable").count();

    let saf_rows = first_sheet(&saf_file);
    let saf_items = poam_items(&saf_rows);
    let ours_rows = first_sheet(&ours_path);
    let ours_items = poam_items(&ours_rows);
    assert_eq!(ours_items.len(), totals["fail"]);

    // Our items by Security Check (the STIG id).
    let mut ours_by_stig: BTreeMap<&str, Vec<&Vec<String>>> = BTreeMap::new();
    for row in &ours_items {
        assert_eq!(row[11], "Ongoing");
        ours_by_stig.entry(row[5].as_str()).or_default().push(row);
    }
    let mut saf_ongoing = 0;
    let mut saf_na = 0;
    let mut compared_controls = 0;
    let mut other_cci = Vec::new();
    for row in &saf_items {
        let (stig, cci, _) = vulns
            .get(&row[5])
            .unwrap_or_else(|| panic!("SAF's Security Check `{}` is not in the CKL", row[5]));
        match row[11].as_str() {
            "Not Applicable" => {
                saf_na += 1;
                assert!(!ours_by_stig.contains_key(stig.as_str()), "{stig}");
                continue;
            }
            "Ongoing" => saf_ongoing += 1,
            s => panic!("SAF status `{s}` for {stig}"),
        }
        let ours = ours_by_stig
            .get(stig.as_str())
            .unwrap_or_else(|| panic!("SAF has an item for {stig}; ato has none"));
        // Raw severity, severity, relevance, likelihood, impact, residual risk.
        for col in [13, 15, 16, 17, 18, 20] {
            assert!(
                ours.iter().any(|o| o[col] == row[col].trim()),
                "{stig}: column {} is `{}` in SAF's, {:?} in ato's",
                col + 1,
                row[col],
                ours.iter().map(|o| &o[col]).collect::<Vec<_>>()
            );
        }
        let with_cci: Vec<_> = ours
            .iter()
            .filter(|o| o[12].contains(&format!("{cci},")) || o[12].contains(&format!("{cci}.")))
            .collect();
        if with_cci.is_empty() {
            other_cci.push(stig.clone());
            continue;
        }
        compared_controls += 1;
        assert!(
            with_cci.iter().any(|o| o[3] == base_control(&row[3])),
            "{stig} ({cci}): control `{}` in SAF's, {:?} in ato's",
            row[3],
            with_cci.iter().map(|o| &o[3]).collect::<Vec<_>>()
        );
    }
    eprintln!(
        "ato: {} items for {} STIG ids; SAF: {saf_ongoing} Ongoing, {saf_na} Not Applicable; \
         controls compared on {compared_controls}, the failed rule has another CCI on {other_cci:?}",
        ours_items.len(),
        ours_by_stig.len()
    );
    assert_eq!(saf_ongoing, open_vulns);
    assert_eq!(saf_na, na_vulns);
    assert_eq!(
        ours_by_stig.len(),
        open_vulns,
        "every open STIG id has an item"
    );
    assert!(compared_controls + 5 >= open_vulns, "{other_cci:?}");
}

/// `--config`: the file's policy is used, a flag wins over it, and a bad file is an error that
/// names it.
#[test]
fn poam_policy_comes_from_flags_then_config_then_defaults() {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ato-artifacts/tests/data/mini-results.xml");
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "ato.toml",
        "[poam]\noffice-org = \"ISSO Office\"\nrelevance-of-threat = \"High\"\n\
         devices-affected = \"web01\"\n[poam.due-days]\ncat1 = 7\ncat2 = 14\ncat3 = 21\n",
    );
    let poam_csv = |extra: &[&str]| -> Vec<csv::StringRecord> {
        let out = run(ato()
            .args(["poam", "--scan-date", "2026-01-01", "--results"])
            .arg(&results)
            .arg("--config")
            .arg(&config)
            .args(extra));
        assert!(out.status.success(), "{}", stderr(&out));
        let mut r = csv::Reader::from_reader(out.stdout.as_slice());
        assert_eq!(&r.headers().unwrap()[22], "Devices Affected");
        r.records().map(Result::unwrap).collect()
    };
    let rows = poam_csv(&[]);
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(&row[4], "ISSO Office");
        assert_eq!(&row[16], "High", "relevance of threat");
        assert_eq!(&row[22], "web01");
        let due = match &row[13] {
            "I" => "01/08/2026",
            "II" => "01/15/2026",
            _ => "01/22/2026",
        };
        assert_eq!(&row[7], due);
    }
    let rows = poam_csv(&[
        "--office-org",
        "Flag Org",
        "--cat1-days",
        "30",
        "--cat2-days",
        "30",
        "--cat3-days",
        "30",
        "--relevance-of-threat",
        "low",
    ]);
    for row in &rows {
        assert_eq!(&row[4], "Flag Org");
        assert_eq!(&row[16], "Low");
        assert_eq!(&row[7], "01/31/2026");
    }

    let bad = write(dir.path(), "bad.toml", "[poam.due-days]\ncat1 = 0\n");
    let out = run(ato()
        .args(["poam", "--results"])
        .arg(&results)
        .arg("--config")
        .arg(&bad));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad.toml") && stderr(&out).contains("cat1"),
        "{}",
        stderr(&out)
    );
    let out = run(ato()
        .args(["oscal", "poam", "--results"])
        .arg(&results)
        .arg("--config")
        .arg(dir.path().join("missing.toml")));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

/// Bad flags exit 1 (2 is "a rule failed"), with the reason; a negative day count is a bad
/// value, not an unknown flag.
#[test]
fn bad_poam_flags_exit_1_with_the_reason() {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ato-artifacts/tests/data/mini-results.xml");
    let out = run(ato()
        .args(["poam", "--cat1-days", "-5", "--results"])
        .arg(&results));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give 1 to 3650 days"),
        "{}",
        stderr(&out)
    );
    let out = run(ato().args(["poam", "--no-such-flag"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--no-such-flag"), "{}", stderr(&out));
    let out = run(ato().args(["poam", "--help"]));
    assert_eq!(out.status.code(), Some(0));
}

/// An output in a directory that does not exist: the error names the directory, not the
/// temporary file's random name.
#[test]
fn an_output_in_a_missing_directory_names_the_directory() {
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ato-artifacts/tests/data/mini-results.xml");
    let dir = tempfile::Builder::new()
        .prefix("ato-test")
        .tempdir()
        .unwrap();
    let output = dir.path().join("missing/poam.csv");
    let out = run(ato()
        .args(["poam", "--results"])
        .arg(&results)
        .arg("--output")
        .arg(&output));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("missing` does not exist"), "{err}");
    assert!(!err.contains("/missing/.tmp"), "{err}");
}
