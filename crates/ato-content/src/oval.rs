//! OVAL 5.11 definitions model: definitions, tests, objects, states and variables.
//!
//! Objects and states are kept generic (a list of entities with their attributes) so that every
//! object type of every family shares one representation; the probes in `ato-oval` give the
//! entities their meaning. Enumerations follow the OVAL 5.11.2 common schema.

use std::collections::HashMap;
use std::fmt;

/// `oval:DatatypeEnumeration` plus `record` (used by a few entities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Datatype {
    Binary,
    Boolean,
    EvrString,
    DebianEvrString,
    Fileset,
    Float,
    IosVersion,
    Int,
    Ipv4Address,
    Ipv6Address,
    #[default]
    String,
    Version,
    Record,
}

impl Datatype {
    /// Parses the schema's spelling (`evr_string`, `ipv4_address`, ...).
    pub fn parse(s: &str) -> Option<Datatype> {
        Some(match s {
            "binary" => Datatype::Binary,
            "boolean" => Datatype::Boolean,
            "evr_string" => Datatype::EvrString,
            "debian_evr_string" => Datatype::DebianEvrString,
            "fileset_revision" | "fileset" => Datatype::Fileset,
            "float" => Datatype::Float,
            "ios_version" => Datatype::IosVersion,
            "int" => Datatype::Int,
            "ipv4_address" => Datatype::Ipv4Address,
            "ipv6_address" => Datatype::Ipv6Address,
            "string" => Datatype::String,
            "version" => Datatype::Version,
            "record" => Datatype::Record,
            _ => return None,
        })
    }

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::Binary => "binary",
            Datatype::Boolean => "boolean",
            Datatype::EvrString => "evr_string",
            Datatype::DebianEvrString => "debian_evr_string",
            Datatype::Fileset => "fileset_revision",
            Datatype::Float => "float",
            Datatype::IosVersion => "ios_version",
            Datatype::Int => "int",
            Datatype::Ipv4Address => "ipv4_address",
            Datatype::Ipv6Address => "ipv6_address",
            Datatype::String => "string",
            Datatype::Version => "version",
            Datatype::Record => "record",
        }
    }
}

impl fmt::Display for Datatype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `oval:OperationEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Operation {
    #[default]
    Equals,
    NotEqual,
    CaseInsensitiveEquals,
    CaseInsensitiveNotEqual,
    GreaterThan,
    LessThan,
    GreaterThanOrEqual,
    LessThanOrEqual,
    BitwiseAnd,
    BitwiseOr,
    PatternMatch,
    SubsetOf,
    SupersetOf,
}

impl Operation {
    /// Parses the schema's spelling (`pattern match`, `greater than or equal`, ...).
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "equals" => Operation::Equals,
            "not equal" => Operation::NotEqual,
            "case insensitive equals" => Operation::CaseInsensitiveEquals,
            "case insensitive not equal" => Operation::CaseInsensitiveNotEqual,
            "greater than" => Operation::GreaterThan,
            "less than" => Operation::LessThan,
            "greater than or equal" => Operation::GreaterThanOrEqual,
            "less than or equal" => Operation::LessThanOrEqual,
            "bitwise and" => Operation::BitwiseAnd,
            "bitwise or" => Operation::BitwiseOr,
            "pattern match" => Operation::PatternMatch,
            "subset of" => Operation::SubsetOf,
            "superset of" => Operation::SupersetOf,
            _ => return None,
        })
    }

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Equals => "equals",
            Operation::NotEqual => "not equal",
            Operation::CaseInsensitiveEquals => "case insensitive equals",
            Operation::CaseInsensitiveNotEqual => "case insensitive not equal",
            Operation::GreaterThan => "greater than",
            Operation::LessThan => "less than",
            Operation::GreaterThanOrEqual => "greater than or equal",
            Operation::LessThanOrEqual => "less than or equal",
            Operation::BitwiseAnd => "bitwise and",
            Operation::BitwiseOr => "bitwise or",
            Operation::PatternMatch => "pattern match",
            Operation::SubsetOf => "subset of",
            Operation::SupersetOf => "superset of",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `oval:CheckEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Check {
    #[default]
    All,
    AtLeastOne,
    /// Deprecated `none exist`, evaluated as `none satisfy`.
    NoneExist,
    NoneSatisfy,
    OnlyOne,
}

impl Check {
    pub fn parse(s: &str) -> Option<Check> {
        Some(match s {
            "all" => Check::All,
            "at least one" => Check::AtLeastOne,
            "none exist" => Check::NoneExist,
            "none satisfy" => Check::NoneSatisfy,
            "only one" => Check::OnlyOne,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Check::All => "all",
            Check::AtLeastOne => "at least one",
            Check::NoneExist => "none exist",
            Check::NoneSatisfy => "none satisfy",
            Check::OnlyOne => "only one",
        }
    }
}

/// `oval:ExistenceEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Existence {
    AllExist,
    AnyExist,
    #[default]
    AtLeastOneExists,
    NoneExist,
    OnlyOneExists,
}

