//! Agreement with the reference scanner, rule for rule, on the reference target.
//!
//! Runs only when `ATO_REFERENCE_TARGET` names a tree built by
//! `../shared/fixtures/build-target.sh` (`.ci/run` builds one). For each profile, OpenSCAP's
//! results come from `../shared/fixtures/oscap-reference.sh` (cached in `ATO_REFERENCE_DIR`,
//! default `target/reference`), ato scans the same tree with `--root`, and every rule must
//! have the same result. The one exception is the rules OpenSCAP cannot decide in a tree
//! (`error` for systemd services, since no systemd runs there): for those, ato's answer is
//! checked against what the tree's own unit links say (see `systemd_oracle`).

#[path = "common/reference.rs"]
mod reference;

use std::path::{Path, PathBuf};
use std::process::Command;

use reference::{
    ato_scan, compare, masked, reference_target, rule_results, shared, systemd_oracle, wanted,
    ProcMount, TargetLock,
};

const XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";

fn reference_dir() -> PathBuf {
    match std::env::var_os("ATO_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/reference"),
    }
}

fn reference(target: &Path, ds: &str, profile: &str) -> PathBuf {
    let dir = reference_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let short = profile
        .rsplit_once("_profile_")
        .map(|(_, s)| s)
        .unwrap_or(profile);
    let out = dir.join(format!("{}-{short}.xml", ds.trim_end_matches("-ds.xml")));
    if !out.exists() {
        let _lock = TargetLock::take(target);
        let status = Command::new("sh")
            .arg(shared().join("fixtures/oscap-reference.sh"))
            .arg(target)
            .arg(ds)
            .arg(profile)
            .arg(&out)
            .status()
            .expect("oscap-reference.sh runs");
        assert!(status.success(), "oscap-reference.sh failed for {profile}");
    }
    out
}

fn profiles(ds: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(ds).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name((XCCDF, "Profile")))
        .filter_map(|n| n.attribute("id").map(str::to_string))
        .collect()
}

/// Compares every profile of one data stream; returns the disagreements.
fn agree(target: &Path, ds: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    let ds_text = std::fs::read_to_string(target.join("root/content").join(ds)).unwrap();
    for profile in profiles(&target.join("root/content").join(ds)) {
        let reference = rule_results(&reference(target, ds, &profile));
        let ours_path = tmp.path().join("ato.xml");
        {
            let _proc = ProcMount::new(target);
            ato_scan(target, ds, &profile, &ours_path);
        }
        let ours = rule_results(&ours_path);
        let agreement = compare(
            target,
            &ds_text,
            &reference,
            &ours,
            &format!("{ds} {profile}"),
        );
        let (same, decided_by_systemd) = (agreement.same, agreement.decided_by_systemd);
        problems.extend(agreement.problems);
        eprintln!(
            "{ds} {profile}: {same} of {} rules agree, {decided_by_systemd} decided by systemctl \
             where OpenSCAP gives error",
            reference.len()
        );
    }
    problems
}

#[test]
fn debian11_all_profiles_agree_with_openscap() {
    let Some(target) = reference_target() else {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    };
    let problems = agree(&target, "ssg-debian11-ds.xml");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The built-in baseline gives the same results under oscap (`oscap-chroot`, on the exported
/// data stream) as under ato.
#[test]
fn baseline_agrees_with_openscap() {
    let Some(target) = reference_target() else {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("baseline-ds.xml");
    let status = Command::new(env!("CARGO_BIN_EXE_ato"))
        .args(["baseline", "--export"])
        .arg(&ds)
        .status()
        .unwrap();
    assert!(status.success());
    let profile = "xccdf_org.ato_profile_baseline";
    let _lock = TargetLock::take(&target);
    let theirs = tmp.path().join("oscap.xml");
    let status = Command::new("oscap-chroot")
        .arg(&target)
        .args(["xccdf", "eval", "--profile", profile, "--results"])
        .arg(&theirs)
        .arg(&ds)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("oscap-chroot runs (install openscap-utils)");
    assert!(
        matches!(status.code(), Some(0) | Some(2)),
        "oscap-chroot failed: {status}"
    );
    let ours = tmp.path().join("ato.xml");
    let status = Command::new(env!("CARGO_BIN_EXE_ato"))
        .args(["scan", "--quiet", "--root"])
        .arg(&target)
        .args(["--profile", profile, "--results"])
        .arg(&ours)
        .arg(&ds)
        .status()
        .unwrap();
    assert!(
        matches!(status.code(), Some(0) | Some(2)),
        "ato scan failed: {status}"
    );
    let (theirs, ours) = (rule_results(&theirs), rule_results(&ours));
    assert_eq!(theirs.len(), ours.len());
    let differ: Vec<_> = theirs
        .iter()
        .filter(|(rule, r)| ours.get(*rule) != Some(r))
        .map(|(rule, r)| format!("{rule}: OpenSCAP {r}, ato {:?}", ours.get(rule)))
        .collect();
    eprintln!(
        "baseline: {} of {} rules agree",
        theirs.len() - differ.len(),
        theirs.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn ubuntu2004_all_profiles_agree_with_openscap() {
    let Some(target) = reference_target() else {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    };
    let problems = agree(&target, "ssg-ubuntu2004-ds.xml");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_oracle_reads_unit_links() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("etc/systemd/system");
    let wants = units.join("multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    let chrony = "/lib/systemd/system/chrony.service";
    std::os::unix::fs::symlink(chrony, wants.join("chrony.service")).unwrap();
    std::os::unix::fs::symlink("/dev/null", units.join("telnet.socket")).unwrap();
    assert!(wanted(dir.path(), "multi-user.target", "chrony.service"));
    assert!(!wanted(dir.path(), "multi-user.target", "chronyd.service"));
    assert!(masked(dir.path(), "telnet.socket"));
    assert!(!masked(dir.path(), "chrony.service"));
    let ds = r#"<a id="oval:ssg-state_systemd_chrony_on:ste:1"><linux:dependency entity_check="at least one">chrony.service</linux:dependency></a>
<d id="oval:ssg-service_chrony_enabled:def:1"><criterion test_ref="oval:ssg-test_multi_user_wants_chrony:tst:1"/></d>"#;
    let (pass, _) = systemd_oracle(dir.path(), ds, "x_rule_service_chrony_enabled").unwrap();
    assert!(pass);
}
