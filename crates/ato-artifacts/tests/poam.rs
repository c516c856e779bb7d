//! The eMASS POA&M of a scan, read back: the xlsx with calamine (and LibreOffice where it is
//! installed), the CSV with the csv crate. One row per failed rule, the template's header rows,
//! and every column eMASS requires of an `Ongoing` item filled.

use std::io::Cursor;
use std::path::PathBuf;
use std::process::Command;

use ato_artifacts::poam::{self, Per, PoamOptions, BANNER, HEADERS, HEADER_ROW};
use ato_artifacts::results::ScanResults;
use ato_xccdf::XccdfResult;
use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};

fn mini_results() -> ScanResults {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini-results.xml");
    ScanResults::load(&path).unwrap()
}

fn failed(results: &ScanResults) -> usize {
    results
        .test_result
        .rule_results
        .iter()
        .filter(|r| r.result == XccdfResult::Fail)
        .count()
}

/// The data rows of the `POA&M` sheet of `xlsx`, each as 22 strings (dates as numbers).
fn sheet_rows(xlsx: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(xlsx.to_vec())).unwrap();
    let range = wb.worksheet_range("POA&M").unwrap();
    let cell = |r: u32, c: u32| match range.get_value((r, c)) {
        None | Some(Data::Empty) => String::new(),
        Some(Data::DateTime(d)) => d.as_f64().to_string(),
        Some(v) => v.to_string(),
    };
    assert_eq!(cell(0, 0), BANNER);
    assert_eq!(cell(1, 0), "Date Exported:");
    assert_eq!(cell(5, 9), "POC E-Mail:");
    let headers: Vec<String> = (0..22).map(|c| cell(HEADER_ROW, c)).collect();
    let (end, _) = range.end().unwrap();
    let rows = (HEADER_ROW + 1..=end)
        .map(|r| (0..22).map(|c| cell(r, c)).collect())
        .collect();
    (headers, rows)
}

/// The columns eMASS requires of an Ongoing item, and those the issue asks to fill: control,
/// description, Office/Org, checks, resources, date, milestone, source, status, raw severity,
/// severity, relevance, likelihood, impact, impact description, residual risk,
/// recommendations.
const FILLED: [usize; 18] = [
    2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21,
];

#[test]
fn xlsx_has_one_row_per_open_finding_with_required_columns() {
    let results = mini_results();
    let p = poam::poam(&results, &PoamOptions::default()).unwrap();
    assert_eq!(p.items.len(), failed(&results));
    assert!(!p.items.is_empty());
    let (headers, rows) = sheet_rows(&p.xlsx().unwrap());
    assert_eq!(headers, HEADERS);
    assert_eq!(rows.len(), failed(&results));
    for row in &rows {
        for c in FILLED {
            assert!(
                !row[c].trim().is_empty(),
                "column {} empty in {row:?}",
                HEADERS[c]
            );
        }
        assert_eq!(row[11], "Ongoing");
        assert!(["I", "II", "III"].contains(&row[13].as_str()));
        assert!(row[10].contains("SCAP scan"), "{}", row[10]);
        assert!(row[12].contains("CCI-"), "{}", row[12]);
        // Excel serial date after 2020.
        assert!(row[7].parse::<f64>().unwrap() > 43831.0, "{}", row[7]);
    }
}

#[test]
fn scheduled_dates_follow_the_category_policy() {
    let results = mini_results();
    let options = PoamOptions {
        scan_date: Some("2026-01-01".parse().unwrap()),
        ..PoamOptions::default()
    };
    let p = poam::poam(&results, &options).unwrap();
    for item in &p.items {
        let days = match item.category.raw() {
            "I" => 30,
            "II" => 90,
            _ => 180,
        };
        let from: jiff::civil::Date = "2026-01-01".parse().unwrap();
        assert_eq!((item.scheduled_completion - from).get_days(), days);
        assert!(item.milestones[0].ends_with(&poam::us_date(item.scheduled_completion)));
    }
}