impl Existence {
    pub fn parse(s: &str) -> Option<Existence> {
        Some(match s {
            "all_exist" => Existence::AllExist,
            "any_exist" => Existence::AnyExist,
            "at_least_one_exists" => Existence::AtLeastOneExists,
            "none_exist" => Existence::NoneExist,
            "only_one_exists" => Existence::OnlyOneExists,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Existence::AllExist => "all_exist",
            Existence::AnyExist => "any_exist",
            Existence::AtLeastOneExists => "at_least_one_exists",
            Existence::NoneExist => "none_exist",
            Existence::OnlyOneExists => "only_one_exists",
        }
    }
}

/// `oval:OperatorEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Operator {
    #[default]
    And,
    One,
    Or,
    Xor,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s {
            "AND" => Operator::And,
            "ONE" => Operator::One,
            "OR" => Operator::Or,
            "XOR" => Operator::Xor,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::And => "AND",
            Operator::One => "ONE",
            Operator::Or => "OR",
            Operator::Xor => "XOR",
        }
    }
}

/// The OVAL family an element belongs to, from its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Independent,
    Unix,
    Linux,
    Other,
}

impl Family {
    /// The family of an OVAL definitions namespace such as
    /// `http://oval.mitre.org/XMLSchema/oval-definitions-5#unix`.
    pub fn from_namespace(ns: &str) -> Family {
        match ns.rsplit_once('#').map(|(_, f)| f) {
            Some("independent") => Family::Independent,
            Some("unix") => Family::Unix,
            Some("linux") => Family::Linux,
            _ => Family::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Independent => "independent",
            Family::Unix => "unix",
            Family::Linux => "linux",
            Family::Other => "other",
        }
    }
}

/// The kind of a test, object, state or item: family and the name without its suffix
/// (`textfilecontent54` for `ind:textfilecontent54_object`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    pub family: Family,
    pub name: String,
    /// The namespace URI the element came in, written back into results.
    pub namespace: String,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.family.as_str(), self.name)
    }
}

/// `oval-def:ClassEnumeration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DefinitionClass {
    #[default]
    Compliance,
    Inventory,
    Miscellaneous,
    Patch,
    Vulnerability,
}

