//! OVAL 5.11 results documents (`oval_results`), as `oscap xccdf eval --oval-results` writes
//! one per OVAL document and `--results-arf` embeds them.
//!
//! A document holds the evaluated definitions with their criteria trees, the evaluated tests
//! with the items they looked at, and the system characteristics: the collected objects and
//! every item they hold, each item written once. The source definitions are not copied into
//! the document (`include_source_definitions="false"`, which the schema allows): ato does not
//! keep the definitions' markup, and in an ARF the source data stream is already there.
//! Definitions and tests that the scan never evaluated are left out as well; every reference
//! inside the document still resolves, because a definition's evaluation evaluates all its
//! criteria.

use std::collections::HashMap;
use std::fmt::Write as _;

use ato_content::oval::{Criteria, Criterion, Entity, Existence, ObjectBody, Operator};
use ato_oval::result::Tally;
use ato_oval::{Item, OvalResult, Status};
use ato_target::Target;

use crate::eval::OvalRun;
use crate::results::escape;

/// The OVAL results namespace, of the `oval_results` root.
pub const NS_OVAL_RESULTS: &str = "http://oval.mitre.org/XMLSchema/oval-results-5";
/// The OVAL system characteristics namespace; items are in its `#family` namespaces.
pub const NS_OVAL_SC: &str = "http://oval.mitre.org/XMLSchema/oval-system-characteristics-5";
/// The OVAL common namespace (generator elements).
pub const NS_OVAL_COMMON: &str = "http://oval.mitre.org/XMLSchema/oval-common-5";

/// The OVAL language version the documents follow.
const SCHEMA_VERSION: &str = "5.11.2";

/// The `generator` of a results document.
#[derive(Debug, Clone)]
pub struct Generator<'a> {
    /// A CPE name or a product name.
    pub product_name: &'a str,
    pub product_version: &'a str,
    /// When the results were made, as `xsd:dateTime` (`2024-05-01T12:00:00`).
    pub timestamp: &'a str,
}