#[test]
fn per_control_items_cover_every_failed_rule_once_per_control() {
    let results = mini_results();
    let options = PoamOptions {
        per: Per::Control,
        ..PoamOptions::default()
    };
    let p = poam::poam(&results, &options).unwrap();
    let mut rules: Vec<&String> = p.items.iter().flat_map(|i| &i.rules).collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules.len(), failed(&results));
    let mut controls: Vec<&String> = p.items.iter().map(|i| &i.control).collect();
    let n = controls.len();
    controls.dedup();
    assert_eq!(controls.len(), n);
}

#[test]
fn csv_has_the_headers_and_one_line_per_item() {
    let results = mini_results();
    let p = poam::poam(&results, &PoamOptions::default()).unwrap();
    let bytes = p.csv().unwrap();
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(headers, p.csv_headers());
    assert_eq!(headers[0], "");
    assert_eq!(headers[13], "Raw Severity");
    for (h, template) in headers.iter().zip(HEADERS).skip(1) {
        assert_eq!(h, template.trim());
    }
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), failed(&results));
    for rec in &records {
        for c in FILLED {
            assert!(!rec[c].is_empty(), "column {} empty", HEADERS[c]);
        }
    }
}

/// LibreOffice opens the workbook and converts it to CSV with the same rows. Skipped when
/// LibreOffice is not installed, but not in CI, which installs it.
#[test]
fn libreoffice_opens_the_workbook() {
    let Some(soffice) = ["libreoffice", "soffice"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "LibreOffice is needed in CI (Debian: libreoffice-calc-nogui)"
        );
        eprintln!("skipped: LibreOffice is not installed");
        return;
    };
    let results = mini_results();
    let p = poam::poam(&results, &PoamOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("poam.xlsx");
    std::fs::write(&xlsx, p.xlsx().unwrap()).unwrap();
    let out = Command::new(soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.path().join("profile").display()
        ))
        .args(["--headless", "--convert-to", "csv", "--outdir"])
        .arg(dir.path())
        .arg(&xlsx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("poam.csv")).unwrap();
    assert!(text.starts_with(BANNER), "{text}");
    assert!(text.contains("Ongoing"));
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), HEADER_ROW as usize + 1 + failed(&results));
}

#[test]
fn devices_affected_is_a_column_after_the_template_s_last() {
    let results = mini_results();
    let options = PoamOptions {
        devices_affected: Some(String::new()),
        ..PoamOptions::default()
    };
    let p = poam::poam(&results, &options).unwrap();
    let device = p.devices_affected.clone().unwrap();
    assert!(!device.trim().is_empty());
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(p.xlsx().unwrap())).unwrap();
    let range = wb.worksheet_range("POA&M").unwrap();
    let cell = |r: u32, c: u32| range.get_value((r, c)).map(|v| v.to_string());
    assert_eq!(cell(HEADER_ROW, 21).as_deref(), Some(HEADERS[21]));
    assert_eq!(
        cell(HEADER_ROW, 22).as_deref(),
        Some(poam::DEVICES_AFFECTED)
    );
    for r in HEADER_ROW + 1..HEADER_ROW + 1 + failed(&results) as u32 {
        assert_eq!(cell(r, 22).as_deref(), Some(device.as_str()));
    }
    let bytes = p.csv().unwrap();
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(&r.headers().unwrap()[22], poam::DEVICES_AFFECTED);
    for rec in r.records() {
        assert_eq!(&rec.unwrap()[22], device);
    }
    // Without it, the template's 22 columns only.
    let p = poam::poam(&results, &PoamOptions::default()).unwrap();
    assert_eq!(p.headers().len(), 22);
}

