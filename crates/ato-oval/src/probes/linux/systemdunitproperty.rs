//! `linux:systemdunitproperty_object` (OVAL 5.11): properties of systemd units.
//!
//! Answered from unit files, on the live host and on an offline root alike; ato has no D-Bus
//! client (OpenSCAP asks systemd over D-Bus and reports `not collected` offline, `error` inside
//! a chroot). Units are enumerated as for systemdunitdependency: canonical names of unit
//! files, masked ones included, never an alias (OpenSCAP 1.3.7 lists the loaded units by
//! their ids, so `^sshd\.service$` finds nothing where `sshd.service` is an alias).
//!
//! Properties of the `org.freedesktop.systemd1.Unit` interface that the files determine:
//! - `Id`, `Names` (the id and every alias, one value each);
//! - `LoadState`: `loaded` or `masked` (a link to `/dev/null` or an empty file);
//! - `UnitFileState`: what `systemctl --root TREE is-enabled` prints (`enabled`,
//!   `enabled-runtime`, `disabled`, `static`, `indirect`, `alias`, `masked`,
//!   `masked-runtime`, `generated`, `transient`);
//! - `FragmentPath`, `DropInPaths`, `Description` (the id when there is none, as systemd
//!   does) and `Documentation`, for a loaded unit.
//!
//! Every other property of that interface (`ActiveState`, `SubState`, timestamps, the
//! dependency lists systemd completes with default dependencies, ...) is known only to a
//! running manager: asked for by name it gives `not collected` with a message; matched by a
//! pattern, the derivable ones are reported and the flag is `incomplete`. So a rule needing
//! `ActiveState=active` is `unknown` offline and on a live host alike, while one accepting
//! `LoadState=masked` is decided. A property outside the Unit interface (`ExecStart`) does not
//! exist, as in OpenSCAP, which asks that interface only.
//!
//! TODO(systemd): a small D-Bus client for `/run/systemd/private` would give the runtime
//! properties on a live host.

use ato_content::oval::Datatype;

use super::systemd::{self, Resolved, UnitDb};
use crate::item::{Collected, Flag, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext, RequestEntity};

/// Unit properties ato derives from unit files.
const FROM_FILES: &[&str] = &[
    "Id",
    "Names",
    "LoadState",
    "UnitFileState",
    "FragmentPath",
    "DropInPaths",
    "Description",
    "Documentation",
];

