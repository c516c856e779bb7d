//! `linux:rpminfo_object` (OVAL 5.11): RPM packages, as far as ato can tell without an RPM
//! database reader.
//!
//! The Debian and Ubuntu content still carries rpminfo objects (shared SSG templates and CPE
//! checks). On a target without an RPM database (`/var/lib/rpm/rpmdb.sqlite`,
//! `/var/lib/rpm/Packages` or `/usr/lib/sysimage/rpm/rpmdb.sqlite`) no RPM package can be
//! installed, so the object does not exist: the answer OpenSCAP gives there too. When a
//! database is present the object is `not collected`, with a message naming it.
//!
//! TODO(rpm): read the SQLite and Berkeley DB rpmdb formats directly (never through librpm,
//! which runs the target's shell); that is the RHEL-family work of the road map.

use crate::item::Collected;
use crate::probes::{ObjectRequest, ProbeContext};

/// Where RPM keeps its database, in the layouts of RHEL 7 to 9 and Fedora/openSUSE.
const DATABASES: &[&str] = &[
    "/var/lib/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages",
];

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    for db in DATABASES {
        match ctx.target.stat(db) {
            Ok(_) => {
                return Collected::not_collected(format!(
                    "object `{}`: the target has an RPM database (`{db}`), which ato cannot read yet",
                    req.id
                ));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
        }
    }
    Collected::items(Vec::new())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ato_content::oval::{Family, Operation};
    use ato_target::Target;

    use super::*;
    use crate::item::Flag;
    use crate::probes::{run_probe, RequestEntity};

    fn run(root: &std::path::Path) -> Collected {
        run_probe(
            collect,
            &Target::offline(root).unwrap(),
            (Family::Linux, "rpminfo"),
            vec![RequestEntity::literal("name", Operation::Equals, "bash")],
        )
    }

    #[test]
    fn no_database_does_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run(dir.path()).flag, Flag::DoesNotExist);
    }

    #[test]
    fn database_present_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
        fs::write(
            dir.path().join("var/lib/rpm/rpmdb.sqlite"),
            b"SQLite format 3\0",
        )
        .unwrap();
        let c = run(dir.path());
        assert_eq!(c.flag, Flag::NotCollected);
        assert!(c.messages[0].contains("/var/lib/rpm/rpmdb.sqlite"));
    }
}
