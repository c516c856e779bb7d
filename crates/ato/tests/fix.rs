//! `ato fix` against the reference: the same fixes as `oscap xccdf generate fix`, a playbook
//! that Ansible accepts, and fixes that, applied in a copy of the reference target, turn
//! failing rules into passing ones on which ato and OpenSCAP then agree.

#[path = "common/reference.rs"]
mod reference;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use reference::{ato_scan, compare, reference_target, rule_results, shared, ProcMount};

const SSG_UBUNTU2004: &str = "/usr/share/xml/scap/ssg/content/ssg-ubuntu2004-ds.xml";
const STIG: &str = "xccdf_org.ssgproject.content_profile_stig";
const CIS_L2_SERVER: &str = "xccdf_org.ssgproject.content_profile_cis_level2_server";

/// Whether the tools a test needs are there. Without them the test is skipped, except under CI
/// (env `CI` set), where a missing tool is a failure.
fn have(tools: &[&str], files: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t}"))
                .stdout(Stdio::null())
                .status()
                .map_or(true, |s| !s.success())
        })
        .chain(files.iter().copied().filter(|f| !Path::new(f).exists()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {missing:?} are missing"
    );
    eprintln!("skipped: {missing:?} missing");
    false
}

fn ato(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ato"))
        .args(args)
        .output()
        .expect("ato runs");
    assert!(
        out.status.success(),
        "ato {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 script")
}

/// Trailing whitespace of each line and trailing blank lines removed.
fn normalise(lines: &[&str]) -> String {
    let mut out: Vec<&str> = lines.iter().map(|l| l.trim_end()).collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Rule id -> fix body of an `oscap xccdf generate fix --fix-type bash` script, in order,
/// leaving out the rules it marks as having no fix. Each rule is framed by a `# BEGIN fix (i /
/// n) for 'ID'` line, a ruler, an echo of progress, and `# END fix for 'ID'`.
fn oscap_bodies(script: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = script.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(id) = lines[i]
            .strip_prefix("# BEGIN fix (")
            .and_then(|rest| rest.split_once(") for '"))
            .and_then(|(_, rest)| rest.strip_suffix('\''))
        else {
            i += 1;
            continue;
        };
        let end = format!("# END fix for '{id}'");
        let start = i + 3;
        let len = lines[start..]
            .iter()
            .position(|l| *l == end)
            .unwrap_or_else(|| panic!("no end of {id} in oscap's script"));
        let body = normalise(&lines[start..start + len]);
        let missing = !body.contains('\n') && body.contains("IS MISSING!");
        if !missing {
            out.push((id.to_string(), body));
        }
        i = start + len + 1;
    }
    out
}

/// Rule id -> fix body of our script: the lines between `ato_begin N 'ID'` + `(` and `)` +
/// `ato_end $? 'ID'`.
fn ato_bodies(script: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = script.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(id) = lines[i]
            .strip_prefix("ato_begin ")
            .and_then(|rest| rest.split_once(" '"))
            .and_then(|(_, rest)| rest.strip_suffix('\''))
        else {
            i += 1;
            continue;
        };
        assert_eq!(lines[i + 1], "(", "{id}");
        let end = format!("ato_end $? '{id}'");
        let start = i + 2;
        let len = lines[start..]
            .iter()
            .position(|l| *l == end)
            .unwrap_or_else(|| panic!("no end of {id} in our script"));
        assert_eq!(lines[start + len - 1], ")", "{id}");
        out.push((id.to_string(), normalise(&lines[start..start + len - 1])));
        i = start + len + 1;
    }
    out
}

fn bash_syntax_ok(script: &Path) {
    let status = Command::new("bash").arg("-n").arg(script).status().unwrap();
    assert!(status.success(), "bash -n {}", script.display());
}