/// The other properties of `org.freedesktop.systemd1.Unit` (systemd 252): runtime state.
const RUNTIME: &[&str] = &[
    "Following",
    "Requires",
    "Requisite",
    "Wants",
    "BindsTo",
    "PartOf",
    "Upholds",
    "RequiredBy",
    "RequisiteOf",
    "WantedBy",
    "BoundBy",
    "UpheldBy",
    "ConsistsOf",
    "Conflicts",
    "ConflictedBy",
    "Before",
    "After",
    "OnSuccess",
    "OnSuccessOf",
    "OnFailure",
    "OnFailureOf",
    "Triggers",
    "TriggeredBy",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "PropagatesStopTo",
    "StopPropagatedFrom",
    "JoinsNamespaceOf",
    "SliceOf",
    "RequiresMountsFor",
    "AccessSELinuxContext",
    "ActiveState",
    "FreezerState",
    "SubState",
    "SourcePath",
    "UnitFilePreset",
    "StateChangeTimestamp",
    "StateChangeTimestampMonotonic",
    "InactiveExitTimestamp",
    "InactiveExitTimestampMonotonic",
    "ActiveEnterTimestamp",
    "ActiveEnterTimestampMonotonic",
    "ActiveExitTimestamp",
    "ActiveExitTimestampMonotonic",
    "InactiveEnterTimestamp",
    "InactiveEnterTimestampMonotonic",
    "CanStart",
    "CanStop",
    "CanReload",
    "CanIsolate",
    "CanClean",
    "CanFreeze",
    "Job",
    "StopWhenUnneeded",
    "RefuseManualStart",
    "RefuseManualStop",
    "AllowIsolate",
    "DefaultDependencies",
    "OnSuccessJobMode",
    "OnFailureJobMode",
    "IgnoreOnIsolate",
    "NeedDaemonReload",
    "Markers",
    "JobTimeoutUSec",
    "JobRunningTimeoutUSec",
    "JobTimeoutAction",
    "JobTimeoutRebootArgument",
    "ConditionResult",
    "AssertResult",
    "ConditionTimestamp",
    "ConditionTimestampMonotonic",
    "AssertTimestamp",
    "AssertTimestampMonotonic",
    "Conditions",
    "Asserts",
    "LoadError",
    "Transient",
    "Perpetual",
    "StartLimitIntervalUSec",
    "StartLimitBurst",
    "StartLimitAction",
    "FailureAction",
    "FailureActionExitStatus",
    "SuccessAction",
    "SuccessActionExitStatus",
    "RebootArgument",
    "InvocationID",
    "CollectMode",
    "Refs",
];

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let (Some(unit), Some(property)) = (req.entity("unit"), req.entity("property")) else {
        return Collected::error(format!("object `{}`: needs `unit` and `property`", req.id));
    };
    let wanted = match properties(property, ctx) {
        Ok(w) => w,
        Err(e) => return entity_error(req, "property", &e),
    };
    let db = ctx.shared.get_or_init(|| UnitDb::load(ctx.target));

    let mut items = Vec::new();
    let mut messages: Vec<String> = db
        .errors
        .iter()
        .map(|e| format!("object `{}`: {e}", req.id))
        .collect();
    let mut runtime_asked = false;
    for id in db.units() {
        match unit.matches(&id, ctx.regexes) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return entity_error(req, "unit", &e),
        }
        runtime_asked |= !wanted.runtime.is_empty();
        let unit_info = UnitInfo::read(ctx, &db, &id, &mut messages);
        for name in &wanted.from_files {
            let values = unit_info.values(name);
            if values.is_empty() {
                continue;
            }
            let mut item = Item::new("systemdunitproperty")
                .string("unit", &id)
                .string("property", *name);
            for v in values {
                item.push("value", Datatype::String, v);
            }
            items.push(item);
        }
    }

    let had_error = !messages.is_empty();
    if runtime_asked {
        messages.push(format!(
            "object `{}`: {} known only to a running systemd, which ato does not ask; not \
             collected",
            req.id,
            wanted.runtime.join(", ")
        ));
    }
    let flag = if had_error {
        Flag::Error
    } else if runtime_asked && items.is_empty() {
        Flag::NotCollected
    } else if runtime_asked {
        Flag::Incomplete
    } else if items.is_empty() {
        Flag::DoesNotExist
    } else {
        Flag::Complete
    };
    let mut collected = Collected::items(items);
    collected.flag = flag;
    collected.messages = messages;
    collected
}

/// The property names an object asks for: those ato can answer and the runtime ones.
struct Wanted {
    from_files: Vec<&'static str>,
    runtime: Vec<&'static str>,
}

fn properties(
    entity: &RequestEntity,
    ctx: &ProbeContext<'_>,
) -> Result<Wanted, crate::compare::CompareError> {
    let mut wanted = Wanted {
        from_files: Vec::new(),
        runtime: Vec::new(),
    };
    for name in FROM_FILES {
        if entity.matches(name, ctx.regexes)? {
            wanted.from_files.push(name);
        }
    }
    for name in RUNTIME {
        if entity.matches(name, ctx.regexes)? {
            wanted.runtime.push(name);
        }
    }
    Ok(wanted)
}

/// What the files say about one unit.
struct UnitInfo {
    id: String,
    names: Vec<String>,
    resolved: Resolved,
    unit_file_state: Option<String>,
    dropins: Vec<String>,
    files: Vec<systemd::Directives>,
}

impl UnitInfo {
    fn read(ctx: &ProbeContext<'_>, db: &UnitDb, id: &str, messages: &mut Vec<String>) -> UnitInfo {
        let resolved = db.resolve(id);
        let mut files = Vec::new();
        let mut dropins = Vec::new();
        if let Resolved::Loaded { fragment, .. } = &resolved {
            dropins = db.dropins(ctx.target, id);
            for path in std::iter::once(fragment).chain(&dropins) {
                match systemd::read_unit(ctx.target, path) {
                    Ok(d) => files.push(d),
                    Err(e) => messages.push(e),
                }
            }
        }
        UnitInfo {
            id: id.to_string(),
            names: db.names_of(id),
            unit_file_state: db.unit_file_state(ctx.target, id),
            resolved,
            dropins,
            files,
        }
    }

