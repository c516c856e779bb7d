//! XCCDF 1.2 benchmark model (NIST IR 7275 rev 4) and its loader.
//!
//! Kept: what evaluation, results and reports need (profiles, values, groups and rules with
//! their checks, platforms, references and fixes). Descriptions keep their XHTML markup.

use std::collections::HashMap;
use std::path::Path;

use roxmltree::Node;

use crate::error::ContentError;
use crate::xml::{self, elements, parse_bool, position, NS_CPE_LANG, NS_XCCDF};

/// A benchmark with its items in document order.
#[derive(Debug, Clone, Default)]
pub struct Benchmark {
    pub id: String,
    pub title: String,
    pub version: String,
    pub status: String,
    pub description: String,
    /// `platform/@idref`: CPE names or `#id` of a platform specification.
    pub platforms: Vec<String>,
    pub profiles: Vec<Profile>,
    /// Values, groups and rules in document order (groups hold their own children).
    pub items: Vec<Item>,
    /// CPE applicability language platforms by id.
    pub cpe_platforms: HashMap<String, crate::cpe::Platform>,
    /// Scoring models (`model/@system`); the default model is implied when empty.
    pub models: Vec<String>,
    /// `plain-text` snippets by id, for `sub` references to them.
    pub plain_texts: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Group(Group),
    Rule(Rule),
    Value(Value),
}

