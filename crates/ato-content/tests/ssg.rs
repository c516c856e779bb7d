//! Loads the SCAP Security Guide data streams when Debian's ssg packages are installed.

use std::path::Path;

use ato_content::{Content, LoadOptions};

const SSG: &str = "/usr/share/xml/scap/ssg/content";

fn load(name: &str) -> Option<Content> {
    let path = Path::new(SSG).join(name);
    if !path.exists() {
        eprintln!("skipped: {} is not installed", path.display());
        return None;
    }
    Some(Content::load(&path, &LoadOptions::default()).expect("SSG content loads"))
}

#[test]
fn debian11_data_stream_loads_whole() {
    let Some(c) = load("ssg-debian11-ds.xml") else {
        return;
    };
    assert_eq!(
        c.benchmark.id,
        "xccdf_org.ssgproject.content_benchmark_DEBIAN-11"
    );
    assert_eq!(c.benchmark.rules().len(), 355);
    assert_eq!(c.benchmark.profiles.len(), 5);
    let oval = c
        .oval("ssg-debian11-oval.xml")
        .expect("main OVAL resolved through the catalog");
    assert!(oval.definitions.len() > 400);
    assert!(c
        .cpe_dictionary
        .as_ref()
        .is_some_and(|d| !d.items.is_empty()));
    assert!(!c.cpe_checks.is_empty());
    assert!(c.benchmark_xml.starts_with("<xccdf-1.2:Benchmark"));
    assert!(c
        .benchmark_xml
        .contains("xmlns:xccdf-1.2=\"http://checklists.nist.gov/xccdf/1.2\""));
    ato_content::parse_document(&c.benchmark_xml, Path::new("benchmark")).expect("stands alone");
}

#[test]
fn ubuntu2004_data_stream_loads() {
    let Some(c) = load("ssg-ubuntu2004-ds.xml") else {
        return;
    };
    assert!(c
        .benchmark
        .profile("xccdf_org.ssgproject.content_profile_stig")
        .is_some());
    assert!(c.oval("ssg-ubuntu2004-oval.xml").is_some());
}
