//! Reads an `oval_definitions` element into the model of [`crate::oval`].

use std::path::Path;

use roxmltree::Node;

use crate::error::ContentError;
use crate::oval::*;
use crate::xml::{self, elements, is_nil, parse_bool, position, NS_OVAL_DEF};

struct Ctx<'p> {
    path: &'p Path,
}

impl Ctx<'_> {
    fn err(&self, node: Node<'_, '_>, message: impl Into<String>) -> ContentError {
        ContentError::Element {
            path: self.path.to_path_buf(),
            element: node.tag_name().name().to_string(),
            id: node.attribute("id").unwrap_or("").to_string(),
            position: position(node),
            message: message.into(),
        }
    }

    fn id(&self, node: Node<'_, '_>) -> Result<String, ContentError> {
        node.attribute("id")
            .map(str::to_string)
            .ok_or_else(|| self.err(node, "has no `id`"))
    }

    fn attr_enum<T>(
        &self,
        node: Node<'_, '_>,
        name: &str,
        parse: fn(&str) -> Option<T>,
        default: T,
    ) -> Result<T, ContentError> {
        match node.attribute(name) {
            None => Ok(default),
            Some(v) => parse(v).ok_or_else(|| self.err(node, format!("unknown {name} `{v}`"))),
        }
    }
}

/// Parses an `oval_definitions` element. `path` only names the file in errors.
pub fn parse_oval_definitions(
    root: Node<'_, '_>,
    path: &Path,
) -> Result<OvalDefinitions, ContentError> {
    let ctx = Ctx { path };
    let mut defs = OvalDefinitions::default();
    for section in elements(root) {
        if section.tag_name().namespace() != Some(NS_OVAL_DEF) {
            continue;
        }
        match section.tag_name().name() {
            "definitions" => {
                for d in elements(section) {
                    let def = parse_definition(&ctx, d)?;
                    defs.definition_index
                        .insert(def.id.clone(), defs.definitions.len());
                    defs.definitions.push(def);
                }
            }
            "tests" => {
                for t in elements(section) {
                    let test = parse_test(&ctx, t)?;
                    defs.tests.insert(test.id.clone(), test);
                }
            }
            "objects" => {
                for o in elements(section) {
                    let object = parse_object(&ctx, o)?;
                    defs.objects.insert(object.id.clone(), object);
                }
            }
            "states" => {
                for s in elements(section) {
                    let state = parse_state(&ctx, s)?;
                    defs.states.insert(state.id.clone(), state);
                }
            }
            "variables" => {
                for v in elements(section) {
                    let var = parse_variable(&ctx, v)?;
                    defs.variables.insert(var.id.clone(), var);
                }
            }
            _ => {}
        }
    }
    Ok(defs)
}

fn kind_of(node: Node<'_, '_>, suffix: &str) -> Kind {
    let name = node.tag_name().name();
    let namespace = node.tag_name().namespace().unwrap_or("").to_string();
    Kind {
        family: Family::from_namespace(&namespace),
        name: name.strip_suffix(suffix).unwrap_or(name).to_string(),
        namespace,
    }
}

fn parse_definition(ctx: &Ctx, node: Node<'_, '_>) -> Result<Definition, ContentError> {
    let id = ctx.id(node)?;
    let class = ctx.attr_enum(
        node,
        "class",
        DefinitionClass::parse,
        DefinitionClass::Compliance,
    )?;
    let mut title = String::new();
    if let Some(meta) = xml::child(node, NS_OVAL_DEF, "metadata") {
        title = xml::child_text(meta, NS_OVAL_DEF, "title");
    }
    let criteria = match xml::child(node, NS_OVAL_DEF, "criteria") {
        Some(c) => Some(parse_criteria(ctx, c)?),
        None => None,
    };
    Ok(Definition {
        id,
        version: node.attribute("version").unwrap_or("1").to_string(),
        class,
        title,
        criteria,
    })
}

fn parse_criteria(ctx: &Ctx, node: Node<'_, '_>) -> Result<Criteria, ContentError> {
    let operator = ctx.attr_enum(node, "operator", Operator::parse, Operator::And)?;
    let negate = node
        .attribute("negate")
        .and_then(parse_bool)
        .unwrap_or(false);
    let applicability_check = node.attribute("applicability_check").and_then(parse_bool);
    let mut children = Vec::new();
    for c in elements(node) {
        let negate = c.attribute("negate").and_then(parse_bool).unwrap_or(false);
        match c.tag_name().name() {
            "criteria" => children.push(Criterion::Criteria(parse_criteria(ctx, c)?)),
            "criterion" => {
                let test_ref = c
                    .attribute("test_ref")
                    .ok_or_else(|| ctx.err(c, "criterion without `test_ref`"))?;
                children.push(Criterion::Test {
                    test_ref: test_ref.to_string(),
                    negate,
                });
            }
            "extend_definition" => {
                let definition_ref = c
                    .attribute("definition_ref")
                    .ok_or_else(|| ctx.err(c, "extend_definition without `definition_ref`"))?;
                children.push(Criterion::ExtendDefinition {
                    definition_ref: definition_ref.to_string(),
                    negate,
                });
            }
            other => return Err(ctx.err(c, format!("unexpected `{other}` in criteria"))),
        }
    }
    Ok(Criteria {
        operator,
        negate,
        applicability_check,
        children,
    })
}

