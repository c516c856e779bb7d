//! Splits a data stream collection into its top-level elements without building a tree of the
//! whole document, so that each component can be parsed on its own: the document tree of an
//! 11 MB data stream costs about five times its size, and one component at a time costs a
//! fraction of that.
//!
//! A fragment is parsed inside a copy of the collection's start tag (so the namespace prefixes
//! the collection declares are in scope) and after as many newlines as precede it in the file
//! (so that line numbers in errors are those of the file).

use std::ops::Range;
use std::path::Path;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::ContentError;

/// A top-level element of the collection.
#[derive(Debug, Clone)]
pub struct Child {
    /// Local name (`data-stream`, `component`, `extended-component`).
    pub name: String,
    pub id: Option<String>,
    /// Byte range of the whole element in the source.
    pub range: Range<usize>,
    /// Local name of the element's first child element (`Benchmark`, `oval_definitions`).
    pub first_child: Option<String>,
}

/// The collection's start tag and its children.
#[derive(Debug)]
pub struct TopLevel {
    /// Local name of the root element.
    pub root_name: String,
    pub root_id: Option<String>,
    /// The root's start tag, as written (`<ds:data-stream-collection xmlns:ds=... id=...>`).
    pub root_start: Range<usize>,
    /// The root's qualified name, for the closing tag of a fragment.
    pub root_qname: String,
    pub children: Vec<Child>,
}

fn xml_error(path: &Path, source: &str, pos: u64, e: impl std::fmt::Display) -> ContentError {
    let pos = usize::try_from(pos)
        .unwrap_or(source.len())
        .min(source.len());
    let line = source.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    ContentError::Xml {
        path: path.to_path_buf(),
        message: format!("{e} (line {line})"),
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

/// Reads the root element and the ranges of its children. DTDs are refused, as everywhere.
pub fn top_level(source: &str, path: &Path) -> Result<TopLevel, ContentError> {
    let mut reader = Reader::from_str(source);
    reader.config_mut().check_end_names = true;
    let mut root: Option<TopLevel> = None;
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_error(path, source, reader.buffer_position(), e))?;
        match event {
            Event::DocType(_) => {
                return Err(ContentError::Xml {
                    path: path.to_path_buf(),
                    message: "a DTD is not allowed in SCAP content".into(),
                })
            }
            Event::Start(e) => {
                let start = usize::try_from(before).unwrap_or(0);
                let Some(top) = root.as_mut() else {
                    root = Some(TopLevel {
                        root_name: e.local_name().as_ref().to_string(),
                        root_id: attr(&e, "id"),
                        root_start: start..usize::try_from(reader.buffer_position()).unwrap_or(0),
                        root_qname: e.name().as_ref().to_string(),
                        children: Vec::new(),
                    });
                    continue;
                };
                let name = e.local_name().as_ref().to_string();
                let id = attr(&e, "id");
                let qname = e.name().as_ref().to_string();
                let inner_start = reader.buffer_position();
                reader
                    .read_to_end(quick_xml::name::QName(&qname))
                    .map_err(|e| xml_error(path, source, reader.buffer_position(), e))?;
                let end = usize::try_from(reader.buffer_position()).unwrap_or(source.len());
                let inner = usize::try_from(inner_start).unwrap_or(end)..end;
                top.children.push(Child {
                    name,
                    id,
                    range: start..end,
                    first_child: first_element(&source[inner]),
                });
            }
            Event::Empty(e) => {
                if let Some(top) = root.as_mut() {
                    let start = usize::try_from(before).unwrap_or(0);
                    let end = usize::try_from(reader.buffer_position()).unwrap_or(source.len());
                    top.children.push(Child {
                        name: e.local_name().as_ref().to_string(),
                        id: attr(&e, "id"),
                        range: start..end,
                        first_child: None,
                    });
                } else {
                    return Err(ContentError::Invalid {
                        path: path.to_path_buf(),
                        message: "the document's root element is empty".into(),
                    });
                }
            }
            Event::End(_) | Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| ContentError::Xml {
        path: path.to_path_buf(),
        message: "no root element".into(),
    })
}

/// The local name of the first element in `xml`.
fn first_element(xml: &str) -> Option<String> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => return Some(e.local_name().as_ref().to_string()),
            Event::Eof | Event::End(_) => return None,
            _ => {}
        }
    }
}

/// The text to parse for one fragment: the root's start tag, newlines up to the fragment's
/// line, the fragment, the root's end tag.
pub fn fragment_text(source: &str, top: &TopLevel, range: &Range<usize>) -> String {
    let start_tag = &source[top.root_start.clone()];
    let lines_before = source.as_bytes()[..range.start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let tag_lines = start_tag.bytes().filter(|&b| b == b'\n').count();
    let pad = lines_before.saturating_sub(tag_lines);
    let mut text =
        String::with_capacity(start_tag.len() + pad + range.len() + top.root_qname.len() + 3);
    text.push_str(start_tag);
    text.extend(std::iter::repeat_n('\n', pad));
    text.push_str(&source[range.clone()]);
    text.push_str("</");
    text.push_str(&top.root_qname);
    text.push('>');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "<?xml version=\"1.0\"?>\n<ds:c xmlns:ds=\"urn:ds\" id=\"c1\">\n  <ds:s id=\"s1\"><x/></ds:s>\n  <ds:component id=\"k1\">\n    <B xmlns=\"urn:b\"/>\n  </ds:component>\n  <ds:e id=\"e\"/>\n</ds:c>\n";

    #[test]
    fn children_and_their_ranges() {
        let top = top_level(DOC, Path::new("t")).unwrap();
        assert_eq!(top.root_name, "c");
        assert_eq!(top.root_id.as_deref(), Some("c1"));
        let names: Vec<_> = top.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["s", "component", "e"]);
        let k = &top.children[1];
        assert_eq!(k.first_child.as_deref(), Some("B"));
        assert!(
            DOC[k.range.clone()].starts_with("<ds:component")
                && DOC[k.range.clone()].ends_with("</ds:component>")
        );
    }

    #[test]
    fn a_fragment_keeps_its_line_and_namespaces() {
        let top = top_level(DOC, Path::new("t")).unwrap();
        let text = fragment_text(DOC, &top, &top.children[1].range);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let comp = doc.root_element().first_element_child().unwrap();
        assert_eq!(comp.tag_name().namespace(), Some("urn:ds"));
        assert_eq!(doc.text_pos_at(comp.range().start).row, 4);
    }

    #[test]
    fn a_dtd_and_broken_structure_are_errors() {
        assert!(top_level("<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", Path::new("t")).is_err());
        assert!(top_level("<a><b></a>", Path::new("t")).is_err());
    }
}