/// Attributes common to groups and rules.
#[derive(Debug, Clone, Default)]
pub struct ItemBase {
    pub id: String,
    pub title: String,
    pub description: String,
    pub rationale: String,
    pub selected: bool,
    pub weight: f64,
    pub platforms: Vec<String>,
    /// `requires/@idref` lists: each inner list is satisfied when any of its ids is selected.
    pub requires: Vec<Vec<String>>,
    pub conflicts: Vec<String>,
    pub hidden: bool,
    pub abstract_: bool,
    pub cluster_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub base: ItemBase,
    pub children: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Unknown,
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "unknown" => Severity::Unknown,
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Full,
    Unscored,
    Unchecked,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "full" => Role::Full,
            "unscored" => Role::Unscored,
            "unchecked" => Role::Unchecked,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Full => "full",
            Role::Unscored => "unscored",
            Role::Unchecked => "unchecked",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub base: ItemBase,
    pub severity: Severity,
    pub role: Role,
    pub multiple: bool,
    pub idents: Vec<Ident>,
    pub references: Vec<Reference>,
    /// Alternative checks; the evaluator picks by selector, then by supported system.
    pub checks: Vec<Check>,
    pub complex_check: Option<ComplexCheck>,
    pub fixes: Vec<Fix>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ident {
    pub system: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    pub href: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Check {
    pub system: String,
    pub selector: String,
    pub negate: bool,
    pub multi_check: bool,
    /// `(value id, export name)` pairs.
    pub exports: Vec<(String, String)>,
    /// `(href, name)` pairs, alternatives in order.
    pub content_refs: Vec<(String, Option<String>)>,
    pub has_inline_content: bool,
}

#[derive(Debug, Clone)]
pub enum ComplexCheckChild {
    Check(Check),
    Complex(ComplexCheck),
}

#[derive(Debug, Clone)]
pub struct ComplexCheck {
    /// `AND` or `OR`.
    pub operator_and: bool,
    pub negate: bool,
    pub children: Vec<ComplexCheckChild>,
}

/// A fix script: system, id and the body, where `sub` references are kept as
/// [`FixPart::Sub`].
#[derive(Debug, Clone, Default)]
pub struct Fix {
    pub id: String,
    pub system: String,
    pub platform: String,
    pub complexity: String,
    pub disruption: String,
    pub reboot: bool,
    pub strategy: String,
    pub parts: Vec<FixPart>,
}

/// A piece of a fix body: literal text, or a `sub` that a generator replaces with the value of
/// the Value (or the text of the `plain-text`) it names. In a fix, `use="legacy"` and the
/// default `use="value"` both mean the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixPart {
    Text(String),
    Sub { idref: String, use_legacy: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueType {
    #[default]
    String,
    Number,
    Boolean,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Value {
    pub id: String,
    pub title: String,
    pub description: String,
    pub value_type: ValueType,
    pub operator: String,
    /// `(selector, value)`; the empty selector is the default.
    pub values: Vec<(String, String)>,
}

impl Value {
    /// The value for `selector`, falling back to the default (selector-less) value, then to
    /// the first value given.
    pub fn value_for(&self, selector: Option<&str>) -> Option<&str> {
        if let Some(sel) = selector {
            if let Some((_, v)) = self.values.iter().find(|(s, _)| s == sel) {
                return Some(v);
            }
        }
        self.values
            .iter()
            .find(|(s, _)| s.is_empty())
            .or_else(|| self.values.first())
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub description: String,
    pub extends: Option<String>,
    pub abstract_: bool,
    /// `(idref, selected)` in document order.
    pub selects: Vec<(String, bool)>,
    pub set_values: Vec<(String, String)>,
    pub refine_values: Vec<RefineValue>,
    pub refine_rules: Vec<RefineRule>,
}

#[derive(Debug, Clone, Default)]
pub struct RefineValue {
    pub idref: String,
    pub selector: Option<String>,
    pub operator: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RefineRule {
    pub idref: String,
    pub selector: Option<String>,
    pub severity: Option<Severity>,
    pub role: Option<Role>,
    pub weight: Option<f64>,
}

impl Benchmark {
    /// Every rule in document order.
    pub fn rules(&self) -> Vec<&Rule> {
        fn walk<'a>(items: &'a [Item], out: &mut Vec<&'a Rule>) {
            for item in items {
                match item {
                    Item::Rule(r) => out.push(r),
                    Item::Group(g) => walk(&g.children, out),
                    Item::Value(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut out);
        out
    }

    /// Every value, wherever it is declared, by id.
    pub fn values(&self) -> HashMap<&str, &Value> {
        fn walk<'a>(items: &'a [Item], out: &mut HashMap<&'a str, &'a Value>) {
            for item in items {
                match item {
                    Item::Value(v) => {
                        out.insert(&v.id, v);
                    }
                    Item::Group(g) => walk(&g.children, out),
                    Item::Rule(_) => {}
                }
            }
        }
        let mut out = HashMap::new();
        walk(&self.items, &mut out);
        out
    }

    /// The profile with this exact id.
    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }
}

struct Ctx<'p, 's> {
    path: &'p Path,
    source: &'s str,
}

impl Ctx<'_, '_> {
    fn err(&self, node: Node<'_, '_>, message: impl Into<String>) -> ContentError {
        ContentError::Element {
            path: self.path.to_path_buf(),
            element: node.tag_name().name().to_string(),
            id: node.attribute("id").unwrap_or("").to_string(),
            position: position(node),
            message: message.into(),
        }
    }
}

/// Parses an XCCDF 1.2 `Benchmark` element. `source` is the document text (descriptions keep
/// their markup); `path` names the file in errors.
pub fn parse_benchmark(
    node: Node<'_, '_>,
    source: &str,
    path: &Path,
) -> Result<Benchmark, ContentError> {
    let ctx = Ctx { path, source };
    let mut b = Benchmark {
        id: node
            .attribute("id")
            .ok_or_else(|| ctx.err(node, "Benchmark has no `id`"))?
            .into(),
        ..Benchmark::default()
    };
    for c in elements(node) {
        if c.tag_name().namespace() == Some(NS_CPE_LANG)
            && c.tag_name().name() == "platform-specification"
        {
            for p in elements(c) {
                let platform = crate::cpe::parse_platform(p, path)?;
                b.cpe_platforms.insert(platform.id.clone(), platform);
            }
            continue;
        }
        if c.tag_name().namespace() != Some(NS_XCCDF) {
            continue;
        }
        match c.tag_name().name() {
            "title" if b.title.is_empty() => b.title = xml::text(c),
            "description" if b.description.is_empty() => {
                b.description = xml::inner_markup(c, source)
            }
            "version" => b.version = xml::text(c),
            "status" => b.status = xml::text(c),
            "platform" => b.platforms.extend(c.attribute("idref").map(str::to_string)),
            "model" => b.models.extend(c.attribute("system").map(str::to_string)),
            "plain-text" => {
                if let Some(id) = c.attribute("id") {
                    b.plain_texts.insert(id.to_string(), xml::text(c));
                }
            }
            "Profile" => b.profiles.push(parse_profile(&ctx, c)?),
            "Group" | "Rule" | "Value" => b.items.push(parse_item(&ctx, c)?),
            _ => {}
        }
    }
    Ok(b)
}

/// Parses an XCCDF 1.2 `Tailoring` element: the profiles it defines, which usually extend the
/// benchmark's own.
pub fn parse_tailoring(
    node: Node<'_, '_>,
    source: &str,
    path: &Path,
) -> Result<Vec<Profile>, ContentError> {
    let ctx = Ctx { path, source };
    elements(node)
        .filter(|c| c.has_tag_name((NS_XCCDF, "Profile")))
        .map(|c| parse_profile(&ctx, c))
        .collect()
}

fn parse_profile(ctx: &Ctx, node: Node<'_, '_>) -> Result<Profile, ContentError> {
    let mut p = Profile {
        id: node
            .attribute("id")
            .ok_or_else(|| ctx.err(node, "Profile has no `id`"))?
            .into(),
        extends: node.attribute("extends").map(str::to_string),
        abstract_: node
            .attribute("abstract")
            .and_then(parse_bool)
            .unwrap_or(false),
        ..Profile::default()
    };
    for c in elements(node) {
        let idref = || -> Result<String, ContentError> {
            c.attribute("idref")
                .map(str::to_string)
                .ok_or_else(|| ctx.err(c, format!("`{}` without `idref`", c.tag_name().name())))
        };
        match c.tag_name().name() {
            "title" if p.title.is_empty() => p.title = xml::text(c),
            "description" if p.description.is_empty() => {
                p.description = xml::inner_markup(c, ctx.source)
            }
            "select" => {
                let selected = c
                    .attribute("selected")
                    .and_then(parse_bool)
                    .ok_or_else(|| {
                        ctx.err(c, "select without a valid `selected` attribute".to_string())
                    })?;
                p.selects.push((idref()?, selected));
            }
            "set-value" => p.set_values.push((idref()?, xml::text(c))),
            "refine-value" => p.refine_values.push(RefineValue {
                idref: idref()?,
                selector: c.attribute("selector").map(str::to_string),
                operator: c.attribute("operator").map(str::to_string),
            }),
            "refine-rule" => p.refine_rules.push(RefineRule {
                idref: idref()?,
                selector: c.attribute("selector").map(str::to_string),
                severity: c.attribute("severity").and_then(Severity::parse),
                role: c.attribute("role").and_then(Role::parse),
                weight: c.attribute("weight").and_then(|w| w.parse().ok()),
            }),
            _ => {}
        }
    }
    Ok(p)
}

fn parse_base(ctx: &Ctx, node: Node<'_, '_>) -> Result<ItemBase, ContentError> {
    let mut base = ItemBase {
        id: node
            .attribute("id")
            .ok_or_else(|| ctx.err(node, "item has no `id`"))?
            .into(),
        selected: node
            .attribute("selected")
            .and_then(parse_bool)
            .unwrap_or(true),
        weight: node
            .attribute("weight")
            .and_then(|w| w.parse().ok())
            .unwrap_or(1.0),
        hidden: node
            .attribute("hidden")
            .and_then(parse_bool)
            .unwrap_or(false),
        abstract_: node
            .attribute("abstract")
            .and_then(parse_bool)
            .unwrap_or(false),
        cluster_id: node.attribute("cluster-id").map(str::to_string),
        ..ItemBase::default()
    };
    for c in elements(node) {
        if c.tag_name().namespace() != Some(NS_XCCDF) {
            continue;
        }
        match c.tag_name().name() {
            "title" if base.title.is_empty() => base.title = xml::text(c),
            "description" if base.description.is_empty() => {
                base.description = xml::inner_markup(c, ctx.source)
            }
            "rationale" if base.rationale.is_empty() => {
                base.rationale = xml::inner_markup(c, ctx.source)
            }
            "platform" => base
                .platforms
                .extend(c.attribute("idref").map(str::to_string)),
            "requires" => base.requires.push(
                c.attribute("idref")
                    .unwrap_or("")
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
            ),
            "conflicts" => base
                .conflicts
                .extend(c.attribute("idref").map(str::to_string)),
            _ => {}
        }
    }
    Ok(base)
}

fn parse_item(ctx: &Ctx, node: Node<'_, '_>) -> Result<Item, ContentError> {
    match node.tag_name().name() {
        "Group" => {
            let base = parse_base(ctx, node)?;
            let mut children = Vec::new();
            for c in elements(node) {
                if c.tag_name().namespace() == Some(NS_XCCDF)
                    && matches!(c.tag_name().name(), "Group" | "Rule" | "Value")
                {
                    children.push(parse_item(ctx, c)?);
                }
            }
            Ok(Item::Group(Group { base, children }))
        }
        "Rule" => parse_rule(ctx, node).map(Item::Rule),
        _ => parse_value(ctx, node).map(Item::Value),
    }
}

fn parse_rule(ctx: &Ctx, node: Node<'_, '_>) -> Result<Rule, ContentError> {
    let mut rule = Rule {
        base: parse_base(ctx, node)?,
        severity: match node.attribute("severity") {
            None => Severity::Unknown,
            Some(s) => Severity::parse(s)
                .ok_or_else(|| ctx.err(node, format!("unknown severity `{s}`")))?,
        },
        role: node
            .attribute("role")
            .and_then(Role::parse)
            .unwrap_or_default(),
        multiple: node
            .attribute("multiple")
            .and_then(parse_bool)
            .unwrap_or(false),
        ..Rule::default()
    };
    for c in elements(node) {
        if c.tag_name().namespace() != Some(NS_XCCDF) {
            continue;
        }
        match c.tag_name().name() {
            "ident" => rule.idents.push(Ident {
                system: c.attribute("system").unwrap_or("").to_string(),
                value: xml::text(c).trim().to_string(),
            }),
            "reference" => rule.references.push(Reference {
                href: c.attribute("href").unwrap_or("").to_string(),
                text: xml::text(c).trim().to_string(),
            }),
            "check" => rule.checks.push(parse_check(c)),
            "complex-check" => rule.complex_check = Some(parse_complex_check(ctx, c)?),
            "fix" => rule.fixes.push(parse_fix(c)),
            _ => {}
        }
    }
    Ok(rule)
}

fn parse_check(node: Node<'_, '_>) -> Check {
    let mut check = Check {
        system: node.attribute("system").unwrap_or("").to_string(),
        selector: node.attribute("selector").unwrap_or("").to_string(),
        negate: node
            .attribute("negate")
            .and_then(parse_bool)
            .unwrap_or(false),
        multi_check: node
            .attribute("multi-check")
            .and_then(parse_bool)
            .unwrap_or(false),
        ..Check::default()
    };
    for c in elements(node) {
        match c.tag_name().name() {
            "check-export" => check.exports.push((
                c.attribute("value-id").unwrap_or("").to_string(),
                c.attribute("export-name").unwrap_or("").to_string(),
            )),
            "check-content-ref" => check.content_refs.push((
                c.attribute("href").unwrap_or("").to_string(),
                c.attribute("name").map(str::to_string),
            )),
            "check-content" => check.has_inline_content = true,
            _ => {}
        }
    }
    check
}

fn parse_complex_check(ctx: &Ctx, node: Node<'_, '_>) -> Result<ComplexCheck, ContentError> {
    let operator_and = match node.attribute("operator").unwrap_or("AND") {
        "AND" => true,
        "OR" => false,
        other => return Err(ctx.err(node, format!("unknown complex-check operator `{other}`"))),
    };
    let mut children = Vec::new();
    for c in elements(node) {
        match c.tag_name().name() {
            "check" => children.push(ComplexCheckChild::Check(parse_check(c))),
            "complex-check" => {
                children.push(ComplexCheckChild::Complex(parse_complex_check(ctx, c)?))
            }
            _ => {}
        }
    }
    Ok(ComplexCheck {
        operator_and,
        negate: node
            .attribute("negate")
            .and_then(parse_bool)
            .unwrap_or(false),
        children,
    })
}

fn parse_fix(node: Node<'_, '_>) -> Fix {
    let attr = |n: &str| node.attribute(n).unwrap_or("").to_string();
    let mut parts: Vec<FixPart> = Vec::new();
    fix_parts(node, &mut parts);
    Fix {
        id: attr("id"),
        system: attr("system"),
        platform: attr("platform"),
        complexity: attr("complexity"),
        disruption: attr("disruption"),
        reboot: node
            .attribute("reboot")
            .and_then(parse_bool)
            .unwrap_or(false),
        strategy: attr("strategy"),
        parts,
    }
}

/// The text and `sub` references below `node`, in document order. CDATA sections are text;
/// markup other than `sub` (an `instance`, XHTML) gives its text and the references inside it.
fn fix_parts(node: Node<'_, '_>, parts: &mut Vec<FixPart>) {
    for c in node.children() {
        if c.is_text() {
            let t = c.text().unwrap_or_default();
            match parts.last_mut() {
                Some(FixPart::Text(prev)) => prev.push_str(t),
                _ => parts.push(FixPart::Text(t.to_string())),
            }
        } else if c.has_tag_name((NS_XCCDF, "sub")) {
            parts.push(FixPart::Sub {
                idref: c.attribute("idref").unwrap_or("").to_string(),
                use_legacy: c.attribute("use") == Some("legacy"),
            });
        } else if c.is_element() {
            fix_parts(c, parts);
        }
    }
}

fn parse_value(ctx: &Ctx, node: Node<'_, '_>) -> Result<Value, ContentError> {
    let mut v = Value {
        id: node
            .attribute("id")
            .ok_or_else(|| ctx.err(node, "Value has no `id`"))?
            .into(),
        value_type: match node.attribute("type").unwrap_or("string") {
            "number" => ValueType::Number,
            "boolean" => ValueType::Boolean,
            _ => ValueType::String,
        },
        operator: node.attribute("operator").unwrap_or("equals").to_string(),
        ..Value::default()
    };
    for c in elements(node) {
        match c.tag_name().name() {
            "title" if v.title.is_empty() => v.title = xml::text(c),
            "description" if v.description.is_empty() => {
                v.description = xml::inner_markup(c, ctx.source)
            }
            "value" => v.values.push((
                c.attribute("selector").unwrap_or("").to_string(),
                xml::text(c),
            )),
            _ => {}
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_fixes(rule_xml: &str) -> Vec<Fix> {
        let text = format!(
            r#"<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:h="http://www.w3.org/1999/xhtml" id="xccdf_t_benchmark_b">
  <plain-text id="xccdf_t_plain-text_p">text</plain-text>
  {rule_xml}
</Benchmark>"#
        );
        let doc = roxmltree::Document::parse(&text).unwrap();
        let b = parse_benchmark(doc.root_element(), &text, Path::new("t")).unwrap();
        assert_eq!(b.plain_texts["xccdf_t_plain-text_p"], "text");
        b.rules()[0].fixes.clone()
    }

    fn sub(idref: &str, use_legacy: bool) -> FixPart {
        FixPart::Sub {
            idref: idref.to_string(),
            use_legacy,
        }
    }

    #[test]
    fn fix_text_keeps_cdata_entities_and_subs_in_order() {
        let fixes = rule_fixes(
            r#"<Rule id="xccdf_t_rule_r"><fix system="urn:xccdf:fix:script:sh">a=&apos;<sub idref="v" use="legacy"/>&apos; &amp;&amp; <![CDATA[if [ 1 < 2 ]; then echo "<x>"; fi]]>
b=<sub idref="w"/></fix></Rule>"#,
        );
        assert_eq!(
            fixes[0].parts,
            [
                FixPart::Text("a='".into()),
                sub("v", true),
                FixPart::Text("' && if [ 1 < 2 ]; then echo \"<x>\"; fi\nb=".into()),
                sub("w", false),
            ]
        );
    }

    #[test]
    fn subs_inside_other_markup_are_kept() {
        let fixes = rule_fixes(
            r#"<Rule id="xccdf_t_rule_r"><fix system="urn:xccdf:fix:script:sh">x <h:code>y <sub idref="v"/></h:code> z</fix></Rule>"#,
        );
        assert_eq!(
            fixes[0].parts,
            [
                FixPart::Text("x y ".into()),
                sub("v", false),
                FixPart::Text(" z".into()),
            ]
        );
    }
}