fn parse_test(ctx: &Ctx, node: Node<'_, '_>) -> Result<Test, ContentError> {
    let id = ctx.id(node)?;
    let mut object_ref = None;
    let mut state_refs = Vec::new();
    for c in elements(node) {
        match c.tag_name().name() {
            "object" => object_ref = c.attribute("object_ref").map(str::to_string),
            "state" => {
                if let Some(s) = c.attribute("state_ref") {
                    state_refs.push(s.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(Test {
        id,
        version: node.attribute("version").unwrap_or("1").to_string(),
        kind: kind_of(node, "_test"),
        comment: node.attribute("comment").unwrap_or("").to_string(),
        check: ctx.attr_enum(node, "check", Check::parse, Check::All)?,
        check_existence: ctx.attr_enum(
            node,
            "check_existence",
            Existence::parse,
            Existence::AtLeastOneExists,
        )?,
        state_operator: ctx.attr_enum(node, "state_operator", Operator::parse, Operator::And)?,
        object_ref,
        state_refs,
    })
}

fn parse_filter(ctx: &Ctx, node: Node<'_, '_>) -> Result<Filter, ContentError> {
    let action = match node.attribute("action") {
        None | Some("exclude") => FilterAction::Exclude,
        Some("include") => FilterAction::Include,
        Some(other) => return Err(ctx.err(node, format!("unknown filter action `{other}`"))),
    };
    let state_ref = xml::text(node).trim().to_string();
    if state_ref.is_empty() {
        return Err(ctx.err(node, "empty filter"));
    }
    Ok(Filter { action, state_ref })
}

fn parse_set(ctx: &Ctx, node: Node<'_, '_>) -> Result<Set, ContentError> {
    let operator = match node.attribute("set_operator") {
        None | Some("UNION") => SetOperator::Union,
        Some("INTERSECTION") => SetOperator::Intersection,
        Some("COMPLEMENT") => SetOperator::Complement,
        Some(other) => return Err(ctx.err(node, format!("unknown set_operator `{other}`"))),
    };
    let mut set = Set {
        operator,
        object_refs: Vec::new(),
        sets: Vec::new(),
        filters: Vec::new(),
    };
    for c in elements(node) {
        match c.tag_name().name() {
            "object_reference" => set.object_refs.push(xml::text(c).trim().to_string()),
            "set" => set.sets.push(parse_set(ctx, c)?),
            "filter" => set.filters.push(parse_filter(ctx, c)?),
            _ => {}
        }
    }
    Ok(set)
}

fn parse_object(ctx: &Ctx, node: Node<'_, '_>) -> Result<Object, ContentError> {
    let id = ctx.id(node)?;
    let mut behaviors = Vec::new();
    let mut entities = Vec::new();
    let mut filters = Vec::new();
    let mut set = None;
    for c in elements(node) {
        let in_def_ns = c.tag_name().namespace() == Some(NS_OVAL_DEF);
        match c.tag_name().name() {
            "set" if in_def_ns => set = Some(parse_set(ctx, c)?),
            "filter" if in_def_ns => filters.push(parse_filter(ctx, c)?),
            "notes" | "signature" if in_def_ns => {}
            "behaviors" => {
                for a in c.attributes() {
                    behaviors.push((a.name().to_string(), a.value().to_string()));
                }
            }
            _ => entities.push(parse_entity(ctx, c)?),
        }
    }
    let body = match set {
        Some(set) => ObjectBody::Set(set),
        None => ObjectBody::Entities {
            behaviors,
            entities,
            filters,
        },
    };
    Ok(Object {
        id,
        version: node.attribute("version").unwrap_or("1").to_string(),
        kind: kind_of(node, "_object"),
        comment: node.attribute("comment").unwrap_or("").to_string(),
        body,
    })
}

fn parse_entity(ctx: &Ctx, node: Node<'_, '_>) -> Result<Entity, ContentError> {
    let datatype = ctx.attr_enum(node, "datatype", Datatype::parse, Datatype::String)?;
    let mut fields = Vec::new();
    if datatype == Datatype::Record {
        for f in elements(node) {
            let mut field = parse_entity(ctx, f)?;
            if let Some(name) = f.attribute("name") {
                field.name = name.to_string();
            }
            fields.push(field);
        }
    }
    Ok(Entity {
        name: node.tag_name().name().to_string(),
        datatype,
        operation: ctx.attr_enum(node, "operation", Operation::parse, Operation::Equals)?,
        value: if datatype == Datatype::Record {
            String::new()
        } else {
            xml::text(node)
        },
        var_ref: node.attribute("var_ref").map(str::to_string),
        var_check: ctx.attr_enum(node, "var_check", Check::parse, Check::All)?,
        entity_check: ctx.attr_enum(node, "entity_check", Check::parse, Check::All)?,
        nil: is_nil(node),
        mask: node.attribute("mask").and_then(parse_bool).unwrap_or(false),
        fields,
    })
}

fn parse_state(ctx: &Ctx, node: Node<'_, '_>) -> Result<State, ContentError> {
    let id = ctx.id(node)?;
    let mut entities = Vec::new();
    for c in elements(node) {
        let in_def_ns = c.tag_name().namespace() == Some(NS_OVAL_DEF);
        if in_def_ns && matches!(c.tag_name().name(), "notes" | "signature") {
            continue;
        }
        entities.push(parse_entity(ctx, c)?);
    }
    Ok(State {
        id,
        version: node.attribute("version").unwrap_or("1").to_string(),
        kind: kind_of(node, "_state"),
        comment: node.attribute("comment").unwrap_or("").to_string(),
        operator: ctx.attr_enum(node, "operator", Operator::parse, Operator::And)?,
        entities,
    })
}

fn parse_variable(ctx: &Ctx, node: Node<'_, '_>) -> Result<Variable, ContentError> {
    let id = ctx.id(node)?;
    let datatype = ctx.attr_enum(node, "datatype", Datatype::parse, Datatype::String)?;
    let body = match node.tag_name().name() {
        "external_variable" => VariableBody::External,
        "constant_variable" => VariableBody::Constant(
            xml::children_named(node, NS_OVAL_DEF, "value")
                .map(xml::text)
                .collect(),
        ),
        "local_variable" => {
            let c = elements(node)
                .find(|c| !matches!(c.tag_name().name(), "notes" | "signature"))
                .ok_or_else(|| ctx.err(node, "local_variable without a component"))?;
            VariableBody::Local(parse_component(ctx, c)?)
        }
        other => return Err(ctx.err(node, format!("unknown variable kind `{other}`"))),
    };
    Ok(Variable {
        id,
        version: node.attribute("version").unwrap_or("1").to_string(),
        datatype,
        comment: node.attribute("comment").unwrap_or("").to_string(),
        body,
    })
}

fn component_args(ctx: &Ctx, node: Node<'_, '_>) -> Result<Vec<Component>, ContentError> {
    elements(node).map(|c| parse_component(ctx, c)).collect()
}

fn one_arg(ctx: &Ctx, node: Node<'_, '_>) -> Result<Box<Component>, ContentError> {
    let mut args = component_args(ctx, node)?;
    if args.len() != 1 {
        return Err(ctx.err(node, format!("expects one component, has {}", args.len())));
    }
    Ok(Box::new(args.remove(0)))
}

/// The arguments of `time_difference`: one or two components, as the schema allows.
fn time_difference_args(ctx: &Ctx, node: Node<'_, '_>) -> Result<Vec<Component>, ContentError> {
    let args = component_args(ctx, node)?;
    if !(1..=2).contains(&args.len()) {
        return Err(ctx.err(
            node,
            format!("expects one or two components, has {}", args.len()),
        ));
    }
    Ok(args)
}

fn parse_component(ctx: &Ctx, node: Node<'_, '_>) -> Result<Component, ContentError> {
    let attr = |name: &str| node.attribute(name).unwrap_or("").to_string();
    let int_attr = |name: &str, default: i64| -> Result<i64, ContentError> {
        match node.attribute(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ctx.err(node, format!("`{name}` is not an integer: `{v}`"))),
        }
    };
    Ok(match node.tag_name().name() {
        "object_component" => Component::Object {
            object_ref: attr("object_ref"),
            item_field: attr("item_field"),
            record_field: node.attribute("record_field").map(str::to_string),
        },
        "variable_component" => Component::Variable {
            var_ref: attr("var_ref"),
        },
        "literal_component" => Component::Literal {
            value: xml::text(node),
            datatype: ctx.attr_enum(node, "datatype", Datatype::parse, Datatype::String)?,
        },
        "arithmetic" => Component::Arithmetic {
            operation: match node.attribute("arithmetic_operation") {
                Some("add") => ArithmeticOperation::Add,
                Some("multiply") => ArithmeticOperation::Multiply,
                other => {
                    return Err(ctx.err(node, format!("unknown arithmetic_operation {other:?}")))
                }
            },
            args: component_args(ctx, node)?,
        },
        "begin" => Component::Begin {
            character: attr("character"),
            arg: one_arg(ctx, node)?,
        },
        "end" => Component::End {
            character: attr("character"),
            arg: one_arg(ctx, node)?,
        },
        "concat" => Component::Concat {
            args: component_args(ctx, node)?,
        },
        "count" => Component::Count {
            args: component_args(ctx, node)?,
        },
        "unique" => Component::Unique {
            args: component_args(ctx, node)?,
        },
        "escape_regex" => Component::EscapeRegex {
            arg: one_arg(ctx, node)?,
        },
        "glob_to_regex" => Component::GlobToRegex {
            glob_noescape: node
                .attribute("glob_noescape")
                .and_then(parse_bool)
                .unwrap_or(false),
            arg: one_arg(ctx, node)?,
        },
        "regex_capture" => Component::RegexCapture {
            pattern: attr("pattern"),
            arg: one_arg(ctx, node)?,
        },
        "split" => Component::Split {
            delimiter: attr("delimiter"),
            arg: one_arg(ctx, node)?,
        },
        "substring" => Component::Substring {
            start: int_attr("substring_start", 1)?,
            length: int_attr("substring_length", -1)?,
            arg: one_arg(ctx, node)?,
        },
        "time_difference" => Component::TimeDifference {
            format_1: ctx.attr_enum(
                node,
                "format_1",
                DateTimeFormat::parse,
                DateTimeFormat::YearMonthDay,
            )?,
            format_2: ctx.attr_enum(
                node,
                "format_2",
                DateTimeFormat::parse,
                DateTimeFormat::YearMonthDay,
            )?,
            args: time_difference_args(ctx, node)?,
        },
        other => return Err(ctx.err(node, format!("unsupported variable function `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a document whose only content is the given `<variables>` children.
    fn parse_variables(vars: &str) -> Result<OvalDefinitions, ContentError> {
        let text = format!(
            r#"<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">
<variables>{vars}</variables></oval_definitions>"#
        );
        let doc = roxmltree::Document::parse(&text).unwrap();
        parse_oval_definitions(doc.root_element(), Path::new("t.xml"))
    }

    #[test]
    fn time_difference_reads_formats_and_components() {
        let defs = parse_variables(
            r#"<local_variable id="oval:t:var:1" datatype="int" version="1" comment="">
  <time_difference format_1="seconds_since_epoch">
    <literal_component datatype="int">1700000000</literal_component>
    <literal_component>2023-11-14</literal_component>
  </time_difference>
</local_variable>"#,
        )
        .unwrap();
        let VariableBody::Local(Component::TimeDifference {
            format_1,
            format_2,
            args,
        }) = &defs.variables["oval:t:var:1"].body
        else {
            panic!("not a time_difference");
        };
        assert_eq!(*format_1, DateTimeFormat::SecondsSinceEpoch);
        assert_eq!(*format_2, DateTimeFormat::YearMonthDay);
        assert!(matches!(
            &args[..],
            [Component::Literal { value: a, .. }, Component::Literal { value: b, .. }]
                if a == "1700000000" && b == "2023-11-14"
        ));
    }

    #[test]
    fn time_difference_takes_one_or_two_components() {
        let one = parse_variables(
            r#"<local_variable id="oval:t:var:1" datatype="int" version="1" comment="">
  <time_difference format_2="win_filetime">
    <variable_component var_ref="oval:t:var:2"/>
  </time_difference>
</local_variable>"#,
        )
        .unwrap();
        assert!(matches!(
            &one.variables["oval:t:var:1"].body,
            VariableBody::Local(Component::TimeDifference {
                format_2: DateTimeFormat::WinFiletime,
                args,
                ..
            }) if args.len() == 1
        ));

        let three = parse_variables(
            r#"<local_variable id="oval:t:var:1" datatype="int" version="1" comment="">
  <time_difference>
    <literal_component>20240101</literal_component>
    <literal_component>20240102</literal_component>
    <literal_component>20240103</literal_component>
  </time_difference>
</local_variable>"#,
        )
        .unwrap_err();
        assert!(
            three
                .to_string()
                .contains("expects one or two components, has 3"),
            "{three}"
        );
    }

    #[test]
    fn time_difference_with_an_unknown_format_is_an_error() {
        let err = parse_variables(
            r#"<local_variable id="oval:t:var:1" datatype="int" version="1" comment="">
  <time_difference format_1="julian">
    <literal_component>20240101</literal_component>
  </time_difference>
</local_variable>"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown format_1 `julian`"),
            "{err}"
        );
    }
}
