//! CPE 2.3 dictionary (NIST IR 7697) with OVAL checks, and the CPE applicability language
//! (NIST IR 7698) platforms that XCCDF items refer to as `#id`.

use std::path::Path;

use roxmltree::Node;

use crate::error::ContentError;
use crate::xml::{self, elements, parse_bool, position, NS_CPE_DICT, NS_CPE_LANG};

/// A dictionary entry: a CPE name and the checks that decide whether it applies.
#[derive(Debug, Clone, Default)]
pub struct CpeItem {
    pub name: String,
    pub title: String,
    pub deprecated: bool,
    /// `(system, href, definition id)`.
    pub checks: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct CpeDictionary {
    pub items: Vec<CpeItem>,
}

impl CpeDictionary {
    pub fn item(&self, name: &str) -> Option<&CpeItem> {
        self.items.iter().find(|i| i.name == name)
    }
}

/// `cpe-lang:platform`.
#[derive(Debug, Clone)]
pub struct Platform {
    pub id: String,
    pub title: String,
    pub test: LogicalTest,
}

#[derive(Debug, Clone)]
pub struct LogicalTest {
    /// `AND` when true, `OR` otherwise.
    pub operator_and: bool,
    pub negate: bool,
    pub children: Vec<PlatformTerm>,
}

#[derive(Debug, Clone)]
pub enum PlatformTerm {
    Test(LogicalTest),
    /// A CPE name, decided through the dictionary.
    FactRef(String),
    /// A check given directly: `(system, href, id-ref)`.
    CheckFactRef(String, String, String),
}

/// Parses a `cpe-dict:cpe-list`.
pub fn parse_dictionary(node: Node<'_, '_>) -> CpeDictionary {
    let mut dict = CpeDictionary::default();
    for item in xml::children_named(node, NS_CPE_DICT, "cpe-item") {
        let mut entry = CpeItem {
            name: item.attribute("name").unwrap_or("").to_string(),
            title: xml::child_text(item, NS_CPE_DICT, "title"),
            deprecated: item
                .attribute("deprecated")
                .and_then(parse_bool)
                .unwrap_or(false),
            checks: Vec::new(),
        };
        for c in xml::children_named(item, NS_CPE_DICT, "check") {
            entry.checks.push((
                c.attribute("system").unwrap_or("").to_string(),
                c.attribute("href").unwrap_or("").to_string(),
                xml::text(c).trim().to_string(),
            ));
        }
        dict.items.push(entry);
    }
    dict
}

/// Parses a `cpe-lang:platform`.
pub fn parse_platform(node: Node<'_, '_>, path: &Path) -> Result<Platform, ContentError> {
    let err = |n: Node, m: &str| ContentError::Element {
        path: path.to_path_buf(),
        element: n.tag_name().name().to_string(),
        id: n.attribute("id").unwrap_or("").to_string(),
        position: position(n),
        message: m.to_string(),
    };
    let id = node
        .attribute("id")
        .ok_or_else(|| err(node, "platform without `id`"))?;
    let test = xml::child(node, NS_CPE_LANG, "logical-test")
        .ok_or_else(|| err(node, "platform without a logical-test"))?;
    Ok(Platform {
        id: id.to_string(),
        title: xml::child_text(node, NS_CPE_LANG, "title"),
        test: parse_logical_test(test),
    })
}

fn parse_logical_test(node: Node<'_, '_>) -> LogicalTest {
    let mut children = Vec::new();
    for c in elements(node) {
        match c.tag_name().name() {
            "logical-test" => children.push(PlatformTerm::Test(parse_logical_test(c))),
            "fact-ref" => children.push(PlatformTerm::FactRef(
                c.attribute("name").unwrap_or("").into(),
            )),
            "check-fact-ref" => children.push(PlatformTerm::CheckFactRef(
                c.attribute("system").unwrap_or("").to_string(),
                c.attribute("href").unwrap_or("").to_string(),
                c.attribute("id-ref").unwrap_or("").to_string(),
            )),
            _ => {}
        }
    }
    LogicalTest {
        operator_and: !matches!(node.attribute("operator"), Some("OR") | Some("or")),
        negate: node
            .attribute("negate")
            .and_then(parse_bool)
            .unwrap_or(false),
        children,
    }
}