impl<'a> Generator<'a> {
    /// ato as the generator.
    pub fn ato(timestamp: &'a str) -> Generator<'a> {
        Generator {
            product_name: "cpe:/a:ato:ato",
            product_version: env!("CARGO_PKG_VERSION"),
            timestamp,
        }
    }
}

/// `oval-sc:system_info`: the scanned system.
#[derive(Debug, Clone, Default)]
pub struct SystemInfo {
    /// `os-release` `NAME`.
    pub os_name: String,
    pub os_version: String,
    pub architecture: String,
    pub primary_host_name: String,
    pub interfaces: Vec<Interface>,
}

/// One network interface address of the scanned system.
#[derive(Debug, Clone, Default)]
pub struct Interface {
    pub name: String,
    /// IPv4 or IPv6, an IPv6 address possibly with its `/prefix`.
    pub ip_address: String,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac_address: String,
}

impl SystemInfo {
    /// What the target tells without running anything: the name and version from
    /// `os-release`, the host name (the kernel's on a live host, `/etc/hostname` on an
    /// offline root) and, on a live host, the machine architecture. Interfaces are left to
    /// the caller; what cannot be had is `Unknown`, as OpenSCAP writes it.
    pub fn from_target(target: &Target) -> SystemInfo {
        let os_release = ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|p| target.read(p, 64 * 1024).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let field = |key: &str| {
            os_release.lines().find_map(|l| {
                let v = l.strip_prefix(key)?.strip_prefix('=')?;
                Some(v.trim().trim_matches(['"', '\'']).to_string())
            })
        };
        let unknown = || "Unknown".to_string();
        let uname = target.uname();
        let host_name = match &uname {
            Some(u) => Some(u.nodename.clone()),
            None => target
                .read("/etc/hostname", 4096)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .filter(|h| !h.is_empty()),
        };
        SystemInfo {
            os_name: field("NAME").unwrap_or_else(unknown),
            os_version: field("VERSION")
                .or_else(|| field("VERSION_ID"))
                .unwrap_or_else(unknown),
            architecture: uname.map(|u| u.machine).unwrap_or_else(unknown),
            primary_host_name: host_name.unwrap_or_else(unknown),
            interfaces: Vec::new(),
        }
    }
}

/// The file name `oscap` gives the results of an OVAL document: the `href`'s last path
/// segment with `.result.xml` appended (`ssg-debian11-oval.xml.result.xml`).
pub fn result_file_name(href: &str) -> String {
    let base = href.rsplit(['/', '#']).next().unwrap_or(href);
    let base = if base.is_empty() { "oval" } else { base };
    format!("{base}.result.xml")
}

/// A standalone OVAL results document (with its XML declaration) for one evaluated OVAL
/// document.
pub fn oval_results_xml(run: &OvalRun, generator: &Generator<'_>, system: &SystemInfo) -> String {
    let mut out = String::with_capacity(estimate(run) + 64);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write_oval_results(&mut out, run, generator, system);
    out
}

/// Appends the `oval_results` element for `run` to `out` (namespaces declared on it, no XML
/// declaration), so that an ARF can embed it without a copy.
pub fn write_oval_results(
    out: &mut String,
    run: &OvalRun,
    generator: &Generator<'_>,
    system: &SystemInfo,
) {
    out.reserve(estimate(run));
    let items = ItemTable::build(run);

    let _ = writeln!(
        out,
        "<oval_results xmlns=\"{NS_OVAL_RESULTS}\" xmlns:oval=\"{NS_OVAL_COMMON}\">"
    );
    write_generator(out, generator, 1);
    out.push_str(" <directives include_source_definitions=\"false\">\n");
    for d in [
        "definition_true",
        "definition_false",
        "definition_unknown",
        "definition_error",
        "definition_not_evaluated",
        "definition_not_applicable",
    ] {
        let _ = writeln!(out, "  <{d} reported=\"true\" content=\"full\"/>");
    }
    out.push_str(" </directives>\n");

    out.push_str(" <results>\n  <system>\n");
    let writer = Writer { run, items: &items };
    writer.definitions(out);
    writer.tests(out);
    writer.system_characteristics(out, generator, system);
    out.push_str("  </system>\n </results>\n</oval_results>\n");
}

/// A rough size of the document, to allocate once.
fn estimate(run: &OvalRun) -> usize {
    let items: usize = run.objects.iter().map(|(_, o)| o.items.len()).sum();
    4096 + run.definitions.len() * 300 + run.tests.len() * 200 + items * 400
}

fn write_generator(out: &mut String, g: &Generator<'_>, depth: usize) {
    let pad = " ".repeat(depth);
    let _ = writeln!(out, "{pad}<generator>");
    let _ = writeln!(
        out,
        "{pad} <oval:product_name>{}</oval:product_name>",
        escape(g.product_name)
    );
    let _ = writeln!(
        out,
        "{pad} <oval:product_version>{}</oval:product_version>",
        escape(g.product_version)
    );
    let _ = writeln!(
        out,
        "{pad} <oval:schema_version>{SCHEMA_VERSION}</oval:schema_version>"
    );
    let _ = writeln!(
        out,
        "{pad} <oval:timestamp>{}</oval:timestamp>",
        escape(g.timestamp)
    );
    let _ = writeln!(out, "{pad}</generator>");
}

/// Item ids, assigned once per document: identical items shared between objects (or tests)
/// get one id.
struct ItemTable<'r> {
    ids: HashMap<&'r Item, usize>,
    /// Items in id order (id = index + 1), with the family of the object that found them.
    order: Vec<(&'r Item, &'r str)>,
}

impl<'r> ItemTable<'r> {
    /// Numbers the items walking the objects by id, then any item only a test holds.
    fn build(run: &'r OvalRun) -> ItemTable<'r> {
        let mut t = ItemTable {
            ids: HashMap::new(),
            order: Vec::new(),
        };
        let doc = &run.document;
        for (id, collected) in &run.objects {
            let family = doc
                .objects
                .get(id)
                .map_or("independent", |o| family_of(&o.kind.namespace));
            for item in &collected.items {
                t.add(item, family);
            }
        }
        for (id, outcome) in &run.tests {
            let family = doc
                .tests
                .get(id)
                .map_or("independent", |o| family_of(&o.kind.namespace));
            for (item, _) in &outcome.items {
                t.add(item, family);
            }
        }
        t
    }

    fn add(&mut self, item: &'r Item, family: &'r str) {
        if !self.ids.contains_key(item) {
            self.order.push((item, family));
            self.ids.insert(item, self.order.len());
        }
    }

    fn id(&self, item: &Item) -> usize {
        // Every item of every object and test was numbered in `build`.
        self.ids.get(item).copied().unwrap_or(0)
    }
}

/// The family part of a definitions namespace (`...oval-definitions-5#unix` gives `unix`).
fn family_of(namespace: &str) -> &str {
    match namespace.rsplit_once('#') {
        Some((_, f)) if !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric()) => f,
        _ => "independent",
    }
}

