//! `linux:systemdunitdependency_object` (OVAL 5.11): what a systemd unit pulls in.
//!
//! Answered from unit files, on the live host and on an offline root alike (OpenSCAP asks
//! systemd over D-Bus and has nothing to say offline: `not collected` from outside, `error`
//! inside a chroot). See the `systemd` helper module for lookup paths, precedence, aliases,
//! masks and drop-ins.
//!
//! The `dependency` entities follow OpenSCAP 1.3.7's walk of the D-Bus `Requires` and `Wants`
//! properties, which is `systemctl list-dependencies`: for a target unit, its requirements and
//! wants; each dependency that is itself a target is walked in turn, every unit is reported
//! once, by its canonical name (an alias such as `sshd.service` is reported as `ssh.service`,
//! as systemd reports it). A unit that is not a target gets an item without dependencies.
//! Requirements and wants come from `Requires=` and `Wants=` in `[Unit]` of the unit file and
//! its drop-ins (an empty assignment resets the list) and from the `.requires/` and `.wants/`
//! directories of every name of the unit; links to `/dev/null` there are ignored, as systemd
//! ignores them. `[Install] WantedBy=` matters only through the links `systemctl enable`
//! made, as for systemd.
//!
//! Units are those a manager could load from the files: every unit file that is not an alias
//! or a template, masked ones included, and the instances named by `.wants/` links (OpenSCAP
//! 1.3.7 lists the units loaded in memory, which on a live host is nearly the same set).
//!
//! Not supported: dependencies systemd adds by itself (default dependencies never add wants or
//! requirements to a target, but `RequiresMountsFor=` does) and units made by generators on an
//! offline root (they exist only under a live `/run/systemd/generator*`).

use std::collections::HashSet;

use ato_target::Target;

use super::systemd::{self, Resolved, UnitDb};
use crate::item::{Collected, Flag, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(unit) = req.entity("unit") else {
        return Collected::error(format!("object `{}`: no `unit` entity", req.id));
    };
    let db = ctx.shared.get_or_init(|| UnitDb::load(ctx.target));

    let mut items = Vec::new();
    let mut messages: Vec<String> = db
        .errors
        .iter()
        .map(|e| format!("object `{}`: {e}", req.id))
        .collect();
    for id in db.units() {
        match unit.matches(&id, ctx.regexes) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return entity_error(req, "unit", &e),
        }
        let mut item = Item::new("systemdunitdependency").string("unit", &id);
        let mut visited = HashSet::new();
        for dep in dependencies(ctx.target, &db, &id, &mut visited, &mut messages) {
            item.push("dependency", ato_content::oval::Datatype::String, dep);
        }
        items.push(item);
    }
    let error = !messages.is_empty();
    let mut collected = Collected::items(items);
    if error {
        collected.flag = Flag::Error;
    }
    collected.messages = messages;
    collected
}

/// The transitive requirements and wants of `id`, walking into targets only.
pub(super) fn dependencies(
    target: &Target,
    db: &UnitDb,
    id: &str,
    visited: &mut HashSet<String>,
    messages: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if !id.ends_with(".target") {
        return out;
    }
    for kind in ["Requires", "Wants"] {
        for dep in direct(target, db, id, kind, messages) {
            if visited.insert(dep.clone()) {
                out.push(dep.clone());
                out.extend(dependencies(target, db, &dep, visited, messages));
            }
        }
    }
    out
}

/// The direct `Requires` or `Wants` of a unit, canonical names, sorted, each once.
pub(super) fn direct(
    target: &Target,
    db: &UnitDb,
    id: &str,
    kind: &str,
    messages: &mut Vec<String>,
) -> Vec<String> {
    let mut names = Vec::new();
    if let Resolved::Loaded { fragment, .. } = db.resolve(id) {
        let mut files = Vec::new();
        for path in std::iter::once(fragment).chain(db.dropins(target, id)) {
            match systemd::read_unit(target, &path) {
                Ok(d) => files.push(d),
                Err(e) => messages.push(e),
            }
        }
        for v in systemd::list_values(&files, "Unit", kind) {
            match systemd::expand_specifiers(&v, id) {
                Some(n) if systemd::is_unit_name(&n) => names.push(n),
                _ => tracing::debug!("systemd: `{id}`: ignoring {kind}={v}"),
            }
        }
    }
    let dir = if kind == "Requires" {
        "requires"
    } else {
        "wants"
    };
    names.extend(db.linked(target, id, dir));

    let mut canonical: Vec<String> = names
        .iter()
        .map(|n| db.resolve(n).id().to_string())
        .collect();
    canonical.sort();
    canonical.dedup();
    canonical
}

