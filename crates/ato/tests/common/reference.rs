//! The reference target and what the agreement tests need of it: reading XCCDF results, the
//! systemd oracle for the rules OpenSCAP cannot decide in a tree, `/proc` in the tree while ato
//! scans it, and the rule-for-rule comparison with OpenSCAP's results.
//!
//! Included by the tests that use it with `#[path = "common/reference.rs"] mod reference;`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";

/// The shared directory beside the repository (fixtures, reference notes).
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Rule id -> result of every rule-result in an XCCDF results file.
pub fn rule_results(path: &Path) -> BTreeMap<String, String> {
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
pub fn wanted(tree: &Path, target: &str, unit: &str) -> bool {
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
pub fn masked(tree: &Path, unit: &str) -> bool {
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
pub fn systemd_oracle(tree: &Path, ds: &str, rule: &str) -> Option<(bool, String)> {
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

/// How ato's results of one scan compare with OpenSCAP's.
#[derive(Debug, Default)]
pub struct Agreement {
    /// Rules with the same result.
    pub same: usize,
    /// Rules OpenSCAP gives `error` for (a systemd question) where ato gives the answer of
    /// the tree's own unit files.
    pub decided_by_systemd: usize,
    /// One line per disagreement.
    pub problems: Vec<String>,
}

/// Compares ato's results (`ours`) with OpenSCAP's (`reference`) rule for rule. `tree` is the
/// scanned tree, `ds_text` the data stream's text (for the oracle) and `label` starts each
/// problem line.
pub fn compare(
    tree: &Path,
    ds_text: &str,
    reference: &BTreeMap<String, String>,
    ours: &BTreeMap<String, String>,
    label: &str,
) -> Agreement {
    let mut a = Agreement::default();
    for (rule, expected) in reference {
        let got = ours.get(rule).map(String::as_str).unwrap_or("(missing)");
        if got == expected {
            a.same += 1;
            continue;
        }
        if expected == "error" {
            if let Some((pass, why)) = systemd_oracle(tree, ds_text, rule) {
                let right = if pass { "pass" } else { "fail" };
                if got == right {
                    a.decided_by_systemd += 1;
                    continue;
                }
                a.problems.push(format!(
                    "{label}: {rule}: ato {got}, OpenSCAP error; the tree's unit \
                     files say {right} ({why})"
                ));
                continue;
            }
        }
        a.problems
            .push(format!("{label}: {rule}: ato {got}, OpenSCAP {expected}"));
    }
    for rule in ours.keys().filter(|r| !reference.contains_key(*r)) {
        a.problems
            .push(format!("{label}: {rule}: only in ato's results"));
    }
    a
}

pub fn ato_scan(target: &Path, ds: &str, profile: &str, out: &Path) {
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

/// Exclusive use of the reference target while it lives: the tests of one run (threads of one
/// test binary) and of other processes mount `/proc` in it and run OpenSCAP inside it, and one
/// must not unmount what another is using. An `flock` on `<target>.lock` beside the tree.
pub struct TargetLock(#[allow(dead_code)] std::fs::File);

impl TargetLock {
    pub fn take(target: &Path) -> TargetLock {
        let mut name = target.as_os_str().to_owned();
        name.push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(name))
            .expect("the lock file beside the reference target can be opened");
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .expect("the reference target can be locked");
        TargetLock(file)
    }
}

/// Mounts `/proc` in the target for as long as it lives, as `oscap-reference.sh` does for
/// OpenSCAP: kernel facts (sysctl, uname) are read from the tree's `/proc`, so both scanners
/// see the same kernel. Holds the [`TargetLock`] meanwhile.
pub struct ProcMount {
    proc: Option<PathBuf>,
    _lock: TargetLock,
}

impl ProcMount {
    pub fn new(target: &Path) -> ProcMount {
        let lock = TargetLock::take(target);
        let proc = target.join("proc");
        let mounted = Command::new("mountpoint").arg("-q").arg(&proc).status();
        if mounted.is_ok_and(|s| s.success()) {
            return ProcMount {
                proc: None,
                _lock: lock,
            };
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
        ProcMount {
            proc: Some(proc),
            _lock: lock,
        }
    }
}

impl Drop for ProcMount {
    fn drop(&mut self) {
        if let Some(proc) = &self.proc {
            let _ = Command::new("umount").arg(proc).status();
        }
    }
}

pub fn reference_target() -> Option<PathBuf> {
    let t = PathBuf::from(std::env::var_os("ATO_REFERENCE_TARGET")?);
    assert!(
        t.join(".complete").exists(),
        "ATO_REFERENCE_TARGET={} is not a target built by build-target.sh",
        t.display()
    );
    Some(t)
}
