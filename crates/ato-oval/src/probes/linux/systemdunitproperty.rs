//! `linux:systemdunitproperty_object` (OVAL 5.11): properties of systemd units.
//!
//! Units are enumerated from unit files, on the live host and on an offline root alike, as for
//! systemdunitdependency: canonical names of unit files, masked ones included, never an alias
//! (OpenSCAP 1.3.7 lists the loaded units by their ids, so `^sshd\.service$` finds nothing
//! where `sshd.service` is an alias).
//!
//! **Live host, systemd the running init** (`/run/systemd/system` is a directory): ato asks
//! systemd over D-Bus, as OpenSCAP does. For each unit it calls `Manager.GetUnit`, then, when
//! systemd has not loaded the unit, `Manager.LoadUnit` (which reads the unit file ato found into
//! the manager and starts nothing, as OpenSCAP's probe does for every unit it lists), and
//! `Properties.GetAll` on `org.freedesktop.systemd1.Unit`; every property of that interface is
//! reported, those the `property` entity matches. A unit asked for by name (`equals`) that has
//! no unit file (a scope, a mount, a device) is looked up with `GetUnit` only; systemd's
//! `NoSuchUnit` means it does not exist. Values are converted as OpenSCAP 1.3.7 converts them:
//! strings and object paths as they are, booleans `true`/`false`, numbers in decimal
//! (timestamps are microseconds, not dates), an array one value per element and no item when
//! empty, a structure (`Job`, `LoadError`) an item without a value, a structure inside an array
//! (`Conditions`) skipped; see `systemd_dbus`.
//!
//! The connection is the only IPC ato does, read-only, to local Unix sockets of the live host
//! (`ato_target::SystemdBus`): the system bus `/run/dbus/system_bus_socket`, else systemd's
//! private socket `/run/systemd/private` if a first call on it can be read (systemd 245 puts a
//! sender in its replies there that zbus refuses). It is made once per scan, waits at most 5 seconds to
//! connect and for each call, and is never made for an offline root, whose sockets are not
//! followed. When systemd cannot be asked (no socket, a timeout, an error reply), the unit is
//! answered from files and control groups as below, with a message `D-Bus unavailable: ...`.
//!
//! **Without systemd to ask**, properties of the `org.freedesktop.systemd1.Unit` interface
//! that the files determine:
//! - `Id`, `Names` (the id and every alias, one value each);
//! - `LoadState`: `loaded` or `masked` (a link to `/dev/null` or an empty file);
//! - `UnitFileState`: what `systemctl --root TREE is-enabled` prints (`enabled`,
//!   `enabled-runtime`, `disabled`, `static`, `indirect`, `alias`, `masked`,
//!   `masked-runtime`, `generated`, `transient`);
//! - `FragmentPath`, `DropInPaths`, `Description` (the id when there is none, as systemd
//!   does) and `Documentation`, for a loaded unit.
//!
//! `ActiveState` and `SubState` then depend on where ato looks:
//! - **Offline root: the state at boot.** Nothing runs in an image at rest, so "is it running
//!   now" has no answer there; the question a scan of an image can answer is "would it run once
//!   the image is booted". ato reports the state a unit reaches when the system boots into its
//!   default target: `default.target` (usually an alias of `graphical.target` or
//!   `multi-user.target`; if it cannot be loaded, `rescue.target`, then `emergency.target`, as
//!   systemd falls back) and every unit it pulls in, following `Requires=` and `Wants=` and the
//!   `.requires/` and `.wants/` links of every unit reached, targets or not, as a boot
//!   transaction does. A unit pulled in that is not masked is `active`, with the sub-state
//!   systemd shows for an active unit of its type: `running` for a service (`exited` for a
//!   `Type=oneshot` service with `RemainAfterExit=yes`; a oneshot service without it has
//!   finished by then and is `inactive`/`dead`), `listening` for a socket, `waiting` for a
//!   timer, path or automount, `mounted` for a mount, `plugged` for a device, `running` for a
//!   scope and `active` for a target, slice or swap. Every other unit, and every masked one, is
//!   `inactive`/`dead`. Not modelled: conditions and assertions (`ConditionPathExists=`, ...),
//!   start failures, units started later by socket, path, timer or D-Bus activation (they stay
//!   `inactive` until then, as after a real boot), `BindsTo=` and `Upholds=`, the kernel
//!   command line's `systemd.unit=`, and generators (they run only at boot).
//! - **Live host, D-Bus unavailable: control groups.** A service or scope is
//!   `active`/`running` when its control group holds a process, and `inactive`/`dead` when it
//!   is empty or absent; a slice is `active`/`active` when its control group exists. The
//!   control group is the directory named exactly as the unit inside the slice tree of the
//!   cgroup hierarchy systemd tracks processes in: `/sys/fs/cgroup` (cgroup v2), else
//!   `/sys/fs/cgroup/unified` (hybrid), else `/sys/fs/cgroup/systemd` (v1), usually
//!   `system.slice/UNIT`. A control group tells only whether processes run: a
//!   `RemainAfterExit=yes` oneshot service that succeeded and a failed unit both look
//!   `inactive`/`dead` there. Other unit types (sockets, targets, timers, mounts, ...) have no
//!   control group of their own while active: their state is `not collected`.
//! - **Live host without systemd** (a container, a build machine): `not collected`.
//!
//! Every other property of that interface (timestamps, the dependency lists systemd completes
//! with default dependencies, ...) is known only to a running manager: without one to ask,
//! asked for by name it gives `not collected` with a message; matched by a pattern, the
//! derivable ones are reported and the flag is `incomplete`. A property outside the Unit
//! interface (`ExecStart`) does not exist, as in OpenSCAP, which asks that interface only.
//!
//! Not supported on the live host: units systemd has loaded without a unit file are found only
//! by name, not by a pattern (OpenSCAP 1.3.7 enumerates the manager's units; ato enumerates
//! unit files and does not list the manager's units).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use ato_content::oval::Datatype;
use ato_target::{FileType, Target, TargetError};

