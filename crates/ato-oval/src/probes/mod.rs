//! Probes: one module per OVAL object type, by family, all registered in [`PROBES`].
//!
//! A probe receives an [`ObjectRequest`] (the object's entities with every variable already
//! resolved to its values) and returns a [`Collected`]: the items that match, and a flag.
//! Probes read the system only through [`ato_target::Target`], which confines every path to the
//! scanned root; they never execute programs and never start threads of their own (the
//! evaluator runs objects in parallel and each object is collected once).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ato_content::oval::{Check, Datatype, Family, Kind, Operation};
use ato_target::Target;

use crate::compare::{compare, CompareError};
use crate::item::{Collected, Item};
use crate::pcre::RegexCache;
use crate::result::{OvalResult, Tally};

pub mod independent;
pub mod linux;
pub mod unix;

/// A probe: collects the items of one object.
pub type ProbeFn = fn(&ObjectRequest<'_>, &ProbeContext<'_>) -> Collected;

/// Every object type ato collects: family, name without `_object`, probe.
pub const PROBES: &[(Family, &str, ProbeFn)] = &[
    (
        Family::Independent,
        "environmentvariable58",
        independent::environmentvariable58::collect,
    ),
    (Family::Independent, "family", independent::family::collect),
    (
        Family::Independent,
        "textfilecontent54",
        independent::textfilecontent54::collect,
    ),
    (Family::Linux, "dpkginfo", linux::dpkginfo::collect),
    (Family::Linux, "partition", linux::partition::collect),
    (Family::Linux, "rpminfo", linux::rpminfo::collect),
    (
        Family::Linux,
        "systemdunitdependency",
        linux::systemdunitdependency::collect,
    ),
    (
        Family::Linux,
        "systemdunitproperty",
        linux::systemdunitproperty::collect,
    ),
    (Family::Unix, "file", unix::file::collect),
    (Family::Unix, "interface", unix::interface::collect),
    (Family::Unix, "password", unix::password::collect),
    (Family::Unix, "shadow", unix::shadow::collect),
    (Family::Unix, "symlink", unix::symlink::collect),
    (Family::Unix, "sysctl", unix::sysctl::collect),
    (Family::Unix, "uname", unix::uname::collect),
];

/// The probe for an object kind, if ato has one.
pub fn probe_for(kind: &Kind) -> Option<ProbeFn> {
    PROBES
        .iter()
        .find(|(f, n, _)| *f == kind.family && *n == kind.name)
        .map(|(_, _, p)| *p)
}

/// What a probe is asked to collect.
#[derive(Debug, Clone)]
pub struct ObjectRequest<'a> {
    /// The object's id, for messages.
    pub id: &'a str,
    pub kind: &'a Kind,
    /// The `behaviors` element's attributes.
    pub behaviors: &'a [(String, String)],
    pub entities: Vec<RequestEntity>,
    /// The object's `filter` elements, if the evaluator can apply them one item at a time. A
    /// probe that makes many items may drop those it refuses as it makes them (see
    /// [`ObjectRequest::keeps`]); the evaluator filters what the probe returns either way.
    pub filter: Option<ItemFilter<'a>>,
}

/// A test that an item passes the object's filters: the states of `action="exclude"` filters
/// do not match it and those of `action="include"` filters do.
#[derive(Clone, Copy)]
pub struct ItemFilter<'a> {
    keeps: &'a dyn Fn(&Item) -> bool,
}

impl<'a> ItemFilter<'a> {
    pub fn new(keeps: &'a dyn Fn(&Item) -> bool) -> ItemFilter<'a> {
        ItemFilter { keeps }
    }

    /// Whether `item` passes.
    pub fn keeps(&self, item: &Item) -> bool {
        (self.keeps)(item)
    }
}

impl std::fmt::Debug for ItemFilter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemFilter")
    }
}

impl ObjectRequest<'_> {
    /// Whether `item` passes the object's filters; true when the request carries none.
    pub fn keeps(&self, item: &Item) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter.keeps(item))
    }

    /// The entity named `name`, if the object has it.
    pub fn entity(&self, name: &str) -> Option<&RequestEntity> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// A behavior attribute's value.
    pub fn behavior(&self, name: &str) -> Option<&str> {
        self.behaviors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean behavior, with its default.
    pub fn behavior_bool(&self, name: &str, default: bool) -> bool {
        match self.behavior(name) {
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            _ => default,
        }
    }
}