/// The prefix items of a family are written with, as OpenSCAP names them.
fn sc_prefix(family: &str) -> String {
    match family {
        "independent" => "ind-sys".to_string(),
        "linux" => "lin-sys".to_string(),
        "windows" => "win-sys".to_string(),
        other => format!("{other}-sys"),
    }
}

struct Writer<'r> {
    run: &'r OvalRun,
    items: &'r ItemTable<'r>,
}

impl Writer<'_> {
    fn definitions(&self, out: &mut String) {
        let doc = &self.run.document;
        let mut any = false;
        for (id, result) in &self.run.definitions {
            let Some(def) = doc.definition(id) else {
                continue;
            };
            if !any {
                out.push_str("   <definitions>\n");
                any = true;
            }
            let _ = write!(
                out,
                "    <definition definition_id=\"{}\" version=\"{}\" class=\"{}\" result=\"{}\"",
                escape(id),
                escape(&def.version),
                def.class.as_str(),
                result.as_str()
            );
            match &def.criteria {
                Some(c) => {
                    out.push_str(">\n");
                    self.criteria(out, c, 5);
                    out.push_str("    </definition>\n");
                }
                None => out.push_str("/>\n"),
            }
        }
        if any {
            out.push_str("   </definitions>\n");
        }
    }

    fn criteria(&self, out: &mut String, c: &Criteria, depth: usize) {
        let pad = " ".repeat(depth);
        let _ = write!(out, "{pad}<criteria");
        applicability(out, c.applicability_check);
        let _ = write!(out, " operator=\"{}\"", c.operator.as_str());
        negate(out, c.negate);
        let _ = writeln!(out, " result=\"{}\">", self.criteria_result(c).as_str());
        for child in &c.children {
            match child {
                Criterion::Criteria(inner) => self.criteria(out, inner, depth + 1),
                Criterion::Test {
                    test_ref,
                    negate: n,
                } => {
                    let _ = write!(
                        out,
                        "{pad} <criterion test_ref=\"{}\" version=\"{}\"",
                        escape(test_ref),
                        escape(self.test_version(test_ref))
                    );
                    negate(out, *n);
                    let _ = writeln!(
                        out,
                        " result=\"{}\"/>",
                        self.test_result(test_ref).negate(*n).as_str()
                    );
                }
                Criterion::ExtendDefinition {
                    definition_ref,
                    negate: n,
                } => {
                    let version = self
                        .run
                        .document
                        .definition(definition_ref)
                        .map_or("0", |d| d.version.as_str());
                    let _ = write!(
                        out,
                        "{pad} <extend_definition definition_ref=\"{}\" version=\"{}\"",
                        escape(definition_ref),
                        escape(version)
                    );
                    negate(out, *n);
                    let r = self
                        .run
                        .definition(definition_ref)
                        .unwrap_or(OvalResult::NotEvaluated);
                    let _ = writeln!(out, " result=\"{}\"/>", r.negate(*n).as_str());
                }
            }
        }
        let _ = writeln!(out, "{pad}</criteria>");
    }

    /// A criteria node's result from its children's, as the evaluator combined them.
    fn criteria_result(&self, c: &Criteria) -> OvalResult {
        let tally = Tally::of(c.children.iter().map(|child| {
            match child {
                Criterion::Criteria(inner) => self.criteria_result(inner),
                Criterion::Test { test_ref, negate } => self.test_result(test_ref).negate(*negate),
                Criterion::ExtendDefinition {
                    definition_ref,
                    negate,
                } => self
                    .run
                    .definition(definition_ref)
                    .unwrap_or(OvalResult::NotEvaluated)
                    .negate(*negate),
            }
        }));
        tally.by_operator(c.operator).negate(c.negate)
    }

    fn test_result(&self, id: &str) -> OvalResult {
        self.run
            .test(id)
            .map_or(OvalResult::NotEvaluated, |t| t.result)
    }

    fn test_version(&self, id: &str) -> &str {
        self.run
            .document
            .tests
            .get(id)
            .map_or("0", |t| t.version.as_str())
    }

    fn tests(&self, out: &mut String) {
        if self.run.tests.is_empty() {
            return;
        }
        let doc = &self.run.document;
        out.push_str("   <tests>\n");
        for (id, outcome) in &self.run.tests {
            let test = doc.tests.get(id);
            let _ = write!(
                out,
                "    <test test_id=\"{}\" version=\"{}\"",
                escape(id),
                escape(self.test_version(id))
            );
            if let Some(t) = test {
                if t.check_existence != Existence::AtLeastOneExists {
                    let _ = write!(out, " check_existence=\"{}\"", t.check_existence.as_str());
                }
            }
            let check = test.map_or("all", |t| t.check.as_str());
            let _ = write!(out, " check=\"{check}\"");
            if let Some(t) = test {
                if t.state_operator != Operator::And {
                    let _ = write!(out, " state_operator=\"{}\"", t.state_operator.as_str());
                }
            }
            let _ = write!(out, " result=\"{}\"", outcome.result.as_str());

            let variables = test.map(|t| self.test_variables(t)).unwrap_or_default();
            if outcome.message.is_none() && outcome.items.is_empty() && variables.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            if let Some(m) = &outcome.message {
                let _ = writeln!(out, "     <message level=\"info\">{}</message>", escape(m));
            }
            for (item, r) in &outcome.items {
                let _ = writeln!(
                    out,
                    "     <tested_item item_id=\"{}\" result=\"{}\"/>",
                    self.items.id(item),
                    r.as_str()
                );
            }
            for (var_id, value) in variables {
                let _ = writeln!(
                    out,
                    "     <tested_variable variable_id=\"{}\">{}</tested_variable>",
                    escape(var_id),
                    escape(value)
                );
            }
            out.push_str("    </test>\n");
        }
        out.push_str("   </tests>\n");
    }

    /// The values of the variables a test's object and states refer to directly.
    fn test_variables(&self, test: &ato_content::oval::Test) -> Vec<(&str, &str)> {
        let doc = &self.run.document;
        let mut refs: Vec<&str> = Vec::new();
        if let Some(obj) = test.object_ref.as_deref().and_then(|o| doc.objects.get(o)) {
            if let ObjectBody::Entities { entities, .. } = &obj.body {
                var_refs(entities, &mut refs);
            }
        }
        for s in test.state_refs.iter().filter_map(|s| doc.states.get(s)) {
            var_refs(&s.entities, &mut refs);
        }
        self.values_of(refs)
    }

    fn values_of<'a>(&'a self, mut refs: Vec<&'a str>) -> Vec<(&'a str, &'a str)> {
        refs.sort_unstable();
        refs.dedup();
        let mut out = Vec::new();
        for r in refs {
            let Ok(i) = self
                .run
                .variables
                .binary_search_by(|(k, _)| k.as_str().cmp(r))
            else {
                continue;
            };
            for v in &self.run.variables[i].1.values {
                out.push((r, v.as_str()));
            }
        }
        out
    }

    fn system_characteristics(
        &self,
        out: &mut String,
        generator: &Generator<'_>,
        system: &SystemInfo,
    ) {
        let mut families: Vec<&str> = self.items.order.iter().map(|(_, f)| *f).collect();
        families.sort_unstable();
        families.dedup();
        let _ = write!(
            out,
            "   <oval_system_characteristics xmlns=\"{NS_OVAL_SC}\" xmlns:oval=\"{NS_OVAL_COMMON}\""
        );
        for f in &families {
            let _ = write!(out, " xmlns:{}=\"{NS_OVAL_SC}#{f}\"", sc_prefix(f));
        }
        out.push_str(">\n");
        write_generator(out, generator, 4);
        write_system_info(out, system);
        self.collected_objects(out);
        self.system_data(out);
        out.push_str("   </oval_system_characteristics>\n");
    }

    fn collected_objects(&self, out: &mut String) {
        if self.run.objects.is_empty() {
            return;
        }
        let doc = &self.run.document;
        out.push_str("    <collected_objects>\n");
        for (id, collected) in &self.run.objects {
            let object = doc.objects.get(id);
            let version = object.map_or("0", |o| o.version.as_str());
            let _ = write!(
                out,
                "     <object id=\"{}\" version=\"{}\" flag=\"{}\"",
                escape(id),
                escape(version),
                collected.flag.as_str()
            );
            let mut refs = Vec::new();
            if let Some(ObjectBody::Entities { entities, .. }) = object.map(|o| &o.body) {
                var_refs(entities, &mut refs);
            }
            let values = self.values_of(refs);
            if collected.messages.is_empty() && collected.items.is_empty() && values.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for m in &collected.messages {
                let _ = writeln!(out, "      <message level=\"info\">{}</message>", escape(m));
            }
            for (var_id, value) in values {
                let _ = writeln!(
                    out,
                    "      <variable_value variable_id=\"{}\">{}</variable_value>",
                    escape(var_id),
                    escape(value)
                );
            }
            for item in &collected.items {
                let _ = writeln!(
                    out,
                    "      <reference item_ref=\"{}\"/>",
                    self.items.id(item)
                );
            }
            out.push_str("     </object>\n");
        }
        out.push_str("    </collected_objects>\n");
    }

    fn system_data(&self, out: &mut String) {
        if self.items.order.is_empty() {
            return;
        }
        out.push_str("    <system_data>\n");
        for (n, (item, family)) in self.items.order.iter().enumerate() {
            write_item(out, item, &sc_prefix(family), n + 1);
        }
        out.push_str("    </system_data>\n");
    }
}

