//! `linux:dpkginfo_object` (OVAL 5.11): Debian packages installed on the target.
//!
//! Reads `/var/lib/dpkg/status` of the target directly, once per scan (the parsed database is
//! kept in the [`SharedCache`]); no APT, no dpkg binary, so an offline root is answered exactly
//! like the live host. This is what OpenSCAP does since 1.3.10; 1.3.7 used libapt-pkg, which
//! fails on its first initialisation under `oscap-chroot` and then reports every package absent.
//!
//! A package is present when its `Status` state (third word) is anything but `not-installed`
//! and `config-files`: `installed`, `half-configured`, `unpacked`, `half-installed`,
//! `triggers-awaited` and `triggers-pending` all count, whatever the selection (`install`,
//! `hold`, `deinstall`, `purge`). That is libapt-pkg's notion of a current version, and so
//! OpenSCAP 1.3.7's; 1.3.10+ instead accepts any status starting with `install`, which counts
//! `install ok not-installed` and misses `hold ok installed`.
//!
//! With several stanzas of one name (multi-arch), the native architecture (that of the
//! installed `dpkg` package) or `all` is reported, as APT's lookup by bare name does; a name
//! with an architecture suffix (`libc6:i386`) selects that architecture.
//!
//! Fields are filled as OpenSCAP 1.3.7 does, for the same state comparisons: `epoch` is the part
//! before `:` or `0`; `version` runs to the *first* `-` and `release` is the rest (dpkg itself
//! splits at the last `-`; OpenSCAP 1.3.7 and 1.3.10+ both split at the first); `release` is
//! empty for a native package; `evr` is always `epoch:version[-release]`, so `9.2p1-2` gives
//! `0:9.2p1-2` (1.3.10+ reports the raw `Version`, which compares the same under `evr_string`).
//! `evr` has datatype `evr_string`, as OpenSCAP gives it for content older than OVAL 5.11.1 (SSG
//! 0.1.65 is 5.11).
//!
//! Not supported: virtual packages (`Provides`, handled by OpenSCAP only since 1.4.1). Unlike
//! OpenSCAP, which looks up the entity's value literally, `name` honours its operation (a
//! pattern matches every present package). Without a status file the object does not exist (a
//! system without dpkg has no Debian packages).

use std::collections::HashMap;
use std::sync::Arc;

use ato_content::oval::Datatype;

use crate::item::{Collected, Item};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

/// Where dpkg keeps its database.
const STATUS: &str = "/var/lib/dpkg/status";

/// The largest status file read (a desktop system has a few MiB).
const STATUS_LIMIT: u64 = 512 << 20;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(name) = req.entity("name") else {
        return Collected::error(format!("object `{}`: no `name` entity", req.id));
    };
    let db = ctx.shared.get_or_init(|| DpkgStatus::load(ctx.target));
    let db = match &db.packages {
        Ok(Some(db)) => db,
        Ok(None) => {
            return Collected::items(Vec::new())
                .with_message(format!("`{STATUS}` does not exist: no Debian packages"));
        }
        Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
    };

    let mut found: Vec<&Package> = Vec::new();
    if let (Some(values), false) = (name.exact_values(), name.nil) {
        for value in values {
            found.extend(db.lookup(value));
        }
    } else {
        for pkg in db.by_name.values().filter_map(|v| db.preferred(v)) {
            match name.matches(&pkg.name, ctx.regexes) {
                Ok(true) => found.push(pkg),
                Ok(false) => {}
                Err(e) => return entity_error(req, "name", &e),
            }
        }
    }
    found.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    found.dedup_by(|a, b| std::ptr::eq(*a, *b));
    Collected::items(found.into_iter().map(Package::item).collect())
}

/// The parsed status file, shared by all dpkginfo objects of a scan: `None` if the target has
/// no status file, an error message naming the path if it cannot be read.
struct DpkgStatus {
    packages: Result<Option<Database>, String>,
}