#[cfg(test)]
pub(crate) mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::Path;
    use std::process::Command;

    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::probes::{run_probe, RequestEntity};

    pub(crate) fn unit_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let lib = root.join("lib/systemd/system");
        let etc = root.join("etc/systemd/system");
        fs::create_dir_all(lib.join("multi-user.target.wants")).unwrap();
        fs::create_dir_all(etc.join("multi-user.target.wants")).unwrap();
        fs::create_dir_all(etc.join("graphical.target.d")).unwrap();
        fs::create_dir_all(root.join("dev")).unwrap();
        let write = |p: &Path, s: &str| fs::write(p, s).unwrap();
        write(
            &lib.join("multi-user.target"),
            "[Unit]\nDescription=Multi-User System\nRequires=basic.target\n",
        );
        write(
            &lib.join("basic.target"),
            "[Unit]\nDescription=Basic System\nRequires=sysinit.target\nWants=timers.target\n",
        );
        write(
            &lib.join("sysinit.target"),
            "[Unit]\nDescription=System Initialization\n",
        );
        write(&lib.join("timers.target"), "[Unit]\nDescription=Timers\n");
        write(
            &lib.join("graphical.target"),
            "[Unit]\nRequires=multi-user.target\nWants=display-manager.service\n",
        );
        write(
            &etc.join("graphical.target.d/override.conf"),
            "[Unit]\nWants=\nWants=extra.service\n",
        );
        write(&lib.join("extra.service"), "[Unit]\nDescription=Extra\n");
        write(&lib.join("ssh.service"), "[Unit]\nDescription=OpenBSD Secure Shell server\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n");
        write(&lib.join("auditd.service"), "[Unit]\nDescription=Security Auditing Service\n[Install]\nWantedBy=multi-user.target\n");
        write(
            &lib.join("cups.service"),
            "[Unit]\nDescription=CUPS\n[Install]\nWantedBy=multi-user.target\n",
        );
        write(
            &lib.join("avahi-daemon.service"),
            "[Unit]\nDescription=Avahi\n[Install]\nWantedBy=multi-user.target\n",
        );
        write(
            &lib.join("systemd-logind.service"),
            "[Unit]\nDescription=User Login Management\n",
        );
        write(
            &lib.join("c.service"),
            "[Install]\nWantedBy=multi-user.target\n",
        );
        symlink("/lib/systemd/system/c.service", etc.join("d.service")).unwrap();
        write(&lib.join("e.service"), "");
        symlink(
            "../systemd-logind.service",
            lib.join("multi-user.target.wants/systemd-logind.service"),
        )
        .unwrap();
        symlink(
            "/lib/systemd/system/ssh.service",
            etc.join("multi-user.target.wants/ssh.service"),
        )
        .unwrap();
        symlink(
            "/lib/systemd/system/auditd.service",
            etc.join("multi-user.target.wants/auditd.service"),
        )
        .unwrap();
        symlink(
            "/lib/systemd/system/cups.service",
            etc.join("multi-user.target.wants/cups.service"),
        )
        .unwrap();
        symlink("/lib/systemd/system/ssh.service", etc.join("sshd.service")).unwrap();
        // cups is masked: still wanted (systemd keeps the dependency on a masked unit).
        symlink("/dev/null", etc.join("cups.service")).unwrap();
        // A wants link that is itself masked is ignored.
        symlink(
            "/dev/null",
            etc.join("multi-user.target.wants/avahi-daemon.service"),
        )
        .unwrap();
        dir
    }

    fn run(root: &Path, op: Operation, unit: &str) -> Collected {
        run_probe(
            collect,
            &Target::offline(root).unwrap(),
            (Family::Linux, "systemdunitdependency"),
            vec![RequestEntity::literal("unit", op, unit)],
        )
    }

    fn deps(c: &Collected) -> Vec<&str> {
        c.items[0].values("dependency").collect()
    }

    #[test]
    fn multi_user_target_closure() {
        let dir = unit_tree();
        let c = run(dir.path(), Operation::Equals, "multi-user.target");
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(
            deps(&c),
            [
                "basic.target",
                "sysinit.target",
                "timers.target",
                "auditd.service",
                "cups.service",
                "ssh.service",
                "systemd-logind.service"
            ]
        );
    }

    #[test]
    fn dropin_resets_wants() {
        let dir = unit_tree();
        let c = run(dir.path(), Operation::Equals, "graphical.target");
        let d = deps(&c);
        assert!(
            d.contains(&"extra.service") && !d.contains(&"display-manager.service"),
            "{d:?}"
        );
        assert!(d.contains(&"ssh.service"));
    }

    #[test]
    fn services_have_no_dependencies_and_aliases_are_not_units() {
        let dir = unit_tree();
        let c = run(dir.path(), Operation::PatternMatch, r"^sshd?\.service$");
        assert_eq!(c.items.len(), 1);
        assert_eq!(c.items[0].fields.len(), 1);
        assert_eq!(c.items[0].fields[0].value, "ssh.service");
        assert_eq!(
            run(dir.path(), Operation::Equals, "nope.target").flag,
            Flag::DoesNotExist
        );
    }

    /// The reference tree: every unit in `multi-user.target.wants` that `systemctl --root`
    /// calls enabled is a dependency of multi-user.target, by its canonical name.
    #[test]
    fn reference_target_agrees_with_systemctl() {
        let root = Path::new("/var/tmp/ato-target");
        let wants = root.join("etc/systemd/system/multi-user.target.wants");
        let Ok(entries) = fs::read_dir(&wants) else {
            eprintln!("skipped: no reference target at {}", root.display());
            return;
        };
        let c = run(root, Operation::Equals, "multi-user.target");
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        let found: Vec<&str> = deps(&c);
        let target = Target::offline(root).unwrap();
        let db = UnitDb::load(&target);
        let systemctl =
            Path::new("/usr/bin/systemctl").exists() || Path::new("/bin/systemctl").exists();
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let ours = db.unit_file_state(&target, &name);
            let enabled = if systemctl {
                let out = Command::new("systemctl")
                    .args(["--root", root.to_str().unwrap(), "is-enabled", &name])
                    .output()
                    .unwrap();
                let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
                assert_eq!(ours.as_deref(), Some(state.as_str()), "is-enabled {name}");
                state == "enabled"
            } else {
                ours.as_deref() == Some("enabled")
            };
            let canonical = db.resolve(&name).id().to_string();
            assert_eq!(
                found.contains(&canonical.as_str()),
                enabled,
                "{name} ({canonical})"
            );
        }
    }
}
