//! Agreement with the reference scanner, rule for rule, on the reference target.
//!
//! Runs only when `ATO_REFERENCE_TARGET` names a tree built by
//! `../shared/fixtures/build-target.sh` (`.ci/run` builds one). For each profile, OpenSCAP's
//! results come from `../shared/fixtures/oscap-reference.sh` (cached in `ATO_REFERENCE_DIR`,
//! default `target/reference`), ato scans the same tree with `--root`, and every rule must
//! have the same result. The one exception is the rules OpenSCAP cannot decide in a tree
//! (`error` for systemd services, since no systemd runs there): for those, ato's answer is
//! checked against what the tree's own unit links say (see `systemd_oracle`).

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

/// Directories whose `<target>.wants/` links enable units, in systemd's order.
const UNIT_DIRS: [&str; 4] = [
    "etc/systemd/system",
    "run/systemd/system",
    "lib/systemd/system",
    "usr/lib/systemd/system",
];

/// Whether `unit` is among the dependencies of `target`: its `.wants/` and `.requires/` links
/// and its `Wants=` and `Requires=` lines, following targets down as systemd starts them.
fn wanted(tree: &Path, target: &str, unit: &str) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = vec![target.to_string()];
    while let Some(t) = stack.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        let mut deps = Vec::new();
        for d in UNIT_DIRS {
            for kind in ["wants", "requires"] {
                if let Ok(rd) = std::fs::read_dir(tree.join(d).join(format!("{t}.{kind}"))) {
                    deps.extend(
                        rd.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned()),
                    );
                }
            }
        }
        if let Some(text) = UNIT_DIRS
            .iter()
            .find_map(|d| std::fs::read_to_string(tree.join(d).join(&t)).ok())
        {
            for line in text.lines() {
                if let Some(v) = line
                    .strip_prefix("Wants=")
                    .or_else(|| line.strip_prefix("Requires="))
                {
                    deps.extend(v.split_whitespace().map(str::to_string));
                }
            }
        }
        if deps.iter().any(|d| d == unit) {
            return true;
        }
        stack.extend(deps.into_iter().filter(|d| d.ends_with(".target")));
    }
    false
}

/// Whether `unit` is masked (linked to /dev/null) in the tree.
fn masked(tree: &Path, unit: &str) -> bool {
    ["etc/systemd/system", "run/systemd/system"]
        .iter()
        .any(|d| {
            std::fs::read_link(tree.join(d).join(unit)).is_ok_and(|t| t == Path::new("/dev/null"))
        })
}

/// The text of the element with id `id` in the data stream, up to its end tag.
fn element<'a>(ds: &'a str, id: &str) -> Option<&'a str> {
    let at = ds.find(&format!("id=\"{id}\""))?;
    let start = ds[..at].rfind('<')?;
    let name_end = start + ds[start..].find(char::is_whitespace)?;
    let close = format!("</{}>", &ds[start + 1..name_end]);
    let end = at + ds[at..].find(&close)? + close.len();
    Some(&ds[start..end])
}

/// The text of the first `<…:NAME …>text</…:NAME>` in `xml`.
fn child_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = xml.find(&format!(":{name}"))?;
    let gt = open + xml[open..].find('>')? + 1;
    let lt = gt + xml[gt..].find('<')?;
    Some(xml[gt..lt].trim())
}

/// What systemd's own files in the tree say of a rule that OpenSCAP cannot decide there
/// (`error`: it asks a systemd that does not run in a tree). The unit names come from the
/// rule's OVAL; the answer from the tree's links, read here without ato:
/// - `service_*_enabled` and the like: the unit (or its socket) is a dependency of
///   multi-user.target, through links or unit files; an OR of extended definitions is an OR
///   of those answers;
/// - `service_*_disabled`: the unit is masked;
/// - `aide_periodic_cron_checking`: a crontab runs `aide --check`, or aidecheck.timer is
///   enabled.
///
/// `None` when the rule is not one of these.
fn systemd_oracle(tree: &Path, ds: &str, rule: &str) -> Option<(bool, String)> {
    let short = rule.rsplit_once("_rule_")?.1;
    if short == "aide_periodic_cron_checking" {
        let mut files: Vec<PathBuf> = vec![tree.join("etc/crontab")];
        for d in [
            "etc/cron.d",
            "etc/cron.daily",
            "etc/cron.weekly",
            "etc/cron.hourly",
            "var/spool/cron/crontabs",
        ] {
            if let Ok(rd) = std::fs::read_dir(tree.join(d)) {
                files.extend(rd.flatten().map(|e| e.path()));
            }
        }
        let runs_check = |l: &str| {
            !l.trim_start().starts_with('#') && l.contains("aide") && l.contains("--check")
        };
        let cron = files
            .iter()
            .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.lines().any(runs_check)));
        let timer = wanted(tree, "timers.target", "aidecheck.timer");
        let why = format!("aide --check in a crontab: {cron}; aidecheck.timer enabled: {timer}");
        return Some((cron || timer, why));
    }
    let def = element(ds, &format!("oval:ssg-{short}:def:1"))?;
    decide_services(tree, ds, def)
}

fn decide_services(tree: &Path, ds: &str, def: &str) -> Option<(bool, String)> {
    const WANTS: &str = "test_multi_user_wants_";
    const MASKED: &str = "test_service_loadstate_is_masked_";
    if let Some(at) = def.find(MASKED) {
        let rest = &def[at + MASKED.len()..];
        let daemon = &rest[..rest.find(':')?];
        let obj = element(
            ds,
            &format!("oval:ssg-obj_service_loadstate_is_masked_{daemon}:obj:1"),
        )?;
        let unit = child_text(obj, "unit")?;
        let unit = unit
            .trim_start_matches('^')
            .trim_end_matches('$')
            .replace("\\.", ".");
        let m = masked(tree, &unit);
        return Some((m, format!("{unit} masked: {m}")));
    }
    if let Some(at) = def.find(WANTS) {
        let rest = &def[at + WANTS.len()..];
        let daemon = &rest[..rest.find(':')?];
        let mut units = Vec::new();
        for suffix in ["on", "socket_on"] {
            if let Some(st) = element(
                ds,
                &format!("oval:ssg-state_systemd_{daemon}_{suffix}:ste:1"),
            ) {
                units.push(child_text(st, "dependency")?.to_string());
            }
        }
        let linked: Vec<&String> = units
            .iter()
            .filter(|u| wanted(tree, "multi-user.target", u))
            .collect();
        return Some((
            !linked.is_empty(),
            format!("links for {units:?} in multi-user.target.wants: {linked:?}"),
        ));
    }
    // An OR of extended definitions (service_chronyd_or_ntpd_enabled).
    let mut any = false;
    let mut why = Vec::new();
    for part in def.split("definition_ref=\"").skip(1) {
        let id = &part[..part.find('"')?];
        let (r, w) = decide_services(tree, ds, element(ds, id)?)?;
        any |= r;
        why.push(w);
    }
    (!why.is_empty()).then(|| (any, why.join("; ")))
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
    let ds_text = std::fs::read_to_string(target.join("root/content").join(ds)).unwrap();
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
                if let Some((pass, why)) = systemd_oracle(target, &ds_text, rule) {
                    let right = if pass { "pass" } else { "fail" };
                    if got == right {
                        decided_by_systemd += 1;
                        continue;
                    }
                    problems.push(format!(
                        "{ds} {profile}: {rule}: ato {got}, OpenSCAP error; the tree's unit \
                         files say {right} ({why})"
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