impl DpkgStatus {
    fn load(target: &ato_target::Target) -> DpkgStatus {
        let packages = match target.read(STATUS, STATUS_LIMIT) {
            Ok(bytes) => Ok(Some(Database::parse(&String::from_utf8_lossy(&bytes)))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(format!("cannot read the dpkg database: {e}")),
        };
        DpkgStatus { packages }
    }
}

/// Present packages by name; several entries for a multi-arch package.
#[derive(Debug, Default)]
struct Database {
    by_name: HashMap<String, Vec<Arc<Package>>>,
    /// The architecture of the installed `dpkg` package, if any.
    native: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
struct Package {
    name: String,
    arch: String,
    /// `Version` as written (`1:9.2p1-2+deb12u2`).
    version: String,
}

impl Database {
    fn parse(text: &str) -> Database {
        let mut db = Database::default();
        for stanza in stanzas(text) {
            let field = |key: &str| {
                stanza
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.trim())
            };
            let (Some(name), Some(status)) = (field("Package"), field("Status")) else {
                continue;
            };
            if !is_present(status) {
                continue;
            }
            let Some(version) = field("Version").filter(|v| !v.is_empty()) else {
                continue;
            };
            let pkg = Package {
                name: name.to_string(),
                arch: field("Architecture").unwrap_or("").to_string(),
                version: version.to_string(),
            };
            if pkg.name == "dpkg" {
                db.native = Some(pkg.arch.clone());
            }
            db.by_name
                .entry(pkg.name.clone())
                .or_default()
                .push(Arc::new(pkg));
        }
        db
    }

    /// The package APT would find for `name` (`openssh-server` or `libc6:i386`).
    fn lookup(&self, name: &str) -> Option<&Package> {
        if let Some(found) = self.by_name.get(name).and_then(|v| self.preferred(v)) {
            return Some(found);
        }
        let (bare, arch) = name.rsplit_once(':')?;
        self.by_name
            .get(bare)?
            .iter()
            .map(AsRef::as_ref)
            .find(|p| p.arch == arch)
    }

    /// Of the stanzas of one name, the native or `all` one; any one if the native
    /// architecture is unknown.
    fn preferred<'a>(&self, candidates: &'a [Arc<Package>]) -> Option<&'a Package> {
        let mut candidates = candidates.iter().map(AsRef::as_ref);
        match &self.native {
            Some(native) => candidates.find(|p| p.arch == *native || p.arch == "all"),
            None => candidates.next(),
        }
    }
}

impl Package {
    fn item(&self) -> Item {
        let evr = Evr::split(&self.version);
        Item::new("dpkginfo")
            .string("name", &self.name)
            .string("arch", &self.arch)
            .string("epoch", evr.epoch)
            .string("release", evr.release.unwrap_or(""))
            .string("version", evr.version)
            .field("evr", Datatype::EvrString, evr.joined())
    }
}

/// A Debian version split the way OpenSCAP splits it.
#[derive(Debug, PartialEq, Eq)]
struct Evr<'a> {
    epoch: &'a str,
    version: &'a str,
    release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    fn split(raw: &'a str) -> Evr<'a> {
        let (epoch, rest) = raw.split_once(':').unwrap_or(("0", raw));
        let (version, release) = match rest.split_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }

    fn joined(&self) -> String {
        match self.release {
            Some(r) => format!("{}:{}-{r}", self.epoch, self.version),
            None => format!("{}:{}", self.epoch, self.version),
        }
    }
}

/// Whether a `Status` value (`want eflag state`) means the package has a current version.
fn is_present(status: &str) -> bool {
    match status.split_whitespace().nth(2) {
        Some(state) => !matches!(state, "not-installed" | "config-files"),
        None => false,
    }
}

