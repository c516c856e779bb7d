//! ARF and OVAL results of a scan of a small tree, checked by the reference tools where they
//! are installed: `oscap ds rds-validate`, `xmllint` against the OVAL 5.11 results schema, and
//! `oscap xccdf generate report`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ato_content::{Content, LoadOptions};
use ato_target::Target;
use ato_xccdf::arf::{arf_document, AssetInfo, Connection};
use ato_xccdf::oval_results::{oval_results_xml, result_file_name, Generator, SystemInfo};
use ato_xccdf::results::{self, ScanTimes, TargetFacts};
use ato_xccdf::{scan, ScanRequest};

const BASELINE: &str = include_str!("../../ato/baseline/ato-baseline-ds.xml");
const OVAL_RESULTS_SCHEMA: &str = "/usr/share/openscap/schemas/oval/5.11.3/oval-results-schema.xsd";

struct Written {
    arf: PathBuf,
    oval: Vec<PathBuf>,
}

/// Scans `root` with `content` and writes the ARF and each OVAL results file into `out`.
fn scan_and_write(content: &Content, profile: Option<&str>, root: &Path, out: &Path) -> Written {
    let target = Target::offline(root).unwrap();
    let bench = &content.benchmark;
    let profile = profile.map(|p| ato_xccdf::find_profile(bench, p).unwrap());
    let policy = ato_xccdf::resolve(bench, profile).unwrap();
    let request = ScanRequest {
        content,
        policy: &policy,
        target: &target,
        only_rules: HashSet::new(),
        skip_rules: HashSet::new(),
        progress: None,
    };
    let outcome = scan(&request);
    let times = ScanTimes {
        start: "2024-05-01T12:00:00+00:00".into(),
        end: "2024-05-01T12:00:05+00:00".into(),
    };
    let facts = TargetFacts {
        host_name: "web01".into(),
        root: Some(root.display().to_string()),
        user: "root".into(),
        privileged: true,
    };
    let score = results::default_score(bench, &outcome);
    let tr = results::test_result_xml(content, &policy, &outcome, &facts, &times, score);

    let mut system = SystemInfo::from_target(&target);
    system.interfaces.push(ato_xccdf::oval_results::Interface {
        name: "eth0".into(),
        ip_address: "192.0.2.10".into(),
        mac_address: "52:54:00:12:34:56".into(),
    });
    let mut asset = AssetInfo::from_system(&system);
    asset.connections.push(Connection {
        ip: Some("2001:db8::1".parse().unwrap()),
        mac: None,
    });
    let generator = Generator::ato("2024-05-01T12:00:00");

    let arf = out.join("arf.xml");
    let doc = arf_document(content, &tr, &outcome, &asset, &system, &generator);
    results::write_atomically(&arf, doc.as_bytes()).unwrap();
    let mut oval = Vec::new();
    for run in outcome.oval.iter().chain(&outcome.cpe_oval) {
        let path = out.join(result_file_name(&run.href));
        let text = oval_results_xml(run, &generator, &system);
        results::write_atomically(&path, text.as_bytes()).unwrap();
        oval.push(path);
    }
    Written { arf, oval }
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        (
            "etc/os-release",
            "NAME=\"Debian GNU/Linux\"\nVERSION=\"12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        ("etc/hostname", "web01\n"),
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\n",
        ),
        ("etc/group", "root:x:0:\n"),
        ("etc/shadow", "root:!:19000:0:99999:7:::\n"),
        (
            "etc/ssh/sshd_config",
            "PermitRootLogin yes\nPermitEmptyPasswords no\n",
        ),
        ("etc/login.defs", "PASS_MAX_DAYS 99999\nUMASK 022\n"),
        ("var/lib/dpkg/status", ""),
    ];
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// Whether `tool` runs; missing tools fail the test on CI.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is needed to validate the results on CI"
        );
        eprintln!("skipping the `{tool}` checks: it is not installed");
    }
    found
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn validate(w: &Written) {
    if have("oscap") {
        run(Command::new("oscap")
            .args(["ds", "rds-validate"])
            .arg(&w.arf));
        let html = w.arf.with_extension("html");
        run(Command::new("oscap")
            .args(["xccdf", "generate", "report", "--output"])
            .arg(&html)
            .arg(&w.arf));
        assert!(std::fs::metadata(&html).unwrap().len() > 0);
    }
    if have("xmllint") && Path::new(OVAL_RESULTS_SCHEMA).exists() {
        for f in &w.oval {
            run(Command::new("xmllint")
                .args(["--noout", "--schema", OVAL_RESULTS_SCHEMA])
                .arg(f));
        }
    }
}

#[test]
fn baseline_arf_and_oval_results_validate() {
    let content = Content::from_str(
        BASELINE,
        Path::new("ato-baseline-ds.xml"),
        &LoadOptions::default(),
    )
    .unwrap();
    let root = tree();
    let out = tempfile::tempdir().unwrap();
    let w = scan_and_write(&content, None, root.path(), out.path());

    let arf = std::fs::read_to_string(&w.arf).unwrap();
    let doc = roxmltree::Document::parse(&arf).unwrap();
    let ns = ato_xccdf::arf::NS_ARF;
    let reports: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "report")))
        .filter_map(|n| n.attribute("id"))
        .collect();
    assert_eq!(reports[0], "xccdf1");
    assert_eq!(reports.len(), 1 + w.oval.len());
    // Check references name the OVAL reports of the ARF.
    let hrefs: HashSet<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "check-content-ref")
        .filter(|n| n.ancestors().any(|a| a.tag_name().name() == "TestResult"))
        .filter_map(|n| n.attribute("href"))
        .collect();
    assert!(!hrefs.is_empty());
    assert!(hrefs.iter().all(|h| h.starts_with("#oval")), "{hrefs:?}");
    assert!(arf.contains("<ai:hostname>web01</ai:hostname>"));
    assert!(arf.contains("<ai:ip-v6>2001:db8:0:0:0:0:0:1</ai:ip-v6>"));

    for f in &w.oval {
        let text = std::fs::read_to_string(f).unwrap();
        roxmltree::Document::parse(&text).unwrap();
        assert!(text.contains("<os_name>Debian GNU/Linux</os_name>"));
    }
    validate(&w);
}

/// Scans a real tree with real content and keeps the files, for measuring:
/// `ATO_ARF_DS=ssg-ubuntu2004-ds.xml ATO_ARF_ROOT=/var/tmp/ato-target ATO_ARF_PROFILE=stig
/// ATO_ARF_OUT=/tmp/arf cargo test -p ato-xccdf --release --test arf -- --ignored`.
#[test]
#[ignore]
fn measure_real_content() {
    let var = |k: &str| std::env::var(k).ok();
    let (Some(ds), Some(root), Some(out)) =
        (var("ATO_ARF_DS"), var("ATO_ARF_ROOT"), var("ATO_ARF_OUT"))
    else {
        eprintln!("set ATO_ARF_DS, ATO_ARF_ROOT and ATO_ARF_OUT");
        return;
    };
    let content = Content::load(Path::new(&ds), &LoadOptions::default()).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let start = std::time::Instant::now();
    let w = scan_and_write(
        &content,
        var("ATO_ARF_PROFILE").as_deref(),
        Path::new(&root),
        Path::new(&out),
    );
    eprintln!("scan and write: {:?}", start.elapsed());
    for f in std::iter::once(&w.arf).chain(&w.oval) {
        eprintln!(
            "{}: {} bytes",
            f.display(),
            std::fs::metadata(f).unwrap().len()
        );
    }
    if var("ATO_ARF_VALIDATE").is_some() {
        validate(&w);
    }
}