use super::systemd::{self, Resolved, UnitDb};
use super::systemd_dbus::{Properties, Systemd};
use super::systemdunitdependency;
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

/// The unit's state: at boot on an offline root, from its control group on a live host.
const STATE: &[&str] = &["ActiveState", "SubState"];

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
    "FreezerState",
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

/// Where systemd records that it is the running init (`sd_booted()`).
const SYSTEMD_RUNNING: &str = "/run/systemd/system";

/// The cgroup hierarchies systemd tracks processes in, in the order it prefers them: v2
/// (unified), hybrid, v1 (the named `systemd` hierarchy).
const CGROUP_ROOTS: &[&str] = &[
    "/sys/fs/cgroup",
    "/sys/fs/cgroup/unified",
    "/sys/fs/cgroup/systemd",
];

/// How deep slices nest and delegated subtrees go before ato stops looking.
const CGROUP_DEPTH: usize = 16;

/// The largest `cgroup.procs` read; a longer one has processes anyway.
const PROCS_LIMIT: u64 = 1 << 20;

/// The targets a boot tries, in systemd's order of falling back.
const BOOT_TARGETS: &[&str] = &["default.target", "rescue.target", "emergency.target"];

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let (Some(unit), Some(property)) = (req.entity("unit"), req.entity("property")) else {
        return Collected::error(format!("object `{}`: needs `unit` and `property`", req.id));
    };
    let wanted = match properties(property, ctx) {
        Ok(w) => w,
        Err(e) => return entity_error(req, "property", &e),
    };
    let db = ctx.shared.get_or_init(|| UnitDb::load(ctx.target));
    let systemd = running_systemd(ctx);
    // Without systemd to ask, the state source is needed at once (an offline root's boot walk
    // has messages of its own); with it, only for a unit systemd could not be asked about.
    let mut source =
        (!wanted.state.is_empty() && systemd.is_none()).then(|| StateSource::detect(ctx, &db));

    let mut items = Vec::new();
    let mut messages: Vec<String> = db
        .errors
        .iter()
        .map(|e| format!("object `{}`: {e}", req.id))
        .collect();
    if let Some(StateSource::Boot(boot)) = &source {
        messages.extend(
            boot.errors
                .iter()
                .map(|e| format!("object `{}`: {e}", req.id)),
        );
    }
    let mut runtime_asked = false;
    // Reason -> the units whose state is not collected for it.
    let mut state_unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Why systemd could not be asked about some unit.
    let mut dbus_unavailable = BTreeSet::new();
    let units = db.units();
    for id in &units {
        match unit.matches(id, ctx.regexes) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return entity_error(req, "unit", &e),
        }
        if let Some(systemd) = &systemd {
            // Loading reads a unit file ato found into the manager, as OpenSCAP does.
            let load = !matches!(db.resolve(id), Resolved::NotFound { .. });
            match systemd.unit(id, load) {
                Ok(Some(found)) => {
                    if let Err(e) = push_properties(&mut items, id, &found, property, ctx) {
                        return entity_error(req, "property", &e);
                    }
                    continue;
                }
                Ok(None) => continue,
                Err(reason) => {
                    dbus_unavailable.insert(reason);
                }
            }
        }

        runtime_asked |= !wanted.runtime.is_empty();
        let unit_info = UnitInfo::read(ctx.target, &db, id, &mut messages);
        for name in &wanted.from_files {
            let values = unit_info.values(name);
            if !values.is_empty() {
                items.push(property_item(id, name, values));
            }
        }

        if wanted.state.is_empty() {
            continue;
        }
        let source = source.get_or_insert_with(|| StateSource::detect(ctx, &db));
        match source.state(ctx.target, &unit_info) {
            Ok(UnitState::Known { active, sub }) => {
                for name in &wanted.state {
                    let value = if *name == "ActiveState" { active } else { sub };
                    items.push(property_item(id, name, vec![value.to_string()]));
                }
            }
            Ok(UnitState::Unknown(reason)) => {
                state_unknown.entry(reason).or_default().push(id.clone());
            }
            Err(e) => messages.push(format!("object `{}`: state of `{id}`: {e}", req.id)),
        }
    }

    // Units systemd has without a unit file (scopes, mounts, devices), asked for by name.
    if let (Some(systemd), Some(names)) = (&systemd, unit.exact_values()) {
        for name in names {
            let unknown = !units.contains(name)
                && matches!(db.resolve(name), Resolved::NotFound { .. })
                && systemd::is_unit_name(name);
            match unit.matches(name, ctx.regexes) {
                Ok(true) if unknown => {}
                Ok(_) => continue,
                Err(e) => return entity_error(req, "unit", &e),
            }
            match systemd.unit(name, false) {
                // An alias systemd resolved is not the unit's id, and OpenSCAP lists ids.
                Ok(Some(found))
                    if found
                        .get("Id")
                        .is_some_and(|id| matches!(id.as_slice(), [id] if id == name)) =>
                {
                    if let Err(e) = push_properties(&mut items, name, &found, property, ctx) {
                        return entity_error(req, "property", &e);
                    }
                }
                Ok(_) => {}
                Err(reason) => {
                    dbus_unavailable.insert(reason);
                }
            }
        }
    }

    let had_error = !messages.is_empty();
    let not_collected = runtime_asked || !state_unknown.is_empty();
    for reason in &dbus_unavailable {
        messages.push(format!(
            "object `{}`: D-Bus unavailable: {reason}; units answered from their unit files \
             and control groups instead",
            req.id
        ));
    }
    if runtime_asked {
        let why = if ctx.target.is_offline() {
            "which an offline root does not have"
        } else {
            "which could not be asked"
        };
        messages.push(format!(
            "object `{}`: {} known only to a running systemd, {why}; not collected",
            req.id,
            wanted.runtime.join(", ")
        ));
    }
    for (reason, units) in &state_unknown {
        messages.push(format!(
            "object `{}`: {} of `{}`: {reason}; not collected",
            req.id,
            wanted.state.join(", "),
            units.join("`, `")
        ));
    }
    let flag = if had_error {
        Flag::Error
    } else if not_collected && items.is_empty() {
        Flag::NotCollected
    } else if not_collected {
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

/// The live host's systemd, connected on first use, when it is the running init.
fn running_systemd(ctx: &ProbeContext<'_>) -> Option<Arc<Systemd>> {
    let bus = ctx.target.systemd_bus()?;
    if ctx.target.is_offline() || !systemd_running(ctx.target) {
        return None;
    }
    Some(ctx.shared.get_or_init(|| Systemd::connect(bus)))
}

/// Whether systemd is the running init (`sd_booted()`).
fn systemd_running(target: &Target) -> bool {
    target.lstat(SYSTEMD_RUNNING).is_ok_and(|s| s.is_dir())
}

/// Items for the properties systemd reported that the object's `property` matches.
fn push_properties(
    items: &mut Vec<Item>,
    unit: &str,
    found: &Properties,
    property: &RequestEntity,
    ctx: &ProbeContext<'_>,
) -> Result<(), crate::compare::CompareError> {
    for (name, values) in found {
        if property.matches(name, ctx.regexes)? {
            items.push(property_item(unit, name, values.clone()));
        }
    }
    Ok(())
}

fn property_item(unit: &str, property: &str, values: Vec<String>) -> Item {
    let mut item = Item::new("systemdunitproperty")
        .string("unit", unit)
        .string("property", property);
    for v in values {
        item.push("value", Datatype::String, v);
    }
    item
}

/// The property names an object asks for: those from files, the state, the runtime ones.
struct Wanted {
    from_files: Vec<&'static str>,
    state: Vec<&'static str>,
    runtime: Vec<&'static str>,
}

fn properties(
    entity: &RequestEntity,
    ctx: &ProbeContext<'_>,
) -> Result<Wanted, crate::compare::CompareError> {
    let pick = |names: &[&'static str]| -> Result<Vec<&'static str>, crate::compare::CompareError> {
        let mut picked = Vec::new();
        for name in names {
            if entity.matches(name, ctx.regexes)? {
                picked.push(*name);
            }
        }
        Ok(picked)
    };
    Ok(Wanted {
        from_files: pick(FROM_FILES)?,
        state: pick(STATE)?,
        runtime: pick(RUNTIME)?,
    })
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
    fn read(target: &Target, db: &UnitDb, id: &str, messages: &mut Vec<String>) -> UnitInfo {
        let resolved = db.resolve(id);
        let mut files = Vec::new();
        let mut dropins = Vec::new();
        if let Resolved::Loaded { fragment, .. } = &resolved {
            dropins = db.dropins(target, id);
            for path in std::iter::once(fragment).chain(&dropins) {
                match systemd::read_unit(target, path) {
                    Ok(d) => files.push(d),
                    Err(e) => messages.push(e),
                }
            }
        }
        UnitInfo {
            id: id.to_string(),
            names: db.names_of(id),
            unit_file_state: db.unit_file_state(target, id),
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

    /// The unit type: the suffix without its dot (`service`, `socket`, ...).
    fn unit_type(&self) -> &str {
        self.id.rsplit_once('.').map_or("", |(_, t)| t)
    }

    /// What a started service of this unit ends up as: `Type=oneshot` services finish, and stay
    /// active only with `RemainAfterExit=yes`.
    fn service_lifetime(&self) -> ServiceLifetime {
        // Only an explicit Type=oneshot counts: systemd also implies it for a service without
        // Type= and ExecStart=, but refuses to start nearly all of those.
        let oneshot =
            systemd::last_value(&self.files, "Service", "Type").is_some_and(|t| t == "oneshot");
        let remain = systemd::last_value(&self.files, "Service", "RemainAfterExit")
            .is_some_and(|v| parse_boolean(&v));
        match (oneshot, remain) {
            (false, _) => ServiceLifetime::Running,
            (true, true) => ServiceLifetime::Exited,
            (true, false) => ServiceLifetime::Finished,
        }
    }
}

enum ServiceLifetime {
    /// Runs until stopped.
    Running,
    /// A oneshot service that stays active once its processes exited.
    Exited,
    /// A oneshot service that is inactive again once done.
    Finished,
}

/// systemd's `parse_boolean`, the true half.
fn parse_boolean(value: &str) -> bool {
    ["1", "yes", "y", "true", "t", "on"]
        .iter()
        .any(|t| value.trim().eq_ignore_ascii_case(t))
}

/// A unit's `ActiveState` and `SubState`, or why they are not known.
#[derive(Debug, PartialEq, Eq)]
enum UnitState {
    Known {
        active: &'static str,
        sub: &'static str,
    },
    Unknown(String),
}

const INACTIVE: UnitState = UnitState::Known {
    active: "inactive",
    sub: "dead",
};

fn active(sub: &'static str) -> UnitState {
    UnitState::Known {
        active: "active",
        sub,
    }
}

/// Where the state of units comes from on this target.
enum StateSource {
    /// An offline root: the units a boot into the default target starts.
    Boot(Arc<BootUnits>),
    /// A live host run by systemd: its cgroup hierarchy, with the unit control groups in it.
    Cgroup(CgroupIndex),
    /// Nothing to read the state from, and why.
    Unavailable(String),
}

impl StateSource {
    fn detect(ctx: &ProbeContext<'_>, db: &UnitDb) -> StateSource {
        if ctx.target.is_offline() {
            let boot = ctx.shared.get_or_init(|| BootUnits::walk(ctx.target, db));
            return StateSource::Boot(boot);
        }
        StateSource::running(ctx.target)
    }

    /// The source on a live host (tests pass an offline tree laid out as one).
    fn running(target: &Target) -> StateSource {
        if !systemd_running(target) {
            tracing::debug!("systemdunitproperty: no `{SYSTEMD_RUNNING}`: systemd is not running");
            return StateSource::Unavailable(format!(
                "systemd is not the running init here (no `{SYSTEMD_RUNNING}`), so no unit runs"
            ));
        }
        let Some(root) = CGROUP_ROOTS
            .iter()
            .find(|r| target.exists(&format!("{r}/cgroup.procs")))
        else {
            return StateSource::Unavailable(format!(
                "no cgroup hierarchy of systemd's found under `{}`",
                CGROUP_ROOTS[0]
            ));
        };
        tracing::debug!("systemdunitproperty: unit states from the cgroup hierarchy `{root}`");
        match CgroupIndex::read(target, root) {
            Ok(index) => StateSource::Cgroup(index),
            Err(e) => StateSource::Unavailable(format!("cannot list control groups: {e}")),
        }
    }

    fn state(&self, target: &Target, unit: &UnitInfo) -> Result<UnitState, TargetError> {
        match self {
            StateSource::Boot(boot) => Ok(boot.state(unit)),
            StateSource::Cgroup(index) => index.state(target, &unit.id),
            StateSource::Unavailable(reason) => Ok(UnitState::Unknown(reason.clone())),
        }
    }
}

/// The units a boot into the default target pulls in, by canonical name (masked ones too:
/// systemd keeps the dependency on a masked unit, which then fails to start).
struct BootUnits {
    units: HashSet<String>,
    /// Unit files that could not be read on the way.
    errors: Vec<String>,
}

impl BootUnits {
    fn walk(target: &Target, db: &UnitDb) -> BootUnits {
        let mut errors = Vec::new();
        let Some(start) = BOOT_TARGETS.iter().find_map(|t| match db.resolve(t) {
            Resolved::Loaded { id, .. } => Some(id),
            _ => None,
        }) else {
            tracing::debug!("systemdunitproperty: no boot target can be loaded: nothing starts");
            return BootUnits {
                units: HashSet::new(),
                errors,
            };
        };
        tracing::debug!("systemdunitproperty: the image boots into `{start}`");

        let mut units = HashSet::from([start.clone()]);
        let mut queue = vec![start];
        while let Some(id) = queue.pop() {
            // A masked unit is not loaded, so nothing of it is followed.
            if !matches!(db.resolve(&id), Resolved::Loaded { .. }) {
                continue;
            }
            for kind in ["Requires", "Wants"] {
                for dep in systemdunitdependency::direct(target, db, &id, kind, &mut errors) {
                    if units.insert(dep.clone()) {
                        queue.push(dep);
                    }
                }
            }
        }
        BootUnits { units, errors }
    }

    fn state(&self, unit: &UnitInfo) -> UnitState {
        if !self.units.contains(&unit.id) || !matches!(unit.resolved, Resolved::Loaded { .. }) {
            return INACTIVE;
        }
        match unit.unit_type() {
            "service" => match unit.service_lifetime() {
                ServiceLifetime::Running => active("running"),
                ServiceLifetime::Exited => active("exited"),
                ServiceLifetime::Finished => INACTIVE,
            },
            "socket" => active("listening"),
            "timer" | "path" | "automount" => active("waiting"),
            "mount" => active("mounted"),
            "device" => active("plugged"),
            "scope" => active("running"),
            _ => active("active"),
        }
    }
}

/// The control groups of units in a cgroup hierarchy: unit name -> directory.
struct CgroupIndex {
    root: String,
    groups: BTreeMap<String, String>,
}

impl CgroupIndex {
    /// Lists the slice tree under `root` (a cgroup hierarchy's mount point, read through the
    /// target): every unit sits in its slice's directory, slices nest (`user-1000.slice` inside
    /// `user.slice`), and units of the root slice sit in `root` itself (`init.scope`).
    fn read(target: &Target, root: &str) -> Result<CgroupIndex, TargetError> {
        let mut groups = BTreeMap::new();
        let mut pending = vec![(root.to_string(), 0)];
        while let Some((dir, depth)) = pending.pop() {
            let entries = match target.read_dir(&dir) {
                Ok(e) => e,
                // A slice that went away while listing.
                Err(e) if e.is_not_found() && dir != root => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                if entry.file_type != FileType::Directory || !systemd::is_unit_name(&entry.name) {
                    continue;
                }
                let path = format!("{dir}/{}", entry.name);
                if entry.name.ends_with(".slice") && depth < CGROUP_DEPTH {
                    pending.push((path.clone(), depth + 1));
                }
                groups.entry(entry.name).or_insert(path);
            }
        }
        Ok(CgroupIndex {
            root: root.to_string(),
            groups,
        })
    }

    fn state(&self, target: &Target, unit: &str) -> Result<UnitState, TargetError> {
        let unit_type = unit.rsplit_once('.').map_or("", |(_, t)| t);
        match unit_type {
            "service" | "scope" => match self.groups.get(unit) {
                Some(dir) if has_processes(target, dir, 0)? => Ok(active("running")),
                _ => Ok(INACTIVE),
            },
            // The root slice is the hierarchy itself, always there.
            "slice" if unit == "-.slice" || self.groups.contains_key(unit) => Ok(active("active")),
            "slice" => Ok(INACTIVE),
            other => Ok(UnitState::Unknown(format!(
                "a {other} unit has no control group of its own in `{}` to read its state from, \
                 and systemd could not be asked over D-Bus",
                self.root
            ))),
        }
    }
}

/// Whether the control group `dir`, or one below it (a delegated subtree), holds a process.
fn has_processes(target: &Target, dir: &str, depth: usize) -> Result<bool, TargetError> {
    let procs = format!("{dir}/cgroup.procs");
    match target.read(&procs, PROCS_LIMIT) {
        Ok(bytes) if bytes.iter().any(|b| !b.is_ascii_whitespace()) => return Ok(true),
        Ok(_) => {}
        Err(TargetError::TooLarge { .. }) => return Ok(true),
        // The unit stopped and its control group went away while ato looked.
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e),
    }
    if depth >= CGROUP_DEPTH {
        return Ok(false);
    }
    let entries = match target.read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e),
    };
    for entry in entries
        .iter()
        .filter(|e| e.file_type == FileType::Directory)
    {
        if has_processes(target, &format!("{dir}/{}", entry.name), depth + 1)? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    use std::time::{Duration, Instant};

    use ato_content::oval::{Family, Operation};
    use ato_target::{SystemdBus, Target};

    use super::*;
    use crate::probes::linux::systemd_dbus::fake::{self, Behaviour, FakeUnit};
    use crate::probes::linux::systemdunitdependency::tests::unit_tree;
    use crate::probes::run_probe;

    fn run(root: &Path, unit: (Operation, &str), property: (Operation, &str)) -> Collected {
        run_on(&Target::offline(root).unwrap(), unit, property)
    }

    fn run_on(target: &Target, unit: (Operation, &str), property: (Operation, &str)) -> Collected {
        run_probe(
            collect,
            target,
            (Family::Linux, "systemdunitproperty"),
            vec![
                RequestEntity::literal("unit", unit.0, unit.1),
                RequestEntity::literal("property", property.0, property.1),
            ],
        )
    }

    fn value(c: &Collected, unit: &str) -> Vec<String> {
        let item = c.items.iter().find(|i| i.fields[0].value == unit).unwrap();
        item.values("value").map(String::from).collect()
    }

    /// The values of one property of one unit, from an object matching several properties.
    fn property(c: &Collected, unit: &str, property: &str) -> Vec<String> {
        let item = c
            .items
            .iter()
            .find(|i| i.fields[0].value == unit && i.fields[1].value == property)
            .unwrap();
        item.values("value").map(String::from).collect()
    }

    /// The shared unit tree, booting into graphical.target as Debian does, with a few more
    /// units wanted by multi-user.target.
    fn boot_tree() -> tempfile::TempDir {
        let dir = unit_tree();
        let lib = dir.path().join("lib/systemd/system");
        let wants = dir
            .path()
            .join("etc/systemd/system/multi-user.target.wants");
        symlink("graphical.target", lib.join("default.target")).unwrap();
        let units = [
            (
                "once.service",
                "[Service]\nType=oneshot\nExecStart=/bin/true\n",
                true,
            ),
            (
                "setup.service",
                "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
                true,
            ),
            (
                "needs.service",
                "[Unit]\nWants=helper.service\n[Service]\nExecStart=/x\n",
                true,
            ),
            ("helper.service", "[Service]\nExecStart=/x\n", false),
            ("listen.socket", "[Socket]\nListenStream=1\n", true),
            (
                "idle.timer",
                "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
                false,
            ),
        ];
        for (name, text, wanted) in units {
            fs::write(lib.join(name), text).unwrap();
            if wanted {
                symlink(format!("/lib/systemd/system/{name}"), wants.join(name)).unwrap();
            }
        }
        dir
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
        let dir = boot_tree();
        let eq = Operation::Equals;
        let c = run(
            dir.path(),
            (eq, "ssh.service"),
            (eq, "StateChangeTimestamp"),
        );
        assert_eq!(c.flag, Flag::NotCollected);
        assert!(c.messages[0].contains("StateChangeTimestamp"));
        // A unit that does not exist has no properties at all.
        let c = run(dir.path(), (eq, "nope.service"), (eq, "ActiveState"));
        assert_eq!(c.flag, Flag::DoesNotExist);
        // LoadState, UnitFileState, ActiveState and SubState; FreezerState is not collected.
        let c = run(
            dir.path(),
            (eq, "ssh.service"),
            (Operation::PatternMatch, "State$"),
        );
        assert_eq!(c.flag, Flag::Incomplete);
        assert_eq!(c.items.len(), 4);
        assert!(c.messages[0].contains("FreezerState"), "{:?}", c.messages);
        assert_eq!(
            run(dir.path(), (eq, "ssh.service"), (eq, "ExecStart")).flag,
            Flag::DoesNotExist
        );
    }

    #[test]
    fn offline_enabled_units_are_active_at_boot() {
        let dir = boot_tree();
        let c = run(
            dir.path(),
            (Operation::PatternMatch, "."),
            (Operation::PatternMatch, "^(Active|Sub)State$"),
        );
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        let state = |unit| {
            [
                property(&c, unit, "ActiveState").concat(),
                property(&c, unit, "SubState").concat(),
            ]
        };
        // Enabled in multi-user.target.wants, which graphical.target requires.
        assert_eq!(state("ssh.service"), ["active", "running"]);
        assert_eq!(state("auditd.service"), ["active", "running"]);
        // Statically wanted from /lib, and wanted by a graphical.target drop-in.
        assert_eq!(state("systemd-logind.service"), ["active", "running"]);
        assert_eq!(state("extra.service"), ["active", "running"]);
        // Wanted by a service, not by a target.
        assert_eq!(state("helper.service"), ["active", "running"]);
        assert_eq!(state("setup.service"), ["active", "exited"]);
        assert_eq!(state("listen.socket"), ["active", "listening"]);
        assert_eq!(state("multi-user.target"), ["active", "active"]);
        assert_eq!(state("sysinit.target"), ["active", "active"]);
        // A oneshot service has finished by the time the boot is done.
        assert_eq!(state("once.service"), ["inactive", "dead"]);
    }

    #[test]
    fn offline_units_not_pulled_in_are_inactive() {
        let dir = boot_tree();
        let eq = Operation::Equals;
        for unit in ["c.service", "idle.timer", "display-manager.service"] {
            let c = run(dir.path(), (eq, unit), (eq, "ActiveState"));
            if unit == "display-manager.service" {
                // No unit file: no unit, whatever wants it.
                assert_eq!(c.flag, Flag::DoesNotExist);
                continue;
            }
            assert_eq!(value(&c, unit), ["inactive"], "{unit}");
            let c = run(dir.path(), (eq, unit), (eq, "SubState"));
            assert_eq!(value(&c, unit), ["dead"], "{unit}");
        }

        // Without any boot target nothing starts.
        let bare = unit_tree();
        let c = run(bare.path(), (eq, "ssh.service"), (eq, "ActiveState"));
        assert_eq!(value(&c, "ssh.service"), ["inactive"]);
    }

    #[test]
    fn offline_masked_units_are_inactive() {
        let dir = boot_tree();
        let eq = Operation::Equals;
        // cups.service is wanted by multi-user.target but masked; e.service is an empty file;
        // avahi-daemon.service is wanted only through a link to /dev/null.
        for unit in ["cups.service", "e.service", "avahi-daemon.service"] {
            let c = run(dir.path(), (eq, unit), (eq, "ActiveState"));
            assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
            assert_eq!(value(&c, unit), ["inactive"], "{unit}");
        }
        // A masked default.target falls back to rescue.target, which is not there.
        let lib = dir.path().join("lib/systemd/system");
        fs::remove_file(lib.join("default.target")).unwrap();
        symlink("/dev/null", lib.join("default.target")).unwrap();
        let c = run(dir.path(), (eq, "ssh.service"), (eq, "ActiveState"));
        assert_eq!(value(&c, "ssh.service"), ["inactive"]);
    }

    /// A tree laid out as a live host's `/run` and `/sys/fs/cgroup` (cgroup v2).
    fn cgroup_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        let cg = root.join("sys/fs/cgroup");
        let groups = [
            ("", ""),
            ("init.scope", "1\n"),
            ("system.slice", ""),
            ("system.slice/auditd.service", "612\n"),
            ("system.slice/cron.service", ""),
            ("system.slice/docker.service", ""),
            ("system.slice/docker.service/payload", "4242\n"),
            ("user.slice", ""),
            ("user.slice/user-1000.slice", ""),
            ("user.slice/user-1000.slice/session-3.scope", "977\n"),
        ];
        for (path, procs) in groups {
            fs::create_dir_all(cg.join(path)).unwrap();
            fs::write(cg.join(path).join("cgroup.procs"), procs).unwrap();
        }
        dir
    }

    #[test]
    fn live_state_from_control_groups() {
        let dir = cgroup_tree();
        let target = Target::offline(dir.path()).unwrap();
        let StateSource::Cgroup(index) = StateSource::running(&target) else {
            panic!("no cgroup hierarchy found");
        };
        assert_eq!(index.root, "/sys/fs/cgroup");
        let state = |unit| index.state(&target, unit).unwrap();
        assert_eq!(state("auditd.service"), active("running"));
        assert_eq!(state("init.scope"), active("running"));
        assert_eq!(state("session-3.scope"), active("running"));
        // Processes only in a delegated subtree.
        assert_eq!(state("docker.service"), active("running"));
        // An empty control group, and none at all.
        assert_eq!(state("cron.service"), INACTIVE);
        assert_eq!(state("ssh.service"), INACTIVE);
        assert_eq!(state("user-1000.slice"), active("active"));
        assert_eq!(state("-.slice"), active("active"));
        assert_eq!(state("machine.slice"), INACTIVE);
        assert!(matches!(state("ssh.socket"), UnitState::Unknown(m) if m.contains("socket")));
    }

    #[test]
    fn live_state_from_the_v1_hierarchy() {
        let dir = cgroup_tree();
        let cg = dir.path().join("sys/fs/cgroup");
        fs::rename(&cg, dir.path().join("systemd")).unwrap();
        fs::create_dir_all(&cg).unwrap();
        fs::rename(dir.path().join("systemd"), cg.join("systemd")).unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let StateSource::Cgroup(index) = StateSource::running(&target) else {
            panic!("no cgroup hierarchy found");
        };
        assert_eq!(index.root, "/sys/fs/cgroup/systemd");
        assert_eq!(
            index.state(&target, "auditd.service").unwrap(),
            active("running")
        );
    }

    #[test]
    fn live_host_without_systemd_is_not_collected() {
        let dir = cgroup_tree();
        fs::remove_dir_all(dir.path().join("run/systemd")).unwrap();
        let target = Target::offline(dir.path()).unwrap();
        let StateSource::Unavailable(reason) = StateSource::running(&target) else {
            panic!("systemd taken for running");
        };
        assert!(reason.contains("/run/systemd/system"), "{reason}");
    }

    /// A live host laid out in a directory: the boot tree's units, one that fails, systemd
    /// running, and a cgroup v2 hierarchy in which only ssh.service has a process.
    fn live_tree() -> tempfile::TempDir {
        let dir = boot_tree();
        let root = dir.path();
        let lib = root.join("lib/systemd/system");
        fs::write(
            lib.join("broken.service"),
            "[Service]\nExecStart=/bin/false\n",
        )
        .unwrap();
        fs::create_dir_all(root.join("run/systemd/system")).unwrap();
        let cg = root.join("sys/fs/cgroup");
        for (path, procs) in [
            ("", ""),
            ("system.slice", ""),
            ("system.slice/ssh.service", "700\n"),
        ] {
            fs::create_dir_all(cg.join(path)).unwrap();
            fs::write(cg.join(path).join("cgroup.procs"), procs).unwrap();
        }
        dir
    }

    /// The units the fake systemd has: states a control group cannot tell.
    fn fake_units() -> Vec<FakeUnit> {
        let mut timer = FakeUnit::new("idle.timer", "inactive", "dead");
        timer.loaded = false;
        timer.unit_file_state = "disabled".into();
        vec![
            FakeUnit::new("ssh.service", "active", "running"),
            FakeUnit::new("setup.service", "active", "exited"),
            FakeUnit::new("broken.service", "failed", "failed"),
            FakeUnit::new("listen.socket", "active", "listening"),
            FakeUnit::new("init.scope", "active", "running"),
            timer,
        ]
    }

    /// The bus of a live tree: the private socket at `private`, no system bus.
    fn bus(dir: &Path, private: PathBuf, timeout: Duration) -> SystemdBus {
        SystemdBus {
            private_socket: private,
            system_bus: dir.join("no-system-bus"),
            timeout,
        }
    }

    /// A live tree with the fake systemd serving `fake_units` on its private socket.
    fn live_with_systemd() -> (tempfile::TempDir, tempfile::TempDir, Target, fake::Calls) {
        let (tree, sockets) = (live_tree(), tempfile::tempdir().unwrap());
        let (socket, calls) = fake::serve(sockets.path(), &fake_units(), Behaviour::default());
        let bus = bus(sockets.path(), socket, Duration::from_secs(5));
        let target = Target::live_in(tree.path(), bus).unwrap();
        (tree, sockets, target, calls)
    }

    const STATES: (Operation, &str) = (Operation::PatternMatch, "^(Active|Sub)State$");

    fn state(c: &Collected, unit: &str) -> [String; 2] {
        [
            property(c, unit, "ActiveState").concat(),
            property(c, unit, "SubState").concat(),
        ]
    }

    #[test]
    fn dbus_oneshot_remaining_after_exit_is_active_exited() {
        let (_tree, _sockets, target, _) = live_with_systemd();
        let c = run_on(&target, (Operation::Equals, "setup.service"), STATES);
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert!(c.messages.is_empty(), "{:?}", c.messages);
        assert_eq!(state(&c, "setup.service"), ["active", "exited"]);
    }

    #[test]
    fn dbus_failed_unit_is_failed() {
        let (_tree, _sockets, target, _) = live_with_systemd();
        let c = run_on(&target, (Operation::Equals, "broken.service"), STATES);
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(state(&c, "broken.service"), ["failed", "failed"]);
    }

    #[test]
    fn dbus_socket_unit_has_a_state() {
        let (_tree, _sockets, target, _) = live_with_systemd();
        let c = run_on(&target, (Operation::Equals, "listen.socket"), STATES);
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(state(&c, "listen.socket"), ["active", "listening"]);
    }

    #[test]
    fn dbus_pattern_matches_every_property_systemd_reports() {
        let (_tree, _sockets, target, _) = live_with_systemd();
        let c = run_on(
            &target,
            (Operation::Equals, "ssh.service"),
            (
                Operation::PatternMatch,
                "^(Active|Can|Refuse|StartLimit|Job$|Documentation$|Conditions$)",
            ),
        );
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        let names: Vec<&str> = c.items.iter().map(|i| i.fields[1].value.as_str()).collect();
        // Empty arrays (Documentation) and arrays of structures (Conditions) give no item.
        assert_eq!(
            names,
            [
                "ActiveEnterTimestamp",
                "ActiveState",
                "CanStart",
                "Job",
                "RefuseManualStop",
                "StartLimitBurst"
            ]
        );
        assert_eq!(
            property(&c, "ssh.service", "ActiveEnterTimestamp"),
            ["1764781200123456"]
        );
        assert_eq!(property(&c, "ssh.service", "CanStart"), ["true"]);
        assert_eq!(property(&c, "ssh.service", "RefuseManualStop"), ["false"]);
        assert_eq!(property(&c, "ssh.service", "StartLimitBurst"), ["5"]);
        // A structure: an item without a value.
        assert!(property(&c, "ssh.service", "Job").is_empty());

        // FreezerState is systemd's too: nothing is left not collected.
        let c = run_on(
            &target,
            (Operation::Equals, "ssh.service"),
            (Operation::PatternMatch, "State$"),
        );
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(c.items.len(), 5);
        assert_eq!(property(&c, "ssh.service", "FreezerState"), ["running"]);
    }

    #[test]
    fn dbus_loads_a_unit_systemd_has_not_loaded() {
        let (_tree, _sockets, target, calls) = live_with_systemd();
        let c = run_on(&target, (Operation::Equals, "idle.timer"), STATES);
        assert_eq!(state(&c, "idle.timer"), ["inactive", "dead"]);
        assert_eq!(
            *calls.lock().unwrap(),
            ["GetUnit idle.timer", "LoadUnit idle.timer"]
        );
    }

    #[test]
    fn dbus_unknown_unit_does_not_exist() {
        let (_tree, _sockets, target, calls) = live_with_systemd();
        let eq = Operation::Equals;
        let c = run_on(&target, (eq, "nope.service"), STATES);
        assert_eq!(c.flag, Flag::DoesNotExist, "{:?}", c.messages);
        assert!(c.messages.is_empty(), "{:?}", c.messages);
        // systemd's NoSuchUnit, and no unit file: nothing is loaded for it.
        assert_eq!(*calls.lock().unwrap(), ["GetUnit nope.service"]);

        // A unit without a file that systemd has: asked for by name, it is found.
        let c = run_on(&target, (eq, "init.scope"), STATES);
        assert_eq!(state(&c, "init.scope"), ["active", "running"]);
        // An alias is not a unit id.
        let c = run_on(&target, (eq, "sshd.service"), STATES);
        assert_eq!(c.flag, Flag::DoesNotExist, "{:?}", c.messages);
    }

    #[test]
    fn dbus_silent_server_falls_back_within_the_timeout() {
        let (tree, sockets) = (live_tree(), tempfile::tempdir().unwrap());
        let (socket, _listener) = fake::silent(sockets.path());
        let bus = bus(sockets.path(), socket, Duration::from_millis(300));
        let target = Target::live_in(tree.path(), bus).unwrap();

        let started = Instant::now();
        let c = run_on(&target, (Operation::PatternMatch, r"\.service$"), STATES);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // Today's answer from control groups, saying why.
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(state(&c, "ssh.service"), ["active", "running"]);
        assert_eq!(state(&c, "setup.service"), ["inactive", "dead"]);
        assert_eq!(c.messages.len(), 1, "{:?}", c.messages);
        // The system bus is tried first; it is missing here.
        assert!(
            c.messages[0].contains("D-Bus unavailable: cannot connect to")
                && c.messages[0].contains("no-system-bus")
                && c.messages[0].contains("no answer on"),
            "{:?}",
            c.messages
        );
        assert!(c.messages[0].contains("systemd-silent"), "{:?}", c.messages);
    }

    #[test]
    fn dbus_call_that_hangs_costs_one_timeout() {
        let (tree, sockets) = (live_tree(), tempfile::tempdir().unwrap());
        let stall = Behaviour {
            stall: Some(Duration::from_secs(3)),
        };
        let (socket, calls) = fake::serve(sockets.path(), &fake_units(), stall);
        let bus = bus(sockets.path(), socket, Duration::from_millis(300));
        let target = Target::live_in(tree.path(), bus).unwrap();

        let started = Instant::now();
        let c = run_on(&target, (Operation::PatternMatch, r"\.service$"), STATES);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(calls.lock().unwrap().len(), 1);
        assert_eq!(state(&c, "ssh.service"), ["active", "running"]);
        assert_eq!(c.messages.len(), 1, "{:?}", c.messages);
        assert!(
            c.messages[0].contains("no answer from systemd"),
            "{:?}",
            c.messages
        );
    }

    #[test]
    fn dbus_without_sockets_keeps_the_cgroup_answer() {
        let (tree, sockets) = (live_tree(), tempfile::tempdir().unwrap());
        let bus = bus(
            sockets.path(),
            sockets.path().join("none"),
            Duration::from_secs(5),
        );
        let target = Target::live_in(tree.path(), bus).unwrap();
        let eq = Operation::Equals;
        let c = run_on(&target, (eq, "setup.service"), STATES);
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(state(&c, "setup.service"), ["inactive", "dead"]);
        assert!(
            c.messages[0].contains("D-Bus unavailable: cannot connect to"),
            "{:?}",
            c.messages
        );

        let c = run_on(&target, (eq, "listen.socket"), STATES);
        assert_eq!(c.flag, Flag::NotCollected, "{:?}", c.messages);
        let c = run_on(&target, (eq, "ssh.service"), (eq, "StateChangeTimestamp"));
        assert_eq!(c.flag, Flag::NotCollected, "{:?}", c.messages);

        // systemd not running: not even tried.
        fs::remove_dir_all(tree.path().join("run/systemd")).unwrap();
        let c = run_on(&target, (eq, "ssh.service"), (eq, "ActiveState"));
        assert_eq!(c.flag, Flag::NotCollected, "{:?}", c.messages);
        assert!(
            c.messages.iter().all(|m| !m.contains("D-Bus")),
            "{:?}",
            c.messages
        );
    }
}
