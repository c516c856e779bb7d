//! DISA STIG benchmarks (`U_*_STIG_V#R#_Manual-xccdf.xml`, XCCDF 1.1): the ids, titles, check
//! and fix texts that fill a checklist, with each rule's VULN fields as STIG Viewer derives
//! them (the escaped `<VulnDiscussion>`... pseudo-markup of the description is split up).

use std::path::Path;

use ato_content::{parse_document, read_bounded};
use ato_report::sanitize::decode_entities;
use roxmltree::Node;

use crate::error::ArtifactError;

const NS_XCCDF_11: &str = "http://checklists.nist.gov/xccdf/1.1";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";

/// A DISA STIG benchmark.
#[derive(Debug, Clone, Default)]
pub struct DisaStig {
    pub id: String,
    pub title: String,
    pub version: String,
    pub release_info: String,
    pub description: String,
    pub notice: String,
    pub source: String,
    pub filename: String,
    pub rules: Vec<DisaRule>,
}

/// One Group with its Rule.
#[derive(Debug, Clone, Default)]
pub struct DisaRule {
    pub vuln_num: String,
    pub group_title: String,
    pub rule_id: String,
    pub severity: String,
    pub weight: String,
    /// `Rule/version`: the STIG id.
    pub stig_id: String,
    pub title: String,
    /// The description's parts by VULN_ATTRIBUTE (`Vuln_Discuss`, `Documentable`, ...).
    pub parts: Vec<(&'static str, String)>,
    pub check_content: String,
    pub check_content_ref: String,
    pub fix_text: String,
    pub ccis: Vec<String>,
    pub legacy_ids: Vec<String>,
    pub target_key: String,
}

/// The description's pseudo-elements and the VULN attribute each fills.
const PARTS: [(&str, &str); 11] = [
    ("VulnDiscussion", "Vuln_Discuss"),
    ("FalsePositives", "False_Positives"),
    ("FalseNegatives", "False_Negatives"),
    ("Documentable", "Documentable"),
    ("Mitigations", "Mitigations"),
    ("SeverityOverrideGuidance", "Security_Override_Guidance"),
    ("PotentialImpacts", "Potential_Impact"),
    ("ThirdPartyTools", "Third_Party_Tools"),
    ("MitigationControl", "Mitigation_Control"),
    ("Responsibility", "Responsibility"),
    ("IAControls", "IA_Controls"),
];

impl DisaStig {
    /// Reads the benchmark at `path`.
    pub fn load(path: &Path) -> Result<DisaStig, ArtifactError> {
        let text = read_bounded(path)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let doc = parse_document(text, path)?;
        let root = doc.root_element();
        if !root.has_tag_name((NS_XCCDF_11, "Benchmark")) {
            return Err(ArtifactError::Format {
                path: path.to_path_buf(),
                message: "not a DISA STIG benchmark (an XCCDF 1.1 Benchmark)".into(),
            });
        }
        let mut stig = DisaStig {
            id: root.attribute("id").unwrap_or("").to_string(),
            filename: path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..DisaStig::default()
        };
        for c in root.children().filter(Node::is_element) {
            match c.tag_name().name() {
                "title" => stig.title = text_of(c),
                "description" => stig.description = text_of(c),
                "version" => stig.version = text_of(c),
                "notice" => stig.notice = c.attribute("id").unwrap_or("").to_string(),
                "plain-text" if c.attribute("id") == Some("release-info") => {
                    stig.release_info = text_of(c)
                }
                "reference" => {
                    if let Some(s) = c.children().find(|n| n.has_tag_name((NS_DC, "source"))) {
                        stig.source = text_of(s);
                    }
                }
                "Group" => stig.rules.extend(parse_group(c)),
                _ => {}
            }
        }
        Ok(stig)
    }

    /// `<title> :: Version <v>, <release info>`, the STIGRef STIG Viewer writes.
    pub fn stig_ref(&self) -> String {
        format!(
            "{} :: Version {}, {}",
            self.title, self.version, self.release_info
        )
    }
}

fn parse_group(group: Node<'_, '_>) -> Option<DisaRule> {
    let rule = group
        .children()
        .find(|n| n.has_tag_name((NS_XCCDF_11, "Rule")))?;
    let mut r = DisaRule {
        vuln_num: group.attribute("id").unwrap_or("").to_string(),
        rule_id: rule.attribute("id").unwrap_or("").to_string(),
        severity: rule.attribute("severity").unwrap_or("medium").to_string(),
        weight: rule.attribute("weight").unwrap_or("10.0").to_string(),
        ..DisaRule::default()
    };
    if let Some(t) = group
        .children()
        .find(|n| n.has_tag_name((NS_XCCDF_11, "title")))
    {
        r.group_title = text_of(t);
    }
    for c in rule.children().filter(Node::is_element) {
        match c.tag_name().name() {
            "version" => r.stig_id = text_of(c),
            "title" => r.title = text_of(c),
            "description" => r.parts = description_parts(&text_of(c)),
            "fixtext" => r.fix_text = text_of(c),
            "ident" => {
                let system = c.attribute("system").unwrap_or("");
                let v = text_of(c);
                if system.ends_with("/cci") {
                    r.ccis.push(v);
                } else if system.ends_with("/legacy") {
                    r.legacy_ids.push(v);
                }
            }
            "reference" => {
                if let Some(id) = c.children().find(|n| n.has_tag_name((NS_DC, "identifier"))) {
                    r.target_key = text_of(id);
                }
            }
            "check" => {
                for cc in c.children().filter(Node::is_element) {
                    match cc.tag_name().name() {
                        "check-content" => r.check_content = text_of(cc),
                        "check-content-ref" => {
                            r.check_content_ref = cc.attribute("name").unwrap_or("M").to_string()
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(r)
}

/// Splits `<VulnDiscussion>...</VulnDiscussion><FalsePositives/>...` into VULN attributes.
fn description_parts(desc: &str) -> Vec<(&'static str, String)> {
    PARTS
        .iter()
        .map(|(tag, attr)| {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            let value = desc
                .find(&open)
                .and_then(|start| {
                    let body = &desc[start + open.len()..];
                    body.find(&close).map(|end| decode_entities(&body[..end]))
                })
                .unwrap_or_default();
            (*attr, value)
        })
        .collect()
}

fn text_of(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn description_parts_are_split() {
        let p = super::description_parts(
            "<VulnDiscussion>Why &amp; how</VulnDiscussion><FalsePositives></FalsePositives><Documentable>false</Documentable>",
        );
        assert_eq!(p[0], ("Vuln_Discuss", "Why & how".to_string()));
        assert_eq!(p[3], ("Documentable", "false".to_string()));
        assert_eq!(p[4], ("Mitigations", String::new()));
    }
}
