//! Loads SCAP content: a SCAP 1.3 (or 1.2) source data stream, or a standalone XCCDF 1.2
//! benchmark with its OVAL files beside it.
//!
//! In a data stream, a check's `href` is looked up in the catalog of the checklist's
//! `component-ref`, which names another `component-ref`, whose `xlink:href` names the
//! component (SP 800-126 rev 3, section 3.1). Content is hostile input: no DTDs or external
//! entities are processed, the file size is bounded, and errors name the element.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roxmltree::{Document, Node, ParsingOptions};

use crate::cpe::{self, CpeDictionary};
use crate::error::ContentError;
use crate::oval::OvalDefinitions;
use crate::oval_parse::parse_oval_definitions;
use crate::split::{self, Child, TopLevel};
use crate::xccdf::{parse_benchmark, Benchmark};
use crate::xml::NS_XLINK;
use crate::xml::{self, elements, NS_CAT, NS_CPE_DICT, NS_DS, NS_OCIL, NS_OVAL_DEF, NS_XCCDF};

/// The largest content file accepted (SSG's largest data stream is 24 MB).
pub const MAX_CONTENT_SIZE: u64 = 1 << 30;

/// Which parts of a collection to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `data-stream/@id`; the first data stream when `None`.
    pub datastream_id: Option<String>,
    /// The checklist `component-ref/@id`; the first checklist when `None`.
    pub xccdf_id: Option<String>,
    /// The `component-ref/@id` of a tailoring component in the data stream to apply.
    pub tailoring_id: Option<String>,
}

/// What a check's `href` resolved to.
#[derive(Debug, Clone)]
pub enum CheckComponent {
    Oval(Arc<OvalDefinitions>),
    /// OCIL questionnaires: recognised, not evaluated.
    Ocil,
    /// A component of another kind, named by its root element.
    Other(String),
    /// A component outside the data stream, by URL: ato fetches nothing, so it is not used.
    Remote(String),
}

/// Loaded content: the benchmark and the check components its rules and platforms use.
#[derive(Debug, Clone)]
pub struct Content {
    pub path: PathBuf,
    /// The whole source document, for ARF reports that carry it.
    pub source: Arc<str>,
    /// `data-stream-collection/@id` and `data-stream/@id` for a data stream.
    pub collection_id: Option<String>,
    pub datastream_id: Option<String>,
    /// The checklist component's `id` (data streams) used in results.
    pub checklist_ref: Option<String>,
    pub benchmark: Benchmark,
    /// The benchmark element's markup with the namespaces it uses declared on it, so that it
    /// stands alone in a results file.
    pub benchmark_xml: String,
    /// Check components by the `href` the benchmark uses.
    pub checks: HashMap<String, CheckComponent>,
    pub cpe_dictionary: Option<CpeDictionary>,
    /// Check components by the `href` the CPE dictionary uses.
    pub cpe_checks: HashMap<String, CheckComponent>,
}

impl Content {
    /// Loads a data stream or an XCCDF benchmark from `path`.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Content, ContentError> {
        let source = read_bounded(path)?;
        Content::from_str(&source, path, options)
    }

    /// Loads content from its text; `path` names it in errors and locates the files a
    /// standalone benchmark refers to.
    pub fn from_str(
        source: &str,
        path: &Path,
        options: &LoadOptions,
    ) -> Result<Content, ContentError> {
        // A data stream collection is split and parsed one component at a time, which keeps
        // the document tree of the largest component in memory instead of the whole file's.
        let top = split::top_level(source, path)?;
        if top.root_name == "data-stream-collection"
            && source[top.root_start.clone()].contains(NS_DS)
        {
            return load_collection(source, &top, path, options);
        }
        let doc = parse_document(source, path)?;
        let root = doc.root_element();
        match (root.tag_name().namespace(), root.tag_name().name()) {
            (Some(NS_XCCDF), "Benchmark") => load_standalone(root, source, path),
            (ns, name) => Err(ContentError::NotScap {
                path: path.to_path_buf(),
                root: match ns {
                    Some(ns) => format!("{{{ns}}}{name}"),
                    None => name.to_string(),
                },
            }),
        }
    }

    /// The OVAL definitions a benchmark check `href` names.
    pub fn oval(&self, href: &str) -> Option<&Arc<OvalDefinitions>> {
        match self.checks.get(href) {
            Some(CheckComponent::Oval(o)) => Some(o),
            _ => None,
        }
    }
}

