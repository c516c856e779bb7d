//! ARF 1.1 result data streams (NIST IR 7694), shaped as `oscap xccdf eval --results-arf`
//! writes them.
//!
//! The collection holds, in this order: the relationships (each report `isAbout` the asset
//! and was `createdFor` the request), the report request carrying the source data stream,
//! the asset (an `ai:computing-device`), and the reports: the XCCDF `TestResult` (`xccdf1`)
//! and one OVAL results document per evaluated OVAL document (`oval0`, `oval1`, ...: the
//! benchmark's documents first, then the CPE dictionary's). In the embedded `TestResult`,
//! each `check-content-ref` names its OVAL report (`href="#oval0"`) instead of the source
//! document, and a `target-id-ref` names the asset.

use std::fmt::Write as _;
use std::net::IpAddr;

use ato_content::Content;

use crate::eval::ScanResult;
use crate::oval_results::{write_oval_results, Generator, SystemInfo};
use crate::results::escape;

/// The ARF 1.1 namespace.
pub const NS_ARF: &str = "http://scap.nist.gov/schema/asset-reporting-format/1.1";
/// The reporting core 1.1 namespace (relationships).
pub const NS_CORE: &str = "http://scap.nist.gov/schema/reporting-core/1.1";
/// The asset identification 1.1 namespace.
pub const NS_AI: &str = "http://scap.nist.gov/schema/asset-identification/1.1";
const NS_ARF_VOCAB: &str = "http://scap.nist.gov/specifications/arf/vocabulary/relationships/1.0#";

const REQUEST_ID: &str = "collection1";
const ASSET_ID: &str = "asset0";
const XCCDF_REPORT_ID: &str = "xccdf1";

/// What identifies the scanned asset.
#[derive(Debug, Clone, Default)]
pub struct AssetInfo {
    /// Written when it fits the schema's pattern (letters, digits, `_`, `-`, dots).
    pub hostname: Option<String>,
    pub fqdn: Option<String>,
    pub connections: Vec<Connection>,
}

/// One network connection of the asset.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub ip: Option<IpAddr>,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: Option<String>,
}

impl AssetInfo {
    /// The asset as the OVAL system information describes it: its host name and the
    /// interfaces' addresses.
    pub fn from_system(system: &SystemInfo) -> AssetInfo {
        let hostname = Some(system.primary_host_name.clone()).filter(|h| h != "Unknown");
        let connections = system
            .interfaces
            .iter()
            .map(|i| Connection {
                // `inet_addr` may carry a `/prefix`.
                ip: i.ip_address.split('/').next().and_then(|a| a.parse().ok()),
                mac: Some(i.mac_address.clone()).filter(|m| !m.is_empty()),
            })
            .collect();
        AssetInfo {
            fqdn: hostname.clone().filter(|h| h.contains('.')),
            hostname,
            connections,
        }
    }
}

/// The ARF document: `test_result_xml` is the `TestResult` element that
/// [`crate::results::test_result_xml`] wrote for `scan`; the OVAL results are written from
/// `scan.oval` and `scan.cpe_oval` with `generator` and `system`.
pub fn arf_document(
    content: &Content,
    test_result_xml: &str,
    scan: &ScanResult,
    asset: &AssetInfo,
    system: &SystemInfo,
    generator: &Generator<'_>,
) -> String {
    let source = strip_prolog(&content.source);
    let mut out = String::with_capacity(source.len() + test_result_xml.len() * 2 + 64 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<arf:asset-report-collection xmlns:arf=\"{NS_ARF}\" xmlns:core=\"{NS_CORE}\" xmlns:ai=\"{NS_AI}\">"
    );

    let oval_ids: Vec<String> = (0..scan.oval.len() + scan.cpe_oval.len())
        .map(|i| format!("oval{i}"))
        .collect();
    let _ = writeln!(
        out,
        "  <core:relationships xmlns:arfvocab=\"{NS_ARF_VOCAB}\">"
    );
    for subject in std::iter::once(XCCDF_REPORT_ID).chain(oval_ids.iter().map(String::as_str)) {
        relationship(&mut out, "createdFor", subject, REQUEST_ID);
        relationship(&mut out, "isAbout", subject, ASSET_ID);
    }
    out.push_str("  </core:relationships>\n");

    out.push_str("  <arf:report-requests>\n");
    let _ = writeln!(
        out,
        "    <arf:report-request id=\"{REQUEST_ID}\">\n      <arf:content>"
    );
    out.push_str(source);
    out.push_str("\n      </arf:content>\n    </arf:report-request>\n  </arf:report-requests>\n");

    write_asset(&mut out, asset);

    out.push_str("  <arf:reports>\n");
    let _ = writeln!(
        out,
        "    <arf:report id=\"{XCCDF_REPORT_ID}\">\n      <arf:content>"
    );
    out.push_str(&rewrite_test_result(test_result_xml, scan));
    out.push_str("      </arf:content>\n    </arf:report>\n");
    for (run, id) in scan.oval.iter().chain(&scan.cpe_oval).zip(&oval_ids) {
        let _ = writeln!(out, "    <arf:report id=\"{id}\">\n      <arf:content>");
        write_oval_results(&mut out, run, generator, system);
        out.push_str("      </arf:content>\n    </arf:report>\n");
    }
    out.push_str("  </arf:reports>\n</arf:asset-report-collection>\n");
    out
}

