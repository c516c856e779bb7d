//! CKL, the XML checklist of DISA STIG Viewer 2 (checklist schema 2.5).
//!
//! The writer follows the schema's element order and enumerations: ASSET children in sequence,
//! VULN_ATTRIBUTE before ATTRIBUTE_DATA, one STIG_DATA per CCI_REF and LEGACY_ID, STATUS from
//! its four values. The reader takes what real tools write: a UTF-8 byte order mark, comments
//! from Evaluate-STIG and STIG Manager, self-closed empty elements, several iSTIGs, and files
//! that are not well-formed because of stray end tags (STIG Manager 1.3.13 writes extra
//! `</VULN>`), which it repairs with a warning.

use std::fmt::Write as _;
use std::path::Path;

use roxmltree::{Document, Node};

use ato_xccdf::results::escape;

use crate::checklist::{Asset, Checklist, Status, Stig, Vuln};
use crate::error::ArtifactError;

/// The banner comment ato writes before the root element.
pub fn banner() -> String {
    format!("ato :: {}", env!("CARGO_PKG_VERSION"))
}

/// Reads a CKL document; `path` names it in errors.
pub fn read(text: &str, path: &Path) -> Result<Checklist, ArtifactError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let repaired;
    let doc = match Document::parse(text) {
        Ok(d) => d,
        Err(first) => {
            repaired = drop_unmatched_end_tags(text);
            match Document::parse(&repaired) {
                Ok(d) => {
                    tracing::warn!(
                        "`{}` is not well-formed XML ({first}); read it with its stray end tags dropped",
                        path.display()
                    );
                    d
                }
                Err(_) => {
                    return Err(ArtifactError::Xml {
                        path: path.to_path_buf(),
                        source: first,
                    })
                }
            }
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "CHECKLIST" {
        return Err(ArtifactError::Format {
            path: path.to_path_buf(),
            message: format!(
                "the root element is `{}`, not `CHECKLIST`",
                root.tag_name().name()
            ),
        });
    }
    let mut checklist = Checklist {
        comments: doc
            .root()
            .children()
            .filter(Node::is_comment)
            .filter_map(|c| c.text().map(str::to_string))
            .collect(),
        ..Checklist::default()
    };
    if let Some(asset) = child(root, "ASSET") {
        checklist.asset = read_asset(asset);
    }
    for istig in child(root, "STIGS")
        .into_iter()
        .flat_map(|s| elements(s, "iSTIG"))
    {
        checklist.stigs.push(read_stig(istig));
    }
    Ok(checklist)
}

fn read_asset(node: Node<'_, '_>) -> Asset {
    let mut asset = Asset::default();
    for c in node.children().filter(Node::is_element) {
        let name = c.tag_name().name();
        match asset.field_mut(name) {
            Some(field) => *field = Some(text(c)),
            None => tracing::warn!("unknown ASSET element `{name}` left out"),
        }
    }
    asset
}

fn read_stig(node: Node<'_, '_>) -> Stig {
    let mut stig = Stig {
        comments: comments(node),
        ..Stig::default()
    };
    for si in child(node, "STIG_INFO")
        .into_iter()
        .flat_map(|i| elements(i, "SI_DATA"))
    {
        let name = child(si, "SID_NAME").map(text).unwrap_or_default();
        stig.info.push((name, child(si, "SID_DATA").map(text)));
    }
    for v in elements(node, "VULN") {
        stig.vulns.push(read_vuln(v));
    }
    stig
}

fn read_vuln(node: Node<'_, '_>) -> Vuln {
    let mut vuln = Vuln {
        comments: comments(node),
        ..Vuln::default()
    };
    for c in node.children().filter(Node::is_element) {
        match c.tag_name().name() {
            "STIG_DATA" => {
                let name = child(c, "VULN_ATTRIBUTE").map(text).unwrap_or_default();
                let value = child(c, "ATTRIBUTE_DATA").map(text).unwrap_or_default();
                vuln.data.push((name, value));
            }
            "STATUS" => {
                let s = text(c);
                vuln.status = Status::parse(&s).unwrap_or_else(|| {
                    tracing::warn!("unknown STATUS `{s}` read as Not_Reviewed");
                    Status::NotReviewed
                });
            }
            "FINDING_DETAILS" => vuln.finding_details = text(c),
            "COMMENTS" => vuln.review_comments = text(c),
            "SEVERITY_OVERRIDE" => vuln.severity_override = text(c),
            "SEVERITY_JUSTIFICATION" => vuln.severity_justification = text(c),
            other => tracing::warn!("unknown VULN element `{other}` left out"),
        }
    }
    vuln
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn elements<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// An element's text: its text and CDATA children joined (roxmltree resolves entities).
fn text(node: Node<'_, '_>) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

fn comments(node: Node<'_, '_>) -> Vec<String> {
    node.children()
        .filter(Node::is_comment)
        .filter_map(|c| c.text().map(str::to_string))
        .collect()
}

/// Drops end tags that close no open element, the one way in which the known malformed CKL
/// files break. Comments, CDATA sections and processing instructions are passed through.
fn drop_unmatched_end_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let skip_to = |rest: &str, end: &str| rest.find(end).map(|i| i + end.len());
        let len = if rest.starts_with("<!--") {
            skip_to(rest, "-->")
        } else if rest.starts_with("<![CDATA[") {
            skip_to(rest, "]]>")
        } else {
            skip_to(rest, ">")
        };
        let Some(len) = len else {
            break;
        };
        let tag = &rest[..len];
        if let Some(name) = tag.strip_prefix("</") {
            let name = name.trim_end_matches('>').trim();
            if open.contains(&name) {
                while let Some(top) = open.pop() {
                    if top == name {
                        break;
                    }
                }
                out.push_str(tag);
            }
        } else if !tag.starts_with("<?") && !tag.starts_with("<!") && !tag.ends_with("/>") {
            let name = tag[1..]
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or("");
            open.push(name);
            out.push_str(tag);
        } else {
            out.push_str(tag);
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// Writes a checklist as CKL. Required elements that the model lacks are written with the
/// schema's neutral value (ROLE `None`, ASSET_TYPE `Computing`, WEB_OR_DATABASE `false`,
/// otherwise empty); optional ones only when present.
pub fn write(checklist: &Checklist) -> String {
    let mut x = String::with_capacity(4096 + 4096 * checklist.stigs.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if checklist.comments.is_empty() {
        let _ = writeln!(x, "<!--{}-->", comment_text(&banner()));
    }
    for c in &checklist.comments {
        let _ = writeln!(x, "<!--{}-->", comment_text(c));
    }
    x.push_str("<CHECKLIST>\n\t<ASSET>\n");
    for (name, value) in checklist.asset.fields() {
        let value = match (value, name) {
            (Some(v), _) => v.as_str(),
            (None, "MARKING" | "HOST_GUID" | "TARGET_COMMENT" | "STIG_GUID") => continue,
            (None, "ROLE") => "None",
            (None, "ASSET_TYPE") => "Computing",
            (None, "WEB_OR_DATABASE") => "false",
            (None, _) => "",
        };
        element(&mut x, 2, name, schema_value(name, value));
    }
    x.push_str("\t</ASSET>\n\t<STIGS>\n");
    for stig in &checklist.stigs {
        write_stig(&mut x, stig);
    }
    x.push_str("\t</STIGS>\n</CHECKLIST>\n");
    x
}

fn write_stig(x: &mut String, stig: &Stig) {
    x.push_str("\t\t<iSTIG>\n");
    for c in &stig.comments {
        let _ = writeln!(x, "\t\t\t<!--{}-->", comment_text(c));
    }
    x.push_str("\t\t\t<STIG_INFO>\n");
    for (name, data) in &stig.info {
        if !SID_NAMES.contains(&name.as_str()) {
            tracing::warn!("STIG_INFO `{name}` is not in the checklist schema; left out");
            continue;
        }
        x.push_str("\t\t\t\t<SI_DATA>\n");
        element(x, 5, "SID_NAME", name);
        if let Some(d) = data {
            element(x, 5, "SID_DATA", d);
        }
        x.push_str("\t\t\t\t</SI_DATA>\n");
    }
    x.push_str("\t\t\t</STIG_INFO>\n");
    for v in &stig.vulns {
        x.push_str("\t\t\t<VULN>\n");
        for c in &v.comments {
            let _ = writeln!(x, "\t\t\t\t<!--{}-->", comment_text(c));
        }
        for (name, value) in &v.data {
            if !ATTRIBUTES.contains(&name.as_str()) {
                tracing::warn!("VULN_ATTRIBUTE `{name}` is not in the checklist schema; left out");
                continue;
            }
            x.push_str("\t\t\t\t<STIG_DATA>\n");
            element(x, 5, "VULN_ATTRIBUTE", name);
            element(x, 5, "ATTRIBUTE_DATA", value);
            x.push_str("\t\t\t\t</STIG_DATA>\n");
        }
        element(x, 4, "STATUS", v.status.as_ckl());
        element(x, 4, "FINDING_DETAILS", &v.finding_details);
        element(x, 4, "COMMENTS", &v.review_comments);
        element(
            x,
            4,
            "SEVERITY_OVERRIDE",
            schema_value("SEVERITY_OVERRIDE", &v.severity_override),
        );
        element(x, 4, "SEVERITY_JUSTIFICATION", &v.severity_justification);
        x.push_str("\t\t\t</VULN>\n");
    }
    x.push_str("\t\t</iSTIG>\n");
}

/// SID_NAME values the schema allows.
const SID_NAMES: [&str; 11] = [
    "classification",
    "customname",
    "description",
    "filename",
    "notice",
    "releaseinfo",
    "source",
    "stigid",
    "title",
    "uuid",
    "version",
];

/// VULN_ATTRIBUTE values the schema allows.
const ATTRIBUTES: [&str; 27] = crate::checklist::ATTRIBUTE_ORDER;

/// `value` where the schema allows it for element `name`, else the element's neutral value
/// (with a warning): other tools write values such as TECH_AREA `None` that STIG Viewer 2
/// rejects.
fn schema_value<'a>(name: &str, value: &'a str) -> &'a str {
    let allowed: &[&str] = match name {
        "ROLE" => &["None", "Workstation", "Member Server", "Domain Controller"],
        "ASSET_TYPE" => &["Computing", "Non-Computing"],
        "WEB_OR_DATABASE" => &["false", "true", "0", "1"],
        "SEVERITY_OVERRIDE" => &["", "low", "medium", "high"],
        "TECH_AREA" => &[
            "",
            "Application Review",
            "Boundary Security",
            "CDS Admin Review",
            "CDS Technical Review",
            "Database Review",
            "Domain Name System (DNS)",
            "Exchange Server",
            "Host Based System Security (HBSS)",
            "Internal Network",
            "Mobility",
            "Releasable Networks (REL)",
            "Releaseable Networks (REL)",
            "Traditional Security",
            "UNIX OS",
            "VVOIP Review",
            "Web Review",
            "Windows OS",
            "Other Review",
        ],
        _ => return value,
    };
    if allowed.contains(&value) {
        return value;
    }
    let neutral = allowed[0];
    tracing::warn!("{name} `{value}` is not in the checklist schema; written as `{neutral}`");
    neutral
}

fn element(x: &mut String, depth: usize, name: &str, value: &str) {
    for _ in 0..depth {
        x.push('\t');
    }
    let _ = writeln!(x, "<{name}>{}</{name}>", escape(value));
}

/// A comment's text with `--` broken up, which a comment may not contain.
fn comment_text(s: &str) -> String {
    let mut out = s.replace("--", "- -");
    if out.ends_with('-') {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_end_tags_are_dropped() {
        let bad = "<A><B>x</B></B><!-- </A> --></A>";
        assert_eq!(drop_unmatched_end_tags(bad), "<A><B>x</B><!-- </A> --></A>");
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(escape("a<b & \"c\"\u{1}\n"), "a&lt;b &amp; &quot;c&quot;\n");
    }
}