impl Content {
    /// Adds the profiles of an XCCDF 1.2 tailoring file. A tailoring profile may extend a
    /// profile of the benchmark; a profile id the benchmark already has is an error, so that a
    /// tailoring cannot silently replace a published profile.
    pub fn apply_tailoring_file(&mut self, path: &Path) -> Result<(), ContentError> {
        let text = read_bounded(path)?;
        let doc = parse_document(&text, path)?;
        let root = doc.root_element();
        let tailoring = if root.has_tag_name((NS_XCCDF, "Tailoring")) {
            root
        } else {
            // A data stream with a tailoring component: take its first Tailoring.
            root.descendants()
                .find(|n| n.has_tag_name((NS_XCCDF, "Tailoring")))
                .ok_or_else(|| invalid(path, "no XCCDF 1.2 Tailoring element in the file"))?
        };
        let profiles = crate::xccdf::parse_tailoring(tailoring, &text, path)?;
        self.add_tailored_profiles(profiles, path)
    }

    fn add_tailored_profiles(
        &mut self,
        profiles: Vec<crate::xccdf::Profile>,
        path: &Path,
    ) -> Result<(), ContentError> {
        for p in profiles {
            if self.benchmark.profile(&p.id).is_some() {
                return Err(invalid(
                    path,
                    format!(
                        "tailoring profile `{}` has the id of a benchmark profile",
                        p.id
                    ),
                ));
            }
            if let Some(parent) = &p.extends {
                if self.benchmark.profile(parent).is_none() {
                    return Err(invalid(
                        path,
                        format!("tailoring profile `{}` extends `{parent}`, which the benchmark does not have", p.id),
                    ));
                }
            }
            self.benchmark.profiles.push(p);
        }
        Ok(())
    }
}

/// Reads a file of at most [`MAX_CONTENT_SIZE`] bytes as UTF-8.
pub fn read_bounded(path: &Path) -> Result<String, ContentError> {
    let io = |source| ContentError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ContentError::Invalid {
            path: path.to_path_buf(),
            message: "not a regular file".into(),
        });
    }
    if meta.len() > MAX_CONTENT_SIZE {
        return Err(ContentError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit: MAX_CONTENT_SIZE,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        ContentError::Invalid {
            path: path.to_path_buf(),
            message: format!("not UTF-8 text (line {line}, column {column}, byte {at})"),
        }
    })
}

/// Parses XML with DTDs refused (and so no entity expansion beyond the predefined ones).
pub fn parse_document<'s>(source: &'s str, path: &Path) -> Result<Document<'s>, ContentError> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 50_000_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(source, opts).map_err(|e| ContentError::Xml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn invalid(path: &Path, message: impl Into<String>) -> ContentError {
    ContentError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A `component-ref`: its id, the component it points to and its catalog.
struct ComponentRef {
    component_id: String,
    catalog: HashMap<String, String>,
}

/// Parses one top-level element of a collection on its own (see [`crate::split`]) and hands
/// its node to `f`.
fn with_fragment<R>(
    source: &str,
    top: &TopLevel,
    child: &Child,
    path: &Path,
    f: impl FnOnce(Node<'_, '_>, &str) -> Result<R, ContentError>,
) -> Result<R, ContentError> {
    let text = split::fragment_text(source, top, &child.range);
    let doc = parse_document(&text, path)?;
    let node = elements(doc.root_element())
        .next()
        .ok_or_else(|| invalid(path, format!("element `{}` is empty", child.name)))?;
    f(node, &text)
}