fn write_system_info(out: &mut String, s: &SystemInfo) {
    out.push_str("    <system_info>\n");
    for (name, value) in [
        ("os_name", &s.os_name),
        ("os_version", &s.os_version),
        ("architecture", &s.architecture),
        ("primary_host_name", &s.primary_host_name),
    ] {
        let _ = writeln!(out, "     <{name}>{}</{name}>", escape(value));
    }
    if s.interfaces.is_empty() {
        out.push_str("     <interfaces/>\n");
    } else {
        out.push_str("     <interfaces>\n");
        for i in &s.interfaces {
            let _ = writeln!(
                out,
                "      <interface><interface_name>{}</interface_name><ip_address>{}</ip_address><mac_address>{}</mac_address></interface>",
                escape(&i.name),
                escape(&i.ip_address),
                escape(&i.mac_address)
            );
        }
        out.push_str("     </interfaces>\n");
    }
    out.push_str("    </system_info>\n");
}

/// One item: `<ind-sys:textfilecontent_item id="3">` with a child per field, in the order the
/// probe gave them (the schema's order).
fn write_item(out: &mut String, item: &Item, prefix: &str, id: usize) {
    let _ = write!(out, "     <{prefix}:{}_item id=\"{id}\"", item.kind);
    if item.status != Status::Exists {
        let _ = write!(out, " status=\"{}\"", item.status.as_str());
    }
    if item.fields.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for f in &item.fields {
        let _ = write!(out, "      <{prefix}:{}", f.name);
        if f.datatype != ato_content::oval::Datatype::String {
            let _ = write!(out, " datatype=\"{}\"", f.datatype.as_str());
        }
        if f.status != Status::Exists {
            let _ = write!(out, " status=\"{}\"", f.status.as_str());
        }
        if f.value.is_empty() {
            out.push_str("/>\n");
        } else {
            let _ = writeln!(out, ">{}</{prefix}:{}>", escape(&f.value), f.name);
        }
    }
    let _ = writeln!(out, "     </{prefix}:{}_item>", item.kind);
}