#[test]
fn bash_fixes_match_oscap_generate_fix_rule_by_rule() {
    if !have(&["oscap", "bash"], &[SSG_UBUNTU2004]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for profile in [STIG, CIS_L2_SERVER] {
        let out = Command::new("oscap")
            .args([
                "xccdf",
                "generate",
                "fix",
                "--fix-type",
                "bash",
                "--profile",
            ])
            .arg(profile)
            .arg(SSG_UBUNTU2004)
            .output()
            .expect("oscap runs");
        assert!(out.status.success(), "oscap generate fix: {}", out.status);
        let theirs = oscap_bodies(&String::from_utf8_lossy(&out.stdout));
        let script = ato(&["fix", "--profile", profile, SSG_UBUNTU2004]);
        let ours = ato_bodies(&script);

        let ids = |v: &[(String, String)]| v.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&ours),
            ids(&theirs),
            "{profile}: rules or their order differ"
        );
        let theirs: BTreeMap<_, _> = theirs.into_iter().collect();
        let differ: Vec<&String> = ours
            .iter()
            .filter(|(id, body)| theirs.get(id) != Some(body))
            .map(|(id, _)| id)
            .collect();
        eprintln!(
            "{profile}: {} rules compared with oscap, {} differ",
            ours.len(),
            differ.len()
        );
        assert!(!ours.is_empty());
        assert!(
            differ.is_empty(),
            "{profile}: fix bodies differ: {differ:?}"
        );

        let path = tmp.path().join("fix.sh");
        std::fs::write(&path, &script).unwrap();
        bash_syntax_ok(&path);
    }
}

#[test]
fn the_stig_playbook_passes_ansible_syntax_check() {
    if !have(&["ansible-playbook"], &[SSG_UBUNTU2004]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("stig.yml");
    ato(&[
        "fix",
        "--profile",
        "stig",
        "--fix-type",
        "ansible",
        "--output",
        book.to_str().unwrap(),
        SSG_UBUNTU2004,
    ]);
    let out = Command::new("ansible-playbook")
        .args(["--syntax-check", "-i", "localhost,"])
        .arg(&book)
        .env("ANSIBLE_LOCAL_TEMP", tmp.path())
        .env("ANSIBLE_HOME", tmp.path())
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "ansible-playbook --syntax-check: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&book).unwrap();
    let tasks = text
        .lines()
        .filter(|l| l.starts_with("    - name:"))
        .count();
    eprintln!("stig playbook: {tasks} tasks, accepted by ansible-playbook --syntax-check");
    assert!(tasks > 0);
}

/// A copy of the reference target under /var/tmp (the tree itself is never written), removed
/// when dropped, after unmounting anything left mounted in it.
struct TargetCopy {
    dir: Option<tempfile::TempDir>,
}

impl TargetCopy {
    fn new(target: &Path) -> TargetCopy {
        let dir = tempfile::Builder::new()
            .prefix("ato-fix-target-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let copy = TargetCopy { dir: Some(dir) };
        // One file system: what another test has mounted in the target (its /proc) is not
        // copied; its mount point comes over as an empty directory.
        let status = Command::new("cp")
            .args(["-a", "--one-file-system"])
            .arg(target.join("."))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success(), "cp -a {} failed", target.display());
        std::fs::create_dir_all(copy.path().join("proc")).unwrap();
        copy
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(Path::new(""))
    }
}

impl Drop for TargetCopy {
    fn drop(&mut self) {
        let proc = self.path().join("proc");
        let mounted = Command::new("mountpoint").arg("-q").arg(&proc).status();
        if mounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&proc).status();
        }
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                eprintln!("cannot remove {}: {e}", path.display());
            }
        }
    }
}