fn load_collection(
    source: &str,
    top: &TopLevel,
    path: &Path,
    options: &LoadOptions,
) -> Result<Content, ContentError> {
    let streams: Vec<&Child> = top
        .children
        .iter()
        .filter(|c| c.name == "data-stream")
        .collect();
    let stream = match &options.datastream_id {
        Some(id) => streams
            .iter()
            .find(|s| s.id.as_deref() == Some(id))
            .ok_or_else(|| invalid(path, format!("no data stream with id `{id}`")))?,
        None => streams
            .first()
            .ok_or_else(|| invalid(path, "the collection has no data stream"))?,
    };
    let components: HashMap<&str, &Child> = top
        .children
        .iter()
        .filter(|c| c.name == "component" || c.name == "extended-component")
        .filter_map(|c| c.id.as_deref().map(|id| (id, c)))
        .collect();
    let holds = |component_id: &str, name: &str| {
        components[component_id].first_child.as_deref() == Some(name)
    };

    // Every component-ref of the stream, by its id.
    let mut refs: HashMap<String, ComponentRef> = HashMap::new();
    let mut remote: HashMap<String, String> = HashMap::new();
    let mut checklist_ids = Vec::new();
    let mut dictionary_ids = Vec::new();
    with_fragment(source, top, stream, path, |stream, _| {
        for section in elements(stream) {
            for cref in xml::children_named(section, NS_DS, "component-ref") {
                let id = cref.attribute("id").unwrap_or("").to_string();
                let target = cref.attribute((NS_XLINK, "href")).unwrap_or("");
                let Some(component_id) = target.strip_prefix('#') else {
                    // A component outside the file (SSG's RHEL content names the vendor's
                    // patch OVAL by URL). ato fetches nothing: checks that use it are not run.
                    remote.insert(id.clone(), target.to_string());
                    continue;
                };
                if !components.contains_key(component_id) {
                    return Err(invalid(
                        path,
                        format!(
                            "component-ref `{id}` names component `{component_id}`, which is \
                             missing"
                        ),
                    ));
                }
                let mut catalog = HashMap::new();
                if let Some(cat) = xml::child(cref, NS_CAT, "catalog") {
                    for uri in xml::children_named(cat, NS_CAT, "uri") {
                        catalog.insert(
                            uri.attribute("name").unwrap_or("").to_string(),
                            uri.attribute("uri").unwrap_or("").to_string(),
                        );
                    }
                }
                match section.tag_name().name() {
                    "checklists" => checklist_ids.push(id.clone()),
                    "dictionaries" => dictionary_ids.push(id.clone()),
                    _ => {}
                }
                let component_id = component_id.to_string();
                refs.insert(
                    id,
                    ComponentRef {
                        component_id,
                        catalog,
                    },
                );
            }
        }
        Ok(())
    })?;

    let checklist_id = match &options.xccdf_id {
        Some(id) => checklist_ids
            .iter()
            .find(|c| *c == id)
            .cloned()
            .ok_or_else(|| invalid(path, format!("no checklist component-ref with id `{id}`")))?,
        // The first checklist that is a benchmark (a tailoring may be listed too).
        None => checklist_ids
            .iter()
            .find(|id| holds(&refs[*id].component_id, "Benchmark"))
            .cloned()
            .ok_or_else(|| invalid(path, "the data stream has no checklist (XCCDF benchmark)"))?,
    };
    let checklist = &refs[&checklist_id];
    let bench_component = components[checklist.component_id.as_str()];
    let (mut benchmark, benchmark_xml) =
        with_fragment(source, top, bench_component, path, |comp, text| {
            let node = elements(comp).find(|n| n.has_tag_name((NS_XCCDF, "Benchmark")));
            let node = node.ok_or_else(|| {
                invalid(
                    path,
                    format!(
                        "component `{}` holds no XCCDF 1.2 Benchmark",
                        checklist.component_id
                    ),
                )
            })?;
            Ok((
                parse_benchmark(node, text, path)?,
                standalone_markup(node, text),
            ))
        })?;
    if let Some(tid) = &options.tailoring_id {
        let cref = refs.get(tid).ok_or_else(|| {
            invalid(
                path,
                format!("no component-ref `{tid}` for the tailoring in the data stream"),
            )
        })?;
        let comp = components[cref.component_id.as_str()];
        let profiles = with_fragment(source, top, comp, path, |comp, text| {
            let node = elements(comp).find(|n| n.has_tag_name((NS_XCCDF, "Tailoring")));
            let node = node.ok_or_else(|| {
                invalid(
                    path,
                    format!("component-ref `{tid}` does not hold an XCCDF Tailoring"),
                )
            })?;
            crate::xccdf::parse_tailoring(node, text, path)
        })?;
        benchmark.profiles.extend(profiles);
    }

    let mut parsed: HashMap<String, CheckComponent> = HashMap::new();
    let mut resolve = |catalog: &HashMap<String, String>,
                       href: &str|
     -> Result<Option<CheckComponent>, ContentError> {
        let Some(uri) = catalog.get(href).cloned().or_else(|| {
            // A href may also name a component-ref directly (`#id`).
            href.strip_prefix('#').map(|h| format!("#{h}"))
        }) else {
            return Ok(None);
        };
        if let Some(url) = uri.strip_prefix('#').and_then(|id| remote.get(id)) {
            return Ok(Some(CheckComponent::Remote(url.clone())));
        }
        let Some(cref) = uri.strip_prefix('#').and_then(|id| refs.get(id)) else {
            return Err(invalid(
                path,
                format!("catalog entry `{href}` -> `{uri}` names no component-ref"),
            ));
        };
        if let Some(done) = parsed.get(&cref.component_id) {
            return Ok(Some(done.clone()));
        }
        let comp = components[cref.component_id.as_str()];
        let parsed_one = with_fragment(source, top, comp, path, |comp, _| {
            parse_check_component(comp, path)
        })?;
        parsed.insert(cref.component_id.clone(), parsed_one.clone());
        Ok(Some(parsed_one))
    };

    let mut checks = HashMap::new();
    for href in check_hrefs(&benchmark) {
        if let Some(c) = resolve(&checklist.catalog, &href)? {
            checks.insert(href, c);
        }
    }

    let mut cpe_dictionary = None;
    let mut cpe_checks = HashMap::new();
    if let Some(dict_ref) = dictionary_ids.first().map(|id| &refs[id]) {
        let comp = components[dict_ref.component_id.as_str()];
        let dict = with_fragment(source, top, comp, path, |comp, _| {
            Ok(elements(comp)
                .find(|n| n.has_tag_name((NS_CPE_DICT, "cpe-list")))
                .map(cpe::parse_dictionary))
        })?;
        if let Some(dict) = dict {
            let catalog = dict_ref.catalog.clone();
            for item in &dict.items {
                for (_, href, _) in &item.checks {
                    if !cpe_checks.contains_key(href) {
                        if let Some(c) = resolve(&catalog, href)? {
                            cpe_checks.insert(href.clone(), c);
                        }
                    }
                }
            }
            cpe_dictionary = Some(dict);
        }
    }

    Ok(Content {
        path: path.to_path_buf(),
        source: Arc::from(source),
        collection_id: top.root_id.clone(),
        datastream_id: stream.id.clone(),
        checklist_ref: Some(checklist_id),
        benchmark,
        benchmark_xml,
        checks,
        cpe_dictionary,
        cpe_checks,
    })
}

