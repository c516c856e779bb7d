//! `unix:uname_object` (OVAL 5.11): the running kernel's identification (`uname(2)`).
//!
//! Live host: [`ato_target::Target::uname`]; `processor_type` repeats `machine_class`, as
//! OpenSCAP does on Linux.
//!
//! Offline root: an image has no running kernel. If the root has a `proc` file system mounted
//! (the way `chroot TREE oscap ...` is run), the item comes from its
//! `/proc/sys/kernel/{ostype,hostname,osrelease,version,arch}`: that is the kernel the scan runs
//! on, exactly what OpenSCAP reports from inside such a chroot. `arch` exists only on newer
//! kernels; without it `machine_class` and `processor_type` are `not collected`. Without
//! `/proc/sys/kernel` in the root the object is `not collected` (OpenSCAP 1.3.7 refuses offline
//! mode for uname altogether). The host's own `/proc` is never read for an offline root.

use ato_content::oval::Datatype;
use ato_target::Target;

use crate::item::{Collected, Item, Status};
use crate::probes::{ObjectRequest, ProbeContext};

/// The largest value read from a `/proc/sys/kernel` file.
const LIMIT: u64 = 64 << 10;

pub fn collect(req: &ObjectRequest<'_>, ctx: &ProbeContext<'_>) -> Collected {
    if let Some(u) = ctx.target.uname() {
        let item = Item::new("uname")
            .string("machine_class", &u.machine)
            .string("node_name", &u.nodename)
            .string("os_name", &u.sysname)
            .string("os_release", &u.release)
            .string("os_version", &u.version)
            .string("processor_type", &u.machine);
        return Collected::items(vec![item]);
    }
    offline(req, ctx.target)
}

fn offline(req: &ObjectRequest<'_>, target: &Target) -> Collected {
    let read = |name: &str| -> Result<Option<String>, String> {
        let path = format!("/proc/sys/kernel/{name}");
        match target.read(&path, LIMIT) {
            Ok(bytes) => Ok(Some(
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches('\n')
                    .into(),
            )),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    };
    let mut values = Vec::new();
    for name in ["ostype", "hostname", "osrelease", "version", "arch"] {
        match read(name) {
            Ok(v) => values.push(v),
            Err(e) => return Collected::error(format!("object `{}`: {e}", req.id)),
        }
    }
    let [Some(os_name), Some(node), Some(release), Some(version), arch] =
        <[Option<String>; 5]>::try_from(values).unwrap_or_default()
    else {
        return Collected::not_collected(format!(
            "object `{}`: the offline root runs no kernel and has no `/proc/sys/kernel` mounted \
             to report one",
            req.id
        ));
    };

    let mut item = Item::new("uname");
    match &arch {
        Some(a) => item.push("machine_class", Datatype::String, a),
        None => item.push_status("machine_class", Datatype::String, Status::NotCollected),
    }
    item.push("node_name", Datatype::String, node);
    item.push("os_name", Datatype::String, os_name);
    item.push("os_release", Datatype::String, release);
    item.push("os_version", Datatype::String, version);
    match &arch {
        Some(a) => item.push("processor_type", Datatype::String, a),
        None => item.push_status("processor_type", Datatype::String, Status::NotCollected),
    }
    Collected::items(vec![item])
}

#[cfg(test)]
mod tests {
    use std::fs;

    use ato_content::oval::Family;

    use super::*;
    use crate::item::Flag;
    use crate::probes::run_probe;

    fn run(root: &std::path::Path) -> Collected {
        run_probe(
            collect,
            &Target::offline(root).unwrap(),
            (Family::Unix, "uname"),
            vec![],
        )
    }

    #[test]
    fn offline_without_proc_is_not_collected() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("proc")).unwrap();
        assert_eq!(run(dir.path()).flag, Flag::NotCollected);
    }

    #[test]
    fn offline_from_mounted_proc() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("proc/sys/kernel");
        fs::create_dir_all(&k).unwrap();
        for (f, v) in [
            ("ostype", "Linux\n"),
            ("hostname", "web01\n"),
            ("osrelease", "6.1.0-18-amd64\n"),
            ("version", "#1 SMP\n"),
            ("arch", "x86_64\n"),
        ] {
            fs::write(k.join(f), v).unwrap();
        }
        let c = run(dir.path());
        assert_eq!(c.flag, Flag::Complete);
        let values: Vec<_> = c.items[0].fields.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "x86_64",
                "web01",
                "Linux",
                "6.1.0-18-amd64",
                "#1 SMP",
                "x86_64"
            ]
        );

        fs::remove_file(k.join("arch")).unwrap();
        let c = run(dir.path());
        assert_eq!(c.items[0].fields[0].status, Status::NotCollected);
        assert_eq!(c.items[0].fields[1].value, "web01");
    }
}
