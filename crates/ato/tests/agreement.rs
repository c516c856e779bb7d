//! Agreement with the reference scanner, rule for rule, on the reference target.
//!
//! Runs only when `ATO_REFERENCE_TARGET` names a tree built by
//! `../shared/fixtures/build-target.sh` (`.ci/run` builds one). For each profile, OpenSCAP's
//! results come from `../shared/fixtures/oscap-reference.sh` (cached in `ATO_REFERENCE_DIR`,
//! default `target/reference`), ato scans the same tree with `--root`, and every rule must
//! have the same result. The one exception is the rules OpenSCAP cannot decide in a tree
//! (`error` for systemd services, since no systemd runs there): for those, ato's answer is
//! checked against systemd's own offline answer, `systemctl --root TREE is-enabled UNIT`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn reference_dir() -> PathBuf {
    match std::env::var_os("ATO_REFERENCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/reference"),
    }
}

/// Rule id -> result of every rule-result in an XCCDF results file.
fn rule_results(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opts)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for rr in doc
        .descendants()
        .filter(|n| n.has_tag_name((XCCDF, "rule-result")))
    {
        let id = rr.attribute("idref").unwrap_or_default().to_string();
        let result = rr
            .children()
            .find(|c| c.has_tag_name((XCCDF, "result")))
            .and_then(|c| c.text())
            .unwrap_or_default()
            .to_string();
        out.insert(id, result);
    }
    out
}

/// The systemd unit a service rule is about, and whether the rule wants it enabled.
fn service_rule(rule: &str) -> Option<(String, bool)> {
    let short = rule.rsplit_once("_rule_")?.1;
    for (prefix, suffix) in [
        ("service_", "service"),
        ("socket_", "socket"),
        ("timer_", "timer"),
    ] {
        if let Some(rest) = short.strip_prefix(prefix) {
            if let Some(name) = rest.strip_suffix("_enabled") {
                return Some((format!("{}.{suffix}", name.replace('_', "-")), true));
            }
            if let Some(name) = rest.strip_suffix("_disabled") {
                return Some((format!("{}.{suffix}", name.replace('_', "-")), false));
            }
        }
    }
    None
}

/// What `systemctl --root` says of a unit, trying the names SSG may mean (`rsyslog`,
/// `ntp_d` style underscores are dashes or stay).
fn systemctl_is_enabled(tree: &Path, unit: &str) -> String {
    let out = Command::new("systemctl")
        .arg("--root")
        .arg(tree)
        .arg("is-enabled")
        .arg(unit)
        .output()
        .expect("systemctl runs (install systemd on the host)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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

fn ato_scan(target: &Path, ds: &str, profile: &str, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_ato"))
        .args(["scan", "--quiet", "--root"])
        .arg(target)
        .arg("--profile")
        .arg(profile)
        .arg("--results")
        .arg(out)
        .arg(target.join("root/content").join(ds))
        .status()
        .expect("ato runs");
    assert!(
        matches!(status.code(), Some(0) | Some(2)),
        "ato scan failed: {status}"
    );
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
    for profile in profiles(&target.join("root/content").join(ds)) {
        let reference = rule_results(&reference(target, ds, &profile));
        let ours_path = tmp.path().join("ato.xml");
        {
            let _proc = ProcMount::new(target);
            ato_scan(target, ds, &profile, &ours_path);
        }
        let ours = rule_results(&ours_path);
        let (mut same, mut decided_by_systemd) = (0, 0);
        for (rule, expected) in &reference {
            let got = ours.get(rule).map(String::as_str).unwrap_or("(missing)");
            if got == expected {
                same += 1;
                continue;
            }
            if expected == "error" {
                if let Some((unit, want_enabled)) = service_rule(rule) {
                    let state = systemctl_is_enabled(target, &unit);
                    let enabled = state == "enabled";
                    let right = if enabled == want_enabled {
                        "pass"
                    } else {
                        "fail"
                    };
                    if got == right {
                        decided_by_systemd += 1;
                        continue;
                    }
                    problems.push(format!(
                        "{ds} {profile}: {rule}: ato {got}, OpenSCAP error, systemctl says \
                         {unit} is `{state}`, so the answer is {right}"
                    ));
                    continue;
                }
            }
            problems.push(format!(
                "{ds} {profile}: {rule}: ato {got}, OpenSCAP {expected}"
            ));
        }
        for rule in ours.keys().filter(|r| !reference.contains_key(*r)) {
            problems.push(format!("{ds} {profile}: {rule}: only in ato's results"));
        }
        eprintln!(
            "{ds} {profile}: {same} of {} rules agree, {decided_by_systemd} decided by systemctl \
             where OpenSCAP gives error",
            reference.len()
        );
    }
    problems
}

/// Mounts `/proc` in the target for as long as it lives, as `oscap-reference.sh` does for
/// OpenSCAP: kernel facts (sysctl, uname) are read from the tree's `/proc`, so both scanners
/// see the same kernel.
struct ProcMount(Option<PathBuf>);

impl ProcMount {
    fn new(target: &Path) -> ProcMount {
        let proc = target.join("proc");
        let mounted = Command::new("mountpoint").arg("-q").arg(&proc).status();
        if mounted.is_ok_and(|s| s.success()) {
            return ProcMount(None);
        }
        let status = Command::new("mount")
            .args(["-t", "proc", "proc"])
            .arg(&proc)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cannot mount proc at {}",
            proc.display()
        );
        ProcMount(Some(proc))
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        if let Some(proc) = &self.0 {
            let _ = Command::new("umount").arg(proc).status();
        }
    }
}

fn reference_target() -> Option<PathBuf> {
    let t = PathBuf::from(std::env::var_os("ATO_REFERENCE_TARGET")?);
    assert!(
        t.join(".complete").exists(),
        "ATO_REFERENCE_TARGET={} is not a target built by build-target.sh",
        t.display()
    );
    Some(t)
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
fn service_rules_name_their_units() {
    assert_eq!(
        service_rule("xccdf_org.ssgproject.content_rule_service_auditd_enabled"),
        Some(("auditd.service".to_string(), true))
    );
    assert_eq!(
        service_rule("xccdf_org.ssgproject.content_rule_socket_systemd-journal-remote_disabled"),
        Some(("systemd-journal-remote.socket".to_string(), false))
    );
    assert_eq!(
        service_rule("xccdf_org.ssgproject.content_rule_package_aide_installed"),
        None
    );
}