fn parse_check_component(comp: Node<'_, '_>, path: &Path) -> Result<CheckComponent, ContentError> {
    let Some(body) = elements(comp).next() else {
        return Ok(CheckComponent::Other("(empty)".into()));
    };
    Ok(
        match (body.tag_name().namespace(), body.tag_name().name()) {
            (Some(NS_OVAL_DEF), "oval_definitions") => {
                CheckComponent::Oval(Arc::new(parse_oval_definitions(body, path)?))
            }
            (Some(NS_OCIL), _) => CheckComponent::Ocil,
            (_, name) => CheckComponent::Other(name.to_string()),
        },
    )
}

/// Every `check-content-ref/@href` of the benchmark, once each.
fn check_hrefs(b: &Benchmark) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |href: &str| {
        if !out.iter().any(|h| h == href) {
            out.push(href.to_string());
        }
    };
    fn complex<'a>(c: &'a crate::xccdf::ComplexCheck, out: &mut Vec<&'a crate::xccdf::Check>) {
        for child in &c.children {
            match child {
                crate::xccdf::ComplexCheckChild::Check(ch) => out.push(ch),
                crate::xccdf::ComplexCheckChild::Complex(cc) => complex(cc, out),
            }
        }
    }
    for rule in b.rules() {
        let mut checks: Vec<&crate::xccdf::Check> = rule.checks.iter().collect();
        if let Some(cc) = &rule.complex_check {
            complex(cc, &mut checks);
        }
        for check in checks {
            for (href, _) in &check.content_refs {
                add(href);
            }
        }
    }
    out
}