/// With the DISA STIG, the Security Checks are its rule ids, matched by STIG id, the comments
/// name the STIG ids and vulnerabilities, and the source names the STIG.
#[test]
fn a_disa_stig_gives_its_rule_ids_as_security_checks() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/stig/rhel-7-v3r8-mini-sample-xxcdf.xml");
    let stig = ato_artifacts::stig::DisaStig::load(&path).unwrap();
    let results = mini_results();
    let without = poam::poam(&results, &PoamOptions::default()).unwrap();
    let options = PoamOptions {
        stig: Some(std::sync::Arc::new(stig.clone())),
        ..PoamOptions::default()
    };
    let with = poam::poam(&results, &options).unwrap();
    assert_eq!(with.items.len(), without.items.len());
    let mut matched = 0;
    for (w, o) in with.items.iter().zip(&without.items) {
        let in_stig: Vec<&ato_artifacts::stig::DisaRule> = stig
            .rules
            .iter()
            .filter(|d| o.security_checks.contains(&d.stig_id))
            .collect();
        if in_stig.is_empty() {
            assert_eq!(w.security_checks, o.security_checks);
            continue;
        }
        matched += 1;
        let ids: Vec<String> = in_stig.iter().map(|d| d.rule_id.clone()).collect();
        assert_eq!(w.security_checks, ids);
        assert!(ids.iter().all(|i| i.starts_with("SV-")), "{ids:?}");
        assert!(w.comments.contains(&in_stig[0].vuln_num), "{}", w.comments);
        assert!(w.source.contains(&stig.title), "{}", w.source);
    }
    assert!(
        matched > 0,
        "no failed rule of the sample is in the sample STIG"
    );
}

fn stig_sample(name: &str) -> ato_artifacts::stig::DisaStig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/stig")
        .join(name);
    ato_artifacts::stig::DisaStig::load(&path).unwrap()
}

/// The recommendation is the STIG's fix text where a STIG gives one, and otherwise says where
/// the steps are: SSG rules have no fix text, their description says what to change.
#[test]
fn recommendations_come_from_the_fix_texts() {
    let results = mini_results();
    let stig = stig_sample("rhel-7-v3r8-mini-sample-xxcdf.xml");
    let plain = poam::poam(&results, &PoamOptions::default()).unwrap();
    let options = PoamOptions {
        stig: Some(std::sync::Arc::new(stig.clone())),
        ..PoamOptions::default()
    };
    let with = poam::poam(&results, &options).unwrap();
    let mut from_stig = 0;
    for (w, p) in with.items.iter().zip(&plain.items) {
        let texts: Vec<&str> = stig
            .rules
            .iter()
            .filter(|d| p.security_checks.contains(&d.stig_id) && !d.fix_text.trim().is_empty())
            .map(|d| d.fix_text.trim())
            .collect();
        if let Some(first) = texts.first() {
            from_stig += 1;
            assert!(
                w.recommendations.starts_with(first),
                "{}",
                w.recommendations
            );
        }
        assert!(!p.recommendations.trim().is_empty());
    }
    assert!(from_stig > 0);
}

#[test]
fn a_stig_of_another_system_is_an_error() {
    let results = mini_results();
    let options = PoamOptions {
        stig: Some(std::sync::Arc::new(stig_sample(
            "U_RHEL_8_STIG_V1R3_Manual-xccdf.xml",
        ))),
        ..PoamOptions::default()
    };
    let e = poam::poam(&results, &options).unwrap_err().to_string();
    assert!(e.contains("U_RHEL_8_STIG_V1R3_Manual-xccdf.xml"), "{e}");
    assert!(e.contains("none of the STIG ids"), "{e}");
}

#[test]
fn a_completion_date_past_9999_is_an_error() {
    let results = mini_results();
    let options = PoamOptions {
        scan_date: Some("9999-12-01".parse().unwrap()),
        ..PoamOptions::default()
    };
    let e = poam::poam(&results, &options).unwrap_err().to_string();
    assert!(e.contains("9999-12-31"), "{e}");
}
