//! `unix:sysctl_object` (OVAL 5.11): kernel parameters, from `/proc/sys` of the target.
//!
//! A name maps to a path by dots and slashes (`kernel.randomize_va_space` is
//! `/proc/sys/kernel/randomize_va_space`). `/proc/sys` is walked once per scan, to seven levels
//! as OpenSCAP does, and every object is answered from that index, so a pattern and an exact
//! name see the same set (an interface name with a dot, `net.ipv4.conf.eth0.100.rp_filter`,
//! is found either way). Files without the owner's read bit (`net.ipv4.route.flush`) are skipped
//! like `sysctl -a` skips them, and so are empty files; a `stable_secret` that cannot be read
//! (never set) is skipped too.
//!
//! A value is split into one `value` entity per line, and at any byte that is neither
//! printable nor white space; the final newline is dropped; at most 8191 bytes are read (all as
//! OpenSCAP does for OVAL 5.10 and later).
//!
//! Offline root: only a `proc` file system mounted in the root gives values, and they are those
//! of the running kernel, as seen from inside such a chroot. Without `/proc/sys` in the root the
//! object is `not collected` (OpenSCAP 1.3.7 refuses offline mode for sysctl); the host's own
//! `/proc` is never read for an offline root. A file that cannot be read gives an item with
//! status `error` and the object flag `error`, with a message naming the path.

use std::collections::BTreeMap;

use ato_content::oval::Datatype;
use ato_target::{FileType, Target};

use crate::item::{Collected, Flag, Item, Status};
use crate::probes::{entity_error, ObjectRequest, ProbeContext};

const PROC_SYS: &str = "/proc/sys";

/// How deep below `/proc/sys` the walk goes (OpenSCAP's limit).
const MAX_DEPTH: usize = 7;

/// OpenSCAP reads at most this many bytes of a value.
const VALUE_MAX: usize = 8191;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    let Some(name) = req.entity("name") else {
        return Collected::error(format!("object `{}`: no `name` entity", req.id));
    };
    let index = ctx.shared.get_or_init(|| SysctlIndex::build(ctx.target));
    let index = match &index.names {
        Ok(Some(names)) => names,
        Ok(None) => {
            return Collected::not_collected(format!(
                "object `{}`: the target has no `{PROC_SYS}` (no proc file system mounted in the \
                 offline root), so kernel parameters cannot be read",
                req.id
            ));
        }
        Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
    };

    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if let (Some(values), false) = (name.exact_values(), name.nil) {
        for v in values {
            if let Some(paths) = index.get(v.as_str()) {
                wanted.extend(paths.iter().map(|p| (v.as_str(), p.as_str())));
            }
        }
    } else {
        for (mib, paths) in index {
            match name.matches(mib, ctx.regexes) {
                Ok(true) => wanted.extend(paths.iter().map(|p| (mib.as_str(), p.as_str()))),
                Ok(false) => {}
                Err(e) => return entity_error(req, "name", &e),
            }
        }
    }

    let mut items = Vec::new();
    let mut messages = Vec::new();
    for (mib, path) in wanted {
        match read_value(ctx.target, path) {
            Ok(Some(values)) => {
                let mut item = Item::new("sysctl").string("name", mib);
                for v in values {
                    item.push("value", Datatype::String, v);
                }
                items.push(item);
            }
            Ok(None) => {}
            Err(e) => {
                let mut item = Item::new("sysctl").string("name", mib);
                item.status = Status::Error;
                items.push(item);
                messages.push(format!("object `{}`: {e}", req.id));
            }
        }
    }
    let mut collected = Collected::items(items);
    if !messages.is_empty() {
        collected.flag = Flag::Error;
        collected.messages = messages;
    }
    collected
}

/// The readable files under `/proc/sys` by sysctl name (several paths for an ambiguous name);
/// `None` without `/proc/sys`.
struct SysctlIndex {
    names: Result<Option<BTreeMap<String, Vec<String>>>, String>,
}

impl SysctlIndex {
    fn build(target: &Target) -> SysctlIndex {
        match target.stat(PROC_SYS) {
            Ok(st) if st.is_dir() => {}
            Ok(_) => return SysctlIndex { names: Ok(None) },
            Err(e) if e.is_not_found() => return SysctlIndex { names: Ok(None) },
            Err(e) => {
                return SysctlIndex {
                    names: Err(e.to_string()),
                }
            }
        }
        let mut names = BTreeMap::new();
        match walk(target, PROC_SYS, 1, &mut names) {
            Ok(()) if names.is_empty() => SysctlIndex { names: Ok(None) },
            Ok(()) => SysctlIndex {
                names: Ok(Some(names)),
            },
            Err(e) => SysctlIndex { names: Err(e) },
        }
    }
}