/// Runs `/root/fix.sh` in the tree with bash from the tree, chrooted, in namespaces of its own:
/// a private mount namespace whose `/proc` (of a new PID namespace) is mounted in the tree and
/// gone with it, `/proc/sys` read-only so that no `sysctl -w` reaches this machine's kernel,
/// and an empty network namespace. Returns the script's exit status and its output.
fn run_fix_in(tree: &Path) -> (Option<i32>, String) {
    let proc = tree.join("proc");
    let inner = format!(
        "mount --bind {p}/sys {p}/sys && mount -o remount,bind,ro {p}/sys && \
         exec chroot {t} /bin/bash /root/fix.sh",
        p = proc.display(),
        t = tree.display()
    );
    let log = tree.join("root/fix.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let status = Command::new("timeout")
        .args([
            "900", "unshare", "--mount", "--net", "--ipc", "--uts", "--pid", "--fork",
        ])
        .arg(format!("--mount-proc={}", proc.display()))
        .args(["sh", "-c", &inner])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .status()
        .expect("unshare runs");
    (
        status.code(),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[test]
fn failed_rules_pass_after_their_fixes_and_oscap_agrees() {
    let Some(target) = reference_target() else {
        eprintln!("skipped: set ATO_REFERENCE_TARGET to a tree from build-target.sh");
        return;
    };
    let ds = "ssg-ubuntu2004-ds.xml";
    let copy = TargetCopy::new(&target);
    let tree = copy.path();
    let results = tempfile::tempdir().unwrap();
    let before = results.path().join("before.xml");
    let after = results.path().join("after.xml");

    {
        let _proc = ProcMount::new(tree);
        ato_scan(tree, ds, STIG, &before);
    }
    let content = tree.join("root/content").join(ds);
    let fix = tree.join("root/fix.sh");
    ato(&[
        "fix",
        "--results",
        before.to_str().unwrap(),
        "--output",
        fix.to_str().unwrap(),
        content.to_str().unwrap(),
    ]);
    bash_syntax_ok(&fix);
    let (code, log) = run_fix_in(tree);
    let summary: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("ato: ") && !l.starts_with("ato: ["))
        .collect();
    eprintln!("fix.sh exited with {code:?}:\n{}", summary.join("\n"));
    assert!(
        matches!(code, Some(0 | 1)),
        "fix.sh did not finish (status {code:?}; 124 is the timeout)"
    );
    {
        let _proc = ProcMount::new(tree);
        ato_scan(tree, ds, STIG, &after);
    }

    let (before, after) = (rule_results(&before), rule_results(&after));
    let fixed: Vec<&String> = before
        .iter()
        .filter(|(rule, r)| *r == "fail" && after.get(*rule).is_some_and(|a| a == "pass"))
        .map(|(rule, _)| rule)
        .collect();
    let broken: Vec<&String> = before
        .iter()
        .filter(|(rule, r)| *r == "pass" && after.get(*rule).is_some_and(|a| a == "fail"))
        .map(|(rule, _)| rule)
        .collect();
    let failing = before.values().filter(|r| *r == "fail").count();
    eprintln!(
        "{} rules went from fail to pass ({failing} failed before)",
        fixed.len()
    );
    assert!(!fixed.is_empty(), "no failing rule passes after its fix");
    assert!(
        broken.is_empty(),
        "rules went from pass to fail: {broken:?}"
    );

    let reference = results.path().join("oscap.xml");
    let status = Command::new("sh")
        .arg(shared().join("fixtures/oscap-reference.sh"))
        .arg(tree)
        .arg(ds)
        .arg(STIG)
        .arg(&reference)
        .status()
        .expect("oscap-reference.sh runs");
    assert!(status.success(), "oscap-reference.sh failed");
    let reference = rule_results(&reference);
    let ds_text = std::fs::read_to_string(&content).unwrap();
    let agreement = compare(tree, &ds_text, &reference, &after, "remediated copy");
    eprintln!(
        "remediated copy: {} of {} rules agree with OpenSCAP, {} decided by the unit files \
         where OpenSCAP gives error",
        agreement.same,
        reference.len(),
        agreement.decided_by_systemd
    );
    assert!(
        agreement.problems.is_empty(),
        "{} disagreements:\n{}",
        agreement.problems.len(),
        agreement.problems.join("\n")
    );
}

#[test]
fn a_single_rule_and_a_listing() {
    if !have(&[], &[SSG_UBUNTU2004]) {
        return;
    }
    let script = ato(&[
        "fix",
        "--profile",
        "stig",
        "--rule",
        "accounts_tmout",
        SSG_UBUNTU2004,
    ]);
    let bodies = ato_bodies(&script);
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0].1.contains("var_accounts_tmout='600'"),
        "{}",
        bodies[0].1
    );

    let list = ato(&["fix", "--profile", "stig", "--list", SSG_UBUNTU2004]);
    let first = list.lines().next().unwrap_or_default();
    assert!(first.ends_with(" with a bash fix"), "{list}");
    assert!(list.contains("\nyes  xccdf_org.ssgproject.content_rule_accounts_tmout "));
    assert!(list.contains("\nno   xccdf_org.ssgproject.content_rule_encrypt_partitions "));
}