/// The stanzas of a deb822 file as (field, value) pairs; continuation lines are appended to the
/// value, comment lines (`#`) skipped, blank lines end a stanza.
fn stanzas(text: &str) -> Vec<Vec<(&str, String)>> {
    let mut all = Vec::new();
    let mut current: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::item::Flag;
    use crate::probes::RequestEntity;

    const STATUS_TEXT: &str = "\
Package: dpkg
Status: install ok installed
Architecture: amd64
Version: 1.21.22

Package: openssh-server
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server
 for secure access from remote machines
 .
 more text

Package: telnet
Status: deinstall ok config-files
Architecture: amd64
Version: 0.17+2.4-2

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u5

Package: tzdata
Status: hold ok half-configured
Architecture: all
Version: 2024a-0+deb12u1

Package: libfoo
Status: install ok installed
Architecture: i386
Version: 1.0-1

Package: gone
Status: purge ok not-installed
Architecture: amd64
";

    fn run(root: &Path, op: Operation, name: &str) -> Collected {
        let entity = RequestEntity::literal("name", op, name);
        crate::probes::run_one_entity(collect, root, (Family::Linux, "dpkginfo"), entity)
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        fs::write(dir.path().join("var/lib/dpkg/status"), STATUS_TEXT).unwrap();
        dir
    }

    fn fields(item: &Item) -> Vec<(String, String)> {
        item.fields
            .iter()
            .map(|f| (f.name.to_string(), f.value.clone()))
            .collect()
    }

    #[test]
    fn epoch_version_release_as_openscap() {
        let dir = tree();
        let c = run(dir.path(), Operation::Equals, "openssh-server");
        assert_eq!(c.flag, Flag::Complete);
        let want = [
            ("name", "openssh-server"),
            ("arch", "amd64"),
            ("epoch", "1"),
            ("release", "2+deb12u2"),
            ("version", "9.2p1"),
            ("evr", "1:9.2p1-2+deb12u2"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(fields(&c.items[0]), want);
        assert_eq!(c.items[0].fields[5].datatype, Datatype::EvrString);
    }

    #[test]
    fn no_epoch_and_no_revision() {
        let dir = tree();
        let c = run(dir.path(), Operation::Equals, "base-files");
        let f = fields(&c.items[0]);
        assert_eq!(f[2].1, "0");
        assert_eq!(f[3].1, "");
        assert_eq!(f[4].1, "12.4+deb12u5");
        assert_eq!(f[5].1, "0:12.4+deb12u5");
        assert_eq!(Evr::split("2:1.2-3-4").joined(), "2:1.2-3-4");
        assert_eq!(Evr::split("2:1.2-3-4").release, Some("3-4"));
    }

    #[test]
    fn removed_and_not_installed_are_absent() {
        let dir = tree();
        assert_eq!(
            run(dir.path(), Operation::Equals, "telnet").flag,
            Flag::DoesNotExist
        );
        assert_eq!(
            run(dir.path(), Operation::Equals, "gone").flag,
            Flag::DoesNotExist
        );
        assert_eq!(
            run(dir.path(), Operation::Equals, "nothing").flag,
            Flag::DoesNotExist
        );
        // Half-configured on hold still has a current version, as APT sees it.
        assert_eq!(
            run(dir.path(), Operation::Equals, "tzdata").flag,
            Flag::Complete
        );
    }

    #[test]
    fn foreign_architecture_only_by_qualified_name() {
        let dir = tree();
        assert_eq!(
            run(dir.path(), Operation::Equals, "libfoo").flag,
            Flag::DoesNotExist
        );
        assert_eq!(
            run(dir.path(), Operation::Equals, "libfoo:i386").flag,
            Flag::Complete
        );
    }

    #[test]
    fn pattern_matches_present_packages() {
        let dir = tree();
        let c = run(
            dir.path(),
            Operation::PatternMatch,
            "^(openssh|telnet|base)",
        );
        let names: Vec<_> = c.items.iter().map(|i| i.fields[0].value.clone()).collect();
        assert_eq!(names, ["base-files", "openssh-server"]);
    }

    #[test]
    fn missing_status_file_does_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let c = run(dir.path(), Operation::Equals, "openssh-server");
        assert_eq!(c.flag, Flag::DoesNotExist);
        assert!(c.messages[0].contains("/var/lib/dpkg/status"));
    }

    #[test]
    fn unreadable_status_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("var/lib/dpkg/status")).unwrap();
        let c = run(dir.path(), Operation::Equals, "openssh-server");
        assert_eq!(c.flag, Flag::Error);
        assert!(
            c.messages[0].contains("/var/lib/dpkg/status"),
            "{:?}",
            c.messages
        );
    }

    #[test]
    fn reference_target_has_openssh_server() {
        let root = Path::new("/var/tmp/ato-target");
        if !root.join("var/lib/dpkg/status").exists() {
            eprintln!("skipped: no reference target at {}", root.display());
            return;
        }
        let c = run(root, Operation::Equals, "openssh-server");
        assert_eq!(c.flag, Flag::Complete, "{:?}", c.messages);
        assert_eq!(c.items[0].fields[0].value, "openssh-server");
    }
}