fn load_standalone(root: Node<'_, '_>, source: &str, path: &Path) -> Result<Content, ContentError> {
    let benchmark = parse_benchmark(root, source, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut checks = HashMap::new();
    for href in check_hrefs(&benchmark) {
        // Only plain file names beside the benchmark: content may not point anywhere else.
        let name = Path::new(&href);
        if href.is_empty() || name.components().count() != 1 || name.is_absolute() {
            continue;
        }
        let file = dir.join(name);
        if !file.is_file() {
            continue;
        }
        let text = read_bounded(&file)?;
        let doc = parse_document(&text, &file)?;
        checks.insert(
            href.clone(),
            parse_check_component_root(doc.root_element(), &file)?,
        );
    }
    Ok(Content {
        path: path.to_path_buf(),
        source: Arc::from(source),
        collection_id: None,
        datastream_id: None,
        checklist_ref: None,
        benchmark,
        benchmark_xml: standalone_markup(root, source),
        checks,
        cpe_dictionary: None,
        cpe_checks: HashMap::new(),
    })
}

fn parse_check_component_root(
    root: Node<'_, '_>,
    path: &Path,
) -> Result<CheckComponent, ContentError> {
    Ok(
        match (root.tag_name().namespace(), root.tag_name().name()) {
            (Some(NS_OVAL_DEF), "oval_definitions") => {
                CheckComponent::Oval(Arc::new(parse_oval_definitions(root, path)?))
            }
            (Some(NS_OCIL), _) => CheckComponent::Ocil,
            (_, name) => CheckComponent::Other(name.to_string()),
        },
    )
}

/// The markup of `node` with every namespace in scope declared on its start tag.
fn standalone_markup(node: Node<'_, '_>, source: &str) -> String {
    let range = node.range();
    let text = &source[range.clone()];
    let tag_end = start_tag_end(text);
    let start_tag = &text[..tag_end];
    let mut decls = String::new();
    for ns in node.namespaces() {
        let decl = match ns.name() {
            Some(prefix) => format!("xmlns:{prefix}="),
            None => "xmlns=".to_string(),
        };
        if !start_tag.contains(&decl) {
            decls.push(' ');
            decls.push_str(&decl);
            decls.push('"');
            decls.push_str(&ns.uri().replace('&', "&amp;").replace('"', "&quot;"));
            decls.push('"');
        }
    }
    let (head, rest) = text.split_at(tag_end);
    let head = head
        .strip_suffix("/>")
        .map(|h| (h, "/>"))
        .unwrap_or_else(|| (head.strip_suffix('>').unwrap_or(head), ">"));
    format!("{}{}{}{}", head.0, decls, head.1, rest)
}

/// The byte offset just past the `>` of the start tag at the beginning of `text`.
fn start_tag_end(text: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_an_error_with_its_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.xml");
        std::fs::write(&path, b"<a>\n  <b>caf\xe9</b>\n</a>\n").unwrap();
        let e = read_bounded(&path).unwrap_err().to_string();
        assert!(e.contains("bad.xml"), "{e}");
        assert!(e.contains("line 2, column 9, byte 12"), "{e}");
    }
}
