//! Collected items and objects: what the probes return (OVAL system characteristics).

use std::sync::Arc;

use ato_content::oval::Datatype;

/// `oval-sc:StatusEnumeration`, for an item and for each of its entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    #[default]
    Exists,
    DoesNotExist,
    Error,
    NotCollected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Exists => "exists",
            Status::DoesNotExist => "does not exist",
            Status::Error => "error",
            Status::NotCollected => "not collected",
        }
    }
}

/// One entity of an item (`<path>/etc</path>`). An item may hold several fields of the same
/// name: that is how OVAL gives an entity several values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// The entity's name, from the probe's schema (a probe makes many items with the same
    /// names, so they are not allocated for each).
    pub name: &'static str,
    pub datatype: Datatype,
    pub value: String,
    pub status: Status,
}

/// A collected item (`textfilecontent_item`, `file_item`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    /// The item element's name without `_item` (`textfilecontent`, `file`, `dpkginfo`).
    pub kind: &'static str,
    pub status: Status,
    pub fields: Vec<Field>,
}

impl Item {
    pub fn new(kind: &'static str) -> Item {
        Item {
            kind,
            status: Status::Exists,
            fields: Vec::new(),
        }
    }

    /// Adds a field with the given datatype.
    pub fn field(
        mut self,
        name: &'static str,
        datatype: Datatype,
        value: impl Into<String>,
    ) -> Item {
        self.push(name, datatype, value);
        self
    }

    /// Adds a string field.
    pub fn string(self, name: &'static str, value: impl Into<String>) -> Item {
        self.field(name, Datatype::String, value)
    }

    pub fn push(&mut self, name: &'static str, datatype: Datatype, value: impl Into<String>) {
        self.fields.push(Field {
            name,
            datatype,
            value: value.into(),
            status: Status::Exists,
        });
    }

    /// Adds a field whose value could not be had (`status="does not exist"` etc.).
    pub fn push_status(&mut self, name: &'static str, datatype: Datatype, status: Status) {
        self.fields.push(Field {
            name,
            datatype,
            value: String::new(),
            status,
        });
    }

    /// The values of the fields named `name`.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name == name && f.status == Status::Exists)
            .map(|f| f.value.as_str())
    }
}

/// `oval-sc:FlagEnumeration`: how complete a collected object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag {
    Error,
    Complete,
    Incomplete,
    DoesNotExist,
    NotCollected,
    NotApplicable,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Error => "error",
            Flag::Complete => "complete",
            Flag::Incomplete => "incomplete",
            Flag::DoesNotExist => "does not exist",
            Flag::NotCollected => "not collected",
            Flag::NotApplicable => "not applicable",
        }
    }
}

/// The result of collecting one object: its flag, its items and what went wrong.
#[derive(Debug, Clone)]
pub struct Collected {
    pub flag: Flag,
    pub items: Vec<Arc<Item>>,
    /// Messages for the results (a path that could not be read, an unsupported behavior).
    pub messages: Vec<String>,
}

impl Collected {
    /// Items found: `complete`, or `does not exist` when there are none.
    pub fn items(items: Vec<Item>) -> Collected {
        let flag = if items.is_empty() {
            Flag::DoesNotExist
        } else {
            Flag::Complete
        };
        Collected {
            flag,
            items: items.into_iter().map(Arc::new).collect(),
            messages: Vec::new(),
        }
    }

    /// Collection failed as a whole.
    pub fn error(message: impl Into<String>) -> Collected {
        Collected {
            flag: Flag::Error,
            items: Vec::new(),
            messages: vec![message.into()],
        }
    }

    /// The object cannot be collected on this target.
    pub fn not_collected(message: impl Into<String>) -> Collected {
        Collected {
            flag: Flag::NotCollected,
            items: Vec::new(),
            messages: vec![message.into()],
        }
    }

    /// Adds a message and returns self.
    pub fn with_message(mut self, message: impl Into<String>) -> Collected {
        self.messages.push(message.into());
        self
    }
}
