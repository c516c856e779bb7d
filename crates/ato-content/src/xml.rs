//! Small helpers over roxmltree shared by the loaders.

use roxmltree::Node;

pub const NS_DS: &str = "http://scap.nist.gov/schema/scap/source/1.2";
pub const NS_XCCDF: &str = "http://checklists.nist.gov/xccdf/1.2";
pub const NS_OVAL_DEF: &str = "http://oval.mitre.org/XMLSchema/oval-definitions-5";
pub const NS_CPE_DICT: &str = "http://cpe.mitre.org/dictionary/2.0";
pub const NS_CPE_LANG: &str = "http://cpe.mitre.org/language/2.0";
pub const NS_XLINK: &str = "http://www.w3.org/1999/xlink";
pub const NS_CAT: &str = "urn:oasis:names:tc:entity:xmlns:xml:catalog";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub const NS_OCIL: &str = "http://scap.nist.gov/schema/ocil/2.0";

/// Element children of `node`.
pub fn elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(|n| n.is_element())
}

/// Element children in namespace `ns` with local name `name`.
pub fn children_named<'a, 'input>(
    node: Node<'a, 'input>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |n| n.is_element() && n.has_tag_name((ns, name)))
}

/// The first element child in namespace `ns` with local name `name`.
pub fn child<'a, 'input>(
    node: Node<'a, 'input>,
    ns: &'static str,
    name: &'static str,
) -> Option<Node<'a, 'input>> {
    children_named(node, ns, name).next()
}

/// All text below `node`, concatenated.
pub fn text(node: Node<'_, '_>) -> String {
    let mut out = String::new();
    for d in node.descendants() {
        if d.is_text() {
            out.push_str(d.text().unwrap_or_default());
        }
    }
    out
}

/// The text of the first child named `name`, or an empty string.
pub fn child_text(node: Node<'_, '_>, ns: &'static str, name: &'static str) -> String {
    child(node, ns, name).map(text).unwrap_or_default()
}

/// The raw markup of the first child named `name` (for descriptions with XHTML), or an empty
/// string.
pub fn child_markup(
    node: Node<'_, '_>,
    ns: &'static str,
    name: &'static str,
    source: &str,
) -> String {
    match child(node, ns, name) {
        Some(c) => inner_markup(c, source),
        None => String::new(),
    }
}

/// The source text between the start and end tags of `node`.
pub fn inner_markup(node: Node<'_, '_>, source: &str) -> String {
    let (Some(first), Some(last)) = (node.first_child(), node.last_child()) else {
        return String::new();
    };
    let start = first.range().start;
    let end = last.range().end;
    source.get(start..end).unwrap_or_default().to_string()
}

/// Parses an XML boolean attribute.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A position description for error messages: `line L, column C`.
pub fn position(node: Node<'_, '_>) -> String {
    let pos = node.document().text_pos_at(node.range().start);
    format!("line {}, column {}", pos.row, pos.col)
}

/// The xsi:nil attribute.
pub fn is_nil(node: Node<'_, '_>) -> bool {
    node.attribute((NS_XSI, "nil"))
        .and_then(parse_bool)
        .unwrap_or(false)
}