    fn values(&self, property: &str) -> Vec<String> {
        let loaded = matches!(self.resolved, Resolved::Loaded { .. });
        match property {
            "Id" => vec![self.id.clone()],
            "Names" => self.names.clone(),
            "LoadState" => vec![self.resolved.load_state().to_string()],
            "UnitFileState" => self.unit_file_state.iter().cloned().collect(),
            "FragmentPath" => match &self.resolved {
                Resolved::Loaded { fragment, .. } => vec![fragment.clone()],
                _ => Vec::new(),
            },
            "DropInPaths" => self.dropins.clone(),
            "Description" if loaded => {
                vec![systemd::last_value(&self.files, "Unit", "Description")
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| self.id.clone())]
            }
            "Documentation" if loaded => systemd::list_values(&self.files, "Unit", "Documentation"),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ato_content::oval::{Family, Kind, Operation};
    use ato_target::Target;

    use super::*;
    use crate::pcre::RegexCache;
    use crate::probes::linux::systemdunitdependency::tests::unit_tree;
    use crate::probes::SharedCache;

    fn run(root: &Path, unit: (Operation, &str), property: (Operation, &str)) -> Collected {
        let target = Target::offline(root).unwrap();
        let kind = Kind {
            family: Family::Linux,
            name: "systemdunitproperty".into(),
            namespace: String::new(),
        };
        let req = ObjectRequest {
            id: "oval:t:obj:1",
            kind: &kind,
            behaviors: &[],
            entities: vec![
                RequestEntity::literal("unit", unit.0, unit.1),
                RequestEntity::literal("property", property.0, property.1),
            ],
        };
        let (regexes, shared) = (RegexCache::new(), SharedCache::new());
        collect(
            &req,
            &ProbeContext {
                target: &target,
                regexes: &regexes,
                shared: &shared,
            },
        )
    }

    fn value(c: &Collected, unit: &str) -> Vec<String> {
        let item = c.items.iter().find(|i| i.fields[0].value == unit).unwrap();
        item.values("value").map(String::from).collect()
    }

    #[test]
    fn load_state_and_unit_file_state() {
        let dir = unit_tree();
        let eq = Operation::Equals;
        let c = run(
            dir.path(),
            (Operation::PatternMatch, r"^(cups|ssh|auditd)\.service$"),
            (eq, "LoadState"),
        );
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(value(&c, "cups.service"), ["masked"]);
        assert_eq!(value(&c, "ssh.service"), ["loaded"]);

        let c = run(
            dir.path(),
            (Operation::PatternMatch, r"\.service$"),
            (eq, "UnitFileState"),
        );
        assert_eq!(value(&c, "cups.service"), ["masked"]);
        assert_eq!(value(&c, "ssh.service"), ["enabled"]);
        assert_eq!(value(&c, "auditd.service"), ["enabled"]);
        // A wants link to /dev/null still counts as enablement for `systemctl is-enabled`.
        assert_eq!(value(&c, "avahi-daemon.service"), ["enabled"]);
        assert_eq!(value(&c, "extra.service"), ["static"]);
        assert_eq!(value(&c, "c.service"), ["indirect"]);
        assert_eq!(value(&c, "e.service"), ["masked"]);
        assert_eq!(value(&c, "systemd-logind.service"), ["static"]);
        assert!(c.items.iter().all(|i| i.fields[0].value != "sshd.service"));
    }

    #[test]
    fn names_description_dropins() {
        let dir = unit_tree();
        let eq = Operation::Equals;
        let c = run(dir.path(), (eq, "ssh.service"), (eq, "Names"));
        assert_eq!(value(&c, "ssh.service"), ["ssh.service", "sshd.service"]);
        let c = run(dir.path(), (eq, "sysinit.target"), (eq, "Description"));
        assert_eq!(value(&c, "sysinit.target"), ["System Initialization"]);
        let c = run(dir.path(), (eq, "graphical.target"), (eq, "DropInPaths"));
        assert_eq!(
            value(&c, "graphical.target"),
            ["/etc/systemd/system/graphical.target.d/override.conf"]
        );
    }

    #[test]
    fn runtime_properties_are_not_collected() {
        let dir = unit_tree();
        let eq = Operation::Equals;
        let c = run(dir.path(), (eq, "ssh.service"), (eq, "ActiveState"));
        assert_eq!(c.flag, Flag::NotCollected);
        assert!(c.messages[0].contains("ActiveState"));
        // A unit that does not exist has no properties at all.
        let c = run(dir.path(), (eq, "nope.service"), (eq, "ActiveState"));
        assert_eq!(c.flag, Flag::DoesNotExist);
        let c = run(
            dir.path(),
            (eq, "ssh.service"),
            (Operation::PatternMatch, "State$"),
        );
        assert_eq!(c.flag, Flag::Incomplete);
        assert_eq!(c.items.len(), 2);
        assert_eq!(
            run(dir.path(), (eq, "ssh.service"), (eq, "ExecStart")).flag,
            Flag::DoesNotExist
        );
    }
}