impl DefinitionClass {
    pub fn parse(s: &str) -> Option<DefinitionClass> {
        Some(match s {
            "compliance" => DefinitionClass::Compliance,
            "inventory" => DefinitionClass::Inventory,
            "miscellaneous" => DefinitionClass::Miscellaneous,
            "patch" => DefinitionClass::Patch,
            "vulnerability" => DefinitionClass::Vulnerability,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionClass::Compliance => "compliance",
            DefinitionClass::Inventory => "inventory",
            DefinitionClass::Miscellaneous => "miscellaneous",
            DefinitionClass::Patch => "patch",
            DefinitionClass::Vulnerability => "vulnerability",
        }
    }
}

/// One `oval_definitions` document, indexed by id.
#[derive(Debug, Clone, Default)]
pub struct OvalDefinitions {
    /// Definitions in document order.
    pub definitions: Vec<Definition>,
    pub definition_index: HashMap<String, usize>,
    pub tests: HashMap<String, Test>,
    pub objects: HashMap<String, Object>,
    pub states: HashMap<String, State>,
    pub variables: HashMap<String, Variable>,
}

impl OvalDefinitions {
    pub fn definition(&self, id: &str) -> Option<&Definition> {
        self.definition_index.get(id).map(|&i| &self.definitions[i])
    }
}

#[derive(Debug, Clone)]
pub struct Definition {
    pub id: String,
    pub version: String,
    pub class: DefinitionClass,
    pub title: String,
    /// `None` for a deprecated definition without criteria (evaluates to `not evaluated`).
    pub criteria: Option<Criteria>,
}

#[derive(Debug, Clone)]
pub struct Criteria {
    pub operator: Operator,
    pub negate: bool,
    pub applicability_check: Option<bool>,
    pub children: Vec<Criterion>,
}

#[derive(Debug, Clone)]
pub enum Criterion {
    Criteria(Criteria),
    Test {
        test_ref: String,
        negate: bool,
    },
    ExtendDefinition {
        definition_ref: String,
        negate: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Test {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub comment: String,
    pub check: Check,
    pub check_existence: Existence,
    pub state_operator: Operator,
    /// `None` only for the few test types without objects (`unknown_test`).
    pub object_ref: Option<String>,
    pub state_refs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub comment: String,
    pub body: ObjectBody,
}

#[derive(Debug, Clone)]
pub enum ObjectBody {
    /// An object given by its entities.
    Entities {
        /// Attributes of the `behaviors` element, in document order.
        behaviors: Vec<(String, String)>,
        entities: Vec<Entity>,
        filters: Vec<Filter>,
    },
    /// An object given as a set of other objects.
    Set(Set),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetOperator {
    Complement,
    Intersection,
    #[default]
    Union,
}

#[derive(Debug, Clone)]
pub struct Set {
    pub operator: SetOperator,
    /// One or two object references, or one or two nested sets.
    pub object_refs: Vec<String>,
    pub sets: Vec<Set>,
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FilterAction {
    #[default]
    Exclude,
    Include,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub action: FilterAction,
    pub state_ref: String,
}

/// An entity of an object or a state (`<path operation="pattern match">^/etc</path>`).
#[derive(Debug, Clone, Default)]
pub struct Entity {
    pub name: String,
    pub datatype: Datatype,
    pub operation: Operation,
    /// The literal text; empty when `var_ref` gives the value or `nil` is set.
    pub value: String,
    pub var_ref: Option<String>,
    pub var_check: Check,
    /// `entity_check` (states only).
    pub entity_check: Check,
    /// `xsi:nil="true"`.
    pub nil: bool,
    pub mask: bool,
    /// Child fields of a `record` entity.
    pub fields: Vec<Entity>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub comment: String,
    pub operator: Operator,
    pub entities: Vec<Entity>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub id: String,
    pub version: String,
    pub datatype: Datatype,
    pub comment: String,
    pub body: VariableBody,
}

#[derive(Debug, Clone)]
pub enum VariableBody {
    /// Values come from outside (XCCDF `check-export`).
    External,
    Constant(Vec<String>),
    Local(Component),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithmeticOperation {
    Add,
    Multiply,
}

/// `oval-def:DateTimeFormatEnumeration`: how `time_difference` reads a date-time value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateTimeFormat {
    /// `yyyymmdd`, `yyyymmddThhmmss`, `yyyy/mm/dd` or `yyyy-mm-dd`, the last two with an
    /// optional ` hh:mm:ss`.
    #[default]
    YearMonthDay,
    /// `mm/dd/yyyy`, `mm-dd-yyyy` or `NameOfMonth, dd yyyy` (full or abbreviated name), each
    /// with an optional ` hh:mm:ss`.
    MonthDayYear,
    /// `dd/mm/yyyy` or `dd-mm-yyyy`, with an optional ` hh:mm:ss`.
    DayMonthYear,
    /// A Windows FILETIME: 100-nanosecond intervals since 1601-01-01 00:00:00 UTC.
    WinFiletime,
    /// Seconds since 1970-01-01 00:00:00 UTC.
    SecondsSinceEpoch,
    /// The WMI form `yyyymmddHHMMSS.mmmmmmsUUU`, or `yyyy-mm-dd HH:MM:SS:mmm` from WQL.
    CimDatetime,
}

impl DateTimeFormat {
    /// Parses the schema's spelling (`year_month_day`, `win_filetime`, ...).
    pub fn parse(s: &str) -> Option<DateTimeFormat> {
        Some(match s {
            "year_month_day" => DateTimeFormat::YearMonthDay,
            "month_day_year" => DateTimeFormat::MonthDayYear,
            "day_month_year" => DateTimeFormat::DayMonthYear,
            "win_filetime" => DateTimeFormat::WinFiletime,
            "seconds_since_epoch" => DateTimeFormat::SecondsSinceEpoch,
            "cim_datetime" => DateTimeFormat::CimDatetime,
            _ => return None,
        })
    }

    /// The schema's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DateTimeFormat::YearMonthDay => "year_month_day",
            DateTimeFormat::MonthDayYear => "month_day_year",
            DateTimeFormat::DayMonthYear => "day_month_year",
            DateTimeFormat::WinFiletime => "win_filetime",
            DateTimeFormat::SecondsSinceEpoch => "seconds_since_epoch",
            DateTimeFormat::CimDatetime => "cim_datetime",
        }
    }
}

impl fmt::Display for DateTimeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component of a local variable: a value source or a function of components.
#[derive(Debug, Clone)]
pub enum Component {
    Object {
        object_ref: String,
        item_field: String,
        record_field: Option<String>,
    },
    Variable {
        var_ref: String,
    },
    Literal {
        value: String,
        datatype: Datatype,
    },
    Arithmetic {
        operation: ArithmeticOperation,
        args: Vec<Component>,
    },
    Begin {
        character: String,
        arg: Box<Component>,
    },
    Concat {
        args: Vec<Component>,
    },
    Count {
        args: Vec<Component>,
    },
    End {
        character: String,
        arg: Box<Component>,
    },
    EscapeRegex {
        arg: Box<Component>,
    },
    GlobToRegex {
        glob_noescape: bool,
        arg: Box<Component>,
    },
    RegexCapture {
        pattern: String,
        arg: Box<Component>,
    },
    Split {
        delimiter: String,
        arg: Box<Component>,
    },
    Substring {
        start: i64,
        length: i64,
        arg: Box<Component>,
    },
    /// One or two date-time components (the parser checks the count); with one, it is
    /// subtracted from the current time and read in `format_2`.
    TimeDifference {
        format_1: DateTimeFormat,
        format_2: DateTimeFormat,
        args: Vec<Component>,
    },
    Unique {
        args: Vec<Component>,
    },
}