fn walk(
    target: &Target,
    dir: &str,
    depth: usize,
    names: &mut BTreeMap<String, Vec<String>>,
) -> Result<(), String> {
    let entries = match target.read_dir(dir) {
        Ok(e) => e,
        // A directory that vanished (a network interface going away) or is closed to us.
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) if dir != PROC_SYS => {
            tracing::debug!("sysctl: skipping `{dir}`: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    for entry in entries {
        let path = format!("{dir}/{}", entry.name);
        let file_type = match entry.file_type {
            FileType::Symlink => match target.stat(&path) {
                Ok(st) => st.file_type,
                Err(_) => continue,
            },
            t => t,
        };
        match file_type {
            FileType::Directory if depth < MAX_DEPTH => walk(target, &path, depth + 1, names)?,
            FileType::Regular => {
                // Write-only files are skipped, like sysctl(8) skips them.
                let readable = target.stat(&path).is_ok_and(|st| st.mode & 0o400 != 0);
                if readable {
                    let mib = path[PROC_SYS.len() + 1..].replace('/', ".");
                    names.entry(mib).or_default().push(path);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The values of one parameter; `None` for a file to skip (empty, or an unset stable secret).
fn read_value(target: &Target, path: &str) -> Result<Option<Vec<String>>, String> {
    let bytes = match target.read(path, 1 << 20) {
        Ok(b) => b,
        Err(_)
            if path.starts_with("/proc/sys/net/ipv6/conf/") && path.ends_with("/stable_secret") =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot read the kernel parameter: {e}")),
    };
    let bytes = &bytes[..bytes.len().min(VALUE_MAX)];
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(Some(split_value(bytes)))
}

/// OpenSCAP's split: a new value at every newline and every byte that is neither printable nor
/// white space; an empty last piece is dropped.
fn split_value(bytes: &[u8]) -> Vec<String> {
    let separator = |b: &u8| *b == b'\n' || !(b.is_ascii_graphic() || b" \t\x0b\x0c\r".contains(b));
    let mut values: Vec<String> = bytes
        .split(separator)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    if values.len() > 1 && values.last().is_some_and(String::is_empty) {
        values.pop();
    }
    values
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use ato_content::oval::{Family, Operation};

    use super::*;
    use crate::probes::RequestEntity;

    fn run(root: &std::path::Path, op: Operation, name: &str) -> Collected {
        let entity = RequestEntity::literal("name", op, name);
        crate::probes::run_one_entity(collect, root, (Family::Unix, "sysctl"), entity)
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("proc/sys");
        fs::create_dir_all(sys.join("kernel")).unwrap();
        fs::create_dir_all(sys.join("net/ipv4/conf/eth0.100")).unwrap();
        fs::create_dir_all(sys.join("net/ipv4/route")).unwrap();
        fs::write(sys.join("kernel/randomize_va_space"), "2\n").unwrap();
        fs::write(sys.join("kernel/printk"), "4\t4\t1\t7\n").unwrap();
        fs::write(sys.join("kernel/lines"), "a\n\nb\n").unwrap();
        fs::write(sys.join("kernel/empty"), "").unwrap();
        fs::write(sys.join("net/ipv4/conf/eth0.100/rp_filter"), "1\n").unwrap();
        fs::write(sys.join("net/ipv4/route/flush"), "1\n").unwrap();
        let flush = sys.join("net/ipv4/route/flush");
        fs::set_permissions(&flush, fs::Permissions::from_mode(0o200)).unwrap();
        dir
    }

    fn values(item: &Item) -> Vec<&str> {
        item.values("value").collect()
    }

    #[test]
    fn exact_name() {
        let dir = tree();
        let c = run(dir.path(), Operation::Equals, "kernel.randomize_va_space");
        assert_eq!(c.flag, Flag::Complete);
        assert_eq!(c.items[0].fields[0].value, "kernel.randomize_va_space");
        assert_eq!(values(&c.items[0]), ["2"]);
        let c = run(dir.path(), Operation::Equals, "kernel.printk");
        assert_eq!(values(&c.items[0]), ["4\t4\t1\t7"]);
        let c = run(dir.path(), Operation::Equals, "kernel.lines");
        assert_eq!(values(&c.items[0]), ["a", "", "b"]);
        let c = run(
            dir.path(),
            Operation::Equals,
            "net.ipv4.conf.eth0.100.rp_filter",
        );
        assert_eq!(values(&c.items[0]), ["1"]);
    }

    #[test]
    fn absent_empty_and_write_only() {
        let dir = tree();
        assert_eq!(
            run(dir.path(), Operation::Equals, "kernel.nope").flag,
            Flag::DoesNotExist
        );
        assert_eq!(
            run(dir.path(), Operation::Equals, "kernel.empty").flag,
            Flag::DoesNotExist
        );
        let c = run(dir.path(), Operation::Equals, "net.ipv4.route.flush");
        assert_eq!(c.flag, Flag::DoesNotExist);
    }

    #[test]
    fn pattern_walks_the_tree() {
        let dir = tree();
        let c = run(dir.path(), Operation::PatternMatch, r"^kernel\.");
        let names: Vec<_> = c.items.iter().map(|i| i.fields[0].value.as_str()).collect();
        assert_eq!(
            names,
            ["kernel.lines", "kernel.printk", "kernel.randomize_va_space"]
        );
    }

    #[test]
    fn no_proc_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc")).unwrap();
        let c = run(dir.path(), Operation::Equals, "kernel.randomize_va_space");
        assert_eq!(c.flag, Flag::NotCollected);
        assert!(c.messages[0].contains("/proc/sys"));
    }

    #[test]
    fn split_like_openscap() {
        assert_eq!(split_value(b"1\n"), ["1"]);
        assert_eq!(split_value(b"\n"), [""]);
        assert_eq!(split_value(b"a\x01b"), ["a", "b"]);
    }
}
