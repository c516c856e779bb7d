//! `ato checklist` and `ato controls` from the command line, and the MITRE SAF CLI reading our
//! CKL of the reference target's Ubuntu 20.04 STIG scan.

mod common;
#[path = "common/reference.rs"]
mod reference;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use reference::ProcMount;

fn mini_results() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ato-artifacts/tests/data/mini-results.xml")
}

/// The counts `ato checklist` prints: open, not a finding, not applicable, not reviewed.
fn printed_counts(stderr: &str) -> [usize; 4] {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("ato: checklist: "))
        .unwrap_or_else(|| panic!("no summary in: {stderr}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    [numbers[0], numbers[1], numbers[2], numbers[3]]
}

#[test]
fn checklist_writes_ckl_and_cklb_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let ckl = dir.path().join("host.ckl");
    let out = run(ato()
        .args(["checklist", "--results"])
        .arg(mini_results())
        .args([
            "--host-name",
            "web01",
            "--role",
            "Member Server",
            "--marking",
            "CUI",
        ])
        .arg("--output")
        .arg(&ckl));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(printed_counts(&stderr(&out)), [1, 1, 1, 1]);
    let text = std::fs::read_to_string(&ckl).unwrap();
    assert!(text.contains("<HOST_NAME>web01</HOST_NAME>"));
    assert!(text.contains("<MARKING>CUI</MARKING>"));

    // A reviewer's comment survives a merge, and the format follows the old file.
    let reviewed = text.replacen(
        "<COMMENTS></COMMENTS>",
        "<COMMENTS>seen by J. Doe</COMMENTS>",
        1,
    );
    std::fs::write(&ckl, reviewed).unwrap();
    let out = run(ato()
        .args(["checklist", "--results"])
        .arg(mini_results())
        .arg("--merge")
        .arg(&ckl));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("<?xml"));
    assert!(stdout(&out).contains("<COMMENTS>seen by J. Doe</COMMENTS>"));

    let cklb = dir.path().join("host.cklb");
    let out = run(ato()
        .args(["checklist", "--results"])
        .arg(mini_results())
        .arg("--output")
        .arg(&cklb));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cklb).unwrap()).unwrap();
    assert_eq!(json["cklb_version"], "1.0");
}

#[test]
fn controls_prints_a_table_csv_and_json() {
    for (format, expect) in [
        ("table", "CM-6"),
        ("csv", "control,status,"),
        ("json", "\"cci_list_version\""),
    ] {
        let out = run(ato()
            .args(["controls", "--format", format, "--results"])
            .arg(mini_results()));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(expect), "{format}: {}", stdout(&out));
    }
}

#[test]
fn checklist_of_a_file_that_is_not_results_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "x.xml", "<a/>");
    let out = run(ato().args(["checklist", "--results"]).arg(&f));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("x.xml"), "{}", stderr(&out));
}

/// MITRE's SAF CLI reads our CKL of the Ubuntu 20.04 STIG scan and counts the same open,
/// not-a-finding, not-applicable and not-reviewed rules as `ato checklist` prints.
#[test]
fn saf_cli_counts_our_ckl_as_we_do() {
    let Some(target) = std::env::var_os("ATO_REFERENCE_TARGET").map(PathBuf::from) else {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    };
    let Some(saf) = saf_cli() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.xml");
    {
        let _proc = ProcMount::new(&target);
        let status = ato()
            .args([
                "scan",
                "--quiet",
                "--no-progress",
                "--profile",
                "stig",
                "--root",
            ])
            .arg(&target)
            .arg("--results")
            .arg(&results)
            .arg(target.join("root/content/ssg-ubuntu2004-ds.xml"))
            .status()
            .unwrap();
        assert!(matches!(status.code(), Some(0 | 2)), "ato scan: {status}");
    }
    let ckl = dir.path().join("ubuntu2004.ckl");
    let out = write_artifact(&["checklist"], &results, &ckl);
    let ours = printed_counts(&stderr(&out));

    let hdf = dir.path().join("ubuntu2004-hdf.json");
    // The SAF CLI writes `saf-cli.log` into its working directory.
    let convert = Command::new(&saf)
        .current_dir(dir.path())
        .args(["convert", "ckl2hdf", "-i"])
        .arg(&ckl)
        .arg("-o")
        .arg(&hdf)
        .output()
        .unwrap();
    assert!(
        convert.status.success(),
        "saf convert ckl2hdf: {}",
        String::from_utf8_lossy(&convert.stderr)
    );
    let summary = Command::new(&saf)
        .current_dir(dir.path())
        .args(["view", "summary", "-f", "json", "-s", "-i"])
        .arg(&hdf)
        .output()
        .unwrap();
    assert!(summary.status.success(), "saf view summary failed");
    let text = String::from_utf8_lossy(&summary.stdout);
    let start = text.find('[').expect("a JSON list from saf view summary");
    let json: serde_json::Value = serde_json::from_str(&text[start..]).unwrap();
    let total = |key: &str| -> usize {
        json.as_array()
            .unwrap()
            .iter()
            .map(|p| p[key]["total"].as_u64().unwrap() as usize)
            .sum()
    };
    // SAF's names: failed = Open, passed = NotAFinding, no_impact = Not_Applicable,
    // skipped = Not_Reviewed; error would be a status SAF could not map.
    let theirs = [
        total("failed"),
        total("passed"),
        total("no_impact"),
        total("skipped"),
    ];
    eprintln!("open, not a finding, not applicable, not reviewed: ato {ours:?}, SAF {theirs:?}");
    assert_eq!(theirs, ours);
    assert_eq!(total("error"), 0);
    assert!(ours.iter().sum::<usize>() > 100);
}

/// An output that names no checklist format gets CKL, and ato says so.
#[test]
fn an_output_without_a_checklist_extension_is_written_as_ckl_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("host.txt");
    let out = write_artifact(&["checklist"], &mini_results(), &out_path);
    assert!(
        stderr(&out).contains("ends in neither .ckl nor .cklb: writing CKL"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(text.contains("<CHECKLIST>"));
}

/// A reader that stops reading (`ato checklist | head`) ends the output quietly: no panic, no
/// error, for every command that writes to stdout.
#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::process::Stdio;
    let results = mini_results();
    for args in [
        vec!["checklist", "--results"],
        vec!["controls", "--results"],
        vec!["poam", "--results"],
    ] {
        let mut child = ato()
            .args(&args)
            .arg(&results)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}