fn var_refs<'a>(entities: &'a [Entity], out: &mut Vec<&'a str>) {
    for e in entities {
        if let Some(v) = &e.var_ref {
            out.push(v);
        }
        var_refs(&e.fields, out);
    }
}

fn applicability(out: &mut String, check: Option<bool>) {
    if let Some(b) = check {
        let _ = write!(out, " applicability_check=\"{b}\"");
    }
}

fn negate(out: &mut String, negate: bool) {
    if negate {
        out.push_str(" negate=\"true\"");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use ato_content::oval::{
        Check, Definition, DefinitionClass, Family, Kind, Object, OvalDefinitions, Test,
    };
    use ato_oval::{Collected, Flag, TestOutcome};

    use super::*;

    fn unix_file() -> Kind {
        Kind {
            family: Family::Unix,
            name: "file".into(),
            namespace: "http://oval.mitre.org/XMLSchema/oval-definitions-5#unix".into(),
        }
    }

    fn object(id: &str) -> (String, Object) {
        let o = Object {
            id: id.into(),
            version: "2".into(),
            kind: unix_file(),
            comment: String::new(),
            body: ObjectBody::Entities {
                behaviors: Vec::new(),
                entities: Vec::new(),
                filters: Vec::new(),
            },
        };
        (id.to_string(), o)
    }

    /// Two objects holding equal items (not the same `Arc`), one test on the first, and a
    /// definition negating that test.
    fn run() -> OvalRun {
        let item = Item::new("file").string("filepath", "/etc/passwd").field(
            "uid",
            ato_content::oval::Datatype::Int,
            "0",
        );
        let collected = |item: Item| {
            Arc::new(Collected {
                flag: Flag::Complete,
                items: vec![Arc::new(item)],
                messages: Vec::new(),
            })
        };
        let test = Test {
            id: "oval:x:tst:1".into(),
            version: "3".into(),
            kind: unix_file(),
            comment: String::new(),
            check: Check::All,
            check_existence: Existence::NoneExist,
            state_operator: Operator::And,
            object_ref: Some("oval:x:obj:1".into()),
            state_refs: Vec::new(),
        };
        let def = Definition {
            id: "oval:x:def:1".into(),
            version: "1".into(),
            class: DefinitionClass::Compliance,
            title: String::new(),
            criteria: Some(Criteria {
                operator: Operator::And,
                negate: false,
                applicability_check: None,
                children: vec![Criterion::Test {
                    test_ref: "oval:x:tst:1".into(),
                    negate: true,
                }],
            }),
        };
        let document = OvalDefinitions {
            definition_index: HashMap::from([(def.id.clone(), 0)]),
            definitions: vec![def],
            tests: HashMap::from([(test.id.clone(), test)]),
            objects: HashMap::from([object("oval:x:obj:1"), object("oval:x:obj:2")]),
            ..OvalDefinitions::default()
        };
        let first = collected(item.clone());
        let outcome = TestOutcome {
            result: OvalResult::False,
            items: vec![(Arc::clone(&first.items[0]), OvalResult::NotEvaluated)],
            message: None,
        };
        OvalRun {
            href: "x-oval.xml".into(),
            document: Arc::new(document),
            definitions: vec![("oval:x:def:1".into(), OvalResult::True)],
            tests: vec![("oval:x:tst:1".into(), Arc::new(outcome))],
            objects: vec![
                ("oval:x:obj:1".into(), first),
                ("oval:x:obj:2".into(), collected(item)),
            ],
            variables: Vec::new(),
        }
    }

    #[test]
    fn equal_items_of_two_objects_share_one_id() {
        let xml = oval_results_xml(
            &run(),
            &Generator::ato("2024-01-01T00:00:00"),
            &SystemInfo::default(),
        );
        assert_eq!(xml.matches("<unix-sys:file_item id=").count(), 1, "{xml}");
        assert_eq!(xml.matches("<reference item_ref=\"1\"/>").count(), 2);
        assert!(xml.contains("<tested_item item_id=\"1\" result=\"not evaluated\"/>"));
        assert!(xml.contains("<unix-sys:uid datatype=\"int\">0</unix-sys:uid>"));
        assert!(xml.contains("<object id=\"oval:x:obj:1\" version=\"2\" flag=\"complete\">"));
    }

    #[test]
    fn criteria_results_apply_negate() {
        let xml = oval_results_xml(
            &run(),
            &Generator::ato("2024-01-01T00:00:00"),
            &SystemInfo::default(),
        );
        assert!(xml.contains(
            "<criterion test_ref=\"oval:x:tst:1\" version=\"3\" negate=\"true\" result=\"true\"/>"
        ));
        assert!(xml.contains("<criteria operator=\"AND\" result=\"true\">"));
        assert!(xml.contains(
            "<test test_id=\"oval:x:tst:1\" version=\"3\" check_existence=\"none_exist\" check=\"all\" result=\"false\">"
        ));
    }

    #[test]
    fn result_file_names_follow_oscap() {
        assert_eq!(
            result_file_name("ssg-debian11-oval.xml"),
            "ssg-debian11-oval.xml.result.xml"
        );
        assert_eq!(result_file_name("content/x.xml"), "x.xml.result.xml");
    }
}