/// An object entity with its values resolved: a literal gives one value, a `var_ref` the
/// variable's values.
#[derive(Debug, Clone)]
pub struct RequestEntity {
    pub name: String,
    pub datatype: Datatype,
    pub operation: Operation,
    pub values: Vec<String>,
    pub var_check: Check,
    /// `xsi:nil="true"`: the entity is not to be collected (a file object's filename nil
    /// means directories only).
    pub nil: bool,
    /// The values came from a variable.
    pub from_variable: bool,
}

impl RequestEntity {
    /// A literal entity, for tests and for probes that build requests of their own.
    pub fn literal(name: &str, operation: Operation, value: &str) -> RequestEntity {
        RequestEntity {
            name: name.to_string(),
            datatype: Datatype::String,
            operation,
            values: vec![value.to_string()],
            var_check: Check::All,
            nil: false,
            from_variable: false,
        }
    }

    /// Whether a collected value satisfies this entity: each value is compared by the
    /// entity's operation and the results combined by `var_check`.
    pub fn matches(&self, actual: &str, regexes: &RegexCache) -> Result<bool, CompareError> {
        let mut tally = Tally::default();
        for expected in &self.values {
            let r = compare(self.datatype, self.operation, actual, expected, regexes)?;
            tally.add(OvalResult::from_bool(r));
        }
        Ok(tally.by_check(self.var_check) == OvalResult::True)
    }

    /// The values to look up directly when the operation is `equals` (so a probe can open
    /// `/etc/passwd` instead of walking for it); `None` for any other operation.
    pub fn exact_values(&self) -> Option<&[String]> {
        match self.operation {
            Operation::Equals => Some(&self.values),
            _ => None,
        }
    }
}

/// What every probe can use: the target, the compiled-regex cache, and caches shared by all
/// objects of a scan (a parsed dpkg database, the passwd file, directory listings).
pub struct ProbeContext<'a> {
    pub target: &'a Target,
    pub regexes: &'a RegexCache,
    pub shared: &'a SharedCache,
}

/// A type-keyed store of values computed once per scan and shared by all probes.
#[derive(Default)]
pub struct SharedCache {
    map: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl SharedCache {
    pub fn new() -> SharedCache {
        SharedCache::default()
    }

    /// The value of type `T`, made by `init` on first use. `init` runs without the lock
    /// held, so two threads may both compute it the first time; one result is kept.
    pub fn get_or_init<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let key = TypeId::of::<T>();
        if let Some(v) = self.lock().get(&key) {
            if let Ok(v) = Arc::clone(v).downcast::<T>() {
                return v;
            }
        }
        let made: Arc<dyn Any + Send + Sync> = Arc::new(init());
        let kept = Arc::clone(self.lock().entry(key).or_insert(made));
        match kept.downcast::<T>() {
            Ok(v) => v,
            // The map is keyed by the type id, so the entry always has type T.
            Err(_) => unreachable!("shared cache entry of the wrong type"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Maps a comparison error in an object entity to the object's error flag.
pub fn entity_error(req: &ObjectRequest<'_>, entity: &str, e: &CompareError) -> Collected {
    Collected::error(format!("object `{}`: entity `{entity}`: {e}", req.id))
}

/// Runs `probe` on an offline root with one literal entity, for the probes' unit tests.
#[cfg(test)]
pub(crate) fn run_one_entity(
    probe: ProbeFn,
    root: &std::path::Path,
    kind: (Family, &str),
    entity: RequestEntity,
) -> Collected {
    run_probe(probe, &Target::offline(root).unwrap(), kind, vec![entity])
}

/// Runs `probe` on `target` with an object of these entities and no behaviors, for the probes'
/// unit tests.
#[cfg(test)]
pub(crate) fn run_probe(
    probe: ProbeFn,
    target: &Target,
    kind: (Family, &str),
    entities: Vec<RequestEntity>,
) -> Collected {
    let kind = Kind {
        family: kind.0,
        name: kind.1.into(),
        namespace: String::new(),
    };
    let req = ObjectRequest {
        filter: None,
        id: "oval:t:obj:1",
        kind: &kind,
        behaviors: &[],
        entities,
    };
    let (regexes, shared) = (RegexCache::new(), SharedCache::new());
    probe(
        &req,
        &ProbeContext {
            target,
            regexes: &regexes,
            shared: &shared,
        },
    )
}