fn relationship(out: &mut String, kind: &str, subject: &str, target: &str) {
    let _ = writeln!(
        out,
        "    <core:relationship type=\"arfvocab:{kind}\" subject=\"{subject}\">\n      <core:ref>{target}</core:ref>\n    </core:relationship>"
    );
}

/// The document without its XML declaration, byte order mark or leading blank space.
fn strip_prolog(source: &str) -> &str {
    let s = source.trim_start_matches('\u{feff}').trim_start();
    let s = match s.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(s, |end| &rest[end + 2..]),
        None => s,
    };
    s.trim()
}

fn write_asset(out: &mut String, asset: &AssetInfo) {
    let _ = writeln!(
        out,
        "  <arf:assets>\n    <arf:asset id=\"{ASSET_ID}\">\n      <ai:computing-device>"
    );
    let connections: Vec<String> = asset.connections.iter().filter_map(connection).collect();
    if !connections.is_empty() {
        out.push_str("        <ai:connections>\n");
        for c in connections {
            out.push_str(&c);
        }
        out.push_str("        </ai:connections>\n");
    }
    // The schema limits both to letters, digits, `_`, `-` and dots.
    let valid = |h: &&String| {
        !h.is_empty()
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            })
    };
    if let Some(f) = asset.fqdn.as_ref().filter(valid) {
        let _ = writeln!(out, "        <ai:fqdn>{}</ai:fqdn>", escape(f));
    }
    if let Some(h) = asset.hostname.as_ref().filter(valid) {
        let _ = writeln!(out, "        <ai:hostname>{}</ai:hostname>", escape(h));
    }
    out.push_str("      </ai:computing-device>\n    </arf:asset>\n  </arf:assets>\n");
}

/// One `ai:connection`, or `None` when nothing about it fits the schema.
fn connection(c: &Connection) -> Option<String> {
    let ip = c.ip.map(|ip| match ip {
        IpAddr::V4(v4) => format!("<ai:ip-v4>{v4}</ai:ip-v4>"),
        // The schema wants all eight groups, uncompressed.
        IpAddr::V6(v6) => {
            let groups: Vec<String> = v6.segments().iter().map(|g| format!("{g:x}")).collect();
            format!("<ai:ip-v6>{}</ai:ip-v6>", groups.join(":"))
        }
    });
    let mac = c.mac.as_deref().filter(|m| is_mac(m));
    if ip.is_none() && mac.is_none() {
        return None;
    }
    let mut s = String::from("          <ai:connection>");
    if let Some(ip) = ip {
        let _ = write!(s, "<ai:ip-address>{ip}</ai:ip-address>");
    }
    if let Some(mac) = mac {
        let _ = write!(s, "<ai:mac-address>{mac}</ai:mac-address>");
    }
    s.push_str("</ai:connection>\n");
    Some(s)
}

fn is_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The `TestResult` as the ARF carries it: check references name the OVAL reports, and a
/// `target-id-ref` after the target facts names the asset.
fn rewrite_test_result(test_result: &str, scan: &ScanResult) -> String {
    let mut x = test_result.to_string();
    for (i, run) in scan.oval.iter().enumerate() {
        let from = format!(" href=\"{}\"/>", escape(&run.href));
        if x.contains(&from) {
            x = x.replace(&from, &format!(" href=\"#oval{i}\"/>"));
        }
    }
    let id_ref = format!("    <target-id-ref system=\"{NS_AI}\" name=\"{ASSET_ID}\" href=\"\"/>\n");
    match x.find("</target-facts>\n") {
        Some(at) => x.insert_str(at + "</target-facts>\n".len(), &id_ref),
        None => {
            // Without target facts, the reference follows the target.
            if let Some(at) = x.find("</target>\n") {
                x.insert_str(at + "</target>\n".len(), &id_ref);
            }
        }
    }
    if !x.ends_with('\n') {
        x.push('\n');
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prolog_is_stripped() {
        let s = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a/>\n";
        assert_eq!(strip_prolog(s), "<a/>");
        assert_eq!(strip_prolog("<a/>"), "<a/>");
    }

    #[test]
    fn connections_fit_the_schema() {
        let c = Connection {
            ip: Some("fe80::1".parse().unwrap()),
            mac: Some("not a mac".into()),
        };
        assert_eq!(
            connection(&c).unwrap().trim(),
            "<ai:connection><ai:ip-address><ai:ip-v6>fe80:0:0:0:0:0:0:1</ai:ip-v6></ai:ip-address></ai:connection>"
        );
        let none = Connection {
            ip: None,
            mac: Some("52:54:00:zz:34:56".into()),
        };
        assert!(connection(&none).is_none());
    }
}
